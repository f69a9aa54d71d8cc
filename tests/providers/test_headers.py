"""Rate-limit headers: every family, durations, timestamps, and garbage that must not crash."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmpool_policy.providers import (
    RateLimitInfo,
    adapter_for,
    parse_duration,
    parse_rate_limit_headers,
    parse_retry_after,
    parse_timestamp,
)

NOW = datetime(2025, 1, 15, 12, 0, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("20ms", 0.02),
        ("2m59.56s", 179.56),
        ("7.66s", 7.66),
        ("1h2m3s", 3723.0),
        ("1h", 3600.0),
        ("0s", 0.0),
        ("500us", 0.0005),
        ("12", 12.0),
        ("0.5", 0.5),
        (" 3s ", 3.0),
        ("", None),
        ("abc", None),
        ("-1s", None),
        ("-5", None),
        ("1x", None),
        ("s", None),
        ("1s2", None),
        ("nan", None),
        ("inf", None),
        ("1e400", None),
        ("9999999999h", None),
        ("1m 2s", None),
        (None, None),
    ],
)
def test_parse_duration(text: str | None, seconds: float | None) -> None:
    result = parse_duration(text)
    if seconds is None:
        assert result is None
    else:
        assert result == pytest.approx(seconds)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2025-01-15T12:00:30Z", 30.0),
        ("2025-01-15T12:01:00+00:00", 60.0),
        ("2025-01-15T13:00:05+01:00", 5.0),
        ("2025-01-15T12:00:00.250Z", 0.25),
        ("2025-01-15T11:59:00Z", 0.0),  # already past: no wait
        ("2025-01-15T12:00:30", None),  # no offset: not RFC 3339
        ("tomorrow", None),
        ("2025-13-45T99:00:00Z", None),
        ("", None),
        ("9" * 1000, None),
    ],
)
def test_parse_timestamp(text: str, seconds: float | None) -> None:
    assert parse_timestamp(text, NOW) == (None if seconds is None else pytest.approx(seconds))


def test_timestamp_needs_now() -> None:
    assert parse_timestamp("2025-01-15T12:00:30Z", None) is None


@pytest.mark.parametrize(
    ("retry_after", "retry_after_ms", "seconds"),
    [
        ("30", None, 30.0),
        ("0", None, 0.0),
        ("1.5", None, 1.5),
        ("30", "250", 0.25),
        ("30", "garbage", 30.0),
        (None, "1200", 1.2),
        ("Wed, 15 Jan 2025 12:00:45 GMT", None, 45.0),
        ("Wed, 15 Jan 2025 11:00:00 GMT", None, 0.0),
        ("-3", None, None),
        ("soon", None, None),
        ("Wed, 99 Foo 2025", None, None),
        ("", None, None),
        (None, None, None),
        (None, "-5", None),
        (None, "nan", None),
    ],
)
def test_parse_retry_after(
    retry_after: str | None, retry_after_ms: str | None, seconds: float | None
) -> None:
    result = parse_retry_after(retry_after, retry_after_ms, NOW)
    assert result == (None if seconds is None else pytest.approx(seconds))


def test_http_date_needs_now() -> None:
    assert parse_retry_after("Wed, 15 Jan 2025 12:00:45 GMT", None, None) is None


def test_openai_headers() -> None:
    headers = {
        "x-ratelimit-limit-requests": "10000",
        "x-ratelimit-limit-tokens": "30000000",
        "x-ratelimit-remaining-requests": "9999",
        "x-ratelimit-remaining-tokens": "29999990",
        "x-ratelimit-reset-requests": "6ms",
        "x-ratelimit-reset-tokens": "0s",
    }
    assert adapter_for("openai").limits_from_headers(headers) == RateLimitInfo(
        requests_limit=10000,
        requests_remaining=9999,
        requests_reset_s=pytest.approx(0.006),
        tokens_limit=30000000,
        tokens_remaining=29999990,
        tokens_reset_s=0.0,
    )


def test_groq_headers_with_retry_after_mixed_case() -> None:
    headers = {
        "X-RateLimit-Limit-Requests": "14400",
        "X-RateLimit-Limit-Tokens": "18000",
        "X-RateLimit-Remaining-Requests": "14370",
        "X-RateLimit-Remaining-Tokens": "0",
        "X-RateLimit-Reset-Requests": "2m59.56s",
        "X-RateLimit-Reset-Tokens": "7.66s",
        "Retry-After": "2",
    }
    info = adapter_for("groq").limits_from_headers(headers)
    assert (info.requests_remaining, info.tokens_remaining) == (14370, 0)
    assert info.requests_reset_s == pytest.approx(179.56)
    assert info.tokens_reset_s == pytest.approx(7.66)
    assert info.retry_after_s == 2.0
    assert info.exhausted_reset_s() == pytest.approx(7.66)


def test_together_plain_headers() -> None:
    headers = {"x-ratelimit-limit": "600", "x-ratelimit-remaining": "598", "x-ratelimit-reset": "1"}
    info = adapter_for("together").limits_from_headers(headers)
    assert (info.requests_limit, info.requests_remaining, info.requests_reset_s) == (600, 598, 1.0)


def test_anthropic_headers() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "4000",
        "anthropic-ratelimit-requests-remaining": "3999",
        "anthropic-ratelimit-requests-reset": "2025-01-15T12:00:06Z",
        "anthropic-ratelimit-tokens-limit": "400000",
        "anthropic-ratelimit-tokens-remaining": "398000",
        "anthropic-ratelimit-tokens-reset": "2025-01-15T12:00:01.5Z",
        "anthropic-ratelimit-input-tokens-remaining": "1",
        "retry-after": "6",
    }
    info = adapter_for("anthropic").limits_from_headers(headers, now=NOW)
    assert info == RateLimitInfo(
        requests_limit=4000,
        requests_remaining=3999,
        requests_reset_s=6.0,
        tokens_limit=400000,
        tokens_remaining=398000,
        tokens_reset_s=1.5,
        retry_after_s=6.0,
    )


def test_anthropic_input_tokens_fallback() -> None:
    headers = {
        "anthropic-ratelimit-input-tokens-limit": "200000",
        "anthropic-ratelimit-input-tokens-remaining": "150000",
        "anthropic-ratelimit-input-tokens-reset": "2025-01-15T12:00:10Z",
    }
    info = parse_rate_limit_headers(headers, now=NOW)
    assert (info.tokens_limit, info.tokens_remaining, info.tokens_reset_s) == (200000, 150000, 10.0)


def test_anthropic_resets_without_now_are_unknown() -> None:
    info = parse_rate_limit_headers({"anthropic-ratelimit-requests-reset": "2025-01-15T12:00:06Z"})
    assert info.requests_reset_s is None


GARBAGE = {
    "x-ratelimit-limit-requests": "lots",
    "x-ratelimit-remaining-requests": "-1",
    "x-ratelimit-remaining-tokens": "12.5",
    "x-ratelimit-reset-requests": "soon",
    "x-ratelimit-reset-tokens": "1y",
    "anthropic-ratelimit-requests-remaining": "٣",  # a non-ASCII digit
    "anthropic-ratelimit-requests-reset": "yesterday",
    "retry-after": "NaN",
    "retry-after-ms": "",
}


def test_garbage_is_ignored() -> None:
    info = parse_rate_limit_headers(GARBAGE, now=NOW)
    assert info == RateLimitInfo()
    assert info.empty


def test_no_headers() -> None:
    assert parse_rate_limit_headers({}).empty


@given(
    st.dictionaries(
        st.sampled_from([*sorted(GARBAGE), "retry-after-ms", "other"]),
        st.text(max_size=40),
        max_size=10,
    ),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_arbitrary_values_never_crash(headers: dict[str, str], now: float | None) -> None:
    info = parse_rate_limit_headers(headers, now=now)
    for value in (info.requests_reset_s, info.tokens_reset_s, info.retry_after_s):
        assert value is None or 0 <= value < 10**8


@given(st.text(max_size=30))
def test_arbitrary_durations_never_crash(text: str) -> None:
    result = parse_duration(text)
    assert result is None or result >= 0
