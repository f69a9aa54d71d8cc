"""A retry-after benches a provider no longer than the policy allows (issue 13, item 13): a
429 with `retry-after: 2592000` took the provider out of rotation for 30 days. Real HTTP to
the emulator, on the pool's injected clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import Rig

THIRTY_DAYS = 2_592_000.0


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


@pytest.fixture
def rig(emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock) -> Rig:
    return Rig(emulator, tmp_path, emulator_clock)


def served_over_time(rig: Rig, honor: str, at: list[float]) -> list[str]:
    """`primary` answers one 429 with a 30-day retry-after, `backup` is healthy; the provider
    that serves a request at each time in ``at`` (seconds after the 429)."""
    rig.emulator.add("primary", "openai", config={"priority": 1})
    rig.emulator.add("backup", "openai", config={"priority": 2})
    rig.emulator["primary"].set_behaviour(retry_after=THIRTY_DAYS)
    rig.emulator["primary"].queue_faults("rate_limited")
    rig.config()
    policy = rig.policy(f"route d {{ use all order by priority retry {{ attempts 1 {honor} }} }}")

    async def body(pool: LLMPool) -> list[str]:
        first = await pool.chat([text_message("user", "hi")], max_tokens=5)
        assert [a.error_class for a in first.attempts] == ["rate_limited", None]
        start = rig.clock.now()
        served = []
        for t in at:
            rig.clock.advance(start + t - rig.clock.now())
            reply = await pool.chat([text_message("user", "hi")], max_tokens=5)
            served.append(reply.provider)
        return served

    served: list[str] = rig.run(policy, body)
    return served


def test_the_policy_ceiling_brings_the_provider_back(rig: Rig) -> None:
    served = served_over_time(
        rig, "honor retry_after up to 20s, cool down at most 1m", [1.0, 59.0, 60.5, 3600.0]
    )
    assert served == ["backup", "backup", "primary", "primary"]  # main: backup for 30 days


def test_without_a_ceiling_the_default_is_ten_minutes(rig: Rig) -> None:
    served = served_over_time(rig, "honor retry_after up to 20s", [599.0, 600.5])
    assert served == ["backup", "primary"]
