"""The default latencies are the measured ones: recomputed here from ../shared/data."""

from __future__ import annotations

import json
import random
import statistics
from pathlib import Path

import pytest

from llmpool_policy.emulator import DEFAULT_PROFILE_FOR_TYPE, PROFILES, LatencyProfile
from llmpool_policy.emulator.profiles import profile_from_llmperf, profiles_from_thefastest

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
needs_data = pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not present")


@needs_data
@pytest.mark.parametrize("name", ["groq_70b", "together_70b"])
def test_llmperf_profiles(name: str) -> None:
    summary = json.loads(
        (DATA / "llmperf-leaderboard-2023" / "summary" / f"{name}.json").read_text()
    )
    computed = profile_from_llmperf(summary)
    table = PROFILES[name.split("_")[0]]
    assert (computed.ttft_p50, computed.ttft_p95, computed.tokens_per_s) == (
        table.ttft_p50,
        table.ttft_p95,
        table.tokens_per_s,
    )


@needs_data
def test_thefastest_profiles() -> None:
    runs = json.loads((DATA / "thefastest-ai-2024-05" / "latest.json").read_text())
    computed = profiles_from_thefastest(runs)
    checked = 0
    for name, profile in PROFILES.items():
        if "/" in name:
            assert computed[name] == profile
            checked += 1
    assert checked == 9


def test_every_type_has_a_default() -> None:
    for kind, name in DEFAULT_PROFILE_FOR_TYPE.items():
        assert name in PROFILES, kind


def test_lognormal_fit_matches_its_quantiles() -> None:
    profile = PROFILES["groq"]
    rng = random.Random(1)
    samples = sorted(profile.sample_ttft(rng) for _ in range(20000))
    assert statistics.median(samples) == pytest.approx(profile.ttft_p50, rel=0.03)
    assert samples[int(0.95 * len(samples))] == pytest.approx(profile.ttft_p95, rel=0.04)
    assert profile.output_time(188) == pytest.approx(1.0, rel=0.01)


def test_profile_validation() -> None:
    with pytest.raises(ValueError):
        LatencyProfile(0.5, 0.4, 10)
    with pytest.raises(ValueError):
        LatencyProfile(0.1, 0.2, 0)
    assert PROFILES["zero"].sample_ttft(random.Random(0)) == 0.0
