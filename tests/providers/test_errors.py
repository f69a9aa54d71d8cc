"""Error classification: every class from real-shaped error bodies of each provider."""

from __future__ import annotations

from typing import Any

import pytest

from llmpool_policy.errors import ProviderError, RateLimitError
from llmpool_policy.providers import (
    ERROR_CLASSES,
    RETRYABLE_CLASSES,
    ProviderFailure,
    adapter_for,
    classify_status,
    transport_failure,
)
from llmpool_policy.semantics.signals import ERROR_CLASSES as POLICY_ERROR_CLASSES

from .helpers import body_bytes, provider


def openai_error(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def anthropic_error(type_: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": type_, "message": message}}


def cohere_error(message: str) -> dict[str, Any]:
    return {"id": "a0b1c2d3-e4f5-6789-abcd-ef0123456789", "message": message}


CASES: list[tuple[str, int, object, str]] = [
    # OpenAI / Groq / Together
    (
        "openai",
        429,
        openai_error(
            "Rate limit reached for gpt-4o in organization org-x on "
            "requests per min (RPM): Limit 500, Used 500, Requested 1.",
            "requests",
            "rate_limit_exceeded",
        ),
        "rate_limited",
    ),
    (
        "openai",
        429,
        openai_error(
            "You exceeded your current quota, please check your plan.",
            "insufficient_quota",
            "insufficient_quota",
        ),
        "rate_limited",
    ),
    (
        "openai",
        503,
        openai_error("The engine is currently overloaded, please try again later", "server_error"),
        "overloaded",
    ),
    (
        "openai",
        500,
        openai_error("The server had an error while processing your request.", "server_error"),
        "server_error",
    ),
    ("openai", 502, b"<html><body><h1>502 Bad Gateway</h1></body></html>", "server_error"),
    (
        "openai",
        401,
        openai_error(
            "Incorrect API key provided: sk-abc*****xyz. You can find your "
            "API key at https://platform.openai.com/account/api-keys.",
            "invalid_request_error",
            "invalid_api_key",
        ),
        "auth",
    ),
    (
        "openai",
        403,
        openai_error(
            "Country, region, or territory not supported",
            "request_forbidden",
            "unsupported_country_region_territory",
        ),
        "auth",
    ),
    (
        "openai",
        404,
        openai_error(
            "The model `gpt-9` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        ),
        "not_found",
    ),
    (
        "openai",
        400,
        openai_error(
            "This model's maximum context length is 128000 tokens. However,"
            " your messages resulted in 130012 tokens. Please reduce the "
            "length of the messages.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
        "context_window",
    ),
    (
        "openai",
        400,
        openai_error(
            "Your request was rejected as a result of our safety system.",
            "invalid_request_error",
            "content_policy_violation",
        ),
        "content_policy",
    ),
    (
        "openai",
        400,
        openai_error(
            "Invalid value for 'temperature': must be <= 2.",
            "invalid_request_error",
            "invalid_value",
            "temperature",
        ),
        "bad_request",
    ),
    ("openai", 408, b"", "timeout"),
    (
        "openai",
        422,
        {"detail": [{"loc": ["body", "messages"], "msg": "field required"}]},
        "bad_request",
    ),
    (
        "groq",
        400,
        openai_error(
            "Please reduce the length of the messages or completion.",
            "invalid_request_error",
            "context_length_exceeded",
            "messages",
        ),
        "context_window",
    ),
    (
        "groq",
        413,
        openai_error(
            "Request too large for model `llama-3.3-70b-versatile` on tokens "
            "per minute (TPM): Limit 6000, Requested 9000",
            "tokens",
            "rate_limit_exceeded",
        ),
        "bad_request",
    ),
    (
        "groq",
        498,
        openai_error("Flex tier capacity exceeded.", "invalid_request_error", "capacity_exceeded"),
        "bad_request",
    ),
    (
        "together",
        400,
        {
            "error": {
                "message": "Input validation error: `inputs` tokens + "
                "`max_new_tokens` must be <= 8193. Given: 9000 `inputs` tokens"
                " and 512 `max_new_tokens`",
                "type": "invalid_request_error",
                "param": None,
                "code": None,
            }
        },
        "context_window",
    ),
    (
        "together",
        400,
        {
            "error": {
                "message": "This model's maximum context length is 8193 tokens.",
                "type": "invalid_request_error",
            }
        },
        "context_window",
    ),
    ("openai-compatible", 400, b"context length exceeded", "context_window"),
    ("openai-compatible", 301, b"", "bad_request"),
    ("openai-compatible", 199, b"", "invalid_response"),
    # Anthropic
    ("anthropic", 529, anthropic_error("overloaded_error", "Overloaded"), "overloaded"),
    ("anthropic", 500, anthropic_error("overloaded_error", "Overloaded"), "overloaded"),
    ("anthropic", 500, anthropic_error("api_error", "Internal server error"), "server_error"),
    (
        "anthropic",
        429,
        anthropic_error(
            "rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"
        ),
        "rate_limited",
    ),
    ("anthropic", 401, anthropic_error("authentication_error", "invalid x-api-key"), "auth"),
    (
        "anthropic",
        403,
        anthropic_error(
            "permission_error",
            "Your API key does not have permission to use the specified resource.",
        ),
        "auth",
    ),
    ("anthropic", 404, anthropic_error("not_found_error", "model: claude-9"), "not_found"),
    (
        "anthropic",
        400,
        anthropic_error(
            "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"
        ),
        "context_window",
    ),
    (
        "anthropic",
        400,
        anthropic_error("invalid_request_error", "messages: text content blocks must be non-empty"),
        "bad_request",
    ),
    (
        "anthropic",
        413,
        anthropic_error(
            "request_too_large", "Request exceeds the maximum allowed number of bytes."
        ),
        "bad_request",
    ),
    # Cohere
    (
        "cohere",
        400,
        cohere_error(
            "too many tokens: total number of tokens in the prompt cannot "
            "exceed 256000 - received 300000. Try using a shorter prompt"
        ),
        "context_window",
    ),
    ("cohere", 400, cohere_error("invalid request: messages must not be empty"), "bad_request"),
    ("cohere", 401, cohere_error("invalid api token"), "auth"),
    ("cohere", 402, cohere_error("Please add or update your payment method."), "auth"),
    ("cohere", 404, cohere_error("model 'command-x' not found"), "not_found"),
    (
        "cohere",
        422,
        cohere_error("invalid request: temperature must be between 0 and 1"),
        "bad_request",
    ),
    (
        "cohere",
        429,
        cohere_error("You are using a Trial key, which is limited to 20 API calls / minute."),
        "rate_limited",
    ),
    (
        "cohere",
        500,
        cohere_error("internal server error, this has been reported to our devs"),
        "server_error",
    ),
    ("cohere", 503, cohere_error("service unavailable"), "overloaded"),
]


@pytest.mark.parametrize(("type_", "status", "body", "expected"), CASES)
def test_error_class(type_: str, status: int, body: object, expected: str) -> None:
    config = provider(type_)
    raw = body if isinstance(body, bytes) else body_bytes(body)
    result = adapter_for(config).parse(status, {}, raw, provider=config)
    assert isinstance(result, ProviderFailure)
    assert result.error_class == expected
    assert result.status == status
    assert result.retryable == (expected in RETRYABLE_CLASSES)
    assert result.message


def test_every_http_class_is_covered() -> None:
    covered = {expected for *_, expected in CASES}
    transport_only = {"connection", "budget_exceeded", "cancelled"}
    assert covered == set(ERROR_CLASSES) - transport_only


def test_error_classes_match_the_policy_language() -> None:
    assert ERROR_CLASSES == POLICY_ERROR_CLASSES


def test_retryable_set() -> None:
    assert (
        frozenset(
            {
                "rate_limited",
                "overloaded",
                "server_error",
                "timeout",
                "connection",
                "invalid_response",
            }
        )
        == RETRYABLE_CLASSES
    )


def test_error_code_and_message_are_kept() -> None:
    body = openai_error("Invalid value for 'temperature'", "invalid_request_error", "invalid_value")
    result = adapter_for("openai").parse(400, {}, body_bytes(body))
    assert isinstance(result, ProviderFailure)
    assert (result.code, result.message) == ("invalid_value", "Invalid value for 'temperature'")


def test_long_error_pages_are_cut() -> None:
    result = adapter_for("openai").parse(502, {}, b"<p>bad gateway</p>" * 1000)
    assert isinstance(result, ProviderFailure)
    assert len(result.message) <= 500


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after-ms": "1500", "retry-after": "2"}, 1.5),
        ({"retry-after": "Wed, 21 Oct 2015 07:28:30 GMT"}, 30.0),
        (
            {
                "x-ratelimit-remaining-requests": "0",
                "x-ratelimit-reset-requests": "6m0s",
                "x-ratelimit-remaining-tokens": "100",
                "x-ratelimit-reset-tokens": "1s",
            },
            360.0,
        ),
        ({"x-ratelimit-remaining-requests": "5", "x-ratelimit-reset-requests": "6m0s"}, None),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_rate_limited_carries_retry_after(
    headers: dict[str, str], retry_after: float | None
) -> None:
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    body = body_bytes(openai_error("Rate limit reached", "requests", "rate_limit_exceeded"))
    result = adapter_for("openai").parse(429, headers, body, now=now)
    assert isinstance(result, ProviderFailure)
    assert result.retry_after_s == retry_after


def test_overloaded_carries_retry_after() -> None:
    body = body_bytes(anthropic_error("overloaded_error", "Overloaded"))
    result = adapter_for("anthropic").parse(529, {"retry-after": "10"}, body)
    assert isinstance(result, ProviderFailure)
    assert (result.error_class, result.retry_after_s) == ("overloaded", 10.0)


def test_to_error_types() -> None:
    limited = ProviderFailure("rate_limited", 429, "slow down", retry_after_s=3.0)
    error = limited.to_error("groq-main")
    assert isinstance(error, RateLimitError)
    assert (error.provider, error.status, error.reset_time, error.retryable) == (
        "groq-main",
        429,
        3.0,
        True,
    )
    assert str(error) == "groq-main: rate_limited (HTTP 429): slow down"
    auth = ProviderFailure("auth", 401, "bad key").to_error("openai-main")
    assert type(auth) is ProviderError
    assert (auth.error_class, auth.retryable, auth.status) == ("auth", False, 401)


def test_transport_failures() -> None:
    timeout = transport_failure("timeout", "read timed out after 30s")
    assert (timeout.error_class, timeout.status, timeout.retryable) == ("timeout", None, True)
    assert transport_failure("connection").message == "connection"
    assert transport_failure("cancelled").retryable is False


def test_unknown_error_class_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown error class"):
        ProviderFailure("teapot", 418, "")  # type: ignore[arg-type]


def test_classify_status_directly() -> None:
    assert classify_status(529) == "overloaded"
    assert classify_status(504) == "server_error"
    assert classify_status(400, "", "context_length_exceeded") == "context_window"
    assert classify_status(400, "", None, "content_filter") == "content_policy"
    assert classify_status(700) == "invalid_response"
