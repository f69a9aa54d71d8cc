"""Latency profiles: how long an emulated provider takes, by default as fast as it was measured.

A profile is the time to first token (lognormal, fitted to a p50 and a p95) plus the output
tokens at a fixed rate. A non-streaming success answers after ``ttft + output_tokens / tps``;
an error answers after ``ttft`` alone (the time to response headers).

The defaults are measured numbers from ../shared/data (see docs/emulator.md):

- ``groq``, ``together``: llmperf-leaderboard (ray-project, Apache-2.0), Llama-2-70B, 550 input
  / 150 output tokens, 5 concurrent requests from us-west-2, Dec 2023 — summary files
  ``groq_70b.json`` / ``together_70b.json``: TTFT p50 and p95, and 1 / inter-token latency p50.
- ``openai``, ``anthropic``, ``cohere`` (and the named models): thefastest.ai (Fixie.ai, MIT),
  2024-05-03, one streaming sample per model from each of 3 regions (cdg, sea, iad): TTFT p50 is
  the median of the three, "p95" the largest of the three (three samples give no real tail),
  tokens/s the median (999, "too fast to measure", left out).

``profile_from_llmperf`` and ``profiles_from_thefastest`` are the derivations; a test recomputes
every default from the data files so the table below cannot drift from its source.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "DEFAULT_PROFILE_FOR_TYPE",
    "PROFILES",
    "ZERO",
    "LatencyProfile",
    "profile_from_llmperf",
    "profiles_from_thefastest",
]

_Z95: Final = 1.6448536269514722  # the standard normal's 95th percentile


@dataclass(frozen=True, slots=True)
class LatencyProfile:
    """TTFT lognormal(p50, p95) seconds, then ``tokens_per_s`` for the output."""

    ttft_p50: float
    ttft_p95: float
    tokens_per_s: float
    source: str = "custom"

    def __post_init__(self) -> None:
        if self.ttft_p50 < 0 or self.ttft_p95 < self.ttft_p50:
            raise ValueError("need 0 <= ttft_p50 <= ttft_p95")
        if self.tokens_per_s <= 0:
            raise ValueError("tokens_per_s must be > 0")

    @property
    def mu_sigma(self) -> tuple[float, float]:
        """The lognormal's parameters (mu -inf for a zero profile)."""
        if self.ttft_p50 == 0:
            return -math.inf, 0.0
        return math.log(self.ttft_p50), math.log(self.ttft_p95 / self.ttft_p50) / _Z95

    def sample_ttft(self, rng: random.Random) -> float:
        if self.ttft_p50 == 0:
            return 0.0
        sigma = math.log(self.ttft_p95 / self.ttft_p50) / _Z95
        return rng.lognormvariate(math.log(self.ttft_p50), sigma)

    def output_time(self, tokens: int) -> float:
        return tokens / self.tokens_per_s

    def to_json(self) -> dict[str, object]:
        return {
            "ttft_p50": self.ttft_p50,
            "ttft_p95": self.ttft_p95,
            "tokens_per_s": self.tokens_per_s,
            "source": self.source,
        }


_LLMPERF: Final = "llmperf-leaderboard-2023 summary/{}.json (ray-project, Apache-2.0)"
_FASTEST: Final = "thefastest-ai-2024-05 latest.json {} (Fixie.ai, MIT)"

ZERO: Final = LatencyProfile(0.0, 0.0, 1e12, "zero")

# name -> profile; rounded to 0.1 ms / 0.1 tok/s from the derivations below.
PROFILES: Final[Mapping[str, LatencyProfile]] = {
    "groq": LatencyProfile(0.2219, 0.3037, 187.9, _LLMPERF.format("groq_70b")),
    "together": LatencyProfile(0.6353, 0.7701, 65.2, _LLMPERF.format("together_70b")),
    "openai/gpt-3.5-turbo-0125": LatencyProfile(
        0.4768, 0.5860, 79.3, _FASTEST.format("openai/gpt-3.5-turbo-0125")
    ),
    "openai/gpt-4-turbo": LatencyProfile(
        0.5567, 0.6574, 26.7, _FASTEST.format("openai/gpt-4-turbo")
    ),
    "anthropic/claude-3-haiku-20240307": LatencyProfile(
        0.3695, 0.4354, 223.4, _FASTEST.format("anthropic/claude-3-haiku-20240307")
    ),
    "anthropic/claude-3-sonnet-20240229": LatencyProfile(
        0.4876, 0.5714, 81.3, _FASTEST.format("anthropic/claude-3-sonnet-20240229")
    ),
    "anthropic/claude-3-opus-20240229": LatencyProfile(
        0.8460, 1.3594, 35.8, _FASTEST.format("anthropic/claude-3-opus-20240229")
    ),
    "cohere/command-r": LatencyProfile(0.1235, 0.1765, 91.0, _FASTEST.format("cohere/command-r")),
    "cohere/command-r-plus": LatencyProfile(
        0.1432, 0.2047, 31.1, _FASTEST.format("cohere/command-r-plus")
    ),
    "groq.com/llama-3-70b-chat": LatencyProfile(
        0.1779, 0.2118, 291.3, _FASTEST.format("groq.com/llama-3-70b-chat")
    ),
    "together.ai/llama-3-70b-chat": LatencyProfile(
        0.4642, 0.7162, 99.2, _FASTEST.format("together.ai/llama-3-70b-chat")
    ),
    "zero": ZERO,
}

# Our provider types -> the profile an emulated provider of that type uses unless told otherwise.
DEFAULT_PROFILE_FOR_TYPE: Final[Mapping[str, str]] = {
    "openai": "openai/gpt-3.5-turbo-0125",
    "openai-compatible": "openai/gpt-3.5-turbo-0125",
    "anthropic": "anthropic/claude-3-haiku-20240307",
    "cohere": "cohere/command-r",
    "groq": "groq",
    "together": "together",
}


def profile_from_llmperf(summary: Mapping[str, Any], source: str = "llmperf") -> LatencyProfile:
    """A profile from an llmperf-leaderboard ``summary/*.json`` document."""
    return LatencyProfile(
        ttft_p50=round(float(summary["results_ttft_s_quantiles_p50"]), 4),
        ttft_p95=round(float(summary["results_ttft_s_quantiles_p95"]), 4),
        tokens_per_s=round(1.0 / float(summary["results_inter_token_latency_s_quantiles_p50"]), 1),
        source=source,
    )


def profiles_from_thefastest(runs: Sequence[Mapping[str, Any]]) -> dict[str, LatencyProfile]:
    """Profiles per model from thefastest.ai's ``latest.json`` (a list of regional runs)."""
    samples: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        for result in run["results"]:
            samples.setdefault(str(result["model"]), []).append(result)
    profiles: dict[str, LatencyProfile] = {}
    for model, results in samples.items():
        ttfts = [float(r["ttft"]) for r in results]
        rates = [float(r["tps"]) for r in results if float(r["tps"]) != 999]
        if not ttfts or not rates:
            continue
        profiles[model] = LatencyProfile(
            ttft_p50=round(statistics.median(ttfts), 4),
            ttft_p95=round(max(ttfts), 4),
            tokens_per_s=round(statistics.median(rates), 1),
            source=_FASTEST.format(model),
        )
    return profiles
