"""Token-bucket limits: exact under concurrency, refilled only by the injected clock."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime

import httpx
import pytest

from llmpool_policy.emulator import RPM_LIMIT, Behaviour, Clock, Emulator
from llmpool_policy.emulator.bucket import TokenBucket
from llmpool_policy.emulator.wire._durations import go_duration, rfc3339
from llmpool_policy.metrics import ManualClock

from .conftest import chat_body


@pytest.fixture
def emulator_clock() -> Clock:
    return ManualClock(1000.0, wall_offset=1_700_000_000.0)


async def _burst(
    url: str, headers: dict[str, str], body: dict[str, object], n: int
) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        return list(
            await asyncio.gather(*(client.post(url, headers=headers, json=body) for _ in range(n)))
        )


@pytest.mark.parametrize("kind", ("openai", "anthropic", "cohere", "groq"))
def test_rpm_2_with_10_concurrent_lets_exactly_2_through(emulator: Emulator, kind: str) -> None:
    provider = emulator.add("p", kind, behaviour=Behaviour(requests_per_minute=2))
    responses = asyncio.run(_burst(provider.url, provider.headers(), chat_body(provider), 10))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 2 + [429] * 8
    assert emulator.journal.count("p", fault=RPM_LIMIT) == 8
    refused = next(r for r in responses if r.status_code == 429)
    assert refused.headers["retry-after"] == "30"  # one token every 30 s at 2 per minute
    if provider.wire.name == "openai":
        assert refused.headers["x-ratelimit-limit-requests"] == "2"
        assert refused.headers["x-ratelimit-remaining-requests"] == "0"
        assert refused.headers["x-ratelimit-reset-requests"] == "1m0s"
        assert refused.headers["retry-after-ms"] == "30000"
    elif provider.wire.name == "anthropic":
        assert refused.headers["anthropic-ratelimit-requests-limit"] == "2"
        assert refused.headers["anthropic-ratelimit-requests-remaining"] == "0"
        reset = datetime.strptime(
            refused.headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ"
        ).replace(tzinfo=UTC)
        assert reset.timestamp() == 1_700_000_000.0 + 1000.0 + 60


def test_bucket_refills_with_the_clock(
    emulator: Emulator, emulator_clock: ManualClock, client: httpx.Client
) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(requests_per_minute=6))
    statuses = [
        client.post(provider.url, headers=provider.headers(), json=chat_body(provider)).status_code
        for _ in range(8)
    ]
    assert statuses == [200] * 6 + [429] * 2
    emulator_clock.advance(9.999)  # one token per 10 s
    assert (
        client.post(provider.url, headers=provider.headers(), json=chat_body(provider)).status_code
        == 429
    )
    emulator_clock.advance(0.001)
    ok = client.post(provider.url, headers=provider.headers(), json=chat_body(provider))
    assert ok.status_code == 200
    assert ok.headers["x-ratelimit-remaining-requests"] == "0"
    assert ok.headers["x-ratelimit-reset-requests"] == "1m0s"
    emulator_clock.advance(60)
    ok = client.post(provider.url, headers=provider.headers(), json=chat_body(provider))
    assert ok.headers["x-ratelimit-remaining-requests"] == "5"
    assert ok.headers["x-ratelimit-reset-requests"] == "10s"


def test_changing_the_limit_starts_a_full_bucket(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(requests_per_minute=0))
    assert (
        client.post(provider.url, headers=provider.headers(), json=chat_body(provider)).status_code
        == 429
    )
    provider.set_behaviour(requests_per_minute=1)
    assert (
        client.post(provider.url, headers=provider.headers(), json=chat_body(provider)).status_code
        == 200
    )
    provider.set_behaviour(requests_per_minute=None)
    assert (
        client.post(provider.url, headers=provider.headers(), json=chat_body(provider)).status_code
        == 200
    )


def test_token_bucket_arithmetic() -> None:
    bucket = TokenBucket(3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.until_next(0.0) == pytest.approx(20.0)
    assert bucket.until_full(0.0) == pytest.approx(60.0)
    assert bucket.remaining(30.0) == 1
    assert bucket.remaining(1e9) == 3  # never above capacity
    assert bucket.take(-5.0)  # a clock that steps back refills nothing
    empty = TokenBucket(0, now=0.0)
    assert not empty.take(1e9) and math.isinf(empty.until_next(0.0))
    with pytest.raises(ValueError):
        TokenBucket(-1, now=0.0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.02, "20ms"), (1, "1s"), (7.66, "7.66s"), (60, "1m0s"), (360, "6m0s"),
     (179.56, "2m59.56s"), (3723, "1h2m3s")],
)  # fmt: skip
def test_go_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


def test_rfc3339_rounds_up() -> None:
    assert rfc3339(1_700_000_000.2) == "2023-11-14T22:13:21Z"
