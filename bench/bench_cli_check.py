"""Whole-process `llmpool-policy check policies/default.policy` (issue 13, item 16).

Run: python bench/bench_cli_check.py [--runs N] [--before CHECKOUT]
Each sample is one fresh interpreter running the CLI's main() from a checkout, as the console
script does; the before and after checkouts are run interleaved, so load on the machine falls
on both alike. Reported: the median and the fastest of N, and a bare `python -c pass`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICY = "policies/default.policy"


def _command(checkout: Path | None) -> list[str]:
    if checkout is None:
        return [sys.executable, "-c", "pass"]
    code = (
        f"import sys; sys.path.insert(0, {str(checkout)!r}); "
        "from llmpool_policy.cli import main; "
        f"sys.exit(main(['check', {POLICY!r}]))"
    )
    return [sys.executable, "-c", code]


def _once(checkout: Path | None) -> float:
    start = time.perf_counter()
    done = subprocess.run(_command(checkout), cwd=ROOT, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{checkout}: exit {done.returncode}\n{done.stderr.decode()}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--before", type=Path, help="a checkout of the code to compare with")
    args = parser.parse_args()
    runs: dict[str, tuple[Path | None, list[float]]] = {
        "python -c pass": (None, []),
        "after (this checkout)": (ROOT, []),
    }
    if args.before is not None:
        runs["before (" + str(args.before) + ")"] = (args.before.resolve(), [])
    for _ in range(args.runs):
        for checkout, samples in runs.values():
            samples.append(_once(checkout))
    print(f"{platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} cores, {args.runs} runs each, interleaved")  # fmt: skip
    print(f"{'':34} {'median':>9} {'fastest':>9}")
    for label, (_, samples) in runs.items():
        median, fastest = statistics.median(samples) * 1000, min(samples) * 1000
        print(f"{label:34} {median:7.0f} ms {fastest:7.0f} ms")


if __name__ == "__main__":
    main()
