"""Parse + check timings (issue 2): a generated 1,000-route, 50-provider policy, and the default.

Run: python bench/bench_parse_check.py [--repeat N]
One process, one core; the parser is built once (as in a long-running process) and that build
is timed separately.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from llmpool_policy.semantics import ProviderFacts, check
from llmpool_policy.syntax import parse
from llmpool_policy.syntax._parser import _parser

ROOT = Path(__file__).resolve().parent.parent
TYPES = ["openai", "anthropic", "groq", "together", "cohere"]


def generated_policy(routes: int, providers: int) -> tuple[str, list[ProviderFacts]]:
    facts = [
        ProviderFacts(
            f"p{i}",
            {
                "name": f"p{i}",
                "type": TYPES[i % len(TYPES)],
                "priority": i % 5,
                "context_window": 8_000 * (1 + i % 16),
                "supports.vision": i % 3 == 0,
                "input_price": 0.0005 * (1 + i % 7),
                "timeout": 30.0,
            },
        )
        for i in range(providers)
    ]
    lines = ['policy "generated"']
    lines.append("group vision = providers where supports.vision")
    lines.append('group cheap = providers where type in ["groq", "together"]')
    lines.append(
        "retry standard {\n  attempts 3\n  backoff exponential 500ms .. 8s jitter full\n"
        "  on rate_limited, overloaded, server_error, timeout, connection\n"
        "  honor retry_after up to 20s\n}"
    )
    lines.append(
        "breaker default {\n  open after 5 failures within 1m\n  cool down 30s\n  probe 1\n}"
    )
    lines.append("limits {\n  deadline 60s\n  max attempts 9\n  max cost $0.50 per request\n}")
    for r in range(routes - 1):
        a, b = f"p{r % providers}", f"p{(r + 1) % providers}"
        cond = (
            f'request.metadata.tenant == "t{r}" and request.input_tokens > {r}k'
            if r % 2
            else f'"tag{r}" in request.tags or request.model == "m{r}"'
        )
        lines.append(
            f"route r{r} when {cond} {{\n"
            f"  use [{a}, {b}]\n"
            "  skip when breaker.open or error_rate(5m) > 5% or latency.p95(5m) > 3s\n"
            "  order by priority, cost, success_rate(5m) desc\n"
            "  retry standard\n"
            "  failover on rate_limited, overloaded, server_error, timeout, connection\n"
            "}"
        )
    lines.append("route default {\n  use all\n  skip when breaker.open\n  retry standard\n}")
    return "\n".join(lines) + "\n", facts


CPU: list[float] = []  # CPU seconds of the samples of the last timed() call


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """Wall-clock samples; the CPU time of each is kept in CPU (on a shared machine, CPU time
    is the steadier figure: it does not count time spent waiting for the core)."""
    samples = []
    CPU.clear()
    for _ in range(repeat):
        cpu = time.process_time()
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
        CPU.append(time.process_time() - cpu)
    return samples


def report(label: str, samples: list[float], unit: float, unit_name: str) -> None:
    samples = sorted(samples)
    median = statistics.median(samples)
    p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
    cpu = statistics.median(CPU) if CPU else float("nan")
    print(
        f"{label:<44} median {median / unit:8.2f} {unit_name}   p99 {p99 / unit:8.2f} {unit_name}"
        f"   min {samples[0] / unit:8.2f} {unit_name}   CPU median {cpu / unit:8.2f} {unit_name}"
        f"   (n={len(samples)})"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core

    start = time.perf_counter()
    _parser()
    build = time.perf_counter() - start
    print(f"python {platform.python_version()} on {platform.machine()}, 1 core")
    print(f"load average {os.getloadavg()[0]:.2f} (other processes share this machine)")
    print(f"{'grammar -> LALR parser, once per process':<44} {build * 1000:8.2f} ms")

    default_text = (ROOT / "policies" / "default.policy").read_text()
    report(
        "default.policy parse + check",
        timed(lambda: check(parse(default_text)), args.repeat * 50),
        1e-3,
        "ms",
    )
    text, facts = generated_policy(1000, 50)
    print(f"generated policy: 1,000 routes, 50 providers, {len(text.splitlines()):,} lines")
    report("generated parse", timed(lambda: parse(text), args.repeat), 1.0, "s ")
    policy = parse(text)
    checked = check(policy, facts)
    assert checked.ok, checked.errors[:3]
    report(
        "generated check (with config)", timed(lambda: check(policy, facts), args.repeat), 1.0, "s "
    )
    report(
        "generated parse + check (with config)",
        timed(lambda: check(parse(text), facts), args.repeat),
        1.0,
        "s ",
    )


if __name__ == "__main__":
    main()
