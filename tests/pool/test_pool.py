"""The pool over real HTTP against the emulator: the seed README's promises and its failures
made impossible. Time is virtual (ManualClock; sleeps advance it), HTTP is real (loopback)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import (
    LLMPoolError,
    NoProviderAvailableError,
    ProviderError,
    RateLimitError,
)
from llmpool_policy.messages import image_message, text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import MARKER, PNG, PoolHarness


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


class Harness(PoolHarness):
    def config(self, overrides: Mapping[str, Mapping[str, object]] | None = None) -> Path:
        return self.emulator.write_config(self.tmp / "config.json", overrides)

    def policy(self, text: str) -> Path:
        path = self.tmp / "p.policy"
        path.write_text(text)
        return path


@pytest.fixture
def h(emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock) -> Harness:
    return Harness(emulator, tmp_path, emulator_clock)


def hi(text: str = "hello") -> list[Any]:
    return [text_message("system", "Be brief."), text_message("system", "Answer in English."),
            text_message("user", text)]  # fmt: skip


def test_each_wire_format_answers(h: Harness) -> None:
    for i, kind in enumerate(("openai", "anthropic", "cohere")):
        h.emulator.add(f"{kind}-p", kind, config={"priority": i + 1})
    h.config()

    async def body(pool: LLMPool) -> list[str]:
        names = []
        for provider in ("openai-p", "anthropic-p", "cohere-p"):
            others = [p for p in ("openai-p", "anthropic-p", "cohere-p") if p != provider]
            for other in others:
                h.emulator[other].set_behaviour(faults={"server_error": 1.0})
            h.emulator[provider].set_behaviour(faults={})
            r = await pool.chat(hi(), max_tokens=20, temperature=0, request_id=provider)
            names.append(r.provider)
            assert r.content and r.usage.total_tokens > 0
        return names

    # failover off: each request only tries the first provider by priority, so reorder by faults
    policy = h.policy(
        'policy "t"\nroute d { use all order by error_rate(1h) failover on server_error }'
    )
    assert h.run(policy, body) == ["openai-p", "anthropic-p", "cohere-p"]
    sent = {e.provider: e.body for e in h.emulator.journal.entries() if e.status == 200}
    assert sent["openai-p"]["temperature"] == 0  # zero is a value, never "use the default"
    assert sent["anthropic-p"]["temperature"] == 0
    assert "Be brief." in json.dumps(sent["anthropic-p"]["system"])
    assert "Answer in English." in json.dumps(sent["anthropic-p"]["system"])  # every system msg


def test_failover_on_500_lists_every_attempt(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.emulator.add("b", "anthropic", config={"priority": 2})
    h.config()
    h.emulator["a"].set_behaviour(faults={"server_error": 1.0})
    r = h.run(None, lambda pool: pool.chat(hi(), max_tokens=10))
    assert r.provider == "b"
    assert [(a.provider, a.error_class) for a in r.attempts] == [
        *[("a", "server_error")] * 4, ("b", None)]  # fmt: skip
    # the default policy takes the config's numbers; this config leaves them out, so the seed's:
    # 4 tries, exponential backoff from 1 s (1, 2, 4 s, full jitter), and no real sleep
    assert len(h.sleeps) == 3
    assert all(0 <= s <= step for s, step in zip(h.sleeps, (1, 2, 4), strict=True))


def test_401_is_not_retried_and_trips_no_breaker(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.emulator.add("b", "openai", config={"priority": 2})
    h.config({"a": {"circuit_breaker_threshold": 2}})
    h.emulator["a"].set_behaviour(faults={"auth": 1.0})

    async def body(pool: LLMPool) -> tuple[list[str], str]:
        errors = []
        for _ in range(6):
            with pytest.raises(ProviderError) as info:
                await pool.chat(hi(), max_tokens=10)
            errors.append(info.value.error_class)
            assert [a.provider for a in info.value.attempts] == ["a"]
        return errors, pool.stats()["a"].breaker_state

    errors, state = h.run(None, body)
    assert errors == ["auth"] * 6
    assert state == "closed"
    assert h.emulator.journal.count("b") == 0  # a client error does not fail over
    assert not [e for e in h.events if e[0] == "breaker_opened"]


def test_rpm_limit_holds_under_concurrency(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1, "requests_per_minute": 2})
    h.emulator.add("b", "openai", config={"priority": 2})
    h.config()

    async def body(pool: LLMPool) -> list[str]:
        results = await asyncio.gather(*(pool.chat(hi(str(i)), max_tokens=5) for i in range(10)))
        return [r.provider for r in results]

    providers = h.run(None, body)
    assert providers.count("a") == 2 and providers.count("b") == 8
    assert h.emulator.journal.count("a") == 2  # exactly 2 reached it, never more


def test_half_open_breaker_admits_exactly_its_probes(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.emulator.add("b", "openai", config={"priority": 2})
    h.config()
    policy = h.policy(
        'policy "t"\nbreaker default { open after 2 failures within 1m cool down 30s probe 1 }\n'
        "route d { use all skip when breaker.open order by priority failover on server_error }"
    )

    async def body(pool: LLMPool) -> tuple[int, list[str]]:
        h.emulator["a"].set_behaviour(faults={"server_error": 1.0})
        for _ in range(2):
            await pool.chat(hi(), max_tokens=5)
        assert pool.stats()["a"].breaker_state == "open"
        h.emulator.journal.clear()
        h.emulator["a"].set_behaviour(faults={"hang": 0.0})
        h.clock.advance(31.0)  # past the cool-down: half-open, one probe allowed
        results = await asyncio.gather(*(pool.chat(hi(str(i)), max_tokens=5) for i in range(8)))
        return h.emulator.journal.count("a"), [r.provider for r in results]

    probes, providers = h.run(policy, body)
    assert probes == 1
    assert providers.count("a") == 1 and providers.count("b") == 7
    assert ("breaker_opened", {"provider": "a"}) in h.events


def test_retry_after_is_honoured(h: Harness) -> None:
    h.emulator.add(
        "a",
        "openai",
        config={"priority": 1},
    )
    h.config()
    h.emulator["a"].set_behaviour(retry_after=4.0)
    h.emulator["a"].queue_faults("rate_limited")
    r = h.run(None, lambda pool: pool.chat(hi(), max_tokens=5))
    assert r.provider == "a"
    assert [a.error_class for a in r.attempts] == ["rate_limited", None]
    assert h.sleeps and h.sleeps[0] >= 4.0  # waited the provider's retry-after, virtually


def test_last_rate_limit_is_a_typed_rate_limit_error(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.config()
    h.emulator["a"].set_behaviour(faults={"rate_limited": 1.0}, retry_after=2.0)
    policy = h.policy('policy "t"\nroute d { use all retry { attempts 2 on rate_limited } }')

    async def body(pool: LLMPool) -> None:
        with pytest.raises(RateLimitError) as info:
            await pool.chat(hi(), max_tokens=5)
        assert info.value.provider == "a" and info.value.reset_time == 2.0
        # the retry the gate would refuse (a cools down for 2 s) is given up at once, not
        # tried and skipped: one attempt, and the error says why
        assert len(info.value.attempts) == 1
        assert "a cannot be tried again for 2s" in str(info.value)

    h.run(policy, body)


def test_images_never_reach_a_provider_without_vision(h: Harness) -> None:
    h.emulator.add("text-only", "openai", config={"priority": 1})
    h.emulator.add("seeing", "anthropic", config={"priority": 2, "supports": {"vision": True}})
    h.config()

    async def body(pool: LLMPool) -> str:
        r = await pool.chat([image_message("user", "what is this?", PNG)], max_tokens=5)
        return r.provider

    assert h.run(None, body) == "seeing"
    assert h.emulator.journal.count("text-only") == 0
    entry = next(e for e in h.emulator.journal.entries() if e.provider == "seeing")
    assert "image/png" in json.dumps(entry.body)  # the real media type, not always jpeg


def test_nothing_usable_is_a_typed_error_with_reasons(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1, "requests_per_minute": 0})
    h.config()

    async def body(pool: LLMPool) -> None:
        with pytest.raises(NoProviderAvailableError) as info:
            await pool.chat(hi(), max_tokens=5)
        assert "a" in info.value.reasons

    h.run(None, body)
    assert h.emulator.journal.count("a") == 0  # rpm 0 means 0, not "unlimited"


def test_bad_reload_keeps_serving_and_good_reload_keeps_stats(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.config()
    policy = h.policy('policy "one"\nroute d { use all }')

    async def body(pool: LLMPool) -> None:
        await pool.chat(hi(), max_tokens=5)
        policy.write_text('policy "broken"\nroute d { use nothing_here }')
        assert await pool.reload() is False
        r = await pool.chat(hi(), max_tokens=5)  # still served by the last good version
        assert r.decision.policy == "one"
        policy.write_text('policy "two"\nroute d { use all }')
        assert await pool.reload() is True
        r = await pool.chat(hi(), max_tokens=5)
        assert r.decision.policy == "two"
        assert pool.stats()["a"].requests == 3  # state carried over by provider name

    h.run(policy, body)
    names = [name for name, _ in h.events]
    assert "reload_failed" in names and "policy_changed" in names
    failed = next(p for n, p in h.events if n == "reload_failed")
    assert any("E102" in d for d in failed["diagnostics"])


def test_a_handler_that_raises_never_breaks_a_request(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.config()

    async def body(pool: LLMPool) -> str:
        def boom(payload: Mapping[str, Any]) -> None:
            raise RuntimeError("handler bug")

        pool.on("request_success", boom)
        return (await pool.chat(hi(), max_tokens=5)).provider

    assert h.run(None, body) == "a"


def test_no_secret_in_any_output(h: Harness) -> None:
    h.emulator.add("a", "openai", api_key=MARKER, config={"priority": 1})
    h.emulator.add("b", "openai", config={"priority": 2})
    h.config()
    h.emulator["a"].set_behaviour(faults={"server_error": 0.5, "auth": 0.2})
    seen: list[str] = []

    async def body(pool: LLMPool) -> None:
        for i in range(12):
            try:
                r = await pool.chat(hi(str(i)), max_tokens=5)
                seen.append(repr(r))
                seen.append(r.decision.to_json_text())
            except Exception as exc:  # typed errors: their text and attempts
                seen.append(repr(exc) + str(exc) + repr(getattr(exc, "attempts", ())))
        seen.append(repr(pool.stats()) + repr(pool.health()) + repr(pool.config) + repr(pool))

    h.run(None, body)
    seen.extend(repr(e) for e in h.events)
    seen.extend(json.dumps(e.to_json()) for e in h.emulator.journal.entries())
    assert seen and not [s for s in seen if MARKER in s]


def test_health_and_stats_are_read_only(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1, "requests_per_minute": 5})
    h.config()

    async def body(pool: LLMPool) -> None:
        await pool.chat(hi(), max_tokens=5)
        before = (pool.stats(), pool.health())
        for _ in range(50):
            pool.stats()
            pool.health()
        assert (pool.stats(), pool.health()) == before
        assert before[0]["a"].requests_remaining_minute == 4

    h.run(None, body)


def test_a_request_outliving_close_ends_typed_and_frees_its_gate(h: Harness) -> None:
    h.emulator.add("a", "openai", config={"priority": 1})
    h.emulator.add("b", "openai", config={"priority": 2})
    h.config()
    h.emulator["a"].queue_faults("server_error")

    async def main() -> None:
        async def slow(seconds: float) -> None:  # a backoff still running when close() gives up
            await asyncio.sleep(0.3)

        pool = LLMPool(str(h.tmp / "config.json"), clock=h.clock, sleep=slow, check_interval_s=0,
                       close_timeout=0.01)  # fmt: skip
        await pool.start()
        task = asyncio.create_task(pool.chat(hi(), max_tokens=5))
        await asyncio.sleep(0.05)
        await pool.close()
        with pytest.raises(LLMPoolError, match="closed") as info:
            await task
        assert [(a.provider, a.error_class) for a in info.value.attempts] == [  # type: ignore[attr-defined]
            ("a", "server_error")
        ]
        assert pool.metrics.provider("a").in_flight == 0  # no reservation left behind

    asyncio.run(main())
    assert h.emulator.journal.count("a") == 1 and h.emulator.journal.count("b") == 0
