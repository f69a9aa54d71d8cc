"""An audit, as tests: every promise of the seed README and every numbered failure of
../shared/SEED-NOTES.md, proven over real HTTP (the emulator, a real http.server for remote
config) on a virtual clock. Promises already proven elsewhere are listed here, not repeated:

Promise (SEED-NOTES failure number) -> where it is proven (T = tests/pool/test_pool.py):

- seed config.json unchanged; zero is a value (7):
    tests/config/test_models_seed.py
- temperature 0 sent as 0 (7):
    T::test_each_wire_format_answers
- five provider types, their wire formats:
    T::test_each_wire_format_answers, tests/providers/test_adapters.py, test_golden.py
- text + image messages, real media types (11):
    tests/providers/test_messages.py, T::test_images_never_reach_a_provider_without_vision
- selection by priority, success rate, latency:
    tests/decide/test_ordering.py
- gates block; typed error with every attempt (1, 5):
    T::test_nothing_usable_is_a_typed_error_with_reasons,
    T::test_failover_on_500_lists_every_attempt
- rpm counted at dispatch under concurrency (2):
    T::test_rpm_limit_holds_under_concurrency
- half-open admits its probes only (3):
    T::test_half_open_breaker_admits_exactly_its_probes
- 401 neither fails over nor trips breakers (4):
    T::test_401_is_not_retried_and_trips_no_breaker
- retry-after honoured; RateLimitError.reset_time (8):
    T::test_retry_after_is_honoured, T::test_last_rate_limit_is_a_typed_rate_limit_error
- rate-limit headers of every format parsed (8):
    tests/providers/test_headers.py
- a bad FILE reload keeps serving, stats kept (6):
    T::test_bad_reload_keeps_serving_and_good_reload_keeps_stats
- remote loader: ETag/304, errors, https only:
    tests/config/test_remote.py
- ${VAR}, api_key_env, keys never shown (12):
    tests/config/test_secrets_env.py, tests/providers/test_secrets.py
- duplicate names refused by the loader (12):
    tests/config/test_errors.py (corpus, C010)
- no secret in events, stats, errors (12):
    T::test_no_secret_in_any_output, tests/pool/test_chaos.py
- health() and stats() read-only (13):
    T::test_health_and_stats_are_read_only
- a raising handler never breaks a request:
    T::test_a_handler_that_raises_never_breaks_a_request
- typed ProviderError / RateLimitError:
    tests/providers/test_errors.py, tests/runtime/test_executor.py
- injected clock and transport, no real sleeps (14):
    this file and T (the Harness)

Here: the pool settings (timeout, max_retries, retry_delay, check_interval, token counting,
debug), remote config polling with hot reload, ${ENV} keys reaching the wire, duplicate names at
the pool, validation before sending, malformed 200s, x-ratelimit headers and retry-after as
cool-downs, growing backoff and the overall deadline.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import ConfigurationError, DeadlineExceededError, ProviderError
from llmpool_policy.messages import ChatMessage, MessageError, image_message, text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool
from llmpool_policy.providers import tokens

from .harness import PNG, PoolHarness

MARKER = "sk-MARKER-seed-contract-0123456789"


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


class Rig(PoolHarness):
    """A pool on the emulator's virtual clock; config() takes pool-level settings."""

    def config(self, **pool: object) -> Path:
        document = {**self.emulator.config_document(), **pool}
        path = self.tmp / "config.json"
        path.write_text(json.dumps(document))
        return path


@pytest.fixture
def rig(emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock) -> Rig:
    return Rig(emulator, tmp_path, emulator_clock)


def hi(text: str = "hello") -> list[ChatMessage]:
    return [text_message("user", text)]


async def _until(condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# ---- pool settings: timeout, max_retries, retry_delay ---------------------------------------


def test_max_retries_and_retry_delay_drive_a_route_without_retry(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config(max_retries=2, retry_delay=500)
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})
    policy = rig.policy("route d { use all order by priority }")  # no retry block

    async def body(pool: LLMPool) -> Any:
        return await pool.chat(hi(), max_tokens=5)

    r = asyncio.run(_with(rig.pool(policy), body))
    fails = [("a", "server_error")] * 3
    assert [(a.provider, a.error_class) for a in r.attempts] == [*fails, ("b", None)]
    assert rig.emulator.journal.count("a") == 3  # max_retries 2: 3 tries reached the wire
    planned = r.decision.attempts[0]
    assert planned.backoff_s == (0.5, 1.0) and planned.jitter == "full"
    assert len(rig.sleeps) == 2 and 0 <= rig.sleeps[0] <= 0.5 and 0 <= rig.sleeps[1] <= 1.0


def test_pool_timeout_is_the_per_try_timeout_on_the_wire(rig: Rig) -> None:
    rig.emulator.add("slow", "openai", config={"priority": 1})
    rig.emulator.add("quick", "openai", config={"priority": 2, "timeout": 20000})
    rig.config(timeout=300, max_retries=0)  # 0.3 s, one try: a real (short) wait
    rig.emulator["slow"].set_behaviour(faults={"hang": 1.0})
    policy = rig.policy("route d { use all order by priority }")

    async def body(pool: LLMPool) -> Any:
        return await pool.chat(hi(), max_tokens=5)

    r = asyncio.run(_with(rig.pool(policy), body))
    assert [(a.provider, a.timeout_s) for a in r.decision.attempts] == [
        ("slow", 0.3), ("quick", 20.0)]  # fmt: skip
    assert [(a.provider, a.error_class) for a in r.attempts] == [
        ("slow", "timeout"), ("quick", None)]  # fmt: skip
    bounds = rig_pool_bounds(rig, policy)
    assert bounds == (2, 0.3 + 20.0)  # the checker's worst case is what ran


def rig_pool_bounds(rig: Rig, policy: Path) -> tuple[float | None, float | None]:
    pool = rig.pool(policy)
    route = pool.policy.bounds.for_route("d")
    assert route is not None
    return route.calls.value, route.time.value


# ---- the seed's numbers with no policy given (issue 11) -------------------------------------
# LLMPool without a policy runs policies/default.policy, whose `retry standard from config` and
# `breaker default from config` take these numbers from the config: each test fails when the
# shipped policy's own numbers win instead (3 tries at 1 s and 2 s, 5 failures, a 1 min cool-down).


def test_circuit_breaker_threshold_1_opens_after_one_failure_without_a_policy(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1, "circuit_breaker_threshold": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config(max_retries=0)  # one try per provider: one failure at a
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})

    async def body(pool: LLMPool) -> tuple[list[list[str]], str]:
        plans = [[a.provider for a in (await pool.chat(hi(), max_tokens=5)).attempts]
                 for _ in range(3)]  # fmt: skip
        return plans, pool.stats()["a"].breaker_state

    plans, state = asyncio.run(_with(rig.pool(), body))
    assert plans == [["a", "b"], ["b"], ["b"]]  # open after its first failure: skipped since
    assert state == "open" and rig.emulator.journal.count("a") == 1
    assert rig.named("breaker_opened") == [{"provider": "a"}]


def test_circuit_breaker_timeout_500ms_half_opens_after_500ms_without_a_policy(rig: Rig) -> None:
    rig.emulator.add(
        "a", "openai",
        config={"priority": 1, "circuit_breaker_threshold": 1, "circuit_breaker_timeout": 500},
    )  # fmt: skip
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config(max_retries=0)

    async def body(pool: LLMPool) -> list[str]:
        rig.emulator["a"].queue_faults("server_error")  # a fails once, then answers
        out = [(await pool.chat(hi(), max_tokens=5)).provider]  # a fails: open, b answers
        rig.clock.advance(0.4)
        out.append((await pool.chat(hi(), max_tokens=5)).provider)  # still open at 0.4 s
        rig.clock.advance(0.2)  # 0.6 s: the 500 ms cool-down is over, a is probed
        out.append((await pool.chat(hi(), max_tokens=5)).provider)
        assert pool.stats()["a"].breaker_state == "closed"  # the probe succeeded
        return out

    assert asyncio.run(_with(rig.pool(), body)) == ["b", "b", "a"]
    assert rig.emulator.journal.count("a") == 2


def test_max_retries_1_makes_exactly_two_tries_without_a_policy(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config(max_retries=1)
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})

    r = asyncio.run(_with(rig.pool(), lambda pool: pool.chat(hi(), max_tokens=5)))
    assert [(a.provider, a.error_class) for a in r.attempts] == [
        ("a", "server_error"), ("a", "server_error"), ("b", None)]  # fmt: skip
    assert rig.emulator.journal.count("a") == 2 and len(rig.sleeps) == 1
    assert r.decision.attempts[0].tries == 2


def test_retry_delay_10ms_bounds_the_sleeps_without_a_policy(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config(retry_delay=10)  # max_retries left out: the seed's 3, so 4 tries at a
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})

    r = asyncio.run(_with(rig.pool(), lambda pool: pool.chat(hi(), max_tokens=5)))
    assert [a.provider for a in r.attempts] == ["a"] * 4 + ["b"]
    assert r.decision.attempts[0].backoff_s == (0.01, 0.02, 0.04)  # doubling from 10 ms
    assert len(rig.sleeps) == 3
    assert all(0 <= s <= step for s, step in zip(rig.sleeps, (0.01, 0.02, 0.04), strict=True))
    assert rig.clock.now() <= 0.07 + 1e-9  # not the 1 s and 2 s of the shipped numbers


def test_pool_and_provider_timeouts_hold_without_a_policy(rig: Rig) -> None:
    rig.emulator.add("slow", "openai", config={"priority": 1})  # the pool's timeout
    rig.emulator.add("own", "openai", config={"priority": 2, "timeout": 200})  # its own
    rig.emulator.add("quick", "openai", config={"priority": 3, "timeout": 20000})
    rig.config(timeout=300, max_retries=0)  # 0.3 s, one try each: real (short) waits
    rig.emulator["slow"].set_behaviour(faults={"hang": 1.0})
    rig.emulator["own"].set_behaviour(faults={"hang": 1.0})

    pool = rig.pool()
    r = asyncio.run(_with(pool, lambda pool: pool.chat(hi(), max_tokens=5)))
    assert [(a.provider, a.timeout_s) for a in r.decision.attempts] == [
        ("slow", 0.3), ("own", 0.2), ("quick", 20.0)]  # fmt: skip
    assert [(a.provider, a.error_class) for a in r.attempts] == [
        ("slow", "timeout"), ("own", "timeout"), ("quick", None)]  # fmt: skip
    route = pool.policy.bounds.for_route("default")
    assert route is not None and route.calls.value == 3  # the checker's worst case: what ran


# ---- growing backoff, overall deadline (9) --------------------------------------------------


def test_backoff_sleeps_grow_exponentially(rig: Rig) -> None:
    rig.emulator.add("a", "openai")
    rig.config()
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})
    policy = rig.policy(
        "route d { use all retry { attempts 5 backoff exponential 1s .. 6s jitter none } }"
    )

    async def body(pool: LLMPool) -> None:
        with pytest.raises(ProviderError) as info:
            await pool.chat(hi(), max_tokens=5)
        assert len(info.value.attempts) == 5

    asyncio.run(_with(rig.pool(policy), body))
    assert rig.sleeps == [1.0, 2.0, 4.0, 6.0]  # doubling up to the cap, never a constant
    assert rig.clock.now() == pytest.approx(13.0)


def test_the_overall_deadline_is_honoured(rig: Rig) -> None:
    rig.emulator.add("a", "openai")
    rig.config()
    rig.emulator["a"].set_behaviour(faults={"server_error": 1.0})
    policy = rig.policy(
        "limits { deadline 10s }\n"
        "route d { use all retry { attempts 9 backoff constant 3s jitter none } }"
    )

    async def body(pool: LLMPool) -> None:
        with pytest.raises(DeadlineExceededError) as info:
            await pool.chat(hi(), max_tokens=5)
        assert len(info.value.attempts) == 4  # t = 0, 3, 6, 9; a 4th sleep would pass 10 s

    asyncio.run(_with(rig.pool(policy), body))
    assert rig.clock.now() <= 10.0
    assert rig.emulator.journal.count("a") == 4


# ---- malformed 200s (10), rate-limit headers as cool-downs (8) -------------------------------


def test_a_200_with_a_malformed_body_is_invalid_response_not_success(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "anthropic", config={"priority": 2})
    rig.config()
    policy = rig.policy(
        "route d { use all order by priority retry { attempts 1 } failover on invalid_response }"
    )

    async def body(pool: LLMPool) -> Any:
        rig.emulator["a"].queue_faults("malformed_json")
        first = await pool.chat(hi(), max_tokens=5)
        rig.emulator["a"].queue_faults("malformed_body")
        second = await pool.chat(hi(), max_tokens=5)
        return first, second, pool.stats()["a"]

    first, second, stats = asyncio.run(_with(rig.pool(policy), body))
    for r in (first, second):
        assert [(a.provider, a.error_class, a.status) for a in r.attempts] == [
            ("a", "invalid_response", 200), ("b", None, 200)]  # fmt: skip
        assert r.provider == "b" and r.content
    assert (stats.successes, stats.failures) == (0, 2)
    errors = rig.named("request_error")
    assert [(e["provider"], e["error"], e["status"]) for e in errors] == [
        ("a", "invalid_response", 200)] * 2  # fmt: skip


def test_x_ratelimit_headers_hold_a_provider_until_their_reset(rig: Rig) -> None:
    # The config says nothing of a's limit: only its x-ratelimit-* headers do.
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config()
    rig.emulator["a"].set_behaviour(requests_per_minute=1)

    async def body(pool: LLMPool) -> tuple[list[str], int, int]:
        providers = [(await pool.chat(hi(), max_tokens=5)).provider]  # a: remaining 0, reset ~1m
        held = pool.health().available_providers
        providers += [(await pool.chat(hi(), max_tokens=5)).provider for _ in range(2)]
        rig.clock.advance(61.0)  # past the reset the header announced
        free = pool.health().available_providers
        providers.append((await pool.chat(hi(), max_tokens=5)).provider)
        return providers, held, free

    providers, held, free = asyncio.run(_with(rig.pool(), body))
    assert providers == ["a", "b", "b", "a"]
    assert held == 1 and free == 2
    assert rig.emulator.journal.count("a", status=429) == 0  # never sent into a known 429


def test_retry_after_cools_the_provider_down_for_that_long(rig: Rig) -> None:
    rig.emulator.add("a", "openai", config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config()
    rig.emulator["a"].set_behaviour(retry_after=30.0)
    policy = rig.policy("route d { use all order by priority retry { attempts 1 } }")

    async def body(pool: LLMPool) -> list[str]:
        rig.emulator["a"].queue_faults("rate_limited")
        out = [(await pool.chat(hi(), max_tokens=5)).provider]  # a 429s, b answers
        out.append((await pool.chat(hi(), max_tokens=5)).provider)  # a cools down: b
        assert pool.health().available_providers == 1
        rig.clock.advance(31.0)
        out.append((await pool.chat(hi(), max_tokens=5)).provider)
        return out

    assert asyncio.run(_with(rig.pool(policy), body)) == ["b", "b", "a"]
    assert rig.emulator.journal.count("a") == 2


# ---- requests validated before sending -------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        lambda: {"messages": []},
        lambda: {"messages": [ChatMessage(role="robot", content="hi")]},  # type: ignore[arg-type]
        lambda: {"messages": hi(), "max_tokens": 0},
        lambda: {"messages": hi(), "temperature": 5.0},
        lambda: {"messages": [image_message("system", "look", PNG)]},
        lambda: {"messages": [image_message("user", "look", "http://example.com/x.png")]},
    ],
    ids=[
        "no-messages",
        "bad-role",
        "max-tokens-0",
        "temperature-5",
        "image-in-system",
        "http-image",
    ],
)
def test_an_invalid_request_never_reaches_a_provider(rig: Rig, bad: Any) -> None:
    rig.emulator.add("a", "openai", config={"supports": {"vision": True}})
    rig.config()

    async def body(pool: LLMPool) -> None:
        with pytest.raises(MessageError):
            await pool.chat(**bad())

    asyncio.run(_with(rig.pool(), body))
    assert len(rig.emulator.journal) == 0
    assert not rig.named("request_error") and not rig.named("request_success")


# ---- ${ENV} keys, duplicate names (12) ------------------------------------------------------


def test_env_placeholder_key_reaches_the_wire_and_nowhere_else(rig: Rig) -> None:
    rig.emulator.add("a", "openai", api_key=MARKER)  # accepts only this key
    document = rig.emulator.config_document({"a": {"api_key": "${EMU_KEY}"}})
    (rig.tmp / "config.json").write_text(json.dumps(document))

    async def body(pool: LLMPool) -> Any:
        return await pool.chat(hi(), max_tokens=5)

    r = asyncio.run(_with(rig.pool(env={"EMU_KEY": MARKER}), body))
    assert r.provider == "a"  # the emulator answered 200: the expanded key was sent
    assert MARKER not in repr(rig.events) and MARKER not in repr(r)
    with pytest.raises(ConfigurationError) as info:
        rig.pool(env={})
    assert "EMU_KEY" in str(info.value) and any(d.code == "C012" for d in info.value.diagnostics)


def test_duplicate_provider_names_are_refused_by_the_pool(rig: Rig) -> None:
    rig.emulator.add("a", "openai")
    document = rig.emulator.config_document()
    providers = document["providers"]
    assert isinstance(providers, list)
    document["providers"] = [providers[0], dict(providers[0])]
    (rig.tmp / "config.json").write_text(json.dumps(document))
    with pytest.raises(ConfigurationError) as info:
        rig.pool()
    assert [d.code for d in info.value.diagnostics] == ["C010"]


# ---- debug events, token counting on/off ----------------------------------------------------


def test_debug_events_tell_the_route_the_plan_and_each_backoff(rig: Rig) -> None:
    rig.emulator.add("a", "openai", api_key=MARKER, config={"priority": 1})
    rig.emulator.add("b", "openai", config={"priority": 2})
    rig.config()
    rig.emulator["a"].queue_faults("server_error")
    policy = rig.policy(
        "route d { use all order by priority retry { attempts 2 backoff constant 1s } }"
    )

    async def body(pool: LLMPool) -> Any:
        return await pool.chat(hi(), max_tokens=5, request_id="r1")

    r = asyncio.run(_with(rig.pool(policy), body))
    assert r.provider == "a"
    debug = rig.named("debug")
    assert debug[0]["request_id"] == "r1" and debug[0]["route"] == "d"
    assert debug[0]["plan"] == ["a", "b"] and debug[0]["input_tokens"] > 0
    assert [d["seconds"] for d in debug if "seconds" in d] == [1.0]
    assert all(isinstance(d["message"], str) for d in debug)
    assert MARKER not in repr(debug)


def test_token_counting_switches_the_routing_estimate(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tokens, "_encoder", lambda: lambda text: 5000)  # a "tiktoken" counting big
    rig.emulator.add("a", "openai", config={"context_window": 4000})
    rig.emulator.add("b", "openai", config={"context_window": 100000})
    policy = rig.policy(
        "route d { use providers where context_window >= request.input_tokens order by priority }"
    )

    async def body(pool: LLMPool) -> Any:
        return await pool.chat(hi("hello there"), max_tokens=5)

    rig.config(token_counting=True)
    counted = asyncio.run(_with(rig.pool(policy), body))
    rig.config(token_counting=False)
    cheap = asyncio.run(_with(rig.pool(policy), body))
    assert counted.decision.attempts[0].provider == "b"  # 5000+ tokens: only b's window holds
    assert [a.provider for a in cheap.decision.attempts] == ["a", "b"]  # the heuristic: a few


# ---- remote config: polling, ETag/304, hot reload, events (6) -------------------------------


class _ConfigServer(BaseHTTPRequestHandler):
    body: ClassVar[bytes] = b""
    etag: ClassVar[str] = ""
    statuses: ClassVar[list[int]] = []

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        cls = type(self)
        if self.headers.get("If-None-Match") == cls.etag:
            status, body = 304, b""
        else:
            status, body = 200, cls.body
        cls.statuses.append(status)
        self.send_response(status)
        self.send_header("ETag", cls.etag)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @classmethod
    def serve(cls, document: object, etag: str) -> None:
        cls.body = document if isinstance(document, bytes) else json.dumps(document).encode()
        cls.etag = etag


@pytest.fixture
def config_url() -> Iterator[str]:
    _ConfigServer.statuses = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ConfigServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/config.json"
    finally:
        server.shutdown()
        server.server_close()


def test_remote_config_is_polled_and_hot_reloaded(rig: Rig, config_url: str) -> None:
    rig.emulator.add("a", "openai", api_key=MARKER, config={"priority": 1})
    rig.emulator.add("b", "anthropic", config={"priority": 2})
    everything = rig.emulator.config_document()
    providers = everything["providers"]
    assert isinstance(providers, list)
    _ConfigServer.serve({"providers": providers[:1], "check_interval": 1000}, '"v1"')
    steps: asyncio.Queue[None] = asyncio.Queue()
    waits: list[float] = []

    async def stepped_sleep(seconds: float) -> None:  # the poller waits here for the test
        # (no request in this test ever backs off, so every call is the poller's)
        waits.append(seconds)
        await steps.get()

    async def main() -> None:
        pool = LLMPool(config_url, clock=rig.clock, sleep=stepped_sleep)  # check_interval: config's
        rig.listen(pool)
        async with pool:
            assert (await pool.chat(hi(), max_tokens=5)).provider == "a"
            await _until(lambda: waits == [1.0], "the first poll wait")

            await steps.put(None)  # unchanged: one 304, no body, nothing emitted but debug
            await _until(lambda: len(waits) == 2, "the second poll wait")
            assert _ConfigServer.statuses == [200, 304]
            assert not rig.named("config_changed")
            assert rig.named("debug")[-1]["message"] == "reload check: nothing changed"

            stats_before = pool.stats()["a"].requests
            _ConfigServer.serve({"providers": providers, "check_interval": 2000}, '"v2"')
            await steps.put(None)  # a changed document swaps in, with the new interval
            await _until(lambda: len(waits) == 3, "the third poll wait")
            assert waits[-1] == 2.0
            assert sorted(pool.stats()) == ["a", "b"]
            assert pool.stats()["a"].requests == stats_before  # state carried over by name
            changed = rig.named("config_changed")
            assert len(changed) == 1 and changed[0]["providers"] == 2
            assert changed[0]["checksum"] == pool.config.checksum
            assert rig.named("providers_updated") == [{"providers": ["a", "b"]}]

            good = pool.config.checksum
            _ConfigServer.serve(b'{"providers": [', '"v3"')  # invalid JSON
            await steps.put(None)
            await _until(lambda: len(waits) == 4, "the fourth poll wait")
            failed = rig.named("reload_failed")
            assert len(failed) == 1 and failed[0]["error"] == "ConfigurationError"
            assert pool.config.checksum == good  # the last good version keeps serving
            r = await pool.chat(hi(), max_tokens=5)
            assert r.provider == "a" and sorted(pool.stats()) == ["a", "b"]

    asyncio.run(main())
    assert MARKER not in repr(rig.events)


async def _with(pool: LLMPool, body: Any) -> Any:
    async with pool:
        return await body(pool)
