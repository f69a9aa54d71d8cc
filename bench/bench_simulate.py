"""Benchmark: dry-run simulation throughput and memory (issue 6).

Run: python bench/bench_simulate.py [--rounds 3] [--million 1000000] [--skip-million]

- (a) the full Azure conv trace (19,366 requests, ../shared/data) under policies/default.policy
  with docs/examples/simulation/config.json and the example outage scenario: import + simulate
  + report, target < 2 s. Timed ``--rounds`` times in one process, median and min reported.
- (b) ``--million`` synthetic requests (seeded Poisson arrivals at 5.5 req/s, Azure-shaped sizes,
  streamed, never materialised) under the same policy and config, no scenario: target < 60 s on
  one core with peak memory (max RSS of the child process) < 500 MB. Run in a child process so
  its max RSS is its own.

Pinned to one core, gc on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AZURE = (
    ROOT.parent / "shared" / "data" / "azure-llm-inference-2023" / "AzureLLMInferenceTrace_conv.csv"
)
EXAMPLES = ROOT / "docs" / "examples" / "simulation"
POLICY = ROOT / "policies" / "default.policy"


def pin() -> str:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        return "pinned to one core"
    return "not pinned"


def azure(rounds: int) -> None:
    from llmpool_policy.simulate import build_report, import_azure, load_simulation, report_json

    times: list[tuple[float, float, float]] = []
    cpu: list[float] = []
    for _ in range(rounds):
        sim = load_simulation(
            POLICY, EXAMPLES / "config.json", scenario=EXAMPLES / "outage.json", seed=1
        )
        c0 = time.process_time()
        t0 = time.perf_counter()
        records = list(import_azure(AZURE))
        t1 = time.perf_counter()
        result = sim.run(records)
        t2 = time.perf_counter()
        text = report_json(build_report(result))
        t3 = time.perf_counter()
        cpu.append(time.process_time() - c0)
        times.append((t1 - t0, t2 - t1, t3 - t2))
    total = [sum(t) for t in times]
    print(
        f"(a) Azure conv trace, {len(result):,} requests, {rounds} rounds "
        f"(report {len(text):,} bytes, {result.finish_count:,} finished)"
    )
    for name, k in (("import", 0), ("simulate", 1), ("report", 2)):
        col = [t[k] for t in times]
        print(f"    {name:<10} median {statistics.median(col):7.3f} s  min {min(col):7.3f} s")
    per = statistics.median(t[1] for t in times) / len(result) * 1e6
    print(
        f"    {'total':<10} median {statistics.median(total):7.3f} s  min {min(total):7.3f} s"
        f"  ({per:.1f} µs per simulated request)  target < 2 s"
    )
    print(
        f"    {'CPU time':<10} median {statistics.median(cpu):7.3f} s  min {min(cpu):7.3f} s"
        "  (process CPU seconds, import + simulate + report)"
    )


def million(n: int) -> None:
    """Runs in the child: prints one JSON line."""
    from llmpool_policy.simulate import build_report, load_simulation, synthetic_traffic

    sim = load_simulation(POLICY, EXAMPLES / "config.json", seed=1)
    c0 = time.process_time()
    t0 = time.perf_counter()
    result = sim.run(synthetic_traffic(n, seed=1))
    t1 = time.perf_counter()
    report = build_report(result)
    t2 = time.perf_counter()
    cpu = time.process_time() - c0
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "requests": len(result),
                "simulate_s": t1 - t0,
                "report_s": t2 - t1,
                "cpu_s": cpu,
                "max_rss_mb": rss_kb / 1024,
                "failed": report["failed"],
                "virtual_s": result.duration,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--skip-million", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    pinned = pin()
    if args.child:
        million(args.million)
        return
    print(
        f"simulate benchmark, {pinned}, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    azure(args.rounds)
    if args.skip_million:
        return
    done = subprocess.run(
        [sys.executable, __file__, "--child", "--million", str(args.million)],
        capture_output=True,
        text=True,
        check=True,
    )
    m = json.loads(done.stdout.strip().splitlines()[-1])
    total = m["simulate_s"] + m["report_s"]
    print(
        f"(b) {m['requests']:,} synthetic requests ({m['virtual_s'] / 3600:.1f} h of virtual "
        f"time, {m['failed']:,} failed)"
    )
    print(
        f"    simulate {m['simulate_s']:.1f} s + report {m['report_s']:.1f} s = {total:.1f} s "
        f"({m['simulate_s'] / m['requests'] * 1e6:.1f} µs per request)  target < 60 s"
    )
    print(f"    CPU time {m['cpu_s']:.1f} s (process CPU seconds)")
    print(f"    peak memory (max RSS) {m['max_rss_mb']:.0f} MB  target < 500 MB")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
