"""Benchmark: load and validate a generated 500-provider configuration (target: < 200 ms).

Run: python bench/bench_config.py [--providers 500] [--runs 50]
Prints the median and other percentiles of the full load_config path (read file, parse JSON,
checksum, ${VAR} expansion, JSON Schema, cross-checks, pydantic models).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llmpool_policy.config import load_config

TYPES = ("openai", "anthropic", "groq", "together", "cohere", "openai-compatible")
TARGET_MS = 200.0


def generate(count: int) -> dict[str, object]:
    """A config that exercises every field: prices, capabilities, tags, headers, env keys."""
    providers: list[dict[str, object]] = []
    for i in range(count):
        kind = TYPES[i % len(TYPES)]
        provider: dict[str, object] = {
            "name": f"{kind}-{i}",
            "type": kind,
            "model": f"model-{i % 17}",
            "priority": i % 10,
            "weight": 1 + (i % 3),
            "requests_per_minute": 60 + i,
            "requests_per_day": 10000 + i,
            "tokens_per_minute": 100000,
            "circuit_breaker_threshold": 5,
            "circuit_breaker_timeout": 60000,
            "max_tokens": 4096,
            "temperature": 0.7,
            "timeout": 30000,
            "input_token_price": 0.0025,
            "output_token_price": 0.01,
            "context_window": 128000,
            "supports": {"vision": i % 2 == 0, "tools": True, "json": True},
            "region": "eu-west" if i % 2 else "us-east",
            "tags": ["bench", f"tier-{i % 4}"],
            "headers": {"X-Team": "${TEAM}"},
        }
        if kind == "openai-compatible":
            provider["base_url"] = f"http://127.0.0.1:{8000 + i}/v1"
        elif i % 2:
            provider["api_key_env"] = "BENCH_API_KEY"
        else:
            provider["api_key"] = "${BENCH_API_KEY}"
        providers.append(provider)
    return {"timeout": 30000, "max_retries": 3, "providers": providers}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    env = {"BENCH_API_KEY": "sk-bench", "TEAM": "search"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(generate(args.providers), indent=2), encoding="utf-8")
        load_config(path, env=env)  # warm-up: schema compile, pydantic build, imports
        timings: list[float] = []
        for _ in range(args.runs):
            start = time.perf_counter()
            config = load_config(path, env=env)
            timings.append((time.perf_counter() - start) * 1000)
        size = path.stat().st_size
    assert len(config.providers) == args.providers
    timings.sort()
    median = statistics.median(timings)
    p90 = timings[int(0.9 * (len(timings) - 1))]
    print(
        f"load_config: {args.providers} providers, {size} bytes, {args.runs} runs: "
        f"median {median:.1f} ms, min {timings[0]:.1f} ms, p90 {p90:.1f} ms, "
        f"max {timings[-1]:.1f} ms (target < {TARGET_MS:.0f} ms)"
    )
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
