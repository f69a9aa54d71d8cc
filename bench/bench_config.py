"""Benchmark: load and validate a generated 500-provider configuration (target: < 200 ms).

Run: python bench/bench_config.py [--providers 500] [--runs 50]
Prints the median and other percentiles of the full load_config path (read file, parse JSON,
checksum, ${VAR} expansion, JSON Schema, cross-checks, pydantic models).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from llmpool_policy.config import load_config
from llmpool_policy.errors import ConfigurationError

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


def _time(path: Path, env: dict[str, str], runs: int) -> list[float]:
    timings: list[float] = []
    for _ in range(runs):
        start = time.perf_counter()
        with contextlib.suppress(ConfigurationError):
            load_config(path, env=env)
        timings.append((time.perf_counter() - start) * 1000)
    return sorted(timings)


def _report(label: str, timings: list[float]) -> str:
    p90 = timings[int(0.9 * (len(timings) - 1))]
    return (
        f"{label}: median {statistics.median(timings):.1f} ms, min {timings[0]:.1f} ms, "
        f"p90 {p90:.1f} ms, max {timings[-1]:.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--providers", type=int, default=500)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    env = {"BENCH_API_KEY": "sk-bench", "TEAM": "search"}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(generate(args.providers), indent=2), encoding="utf-8")
        config = load_config(path, env=env)  # warm-up: schema compile, pydantic build, imports
        assert len(config.providers) == args.providers
        valid = _time(path, env, args.runs)
        # The error path: one bad value among 500 providers runs the full JSON Schema pass.
        broken = generate(args.providers)
        broken["providers"][-1]["requests_per_minute"] = -5  # type: ignore[index]
        bad_path = Path(tmp) / "broken.json"
        bad_path.write_text(json.dumps(broken, indent=2), encoding="utf-8")
        invalid = _time(bad_path, env, args.runs)
        size = path.stat().st_size
    median = statistics.median(valid)
    print(f"load_config, {args.providers} providers, {size} bytes, {args.runs} runs each")
    print(_report("  valid config (load + validate)  ", valid))
    print(_report("  one error (full schema report)  ", invalid))
    print(f"  target: median < {TARGET_MS:.0f} ms for the valid config")
    return 0 if median < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
