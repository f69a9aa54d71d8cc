"""Benchmark: the cost of one metrics update per finished attempt (target: median <= 5 µs),
and of the snapshot reads a decision makes.

Run: python bench/bench_metrics.py [--runs 300] [--batch 1000]

Pinned to one core. Each run times a batch of calls with ``perf_counter_ns`` and divides by the
batch size; the median and p99 are over runs. The clock is the real ``MonotonicClock`` so buckets
roll over as they would live; attempts finish as 90% successes and 10% timeouts, with tokens and
cost, against a provider with rpm / rpd / tpm limits and the default breaker.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable

from llmpool_policy.metrics import (
    Attempt,
    BreakerSpec,
    LimitSpec,
    MetricsRegistry,
    MonotonicClock,
    Refused,
)

TARGET_US = 5.0


def pin() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    return "not pinned"


def summarise(name: str, per_call_ns: list[float]) -> tuple[float, float]:
    ordered = sorted(per_call_ns)
    median = statistics.median(ordered) / 1000
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] / 1000
    print(f"  {name:<52}: median {median:6.2f} µs, p99 {p99:6.2f} µs")
    return median, p99


def registry(providers: int = 10) -> MetricsRegistry:
    reg = MetricsRegistry(MonotonicClock())
    names = [f"p{i}" for i in range(providers)]
    reg.reconcile(
        names,
        limits={n: LimitSpec(rpm=10**9, rpd=10**9, tpm=10**12) for n in names},
        breakers={n: BreakerSpec() for n in names},
    )
    return reg


def bench_updates(runs: int, batch: int) -> tuple[float, float]:
    reg = registry(1)
    p = reg.provider("p0")
    complete_ns: list[float] = []
    dispatch_ns: list[float] = []
    outcomes = [None if i % 10 else "timeout" for i in range(batch)]
    for _ in range(runs):
        t0 = time.perf_counter_ns()
        attempts = [p.on_dispatch(200, enforce=False) for _ in range(batch)]
        t1 = time.perf_counter_ns()
        ready: list[Attempt] = [a for a in attempts if not isinstance(a, Refused)]
        assert len(ready) == batch
        t2 = time.perf_counter_ns()
        for attempt, outcome in zip(ready, outcomes, strict=True):
            p.on_complete(attempt, outcome, 0.35, 180, 0.0021)
        t3 = time.perf_counter_ns()
        dispatch_ns.append((t1 - t0) / batch)
        complete_ns.append((t3 - t2) / batch)
    summarise("on_dispatch (breaker + reserve rpm/rpd/tpm)", dispatch_ns)
    return summarise("on_complete (windows, latency, settle, breaker, spend)", complete_ns)


def bench_reads(runs: int) -> None:
    reg = registry(10)
    clock = reg.clock

    # traffic on every provider; the clock is real, so keep it coming while reads are timed
    def traffic(count: int) -> None:
        for name in reg.names:
            p = reg.provider(name)
            for i in range(count):
                a = p.on_dispatch(200, enforce=False)
                assert a
                a.complete(None if i % 20 else "server_error", 0.2 + (i % 50) / 25, 180, 0.002)

    traffic(3000)
    _ = clock

    def timed(name: str, fn: Callable[[], object], inner: int = 200) -> None:
        samples = []
        for _ in range(runs):
            traffic(5)  # a busy pool: completions between decisions
            t0 = time.perf_counter_ns()
            for _ in range(inner):
                fn()
            samples.append((time.perf_counter_ns() - t0) / inner)
        summarise(name, samples)

    names = reg.names

    def gates() -> None:
        snap = reg.snapshot()
        for n in names:
            v = snap.provider(n)
            _ = v.breaker_state == "open" or v.rpm_remaining == 0

    def error_rate() -> None:
        snap = reg.snapshot()
        for n in names:
            snap.provider(n).error_rate(300.0)

    def p95() -> None:
        snap = reg.snapshot()
        for n in names:
            snap.provider(n).latency("p95", 300.0)

    def p95_untracked() -> None:
        snap = reg.snapshot()
        for n in names:
            snap.provider(n).latency("p95", 600.0)

    timed("snapshot() alone", reg.snapshot)
    timed("10 providers: breaker.open or rpm.remaining == 0", gates)
    timed("10 providers: error_rate(5m)", error_rate)
    timed("10 providers: latency.p95(5m) (tracked: summary)", p95)
    timed("10 providers: latency.p95(10m) (untracked: merge)", p95_untracked, inner=20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--batch", type=int, default=1000)
    args = parser.parse_args()
    print(f"metrics updates and reads, {pin()}, Python {platform.python_version()}")
    median, _ = bench_updates(args.runs, args.batch)
    bench_reads(max(20, args.runs // 5))
    verdict = "met" if median <= TARGET_US else "NOT met"
    print(f"  target: on_complete median <= {TARGET_US} µs: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
