"""When no provider can take a request (issue 11, item 8): the error names every provider's
reason and when the first frees up; `when none available wait up to D` waits for it, within the
wait and the deadline, in arrival order, never past a limit. Real HTTP to the emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import NoProviderAvailableError, ProviderError, RateLimitError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock, MonotonicClock
from llmpool_policy.policy import Policy
from llmpool_policy.pool import LLMPool
from llmpool_policy.semantics import ProviderFacts

from .harness import Rig

ONCE = "route d { use all order by priority retry { attempts 1 } }"


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


@pytest.fixture
def rig(emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock) -> Rig:
    return Rig(emulator, tmp_path, emulator_clock)


def hi(text: str = "hello") -> list[Any]:
    return [text_message("user", text)]


async def rate_limit_everyone(pool: LLMPool) -> None:
    """One request that every provider answers 429 (each then cools down for its Retry-After)."""
    with pytest.raises(RateLimitError):
        await pool.chat(hi(), max_tokens=5)


def cooling(rig: Rig, **retry_after: float) -> None:
    for i, (name, seconds) in enumerate(retry_after.items()):
        rig.emulator.add(name, "openai", config={"priority": i + 1})
        rig.emulator[name].set_behaviour(retry_after=seconds)
        rig.emulator[name].queue_faults("rate_limited")
    rig.config()


# ---- the error: every reason, and when the first provider frees up ---------------------------


def test_the_error_names_each_provider_and_when_the_first_frees_up(rig: Rig) -> None:
    cooling(rig, a=30.0, b=12.0)
    policy = rig.policy(ONCE)

    async def body(pool: LLMPool) -> NoProviderAvailableError:
        await rate_limit_everyone(pool)
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.chat(hi(), max_tokens=5)
        return info.value

    error = rig.run(policy, body)
    assert error.reasons == {"a": "cool_down", "b": "cool_down"}
    assert error.retry_after == pytest.approx(12.0) and error.retry_after_provider == "b"
    assert "a: cool_down; b: cool_down" in str(error)  # main: only "no provider available..."
    assert "the first provider frees up in 12s (b)" in str(error)


def test_a_provider_removed_by_a_breaker_rule_says_when_the_breaker_half_opens(rig: Rig) -> None:
    rig.emulator.add("a", "openai")
    rig.config()
    rig.emulator["a"].queue_faults("server_error")
    policy = rig.policy(
        "breaker default { open after 1 failures within 1m  cool down 40s }\n"
        "route d { use all skip when breaker.open retry { attempts 1 } }"
    )

    async def body(pool: LLMPool) -> NoProviderAvailableError:
        with pytest.raises(ProviderError):
            await pool.chat(hi(), max_tokens=5)
        rig.clock.advance(10.0)
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.chat(hi(), max_tokens=5)
        return info.value

    error = rig.run(policy, body)
    assert "a: " in str(error) and "breaker.open" in error.reasons["a"]
    assert error.retry_after == pytest.approx(30.0)


def test_a_provider_passed_over_by_policy_alone_names_no_time(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 5})
    rig.config()
    policy = rig.policy(
        "limits { when none available wait up to 1m }\nroute d { use all skip when priority > 1 }"
    )

    async def body(pool: LLMPool) -> NoProviderAvailableError:
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.chat(hi(), max_tokens=5)
        return info.value

    error = rig.run(policy, body)
    assert error.retry_after is None and "frees up" not in str(error)
    assert rig.sleeps == []  # nothing the gate holds: waiting cannot help, so it does not wait


# ---- `when none available wait up to D` ------------------------------------------------------


def test_a_request_waits_for_the_first_provider_to_free_up(rig: Rig) -> None:
    cooling(rig, a=3.0)
    policy = rig.policy("limits { when none available wait up to 5s }\n" + ONCE)

    async def body(pool: LLMPool) -> str:
        await rate_limit_everyone(pool)
        r = await pool.chat(hi(), max_tokens=5)
        return r.provider

    assert rig.run(policy, body) == "a"
    assert rig.sleeps == [pytest.approx(3.0)]


@pytest.mark.parametrize(
    "limits",
    ["when none available wait up to 2s", "deadline 2s  when none available wait up to 1m"],
)
def test_a_provider_that_frees_up_too_late_fails_at_once(rig: Rig, limits: str) -> None:
    cooling(rig, a=3.0)
    policy = rig.policy(f"limits {{ {limits} }}\n" + ONCE)

    async def body(pool: LLMPool) -> NoProviderAvailableError:
        await rate_limit_everyone(pool)
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.chat(hi(), max_tokens=5)
        return info.value

    error = rig.run(policy, body)
    assert error.retry_after == pytest.approx(3.0)
    assert rig.sleeps == []  # never a wait that cannot end in an answer


def test_without_the_clause_nothing_waits(rig: Rig) -> None:
    cooling(rig, a=3.0)

    async def body(pool: LLMPool) -> None:
        await rate_limit_everyone(pool)
        with pytest.raises(NoProviderAvailableError):
            await pool.chat(hi(), max_tokens=5)

    rig.run(rig.policy(ONCE), body)
    assert rig.sleeps == []


def test_the_wait_counts_in_the_checked_worst_case_time() -> None:
    route = "route d { use [a] timeout 2s retry { attempts 1 } }"
    facts = [ProviderFacts("a", {"name": "a"})]
    for limits, worst in (("", 2.0), ("when none available wait up to 5s", 7.0),
                          ("deadline 4s  when none available wait up to 5s", 4.0)):  # fmt: skip
        text = f'policy "t"\nlimits {{ {limits} }}\n{route}'
        bounds = Policy.from_text(text, config=facts).bounds.for_route("d")
        assert bounds is not None and bounds.time.value == pytest.approx(worst), limits


def test_waiters_go_in_arrival_order_and_never_past_a_limit(tmp_path: Path) -> None:
    """Real time: a cools down for 0.4 s; five requests arrive meanwhile and wait. The pool's
    own limit (3 per minute, one spent by the 429) lets two through, in the order they came;
    the other three fail as soon as their turn shows the limit frees up too late."""
    emulator = Emulator(clock=MonotonicClock(), latency_scale=0.0)
    emulator.add("a", "openai", config={"requests_per_minute": 3})
    emulator["a"].set_behaviour(retry_after=0.4)
    emulator["a"].queue_faults("rate_limited")
    policy = tmp_path / "p.policy"
    policy.write_text('policy "t"\nlimits { when none available wait up to 3s }\n' + ONCE)

    async def main() -> list[object]:
        config = emulator.write_config(tmp_path / "config.json")
        async with LLMPool(str(config), str(policy), check_interval_s=0) as pool:
            await rate_limit_everyone(pool)
            tasks = []
            for i in range(5):
                tasks.append(asyncio.create_task(pool.chat(hi(f"w{i}"), max_tokens=5)))
                await asyncio.sleep(0.02)  # arrival order w0..w4
            return await asyncio.gather(*tasks, return_exceptions=True)

    emulator.start()
    try:
        results = asyncio.run(main())
    finally:
        emulator.stop()
    served = [e.body["messages"][0]["content"] for e in emulator.journal.entries()][1:]
    assert served == ["w0", "w1"]  # in arrival order; a third would pass rpm 3
    assert [type(r).__name__ for r in results] == ["PoolResponse"] * 2 + [
        "NoProviderAvailableError"
    ] * 3
    late = results[2]
    assert isinstance(late, NoProviderAvailableError)
    assert late.reasons == {"a": "rpm"} and late.retry_after is not None and late.retry_after > 50
