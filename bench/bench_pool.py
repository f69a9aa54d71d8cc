"""Benchmark: the pool (issue 5) against raw HTTP clients and LiteLLM, over the emulator.

Run: python bench/bench_pool.py [--requests 400] [--rounds 7] [--throughput-requests 2000]
                                [--concurrency 50] [--litellm] [--pin]

The emulator (``Emulator(latency_scale=0)``: every provider answers at once) runs in a child
process of this script (``--serve``), so a server never shares an interpreter lock with a client
it is timing; the contenders run in this process. ``--pin`` puts the client on the first CPU and
the emulator on the last (on a shared machine that made every request wait for its core: about
8 ms a request instead of 1, so it is off by default).
Every contender talks to the same emulated OpenAI endpoints over loopback, keep-alive on.
Contenders are interleaved: in each round, request i goes to every contender in turn, the
order rotating with i; throughput rounds rotate the order too. What is measured:

(a) sequential overhead: ``LLMPool.chat`` (one provider, ``retry { attempts 1 }``) against a raw
    ``httpx.AsyncClient.post`` of the same body to the same endpoint, ``response.json()``
    included. The overhead is the median of the per-iteration differences (pool minus raw, the
    two timed back to back). Target: <= 0.3 ms.
(b) the failover path: the primary answers 500 to every request, the secondary 200; the pool
    (``retry { attempts 1 }``, ``failover on server_error``, a breaker that never opens on 500s,
    so the primary is always tried) against two raw calls in a row (the 500, then the 200).
    Target: <= 1 ms over the two raw calls.
(c) throughput at concurrency 50: ``--throughput-requests`` requests through an
    ``asyncio.Semaphore(50)``, requests per second per contender, median over the rounds.
    Target: the pool at least raw httpx's.
(d) the same three with httpx over ``httpx_aiohttp.AiohttpTransport`` (package ``httpx-aiohttp``)
    when it is installed, for the raw client and the pool alike; plain aiohttp as the floor.
(e) ``import llmpool_policy``, ``from llmpool_policy import LLMPool`` and that import plus
    building a 10-provider pool (``bench/data/providers-10.json``, ``policies/default.policy``):
    fresh interpreters, 15 each, interleaved, wall and CPU time measured inside the child (the
    interpreter's own start-up excluded); the resident memory (VmRSS, and the peak VmHWM)
    of a child that has built and started that pool. Targets: <= 300 ms, <= 60 MiB.
(f) ``--litellm``: LiteLLM ``Router.acompletion`` against the same emulator, in
    ``bench/.venv-litellm`` (bench_decide.py's helper creates it; never a project dependency):
    ``bench/litellm_pool.py`` times (a)-(c) there with its own raw-httpx baseline interleaved,
    plus its import time and resident memory with a 10-deployment Router.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from llmpool_policy.messages import text_message
from llmpool_policy.pool import LLMPool

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CONFIG_10 = BENCH / "data" / "providers-10.json"
MAX_TOKENS = 16
PROMPT = "hello"

POLICY_ONE = """policy "bench-one"
route d { use all retry { attempts 1 } failover off }
"""
# The breaker never opens on a 500 (it counts timeouts only), so every request really tries the
# primary first. (The pool runs the policy's breaker named `default`.)
POLICY_FAILOVER = """policy "bench-failover"
breaker default { open after 1000000 failures within 1s cool down 1s probe 1 count timeout }
route d { use all order by priority retry { attempts 1 } failover on server_error }
"""

Call = Callable[[], Awaitable[object]]


# ---- the emulator, in its own process ---------------------------------------------------------


def serve() -> int:
    """Child mode: start the emulator, print where it listens, serve until stdin closes."""
    from llmpool_policy.emulator import Emulator

    emulator = Emulator(latency_scale=0)
    emulator.add("ok", "openai", config={"priority": 1})
    emulator.add("bad", "openai", config={"priority": 1})
    emulator.add("good", "openai", config={"priority": 2})
    emulator.start()
    try:
        emulator["bad"].set_behaviour(faults={"server_error": 1.0})
        document = emulator.config_document()
        urls = {p.name: {"url": p.url, "headers": p.headers()} for p in emulator}
        print(json.dumps({"config": document, "urls": urls}), flush=True)
        while True:  # until the parent closes our stdin; the journal must not grow for ever
            ready, _, _ = select.select([sys.stdin], [], [], 1.0)
            emulator.journal.clear()
            if not ready:
                continue
            line = sys.stdin.readline()
            if not line:
                break
            # "counts": how many requests reached each provider (checks the failover paths)
            print(json.dumps({p.name: p.requests for p in emulator}), flush=True)
    finally:
        emulator.stop()
    return 0


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    config: dict[str, Any]
    urls: dict[str, dict[str, Any]]

    def providers(self, *names: str) -> dict[str, Any]:
        entries = [p for p in self.config["providers"] if p["name"] in names]
        return {"providers": entries}

    def counts(self) -> dict[str, int]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(b"counts\n")
        self.process.stdin.flush()
        counts: dict[str, int] = json.loads(self.process.stdout.readline())
        return counts

    def stop(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)


def start_server(cpu: int | None) -> Server:
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(process.pid, {cpu})
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        raise SystemExit("the emulator child did not start")
    data = json.loads(line)
    return Server(process, data["config"], data["urls"])


# ---- contenders -------------------------------------------------------------------------------


def aiohttp_transport() -> httpx.AsyncBaseTransport | None:
    try:
        from httpx_aiohttp import AiohttpTransport
    except ImportError:
        return None
    transport: httpx.AsyncBaseTransport = AiohttpTransport()
    return transport


def have_aiohttp_transport() -> bool:
    try:
        import httpx_aiohttp  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass
class Contender:
    name: str
    call: Call  # (a), (c): one request to "ok"
    failover: Call  # (b): the primary's 500 then the secondary's 200
    close: Callable[[], Awaitable[None]]
    baseline: str = ""  # the raw contender this one's overhead is taken against


def body(model: str) -> dict[str, Any]:
    return {
        "model": model,
        "messages": [{"role": "user", "content": PROMPT}],
        "max_tokens": MAX_TOKENS,
    }


def raw_httpx(name: str, server: Server, transport: httpx.AsyncBaseTransport | None) -> Contender:
    client = httpx.AsyncClient(transport=transport, timeout=None)
    ok, bad, good = (server.urls[n] for n in ("ok", "bad", "good"))
    model = server.config["providers"][0]["model"]

    async def post(target: dict[str, Any]) -> int:
        response = await client.post(target["url"], headers=target["headers"], json=body(model))
        response.json()
        return response.status_code

    async def call() -> object:
        status = await post(ok)
        assert status == 200, status
        return status

    async def failover() -> object:
        first = await post(bad)
        second = await post(good)
        assert (first, second) == (500, 200), (first, second)
        return second

    return Contender(name, call, failover, client.aclose)


def raw_aiohttp(server: Server) -> Contender | None:
    try:
        import aiohttp
    except ImportError:
        return None
    session: aiohttp.ClientSession | None = None
    ok, bad, good = (server.urls[n] for n in ("ok", "bad", "good"))
    model = server.config["providers"][0]["model"]

    async def post(target: dict[str, Any]) -> int:
        nonlocal session
        if session is None:
            session = aiohttp.ClientSession()
        async with session.post(target["url"], headers=target["headers"], json=body(model)) as r:
            json.loads(await r.read())
            return r.status

    async def call() -> object:
        status = await post(ok)
        assert status == 200, status
        return status

    async def failover() -> object:
        first = await post(bad)
        second = await post(good)
        assert (first, second) == (500, 200), (first, second)
        return second

    async def close() -> None:
        if session is not None:
            await session.close()

    return Contender("aiohttp (no httpx)", call, failover, close)


def pool_contender(
    name: str,
    server: Server,
    tmp: Path,
    transport_factory: Callable[[], httpx.AsyncBaseTransport | None],
    baseline: str,
) -> Contender:
    def build(providers: Sequence[str], policy: str, tag: str) -> LLMPool:
        config = tmp / f"{tag}.json"
        config.write_text(json.dumps(server.providers(*providers)), encoding="utf-8")
        policy_path = tmp / f"{tag}.policy"
        policy_path.write_text(policy, encoding="utf-8")
        return LLMPool(config, policy_path, transport=transport_factory(), check_interval_s=0)

    one = build(["ok"], POLICY_ONE, "one")
    two = build(["bad", "good"], POLICY_FAILOVER, "failover")
    messages = [text_message("user", PROMPT)]

    async def call() -> object:
        response = await one.chat(messages, max_tokens=MAX_TOKENS)
        return response

    async def failover() -> object:
        response = await two.chat(messages, max_tokens=MAX_TOKENS)
        tried = [(a.provider, a.status) for a in response.attempts]
        assert tried == [("bad", 500), ("good", 200)], tried
        return response

    async def close() -> None:
        await one.close()
        await two.close()

    return Contender(name, call, failover, close, baseline)


# ---- measuring --------------------------------------------------------------------------------


@dataclass
class Series:
    """Nanosecond samples per round, for one contender and one measurement."""

    rounds: list[list[int]] = field(default_factory=list)

    @property
    def every(self) -> list[int]:
        return sorted(x for r in self.rounds for x in r)

    def median_ms(self) -> float:
        return statistics.median(self.every) / 1e6

    def p99_ms(self) -> float:
        every = self.every
        return every[min(len(every) - 1, int(0.99 * len(every)))] / 1e6

    def round_medians_ms(self) -> list[float]:
        return [statistics.median(r) / 1e6 for r in self.rounds]


async def sequential(
    contenders: Sequence[Contender], which: str, requests: int, rounds: int, warmup: int
) -> dict[str, Series]:
    """Each iteration times one call of every contender, back to back, rotating the order."""
    calls = [(c.name, c.call if which == "call" else c.failover) for c in contenders]
    for _ in range(warmup):
        for _, call in calls:
            await call()
    clock = time.perf_counter_ns
    out = {name: Series() for name, _ in calls}
    m = len(calls)
    for _ in range(rounds):
        samples: dict[str, list[int]] = {name: [0] * requests for name, _ in calls}
        for i in range(requests):
            for k in range(m):
                name, call = calls[(i + k) % m]
                t0 = clock()
                await call()
                samples[name][i] = clock() - t0
        for name, values in samples.items():
            out[name].rounds.append(values)
    return out


def paired_overhead(series: dict[str, Series], name: str, base: str) -> Series:
    """Per-iteration differences: ``name``'s call minus ``base``'s call of the same iteration."""
    diff = Series()
    for mine, theirs in zip(series[name].rounds, series[base].rounds, strict=True):
        diff.rounds.append([a - b for a, b in zip(mine, theirs, strict=True)])
    return diff


async def burst(call: Call, requests: int, concurrency: int) -> float:
    """Requests per second for ``requests`` calls at most ``concurrency`` at a time."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    return requests / (time.perf_counter() - t0)


async def throughput(
    contenders: Sequence[Contender], requests: int, concurrency: int, rounds: int
) -> dict[str, list[float]]:
    for c in contenders:  # warm-up: open the connections
        await burst(c.call, concurrency * 4, concurrency)
    out: dict[str, list[float]] = {c.name: [] for c in contenders}
    m = len(contenders)
    for r in range(rounds):
        for k in range(m):
            c = contenders[(r + k) % m]
            gc.collect()
            out[c.name].append(await burst(c.call, requests, concurrency))
    return out


# ---- imports and memory (fresh interpreters) -------------------------------------------------

IMPORT_PROBE = """
import time, sys
t0 = time.perf_counter(); c0 = time.process_time()
{stmt}
print(1000 * (time.perf_counter() - t0), 1000 * (time.process_time() - c0))
"""

IMPORTS = {
    "import llmpool_policy": "import llmpool_policy",
    "from llmpool_policy import LLMPool": "from llmpool_policy import LLMPool",
    "... + build a 10-provider pool": (
        f"from llmpool_policy import LLMPool\nLLMPool({str(CONFIG_10)!r}, check_interval_s=0)"
    ),
    "import httpx (reference)": "import httpx",
}

RSS_PROBE = """
import asyncio
from llmpool_policy import LLMPool

def status():
    found = {{}}
    for line in open("/proc/self/status"):
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]

async def main():
    pool = LLMPool({config!r}, check_interval_s=0)
    await pool.start()
    rss = status()
    await pool.close()
    return rss

print(*asyncio.run(main()))
"""

BARE_RSS_PROBE = """
found = {}
for line in open("/proc/self/status"):
    key, _, value = line.partition(":")
    if key in ("VmRSS", "VmHWM"):
        found[key] = int(value.split()[0]) / 1024
print(found["VmRSS"], found["VmHWM"])
"""


def child(python: str, code: str, env: dict[str, str] | None = None) -> list[float]:
    done = subprocess.run(
        [python, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"probe failed:\n{done.stderr[-2000:]}")
    return [float(x) for x in done.stdout.split()[-2:]]


def import_times(runs: int) -> dict[str, tuple[float, float]]:
    samples: dict[str, list[list[float]]] = {k: [] for k in IMPORTS}
    for _ in range(runs):
        for label, stmt in IMPORTS.items():
            samples[label].append(child(sys.executable, IMPORT_PROBE.format(stmt=stmt)))
    return {
        label: (statistics.median(s[0] for s in v), statistics.median(s[1] for s in v))
        for label, v in samples.items()
    }


def memory(runs: int = 5) -> dict[str, tuple[float, float]]:
    pool = [child(sys.executable, RSS_PROBE.format(config=str(CONFIG_10))) for _ in range(runs)]
    bare = [child(sys.executable, BARE_RSS_PROBE) for _ in range(runs)]
    return {
        "10-provider pool, started": (
            statistics.median(p[0] for p in pool),
            statistics.median(p[1] for p in pool),
        ),
        "bare interpreter (reference)": (
            statistics.median(p[0] for p in bare),
            statistics.median(p[1] for p in bare),
        ),
    }


# ---- LiteLLM ----------------------------------------------------------------------------------


def run_litellm(server: Server, args: argparse.Namespace, cpu: int | None) -> dict[str, Any] | None:
    sys.path.insert(0, str(BENCH))
    from bench_decide import litellm_python  # the venv helper: creates it on first use

    python = litellm_python()
    if python is None:
        return None
    env = dict(os.environ)
    env.update(LITELLM_ENV)
    spec = {
        "urls": server.urls,
        "config": server.config,
        "requests": args.requests,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "throughput_requests": args.throughput_requests,
        "throughput_rounds": args.throughput_rounds,
        "concurrency": args.concurrency,
        "cpu": cpu,
    }
    before = server.counts()
    done = subprocess.run(
        [str(python), str(BENCH / "litellm_pool.py"), json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-12:])
        print(f"  litellm_pool.py failed (exit {done.returncode}):\n{tail}")
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    after = server.counts()
    calls = args.warmup + args.rounds * args.requests
    result["primary_per_failover"] = (after["bad"] - before["bad"] - calls) / calls
    imports = [
        child(str(python), IMPORT_PROBE.format(stmt="from litellm import Router"), env)
        for _ in range(args.litellm_import_runs)
    ]
    result["import_ms"] = (
        statistics.median(s[0] for s in imports),
        statistics.median(s[1] for s in imports),
    )
    rss = [
        [
            float(x)
            for x in subprocess.run(
                [str(python), str(BENCH / "litellm_pool.py"), "--rss"],
                capture_output=True,
                text=True,
                env=env,
                check=True,
            ).stdout.split()[-2:]
        ]
        for _ in range(3)
    ]
    result["rss_mib"] = (statistics.median(r[0] for r in rss), statistics.median(r[1] for r in rss))
    return result


LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_LOG": "CRITICAL",
    "LITELLM_MODE": "PRODUCTION",
    "DO_NOT_TRACK": "1",
    "NO_PROXY": "127.0.0.1,localhost",
}


# ---- report -----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "NOT met"


def ms(x: float) -> str:
    return f"{x:.3f}"


def report_sequential(
    title: str,
    series: dict[str, Series],
    contenders: Sequence[Contender],
    target_ms: float,
    raw_label: str,
) -> dict[str, float]:
    print(f"\n{title}")
    print("| contender | median ms | p99 ms | round medians ms |")
    print("|---|---|---|---|")
    for c in contenders:
        s = series[c.name]
        rounds = ", ".join(f"{x:.3f}" for x in s.round_medians_ms())
        print(f"| {c.name} | {ms(s.median_ms())} | {ms(s.p99_ms())} | {rounds} |")
    overheads: dict[str, float] = {}
    print(
        f"\n| overhead over {raw_label} | median of paired differences ms | p99 ms |"
        " difference of medians ms | ratio of medians | target | verdict |"
    )
    print("|---|---|---|---|---|---|---|")
    for c in contenders:
        if not c.baseline:
            continue
        diff = paired_overhead(series, c.name, c.baseline)
        overhead = diff.median_ms()
        overheads[c.name] = overhead
        of_medians = series[c.name].median_ms() - series[c.baseline].median_ms()
        ratio = series[c.name].median_ms() / series[c.baseline].median_ms()
        print(
            f"| {c.name} − {c.baseline} | {ms(overhead)} | {ms(diff.p99_ms())} | "
            f"{ms(of_medians)} | {ratio:.2f}x | <= {target_ms} ms | "
            f"{verdict(overhead <= target_ms)} |"
        )
    return overheads


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--requests", type=int, default=400, help="timed calls per round")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--throughput-requests", type=int, default=2000)
    parser.add_argument("--throughput-rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--import-runs", type=int, default=15)
    parser.add_argument("--litellm", action="store_true", help="also measure LiteLLM Router")
    parser.add_argument("--litellm-import-runs", type=int, default=7)
    parser.add_argument("--no-aiohttp", action="store_true", help="skip httpx-aiohttp")
    parser.add_argument(
        "--pin", action="store_true", help="client on the first CPU, emulator on the last"
    )
    parser.add_argument("--skip-imports", action="store_true")
    args = parser.parse_args()
    if args.serve:
        return serve()

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    client_cpu = server_cpu = None
    if args.pin and len(cpus) >= 2:
        client_cpu, server_cpu = cpus[0], cpus[-1]
        os.sched_setaffinity(0, {client_cpu})
    with_aiohttp = have_aiohttp_transport() and not args.no_aiohttp
    print(
        f"pool benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"client on CPU {client_cpu}, emulator on CPU {server_cpu}, httpx {httpx.__version__}, "
        f"httpx-aiohttp {'yes' if with_aiohttp else 'no'}, load {os.getloadavg()}"
    )

    server = start_server(server_cpu)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(ours(server, Path(tmp), args, with_aiohttp))
        lite = run_litellm(server, args, client_cpu) if args.litellm else None
    finally:
        server.stop()
    if client_cpu is not None:
        os.sched_setaffinity(0, set(cpus))

    if not args.skip_imports:
        imports = import_times(args.import_runs)
        print(f"\n(e) import time, fresh interpreters, median of {args.import_runs}")
        print("| what | wall ms | CPU ms | target | verdict |")
        print("|---|---|---|---|---|")
        for label, (wall, cpu) in imports.items():
            target = "<= 300 ms" if "llmpool" in label or "pool" in label else ""
            mark = verdict(wall <= 300) if target else ""
            print(f"| {label} | {wall:.0f} | {cpu:.0f} | {target} | {mark} |")
        rss = memory()
        print("\n(e) resident memory, median of 5 children")
        print("| what | VmRSS MiB | peak (VmHWM) MiB | target | verdict |")
        print("|---|---|---|---|---|")
        for label, (now, peak) in rss.items():
            target = "<= 60 MiB" if "pool" in label else ""
            mark = verdict(now <= 60) if target else ""
            print(f"| {label} | {now:.1f} | {peak:.1f} | {target} | {mark} |")
        results["imports"] = imports
        results["rss"] = rss
    if lite is not None:
        print_litellm(lite, results)
    print(f"\nload average at the end: {os.getloadavg()}")
    return 0


async def ours(
    server: Server, tmp: Path, args: argparse.Namespace, with_aiohttp: bool
) -> dict[str, Any]:
    contenders = [
        raw_httpx("raw httpx", server, None),
        # httpx's own transport, named: with httpx-aiohttp installed the pool's default is aiohttp
        pool_contender("pool (httpx)", server, tmp, httpx.AsyncHTTPTransport, "raw httpx"),
    ]
    if with_aiohttp:
        contenders += [
            raw_httpx("raw httpx+aiohttp", server, aiohttp_transport()),
            pool_contender("pool (httpx+aiohttp)", server, tmp, aiohttp_transport,
                           "raw httpx+aiohttp"),
        ]  # fmt: skip
        plain = raw_aiohttp(server)
        if plain is not None:
            contenders.append(plain)
    try:
        seq = await sequential(contenders, "call", args.requests, args.rounds, args.warmup)
        over = report_sequential(
            f"(a) sequential, one request at a time: {args.rounds} rounds x {args.requests}",
            seq, contenders, 0.3, "its raw client",
        )  # fmt: skip
        before = server.counts()
        fo = await sequential(contenders, "failover", args.requests, args.rounds, args.warmup)
        after = server.counts()
        calls = (args.warmup + args.rounds * args.requests) * len(contenders)
        print(
            f"\n(b) check: the primary answered {after['bad'] - before['bad']} requests and the"
            f" secondary {after['good'] - before['good']}, for {calls} failover calls"
        )
        fo_over = report_sequential(
            f"(b) failover path (500 then 200): {args.rounds} rounds x {args.requests}",
            fo, contenders, 1.0, "two raw calls",
        )  # fmt: skip
        tp = await throughput(
            contenders, args.throughput_requests, args.concurrency, args.throughput_rounds
        )
    finally:
        for c in contenders:
            await c.close()
    raw_rps = statistics.median(tp["raw httpx"])
    print(
        f"\n(c) throughput, {args.throughput_requests} requests at concurrency {args.concurrency},"
        f" {args.throughput_rounds} rounds"
    )
    print(
        "| contender | median req/s | rounds req/s | vs raw httpx | vs its raw client | verdict |"
    )
    print("|---|---|---|---|---|---|")
    for c in contenders:
        rps = statistics.median(tp[c.name])
        rounds = ", ".join(f"{x:.0f}" for x in tp[c.name])
        own = statistics.median(tp[c.baseline]) if c.baseline else rps
        mark = verdict(rps >= raw_rps) if c.name.startswith("pool") else ""
        print(
            f"| {c.name} | {rps:.0f} | {rounds} | {rps / raw_rps:.2f}x | {rps / own:.2f}x |"
            f" {mark} |"
        )
    return {
        "sequential": {k: v.median_ms() for k, v in seq.items()},
        "overhead": over,
        "failover": {k: v.median_ms() for k, v in fo.items()},
        "failover_overhead": fo_over,
        "throughput": {k: statistics.median(v) for k, v in tp.items()},
    }


def print_litellm(lite: dict[str, Any], ours_: dict[str, Any]) -> None:
    print(
        f"\n(f) LiteLLM {lite['litellm']} Router.acompletion, same emulator, its own venv"
        f" (Python {lite['python']}), raw httpx {lite['httpx']} interleaved in that process"
    )
    lo = lite["sequential"]["overhead_ms"]
    lfo = lite["failover"]["overhead_ms"]
    po = ours_["overhead"]["pool (httpx)"]
    pfo = ours_["failover_overhead"]["pool (httpx)"]
    print(
        "| what | LiteLLM | raw httpx there | LiteLLM overhead | pool overhead | LiteLLM / pool |"
    )
    print("|---|---|---|---|---|---|")
    print(
        f"| (a) sequential median ms | {ms(lite['sequential']['litellm_ms'])} |"
        f" {ms(lite['sequential']['raw_ms'])} | {ms(lo)} | {ms(po)} | {lo / po:.0f}x |"
    )
    print(
        f"| (b) failover median ms | {ms(lite['failover']['litellm_ms'])} |"
        f" {ms(lite['failover']['raw_ms'])} | {ms(lfo)} | {ms(pfo)} | {lfo / pfo:.0f}x |"
    )
    lrps = lite["throughput"]["litellm_rps"]
    prps = ours_["throughput"]["pool (httpx)"]
    print(
        f"| (c) req/s at concurrency | {lrps:.0f} | {lite['throughput']['raw_rps']:.0f} | | |"
        f" pool / LiteLLM {prps / lrps:.1f}x |"
    )
    if "imports" in ours_:
        wall, cpu = lite["import_ms"]
        mine = ours_["imports"]["from llmpool_policy import LLMPool"][0]
        built = ours_["imports"]["... + build a 10-provider pool"][0]
        print(
            f"| (e) `from litellm import Router` ms (wall / CPU) | {wall:.0f} / {cpu:.0f} | | |"
            f" ours {mine:.0f} (import), {built:.0f} (import + build) |"
            f" {wall / mine:.0f}x, {wall / built:.1f}x |"
        )
        now, peak = lite["rss_mib"]
        ours_rss = ours_["rss"]["10-provider pool, started"][0]
        print(
            f"| (e) VmRSS MiB, 10 deployments (peak VmHWM) | {now:.0f} ({peak:.0f}) | | |"
            f" ours {ours_rss:.0f} | {now / ours_rss:.1f}x |"
        )
    print(
        f"(f) check: requests that reached LiteLLM's primary per failover call:"
        f" {lite['primary_per_failover']:.2f} (1.00: every call tried it once, no retry)"
    )


if __name__ == "__main__":
    sys.exit(main())
