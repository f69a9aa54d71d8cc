"""Benchmark: ``Policy.decide()`` per request (issue 4), and LiteLLM Router's pick beside it.

Run: python bench/bench_decide.py [--runs 20000] [--litellm] [--profile]

Pinned to one core. Every call is timed alone with ``perf_counter_ns`` after a warm-up, in five
rounds; the median shown is the quietest round's (the machine is shared), with the median of all
calls beside it; p99 and min are over all calls. What is measured:

(a) ``policies/default.policy`` with the 10 providers of ``bench/data/providers-10.json``, trace
    off and on, against two snapshots: a live ``MetricsRegistry`` with ten minutes of recorded
    history (a fresh ``registry.snapshot()`` per decision, included in the time, as a pool does
    it) and a ``StaticSnapshot`` stating the same kind of figures.
    Targets: median <= 10 µs and p99 <= 50 µs with the trace off; trace on <= 3x trace off.
    The compiled graph keeps each provider's verdict while the provider is unchanged (its
    stamp), so three more lines show traffic between decisions, untimed: a busy pool (the
    clock 2 ms on and one provider's attempt finished before each decision: 500 decisions a
    second), the same with the trace on, two providers changed per decision, and every
    provider changed before each decision (no verdict kept: the memo's worst case).
(b) a generated 200-route, 50-provider policy whose request matches route 199 of 200, in two
    variants: every route pinned by ``request.model == "m<k>"`` (the route index finds it at
    once) and every route conditioned on ``request.metadata.tenant`` (not indexable: 198
    conditions fail first). Target: median <= 50 µs.
(c) one metrics update per finished attempt: ``bench/bench_metrics.py``'s own measurement of
    ``ProviderMetrics.on_complete``, run from here as a subprocess (not duplicated). Target:
    median <= 5 µs.

``--litellm`` adds the comparison in the same invocation: it creates ``bench/.venv-litellm``
(git-ignored; ``pip install litellm`` there, never into the project) on first use and runs
``bench/litellm_pick.py`` inside it, on the same core, then prints LiteLLM's median pick per
routing strategy and its ratio to our ``decide()`` median.
``--profile`` prints a cProfile of the live default-policy decision (trace off).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmpool_policy import metrics as m
from llmpool_policy.config import load_config
from llmpool_policy.metrics import MetricsRegistry, StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CONFIG = BENCH / "data" / "providers-10.json"
VENV = BENCH / ".venv-litellm"
HISTORY_S = 600.0  # ten minutes of recorded traffic before the snapshot
TYPES = ("openai", "anthropic", "groq", "together", "cohere")


# ---- measuring ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    what: str
    median_us: float  # the median of the quietest round
    p99_us: float  # over every call of every round
    min_us: float
    runs: int
    target: str = ""
    median_all_us: float = float("nan")  # the median over every call of every round


def pin() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def measure(
    what: str,
    call: Callable[[int], object],
    runs: int,
    target: str = "",
    rounds: int = 5,
    before: Callable[[int], object] | None = None,
) -> Row:
    """Time ``call(i)`` alone, ``runs`` times in all, in ``rounds`` rounds after a warm-up;
    ``before(i)``, if given, runs before each call, untimed (traffic between decisions).

    The machine is shared, so a round can be slowed by other work: the median reported is that
    of the quietest round (as ``timeit`` takes the best repeat), next to the median of all calls;
    p99 and min are over all calls."""
    warm = max(100, runs // 10)
    for i in range(warm):
        if before is not None:
            before(i)
        call(i)
    clock = time.perf_counter_ns
    per_round = max(1, runs // rounds)
    medians: list[float] = []
    every: list[int] = []
    for r in range(rounds):
        samples = [0] * per_round
        for i in range(per_round):
            if before is not None:
                before(warm + r * per_round + i)
            t0 = clock()
            call(i)
            samples[i] = clock() - t0
        medians.append(statistics.median(samples))
        every.extend(samples)
    every.sort()
    n = len(every)
    row = Row(
        what,
        min(medians) / 1000,
        every[min(n - 1, int(0.99 * n))] / 1000,
        every[0] / 1000,
        n,
        target,
        statistics.median(every) / 1000,
    )
    print(
        f"  {what:<58} median {row.median_us:8.2f} µs (all {row.median_all_us:8.2f})  "
        f"p99 {row.p99_us:8.2f} µs  min {row.min_us:8.2f} µs",
        flush=True,
    )
    return row


# ---- inputs -------------------------------------------------------------------------------------


def requests(count: int, **fields: Any) -> list[RoutingRequest]:
    """Distinct request ids (so each decision derives its own seed), otherwise alike."""
    return [RoutingRequest(id=f"req-{i:06d}", **fields) for i in range(count)]


def live_registry(
    names: Sequence[str],
    *,
    rpm: int,
    rpd: int,
    tpm: int,
    per_second: int,
    broken: str | None,
    exhausted: str | None,
    seed: int = 4,
) -> MetricsRegistry:
    """A registry after ``HISTORY_S`` seconds of traffic on a manual clock, which stays at the
    last event (a busy pool: every provider has finished an attempt in the current bucket). Per
    provider its own lognormal latency and error rate; ``broken`` fails everything in the last
    30 s (its breaker is open at the end); ``exhausted`` has used up its requests-per-minute
    limit."""
    clock = m.ManualClock(0.0, wall_offset=1_790_000_000.0)
    reg = MetricsRegistry(clock)
    reg.reconcile(
        names,
        limits={n: m.LimitSpec(rpm=rpm, rpd=rpd, tpm=tpm) for n in names},
        breakers={n: m.BreakerSpec() for n in names},
    )
    rng = random.Random(seed)
    profile = {
        n: (rng.uniform(0.4, 2.0), rng.uniform(0.3, 0.7), rng.uniform(0.0, 0.02)) for n in names
    }
    ticks = int(HISTORY_S * per_second)
    for tick in range(ticks + 1):
        t = tick / per_second
        clock.set(t)
        for n in names:
            if n == exhausted and t >= HISTORY_S - 60.0:
                continue
            median, sigma, error_rate = profile[n]
            p = reg.provider(n)
            attempt = p.on_dispatch(400, enforce=False)
            assert isinstance(attempt, m.Attempt)
            if n == broken and t >= HISTORY_S - 30.0:
                outcome: str | None = "server_error"
            elif rng.random() < error_rate:
                # mostly 429s (which the default breaker does not count), some timeouts
                outcome = rng.choice(("rate_limited", "rate_limited", "rate_limited", "timeout"))
            else:
                outcome = None
            latency = rng.lognormvariate(0.0, sigma) * median
            attempt.complete(outcome, latency, 350, 0.002)
    if exhausted is not None:
        p = reg.provider(exhausted)
        for _ in range(rpm):
            attempt = p.on_dispatch(100, enforce=False)
            assert isinstance(attempt, m.Attempt)
            attempt.complete(None, 0.8, 90, 0.001)
    return reg


def static_snapshot(names: Sequence[str], *, broken: str, exhausted: str) -> StaticSnapshot:
    """The figures a live snapshot would give, stated: rates and p50/p95 by window, limits."""
    rng = random.Random(7)
    providers: dict[str, Any] = {}
    for n in names:
        err = round(rng.uniform(0.0, 0.06), 4)
        p50 = round(rng.uniform(0.4, 2.0), 3)
        providers[n] = {
            "error_rate": {"5m": err, "1m": err},
            "latency": {"p50": {"5m": p50}, "p95": {"5m": round(p50 * 2.2, 3)}},
            "requests": {"5m": 1500},
            "in_flight": rng.randint(0, 8),
            "rpm_used": 300,
            "rpm_remaining": 0 if n == exhausted else 300,
            "rpd_remaining": 50_000,
            "tpm_remaining": 800_000,
            "breaker_state": "open" if n == broken else "closed",
        }
    return StaticSnapshot.from_dict({"now": HISTORY_S, "providers": providers})


def generated_policy(
    routes: int, providers: int, indexable: bool
) -> tuple[str, list[ProviderFacts]]:
    """``routes`` routes (the last one ``default``) over ``providers`` providers; route k is
    pinned by ``request.model == "m<k>"`` (indexable) or ``request.metadata.tenant == "t<k>"``."""
    facts = [
        ProviderFacts(
            f"p{i}",
            {
                "name": f"p{i}",
                "type": TYPES[i % len(TYPES)],
                "priority": i % 5,
                "context_window": 8_000 * (1 + i % 16),
                "supports.vision": i % 3 == 0,
                "supports.tools": True,
                "input_price": 0.0005 * (1 + i % 7),
                "output_price": 0.0015 * (1 + i % 7),
                "timeout": 30.0,
            },
        )
        for i in range(providers)
    ]
    lines = [
        f'policy "generated-{"indexed" if indexable else "unindexed"}"',
        "retry standard {\n  attempts 3\n  backoff exponential 500ms .. 8s jitter full\n"
        "  on rate_limited, overloaded, server_error, timeout, connection\n"
        "  honor retry_after up to 20s\n}",
        "limits {\n  deadline 60s\n  max attempts 9\n}",
    ]
    for r in range(routes - 1):
        use = ", ".join(f"p{(r + j) % providers}" for j in range(3))
        cond = f'request.model == "m{r}"' if indexable else f'request.metadata.tenant == "t{r}"'
        lines.append(
            f"route r{r} when {cond} {{\n"
            f"  use [{use}]\n"
            "  skip when breaker.open or rpm.remaining == 0 or error_rate(5m) > 5%\n"
            "  order by priority, latency.p50(5m), cost\n"
            "  retry standard\n"
            "  failover on rate_limited, overloaded, server_error, timeout, connection\n"
            "}"
        )
    lines.append("route default {\n  use all\n  skip when breaker.open\n  retry standard\n}")
    return "\n".join(lines) + "\n", facts


# ---- the benchmarks -----------------------------------------------------------------------------


def default_setup() -> tuple[
    list[str], Policy, list[RoutingRequest], MetricsRegistry, StaticSnapshot
]:
    """(a)'s inputs: the default policy over the 10 providers, 256 requests, the live registry
    (one provider broken, one at its rpm limit) and the static snapshot stating the like."""
    config = load_config(CONFIG)
    names = [p.name for p in config.providers]
    policy = Policy.from_file(ROOT / "policies" / "default.policy", config=config)
    reqs = requests(256, model="gpt-4o", messages=4, input_tokens=1200, max_tokens=512)
    reg = live_registry(
        names, rpm=600, rpd=100_000, tpm=1_000_000, per_second=5, broken=names[3],
        exhausted=names[7],
    )  # fmt: skip
    static = static_snapshot(names, broken=names[3], exhausted=names[7])
    return names, policy, reqs, reg, static


def bench_default(runs: int) -> dict[str, Row]:
    names, policy, reqs, reg, static = default_setup()
    mask = len(reqs) - 1
    first = policy.decide(reqs[0], reg.snapshot())
    print(
        f"default.policy, {len(names)} providers; live plan: {', '.join(first.providers)}; "
        f"excluded: {'; '.join(f'{p} ({why})' for p, why in first.excluded)}"
    )
    decide = policy.decide
    snap = reg.snapshot
    rows = {
        "live": measure(
            "(a) default, live registry snapshot, trace off",
            lambda i: decide(reqs[i & mask], snap()),
            runs,
            "median <= 10 µs, p99 <= 50 µs",
        ),
        "live_trace": measure(
            "(a) default, live registry snapshot, trace on",
            lambda i: decide(reqs[i & mask], snap(), trace=True),
            runs,
            "<= 3x trace off",
        ),
        "static": measure(
            "(a) default, StaticSnapshot, trace off",
            lambda i: decide(reqs[i & mask], static),
            runs,
            "median <= 10 µs, p99 <= 50 µs",
        ),
        "static_trace": measure(
            "(a) default, StaticSnapshot, trace on",
            lambda i: decide(reqs[i & mask], static, trace=True),
            runs,
            "<= 3x trace off",
        ),
        "snapshot": measure("    of which: registry.snapshot() alone", lambda i: snap(), runs),
    }
    # A busy pool: traffic between decisions, so the memo of per-provider results (kept under
    # each provider's stamp) holds only for the providers nothing happened to.
    # (limits high enough for the extra traffic; no provider exhausted)
    busy = live_registry(
        names, rpm=100_000, rpd=10_000_000, tpm=100_000_000, per_second=5, broken=names[3],
        exhausted=None,
    )  # fmt: skip
    busy_clock = busy.clock
    assert isinstance(busy_clock, m.ManualClock)
    metrics = [busy.provider(n) for n in names]

    def finish(p: m.ProviderMetrics) -> None:
        attempt = p.on_dispatch(400, enforce=False)
        assert isinstance(attempt, m.Attempt)
        attempt.complete(None, 0.8, 350, 0.002)

    def one_changed(i: int) -> None:  # 500 decisions a second; one attempt finished between
        busy_clock.advance(0.002)
        finish(metrics[i % len(metrics)])

    def two_changed(i: int) -> None:  # a dispatch and a completion elsewhere, say
        busy_clock.advance(0.002)
        finish(metrics[i % len(metrics)])
        finish(metrics[(i + 5) % len(metrics)])

    def all_changed(i: int) -> None:  # every provider changed: no memo hit at all
        busy_clock.advance(0.002)
        for p in metrics:
            finish(p)

    busy_snap = busy.snapshot
    rows["busy"] = measure(
        "(a) default, live, busy: 1 provider changed per decision",
        lambda i: decide(reqs[i & mask], busy_snap()),
        runs,
        "median <= 10 µs, p99 <= 50 µs (stricter than the issue's)",
        before=one_changed,
    )
    rows["busy_trace"] = measure(
        "(a) default, live, busy: 1 provider changed, trace on",
        lambda i: decide(reqs[i & mask], busy_snap(), trace=True),
        runs,
        "<= 3x trace off",
        before=one_changed,
    )
    rows["busy2"] = measure(
        "(a) default, live, busy: 2 providers changed per decision",
        lambda i: decide(reqs[i & mask], busy_snap()),
        runs,
        before=two_changed,
    )
    rows["churn"] = measure(
        "(a) default, live, all 10 providers changed per decision",
        lambda i: decide(reqs[i & mask], busy_snap()),
        max(1000, runs // 4),
        before=all_changed,
    )
    # the same pool 10 s later with no attempt finished since: no latency summary is current,
    # so every latency read merges the window's histograms (a quiet pool's worst case)
    clock = reg.clock
    assert isinstance(clock, m.ManualClock)
    clock.advance(10.0)
    rows["idle"] = measure(
        "(a) default, live, idle 10 s (latency summaries stale)",
        lambda i: decide(reqs[i & mask], snap()),
        max(1000, runs // 10),
    )
    return rows


def deciding(
    policy: Policy, reqs: Sequence[RoutingRequest], reg: MetricsRegistry, *, trace: bool
) -> Callable[[int], object]:
    """One decision per call: the next request, a fresh snapshot."""
    decide, snap, mask = policy.decide, reg.snapshot, len(reqs) - 1

    def call(i: int) -> object:
        return decide(reqs[i & mask], snap(), trace=trace)

    return call


def bench_generated(runs: int) -> dict[str, Row]:
    rows: dict[str, Row] = {}
    providers = 50
    names = [f"p{i}" for i in range(providers)]
    reg = live_registry(
        names,
        rpm=10_000,
        rpd=1_000_000,
        tpm=10_000_000,
        per_second=2,
        broken="p13",
        exhausted="p42",
    )
    late = 198  # route r198: the 199th of 200, the last before `default`
    for indexable in (True, False):
        text, facts = generated_policy(200, providers, indexable)
        policy = Policy.from_text(text, "<generated>", config=facts)
        kind = "indexed" if indexable else "unindexed"
        graph = policy.graph
        if indexable:
            reqs = requests(256, model=f"m{late}", input_tokens=800, max_tokens=400)
            assert graph.candidate_routes(f"m{late}", ()) == [late, 199], "index not used"
        else:
            reqs = requests(
                256,
                model="gpt-4o",
                input_tokens=800,
                max_tokens=400,
                metadata={"tenant": f"t{late}"},
            )
            assert len(graph.candidate_routes("gpt-4o", ())) == 200
        decision = policy.decide(reqs[0], reg.snapshot())
        assert decision.route == f"r{late}", decision.route
        print(f"generated {kind}: 200 routes, 50 providers; plan {', '.join(decision.providers)}")
        rows[kind] = measure(
            f"(b) 200 routes, {kind}, match route 199, live, trace off",
            deciding(policy, reqs, reg, trace=False),
            runs,
            "median <= 50 µs",
        )
        rows[f"{kind}_trace"] = measure(
            f"(b) 200 routes, {kind}, match route 199, live, trace on",
            deciding(policy, reqs, reg, trace=True),
            max(1000, runs // 4),
        )
    return rows


def bench_update(runs: int = 300) -> Row:
    """Run ``bench/bench_metrics.py`` (a separate process, so this one's large registries do not
    weigh on its garbage collections) and take its ``on_complete`` line."""
    done = subprocess.run(
        [sys.executable, str(BENCH / "bench_metrics.py"), "--runs", str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    print("(c) python bench/bench_metrics.py --runs 300:")
    print("\n".join("    " + line for line in done.stdout.strip().splitlines()[1:]))
    found = re.search(
        r"on_complete.*?median\s+([0-9.]+) µs, p99\s+([0-9.]+) µs", done.stdout, re.MULTILINE
    )
    if found is None:
        raise RuntimeError(f"no on_complete line in bench_metrics.py output:\n{done.stdout}")
    median, p99 = float(found.group(1)), float(found.group(2))
    return Row(
        "(c) on_complete per finished attempt (bench_metrics.py)",
        median,
        p99,
        float("nan"),
        runs,
        "median <= 5 µs",
    )


def profile_default(calls: int) -> str:
    """cProfile of the default decision, trace off, live and static, by own time."""
    _names, policy, reqs, reg, static = default_setup()
    out = io.StringIO()
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("live", reg.snapshot),
        ("static", lambda: static),
    ]
    for label, snapshot in cases:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(calls):
            policy.decide(reqs[i & 255], snapshot())
        profiler.disable()
        out.write(f"--- {label} snapshot, {calls} decisions ---\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(14)
    return out.getvalue()


# ---- LiteLLM ------------------------------------------------------------------------------------


def litellm_python() -> Path | None:
    """The venv's interpreter, creating the venv and installing litellm on first use."""
    python = VENV / "bin" / "python"
    stamp = VENV / ".litellm-installed"
    if stamp.exists() and python.exists():
        return python
    print(
        f"creating {VENV.relative_to(ROOT)} and installing litellm (first run only) ...", flush=True
    )
    steps = [
        [sys.executable, "-m", "venv", str(VENV)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "litellm"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
            print(f"  cannot install litellm: {' '.join(step[-3:])} failed:\n{tail}")
            return None
    stamp.write_text("litellm\n")
    return python


def run_litellm(runs: int) -> dict[str, Any] | None:
    python = litellm_python()
    if python is None:
        return None
    script = BENCH / "litellm_pick.py"
    done = subprocess.run(
        [str(python), str(script), "--deployments", "10", "--runs", str(runs)],
        capture_output=True,
        text=True,
    )
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-8:])
        print(f"  litellm_pick.py failed (exit {done.returncode}):\n{tail}")
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def print_litellm(result: dict[str, Any], ours: dict[str, Row]) -> None:
    live, static = ours["live"].median_us, ours["static"].median_us
    print(
        f"\nLiteLLM {result['litellm']} Router, {result['deployments']} deployments of one model, "
        f"CPUs {result['cpus']}; ratio = LiteLLM median / our decide() median (trace off), "
        "medians of the quietest round"
    )
    header = (
        f"  {'strategy':<24} {'call':<6} {'median':>10} {'(all)':>10} {'p99':>10} {'min':>10}"
        f"  {'vs live':>8} {'vs static':>9}"
    )
    print(header)
    for item in result["results"]:
        if "error" in item:
            print(f"  {item['strategy']:<24} failed: {item['error']}")
            continue
        for call in ("sync", "async"):
            s = item.get(call)
            if s is None:
                continue
            median = s["median_us"]
            print(
                f"  {item['strategy']:<24} {call:<6} {median:8.1f}µs {s['median_all_us']:8.1f}µs "
                f"{s['p99_us']:8.1f}µs {s['min_us']:8.1f}µs  {median / live:7.1f}x "
                f"{median / static:8.1f}x"
            )


# ---- main ---------------------------------------------------------------------------------------


def verdict(row: Row, ours: dict[str, Row]) -> str:
    if row.target.startswith("median <= 10"):
        ok = row.median_us <= 10 and row.p99_us <= 50
    elif row.target.startswith("<= 3x"):
        base = ours[row.what.split(",")[1].strip().split()[0]]  # "live" / "StaticSnapshot"
        if "busy" in row.what:
            base = ours["busy"]
        return f"{row.median_us / base.median_us:.1f}x: " + (
            "met" if row.median_us <= 3 * base.median_us else "NOT met"
        )
    elif row.target.startswith("median <= 50"):
        ok = row.median_us <= 50
    elif row.target.startswith("median <= 5"):
        ok = row.median_us <= 5
    else:
        return ""
    return "met" if ok else "NOT met"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20_000, help="timed calls per measurement")
    parser.add_argument("--litellm", action="store_true", help="also time LiteLLM Router picks")
    parser.add_argument("--litellm-runs", type=int, default=3000)
    parser.add_argument("--profile", action="store_true", help="cProfile the default decision")
    args = parser.parse_args()
    where = pin()
    print(
        f"decide() benchmark, {where}, Python {platform.python_version()}, "
        f"{args.runs} timed calls per line, gc {'on' if gc.isenabled() else 'off'}"
    )
    default = bench_default(args.runs)
    generated = bench_generated(args.runs)
    update = bench_update()
    base = {"live": default["live"], "StaticSnapshot": default["static"], "busy": default["busy"]}

    rows = [*default.values(), *generated.values(), update]
    print(
        "\n| what | median µs (quietest round) | median µs (all) | p99 µs | min µs | target |"
        " verdict |\n|---|---|---|---|---|---|---|"
    )
    for row in rows:
        low = "" if row.min_us != row.min_us else f"{row.min_us:.2f}"  # NaN: not measured
        every = "" if row.median_all_us != row.median_all_us else f"{row.median_all_us:.2f}"
        print(
            f"| {row.what} | {row.median_us:.2f} | {every} | {row.p99_us:.2f} | {low} | "
            f"{row.target} | {verdict(row, base)} |"
        )
    if args.litellm:
        result = run_litellm(args.litellm_runs)
        if result is None:
            print("\nLiteLLM comparison skipped: litellm could not be installed or run (above).")
        else:
            print_litellm(result, default)
    if args.profile:
        print("\ncProfile, default.policy, trace off:")
        print(profile_default(5000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
