"""A day-long spend gate over real HTTP (issue 11, item 6): `skip when spend(1d) > $X` counts
every call of the day, not the last hour's. The emulator answers on 127.0.0.1; time is the
virtual clock both share."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import PoolHarness


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


def test_a_day_long_spend_gate_takes_effect_after_more_than_an_hour(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    emulator.add("paid", "openai", config={"priority": 1, "input_token_price": 1.0,
                                           "output_token_price": 1.0})  # fmt: skip
    emulator.add("free", "openai", config={"priority": 2})
    emulator.write_config(tmp_path / "config.json")
    costs: list[float] = []
    served: list[str] = []

    async def one(pool: LLMPool) -> None:
        r = await pool.chat([text_message("user", "hello")], max_tokens=5)
        served.append(r.provider)
        costs.append(r.cost or 0.0)

    async def body(pool: LLMPool) -> None:
        await one(pool)  # learn what one call costs, then set the gate at 4.5 calls
        per_call = costs[0]
        assert per_call > 0
        policy.write_text(
            'policy "day-budget"\n'
            f"route d {{ use all skip when spend(1d) > ${per_call * 4.5:.6f} order by priority }}"
        )
        assert await pool.reload() is True
        for _ in range(7):  # one call every 20 minutes: 2 h 20 min in all
            emulator_clock.advance(1200.0)
            await one(pool)

    policy = tmp_path / "p.policy"
    policy.write_text('policy "warm-up"\nroute d { use all order by priority }')
    rig.run(policy, body)
    # five paid calls (t = 0 .. 80 min) pass $4.5 calls; from 100 min the paid one is skipped,
    # although the last hour alone (what a one-hour window read) held only three of them
    assert served == ["paid"] * 5 + ["free"] * 3
    assert emulator.journal.count("paid") == 5
    assert all(c == costs[0] for c in costs[:5]) and costs[5:] == [0.0] * 3


def test_the_days_spend_reads_every_call_in_the_pools_metrics(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    emulator.add("paid", "openai", config={"input_token_price": 1.0, "output_token_price": 1.0})
    emulator.write_config(tmp_path / "config.json")

    async def body(pool: LLMPool) -> tuple[float, float, float]:
        total = 0.0
        for _ in range(6):  # six calls over two hours
            r = await pool.chat([text_message("user", "hello")], max_tokens=5)
            total += r.cost or 0.0
            emulator_clock.advance(1200.0)
        view = pool.metrics.snapshot().provider("paid")
        return total, view.spend(86_400.0), view.spend(3600.0)

    total, day, hour = rig.run(None, body)
    assert total > 0
    assert day == pytest.approx(total)  # main read the last hour here: half of it
    assert hour == pytest.approx(total / 2)  # the last three calls
