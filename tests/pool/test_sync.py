"""SyncLLMPool over real HTTP against the emulator: the async pool on a private loop thread,
for scripts. Sleeps are virtual (a ManualClock moved forward), so retries cost no real time."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy import SyncLLMPool
from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import ConfigurationError, LLMPoolError, ProviderError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import PoolResponse

MARKER = "sk-SYNC-MARKER-never-printed"


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


def _sync_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llmpool-sync"]


def _pool(emulator: Emulator, tmp_path: Path, clock: ManualClock) -> SyncLLMPool:
    config = emulator.write_config(tmp_path / "config.json")
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        await asyncio.sleep(0)

    return SyncLLMPool(str(config), clock=clock, sleep=sleep, check_interval_s=0)


def hi(text: str = "hello") -> list[Any]:
    return [text_message("user", text)]


def test_chat_health_stats_and_events(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add(
        "primary",
        "openai",
        api_key=MARKER,
        config={"priority": 1, "input_token_price": 0.01, "output_token_price": 0.02},
    )
    emulator.add("backup", "anthropic", config={"priority": 2, "requests_per_minute": 10})
    events: list[tuple[str, Mapping[str, Any]]] = []
    with _pool(emulator, tmp_path, emulator_clock) as pool:
        pool.on("request_success", lambda p: events.append(("request_success", p)))
        pool.on("request_error", lambda p: events.append(("request_error", p)))
        assert pool.health().total_providers == 2 and pool.health().healthy

        first = pool.chat(hi(), max_tokens=8, temperature=0)
        assert isinstance(first, PoolResponse)
        assert first.provider == "primary" and first.content and first.cost > 0

        # the primary fails four times (the default policy's tries: the seed's max_retries 3 + 1,
        # as the config leaves it out), then fails over
        emulator["primary"].queue_faults(*["server_error"] * 4)
        second = pool.chat(hi("again"), max_tokens=8)
        assert second.provider == "backup"
        assert [(a.provider, a.error_class) for a in second.attempts] == [
            *[("primary", "server_error")] * 4, ("backup", None)]  # fmt: skip

        stats = pool.stats()
        assert stats["primary"].requests == 5 and stats["primary"].successes == 1
        assert stats["primary"].failures == 4 and stats["primary"].total_cost == first.cost
        assert stats["backup"].successes == 1
        assert stats["backup"].requests_remaining_minute == 9
        assert pool.stats() == stats  # read-only
        health = pool.health()
        assert (health.total_providers, health.available_providers) == (2, 2)
        assert pool.pool.config.providers[0].name == "primary"
        assert pool.reload() is False  # nothing changed on disk

        # a client error comes back typed, through the sync wrapper, with its attempts
        emulator["primary"].queue_faults("auth")
        with pytest.raises(ProviderError) as info:
            pool.chat(hi("bad key"), max_tokens=8)
        assert info.value.error_class == "auth" and info.value.status == 401
        assert [a.provider for a in info.value.attempts] == ["primary"]  # type: ignore[attr-defined]
        shown = repr(stats) + repr(events) + str(info.value) + repr(info.value.attempts)
        assert MARKER not in shown

    names = [name for name, _ in events]
    assert names.count("request_success") == 2 and names.count("request_error") == 5
    assert emulator.journal.count("primary") == 6 and emulator.journal.count("backup") == 1


def test_close_is_idempotent_and_ends_the_loop_thread(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "cohere", config={"priority": 1})
    before = len(_sync_threads())
    pool = _pool(emulator, tmp_path, emulator_clock)
    assert len(_sync_threads()) == before + 1
    assert pool.chat(hi(), max_tokens=4).provider == "a"
    pool.close()
    pool.close()  # a second close does nothing
    assert len(_sync_threads()) == before
    assert not pool.pool._in_flight
    with pytest.raises(LLMPoolError, match="closed"):
        pool.chat(hi(), max_tokens=4)
    with pytest.raises(LLMPoolError, match="closed"):
        pool.reload()
    assert emulator.journal.count("a") == 1


def test_a_bad_config_raises_typed_and_leaves_no_thread(tmp_path: Path) -> None:
    before = len(_sync_threads())
    bad = tmp_path / "config.json"
    bad.write_text('{"providers": [{"name": "x", "type": "nope"}]}')
    with pytest.raises(ConfigurationError):
        SyncLLMPool(str(bad), check_interval_s=0)
    assert len(_sync_threads()) == before
