"""Failure paths judged by their latency (issue 11): over real HTTP to the emulator, on a virtual
clock, the pool never sleeps toward a retry its own gate would refuse, fails over when a retry
would pass the deadline, and fails over on a malformed answer or an exceeded context window.
Each test reads the virtual clock and the recorded sleeps, not only the outcome."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import RateLimitError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import Rig

RETRY_20S = """
retry standard {
  attempts 3
  backoff exponential 1s .. 8s jitter full
  on rate_limited, overloaded, server_error, timeout, connection
  honor retry_after up to 20s
}
"""


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


@pytest.fixture
def rig(emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock) -> Rig:
    return Rig(emulator, tmp_path, emulator_clock)


def hi() -> list[Any]:
    return [text_message("user", "hello")]


def primary_and_backup(rig: Rig) -> None:
    rig.emulator.add("primary", "openai", config={"priority": 1})
    rig.emulator.add("backup", "anthropic", config={"priority": 2})
    rig.config()


# ---- 2: no sleep toward a retry the gate refuses ----------------------------------------------


@pytest.mark.parametrize("given", ["no policy", "explicit"])
def test_a_retry_after_longer_than_the_policy_waits_fails_over_at_once(
    rig: Rig, given: str
) -> None:
    primary_and_backup(rig)
    rig.emulator["primary"].set_behaviour(faults={"rate_limited": 1.0}, retry_after=60.0)
    policy = None
    if given == "explicit":
        policy = rig.policy(RETRY_20S + "route d { use all order by priority retry standard }")

    r = rig.run(policy, lambda pool: pool.chat(hi(), max_tokens=5))
    assert r.provider == "backup"
    # main slept min(60, 20) = 20 s, then had the retry refused by the 60 s cool-down
    assert rig.sleeps == [] and rig.clock.now() == 0.0
    assert [(a.provider, a.error_class) for a in r.attempts] == [
        ("primary", "rate_limited"), ("backup", None)
    ]  # fmt: skip
    assert rig.emulator.journal.count("primary") == 1


def test_a_retry_after_within_the_cap_is_still_waited_out(rig: Rig) -> None:
    primary_and_backup(rig)
    rig.emulator["primary"].set_behaviour(retry_after=5.0)
    rig.emulator["primary"].queue_faults("rate_limited")
    policy = rig.policy(RETRY_20S + "route d { use all order by priority retry standard }")
    r = rig.run(policy, lambda pool: pool.chat(hi(), max_tokens=5))
    assert r.provider == "primary"
    assert len(rig.sleeps) == 1 and rig.sleeps[0] >= 5.0


def test_two_rate_limited_providers_fail_at_once_with_the_reset(rig: Rig) -> None:
    primary_and_backup(rig)
    for name in ("primary", "backup"):
        rig.emulator[name].set_behaviour(faults={"rate_limited": 1.0}, retry_after=60.0)
    policy = rig.policy(RETRY_20S + "route d { use all order by priority retry standard }")

    async def body(pool: LLMPool) -> None:
        with pytest.raises(RateLimitError) as info:
            await pool.chat(hi(), max_tokens=5)
        assert info.value.reset_time == 60.0
        assert [a.provider for a in info.value.attempts] == ["primary", "backup"]
        assert "cannot be tried again for 60s" in str(info.value)

    rig.run(policy, body)
    assert rig.sleeps == [] and rig.clock.now() == 0.0  # main: 40 s of sleeping in vain


def test_a_breaker_opened_by_the_failure_is_not_slept_toward(rig: Rig) -> None:
    primary_and_backup(rig)
    rig.emulator["primary"].set_behaviour(faults={"server_error": 1.0})
    policy = rig.policy(
        RETRY_20S
        + "breaker default { open after 1 failures within 1m  cool down 30s }\n"
        + "route d { use all order by priority retry standard }"
    )
    r = rig.run(policy, lambda pool: pool.chat(hi(), max_tokens=5))
    assert r.provider == "backup"
    assert rig.sleeps == [] and rig.clock.now() == 0.0  # main: a backoff, then a skipped try
    assert [a.provider for a in r.attempts] == ["primary", "backup"]


# ---- 3: a retry that would pass the deadline fails over instead ------------------------------


def test_a_retry_sleep_past_the_deadline_fails_over_to_a_backup_with_time_left(rig: Rig) -> None:
    primary_and_backup(rig)
    rig.emulator["primary"].set_behaviour(faults={"server_error": 1.0})
    policy = rig.policy(
        "limits { deadline 5s }\n"
        "route d { use all order by priority\n"
        "  retry { attempts 3 backoff constant 6s jitter none on server_error } }"
    )
    r = rig.run(policy, lambda pool: pool.chat(hi(), max_tokens=5))  # main: DeadlineExceeded
    assert r.provider == "backup"
    assert rig.sleeps == []


# ---- 4: the default policy fails over on a malformed answer and a too-small window -----------


@pytest.mark.parametrize("fault", ["malformed_json", "malformed_body"])
def test_the_default_policy_fails_over_on_a_malformed_200(rig: Rig, fault: str) -> None:
    primary_and_backup(rig)
    rig.emulator["primary"].set_behaviour(faults={fault: 1.0})
    r = rig.run(None, lambda pool: pool.chat(hi(), max_tokens=5))  # main: ProviderError
    assert r.provider == "backup"
    assert [a.error_class for a in r.attempts] == ["invalid_response", None]


def test_a_context_window_failure_fails_over_only_to_larger_windows(rig: Rig) -> None:
    rig.emulator.add("small", "openai", config={"priority": 1, "context_window": 8192})
    rig.emulator.add("smaller", "openai", config={"priority": 2, "context_window": 4096})
    rig.emulator.add("unknown", "cohere", config={"priority": 3})
    rig.emulator.add("large", "anthropic", config={"priority": 4, "context_window": 200_000})
    rig.config()
    rig.emulator["small"].set_behaviour(faults={"context_window": 1.0})
    rig.emulator["unknown"].set_behaviour(faults={"context_window": 1.0})
    r = rig.run(None, lambda pool: pool.chat(hi(), max_tokens=5))
    assert r.provider == "large"
    assert [(a.provider, a.error_class, a.skipped) for a in r.attempts] == [
        ("small", "context_window", False),
        ("smaller", None, True),  # 4096 <= 8192: it cannot hold what 8192 could not
        ("unknown", "context_window", False),  # no window configured: worth a try
        ("large", None, False),
    ]
    assert "not larger than the 8192" in r.attempts[1].message
    assert rig.emulator.journal.count("smaller") == 0
