"""Benchmark: time to an answer when the primary is rate limited for longer than the policy waits
(issue 11), against a plain failover.

Run: python bench/bench_failover_wait.py [--requests 300] [--rounds 5]

The emulator runs in a child process (``--serve``) on loopback and answers at once. Two pools
on one virtual clock (``ManualClock``), over real HTTP:

(a) retry-after: the primary answers ``429`` with ``Retry-After: 60`` to every request, the
    backup 200; the policy retries 3 times with ``honor retry_after up to 20s`` (the shipped
    default's retry block) and fails over on ``rate_limited``.
(b) plain failover: the primary answers ``500``, the backup 200; ``retry { attempts 1 }``,
    ``failover on server_error`` (a breaker that never opens, so the primary is always tried).

Time to an answer = the wall time of ``chat()`` plus every second the pool asked to sleep (the
pool's sleep is injected: it records the seconds and advances the virtual clock instead of
waiting, so a 20 s sleep costs 20 s of answer time without taking 20 s to measure). Between two
requests the clock moves 61 s, so each request meets a fresh 429 rather than a cool-down left by
the last one. The two are interleaved request by request; reported: the medians, and the
median of the paired differences (a minus b, timed back to back). Target: within 1 ms.

It runs against any checkout: ``cd OTHER && .venv/bin/python /path/to/bench_failover_wait.py``
measures that checkout's pool (the "before" column of docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

RETRY_AFTER = """policy "bench-retry-after"
retry standard {
  attempts 3
  backoff exponential 1s .. 8s jitter full
  on rate_limited, overloaded, server_error, timeout, connection
  honor retry_after up to 20s
}
route d { use all order by priority retry standard
          failover on rate_limited, overloaded, server_error, timeout, connection }
"""
PLAIN = """policy "bench-plain-failover"
breaker default { open after 1000000 failures within 1s cool down 1s probe 1 count timeout }
route d { use all order by priority retry { attempts 1 } failover on server_error }
"""


def serve() -> int:
    """Child mode: the emulator, until stdin closes."""
    from llmpool_policy.emulator import Emulator

    emulator = Emulator(latency_scale=0)
    emulator.add("limited", "openai", config={"priority": 1})
    emulator.add("bad", "openai", config={"priority": 1})
    emulator.add("good", "openai", config={"priority": 2})
    emulator.start()
    try:
        emulator["limited"].set_behaviour(faults={"rate_limited": 1.0}, retry_after=60.0)
        emulator["bad"].set_behaviour(faults={"server_error": 1.0})
        print(json.dumps(emulator.config_document()), flush=True)
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], 1.0)
            emulator.journal.clear()
            if ready and not sys.stdin.readline():
                break
    finally:
        emulator.stop()
    return 0


class VirtualSleep:
    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.slept = 0.0

    async def __call__(self, seconds: float) -> None:
        self.slept += seconds
        self.clock.advance(seconds)
        await asyncio.sleep(0)


async def measure(document: dict[str, Any], requests: int, rounds: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="bench-failover-wait-"))
    clock = ManualClock(0.0)
    sleep = VirtualSleep(clock)

    def pool(names: tuple[str, str], policy: str, tag: str) -> LLMPool:
        providers = [p for p in document["providers"] if p["name"] in names]
        (tmp / f"{tag}.json").write_text(json.dumps({"providers": providers}))
        (tmp / f"{tag}.policy").write_text(policy)
        return LLMPool(tmp / f"{tag}.json", tmp / f"{tag}.policy", clock=clock, sleep=sleep,
                       check_interval_s=0)  # fmt: skip

    messages = [text_message("user", "hello")]
    a = pool(("limited", "good"), RETRY_AFTER, "a")
    b = pool(("bad", "good"), PLAIN, "b")
    samples: dict[str, list[float]] = {"a": [], "b": [], "diff": []}
    async with a, b:
        for p in (a, b):  # warm the connections
            clock.advance(61.0)
            await p.chat(messages, max_tokens=16)
        for r in range(rounds):
            for i in range(requests):
                got: dict[str, float] = {}
                order = (("a", a), ("b", b)) if (i + r) % 2 == 0 else (("b", b), ("a", a))
                for name, p in order:
                    clock.advance(61.0)  # every cool-down and learned limit has lapsed
                    before = sleep.slept
                    t = time.perf_counter()
                    response = await p.chat(messages, max_tokens=16)
                    got[name] = time.perf_counter() - t + (sleep.slept - before)
                    assert response.provider == "good", response.provider
                samples["a"].append(got["a"])
                samples["b"].append(got["b"])
                samples["diff"].append(got["a"] - got["b"])
    return samples


def quantile(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * len(s)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return serve()
    child = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--serve"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE)  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    document = json.loads(child.stdout.readline())
    try:
        samples = asyncio.run(measure(document, args.requests, args.rounds))
    finally:
        child.stdin.close()
        child.wait(timeout=30)
    import llmpool_policy

    where = Path(llmpool_policy.__file__).resolve().parent.parent
    print(f"# bench_failover_wait: {args.requests} x {args.rounds} requests each, "
          f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, checkout {where}")  # fmt: skip
    for key, label in (("a", "429 Retry-After 60, backup healthy"),
                       ("b", "plain failover (500, backup healthy)")):  # fmt: skip
        xs = samples[key]
        print(f"{label:40s} median {statistics.median(xs) * 1e3:10.3f} ms   "
              f"p90 {quantile(xs, 0.9) * 1e3:10.3f} ms")  # fmt: skip
    diff = statistics.median(samples["diff"]) * 1e3
    print(f"{'paired difference (a - b), median':40s} {diff:10.3f} ms   "
          f"target <= 1 ms: {'met' if diff <= 1.0 else 'NOT met'}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
