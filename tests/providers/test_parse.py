"""Parsing: real-shaped success bodies, every error class, and 200s that are not what they claim."""

from __future__ import annotations

from typing import Any

import pytest

from llmpool_policy.messages import ChatResponse, ToolCall, Usage
from llmpool_policy.providers import (
    ProviderFailure,
    adapter_for,
)

from .helpers import body_bytes, provider

OPENAI_OK: dict[str, Any] = {
    "id": "chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    "object": "chat.completion",
    "created": 1741569952,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "The capital of France is Paris.",
                "refusal": None,
                "annotations": [],
            },
            "logprobs": None,
            "finish_reason": "stop",
        }
    ],
    "usage": {
        "prompt_tokens": 2006,
        "completion_tokens": 8,
        "total_tokens": 2014,
        "prompt_tokens_details": {"cached_tokens": 1920, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    },
    "service_tier": "default",
    "system_fingerprint": "fp_fc9f1d7035",
}

OPENAI_TOOL_CALL: dict[str, Any] = {
    "id": "chatcmpl-abc123",
    "object": "chat.completion",
    "created": 1699896916,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_abc123",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                    }
                ],
            },
            "logprobs": None,
            "finish_reason": "tool_calls",
        }
    ],
    "usage": {"prompt_tokens": 82, "completion_tokens": 17, "total_tokens": 99},
}

GROQ_OK: dict[str, Any] = {
    "id": "chatcmpl-f51b2cd2-bef7-417e-964e-a08f0b513c22",
    "object": "chat.completion",
    "created": 1730241104,
    "model": "llama-3.3-70b-versatile",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Fast language models matter."},
            "logprobs": None,
            "finish_reason": "length",
        }
    ],
    "usage": {
        "queue_time": 0.037493756,
        "prompt_tokens": 18,
        "prompt_time": 0.000680594,
        "completion_tokens": 556,
        "completion_time": 0.463333333,
        "total_tokens": 574,
        "total_time": 0.464013927,
    },
    "system_fingerprint": "fp_179b0f92c9",
    "x_groq": {"id": "req_01jbd6g2qdfw2adyrt2az8hz4w"},
}

ANTHROPIC_OK: dict[str, Any] = {
    "id": "msg_013Zva2CMHLNnXjNJJKqJ2EF",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [{"type": "text", "text": "Paris is the capital of France."}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 21,
        "cache_creation_input_tokens": 188,
        "cache_read_input_tokens": 2000,
        "output_tokens": 12,
        "service_tier": "standard",
    },
}

ANTHROPIC_TOOL_USE: dict[str, Any] = {
    "id": "msg_01Aq9w938a90dw8q",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-20250514",
    "content": [
        {"type": "text", "text": "I'll check the weather."},
        {
            "type": "tool_use",
            "id": "toolu_01A09q90qw90lq917835lq9",
            "name": "get_weather",
            "input": {"city": "Paris"},
        },
    ],
    "stop_reason": "tool_use",
    "stop_sequence": None,
    "usage": {"input_tokens": 384, "output_tokens": 54},
}

COHERE_OK: dict[str, Any] = {
    "id": "c14c80c3-18eb-4519-9460-6c92edd8cfb4",
    "finish_reason": "COMPLETE",
    "message": {
        "role": "assistant",
        "content": [{"type": "text", "text": "LLMs are neural networks trained on text."}],
    },
    "usage": {
        "billed_units": {"input_tokens": 5, "output_tokens": 418},
        "tokens": {"input_tokens": 71, "output_tokens": 418},
    },
}

COHERE_TOOL_CALL: dict[str, Any] = {
    "id": "7ff1a4b6-9a3b-4d8e-8b6f-3d1a2b3c4d5e",
    "finish_reason": "TOOL_CALL",
    "message": {
        "role": "assistant",
        "tool_plan": "I will look up the weather in Paris.",
        "tool_calls": [
            {
                "id": "get_weather_1byjy32y4hvq",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    },
    "usage": {
        "billed_units": {"input_tokens": 37, "output_tokens": 28},
        "tokens": {"input_tokens": 913, "output_tokens": 81},
    },
}


def parse(
    type_: str, status: int, body: object, headers: dict[str, str] | None = None, **kw: Any
) -> ChatResponse | ProviderFailure:
    config = provider(type_)
    raw = body if isinstance(body, bytes) else body_bytes(body)
    return adapter_for(config).parse(status, headers or {}, raw, provider=config, **kw)


def ok(result: ChatResponse | ProviderFailure) -> ChatResponse:
    assert isinstance(result, ChatResponse), result
    return result


def failed(result: ChatResponse | ProviderFailure) -> ProviderFailure:
    assert isinstance(result, ProviderFailure), result
    return result


# ---------------------------------------------------------------- successes


def test_openai_success_with_cached_tokens() -> None:
    response = ok(parse("openai", 200, OPENAI_OK))
    assert response == ChatResponse(
        content="The capital of France is Paris.",
        finish_reason="stop",
        usage=Usage(input_tokens=2006, output_tokens=8, cached_tokens=1920, total_tokens=2014),
        model="gpt-4o-2024-08-06",
        provider="openai-main",
        raw_id="chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT",
    )


def test_openai_tool_call() -> None:
    response = ok(parse("openai", 200, OPENAI_TOOL_CALL))
    assert response.content == ""
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == (ToolCall("call_abc123", "get_weather", '{"city": "Paris"}'),)
    assert response.tool_calls[0].parsed_arguments() == {"city": "Paris"}


def test_groq_success_length() -> None:
    response = ok(parse("groq", 200, GROQ_OK))
    assert (response.finish_reason, response.usage) == ("length", Usage(18, 556, 0, 574))
    assert response.provider == "groq-main"


def test_anthropic_success_counts_cache_in_input() -> None:
    response = ok(parse("anthropic", 200, ANTHROPIC_OK))
    assert response.content == "Paris is the capital of France."
    assert response.finish_reason == "stop"
    assert response.usage == Usage(
        input_tokens=21 + 188 + 2000, output_tokens=12, cached_tokens=2000, total_tokens=2221
    )
    assert response.raw_id == "msg_013Zva2CMHLNnXjNJJKqJ2EF"


def test_anthropic_tool_use() -> None:
    response = ok(parse("anthropic", 200, ANTHROPIC_TOOL_USE))
    assert response.content == "I'll check the weather."
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls[0].name == "get_weather"
    assert response.tool_calls[0].parsed_arguments() == {"city": "Paris"}


@pytest.mark.parametrize(
    ("stop", "finish"),
    [("max_tokens", "length"), ("stop_sequence", "stop"), ("pause_turn", "pause_turn")],
)
def test_anthropic_stop_reasons(stop: str, finish: str) -> None:
    assert ok(parse("anthropic", 200, {**ANTHROPIC_OK, "stop_reason": stop})).finish_reason == (
        finish
    )


def test_cohere_success_uses_processed_tokens_and_configured_model() -> None:
    response = ok(parse("cohere", 200, COHERE_OK))
    assert response.content == "LLMs are neural networks trained on text."
    assert response.finish_reason == "stop"
    assert response.usage == Usage.of(71, 418)
    assert response.model == "command-a-vision-07-2025"


def test_cohere_billed_units_fallback() -> None:
    body = {**COHERE_OK, "usage": {"billed_units": {"input_tokens": 5, "output_tokens": 9}}}
    assert ok(parse("cohere", 200, body)).usage == Usage.of(5, 9)


def test_cohere_tool_call() -> None:
    response = ok(parse("cohere", 200, COHERE_TOOL_CALL))
    assert response.finish_reason == "tool_calls"
    assert response.tool_calls == (
        ToolCall("get_weather_1byjy32y4hvq", "get_weather", '{"city":"Paris"}'),
    )


def test_compatible_server_may_omit_usage() -> None:
    body = {k: v for k, v in OPENAI_OK.items() if k != "usage"}
    assert ok(parse("openai-compatible", 200, body)).usage == Usage()
    assert failed(parse("openai", 200, body)).error_class == "invalid_response"


def test_without_provider_the_names_are_empty() -> None:
    result = adapter_for("openai").parse(200, {}, body_bytes(OPENAI_OK))
    assert isinstance(result, ChatResponse)
    assert result.provider == ""


# ---------------------------------------------------------------- content policy on 200


@pytest.mark.parametrize(
    ("type_", "body"),
    [
        (
            "openai",
            {
                **OPENAI_OK,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": ""},
                        "finish_reason": "content_filter",
                    }
                ],
            },
        ),
        (
            "openai",
            {
                **OPENAI_OK,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "refusal": "I'm sorry, I can't help with that.",
                        },
                        "finish_reason": "stop",
                    }
                ],
            },
        ),
        ("anthropic", {**ANTHROPIC_OK, "content": [], "stop_reason": "refusal"}),
        ("cohere", {**COHERE_OK, "finish_reason": "ERROR_TOXIC"}),
    ],
)
def test_content_policy_on_200(type_: str, body: dict[str, Any]) -> None:
    failure = failed(parse(type_, 200, body))
    assert (failure.error_class, failure.status, failure.retryable) == (
        "content_policy",
        200,
        False,
    )


@pytest.mark.parametrize(
    ("finish", "error_class"), [("ERROR", "server_error"), ("TIMEOUT", "timeout")]
)
def test_cohere_error_finish_reasons(finish: str, error_class: str) -> None:
    failure = failed(parse("cohere", 200, {**COHERE_OK, "finish_reason": finish}))
    assert failure.error_class == error_class
    assert failure.retryable


# ---------------------------------------------------------------- malformed 200s

OPENAI_CHOICE = OPENAI_OK["choices"][0]
MALFORMED: dict[str, tuple[str, object]] = {
    "openai-not-json": ("openai", b"<html>502 Bad Gateway</html>"),
    "openai-empty-body": ("openai", b""),
    "openai-truncated": ("openai", body_bytes(OPENAI_OK)[:-20]),
    "openai-array": ("openai", []),
    "openai-no-choices": ("openai", {k: v for k, v in OPENAI_OK.items() if k != "choices"}),
    "openai-empty-choices": ("openai", {**OPENAI_OK, "choices": []}),
    "openai-choices-not-list": ("openai", {**OPENAI_OK, "choices": {"0": OPENAI_CHOICE}}),
    "openai-no-message": ("openai", {**OPENAI_OK, "choices": [{"finish_reason": "stop"}]}),
    "openai-content-number": (
        "openai",
        {**OPENAI_OK, "choices": [{**OPENAI_CHOICE, "message": {"content": 42}}]},
    ),
    "openai-null-content-no-tools": (
        "openai",
        {**OPENAI_OK, "choices": [{**OPENAI_CHOICE, "message": {"content": None}}]},
    ),
    "openai-usage-string": (
        "openai",
        {**OPENAI_OK, "usage": {"prompt_tokens": "12", "completion_tokens": 1}},
    ),
    "openai-usage-negative": (
        "openai",
        {**OPENAI_OK, "usage": {"prompt_tokens": -1, "completion_tokens": 1}},
    ),
    "openai-usage-bool": (
        "openai",
        {**OPENAI_OK, "usage": {"prompt_tokens": True, "completion_tokens": 1}},
    ),
    "openai-error-in-200": (
        "openai",
        {"error": {"message": "upstream failed", "type": "server_error", "code": None}},
    ),
    "openai-tool-call-no-id": (
        "openai",
        {
            **OPENAI_OK,
            "choices": [
                {
                    **OPENAI_CHOICE,
                    "message": {"content": None, "tool_calls": [{"function": {"name": "f"}}]},
                }
            ],
        },
    ),
    "compatible-usage-wrong-type": ("openai-compatible", {**OPENAI_OK, "usage": "lots"}),
    "anthropic-no-content": (
        "anthropic",
        {k: v for k, v in ANTHROPIC_OK.items() if k != "content"},
    ),
    "anthropic-content-string": ("anthropic", {**ANTHROPIC_OK, "content": "Paris"}),
    "anthropic-text-block-no-text": ("anthropic", {**ANTHROPIC_OK, "content": [{"type": "text"}]}),
    "anthropic-no-usage": ("anthropic", {k: v for k, v in ANTHROPIC_OK.items() if k != "usage"}),
    "anthropic-error-type": (
        "anthropic",
        {"type": "error", "error": {"type": "api_error", "message": "Internal server error"}},
    ),
    "anthropic-tool-input-not-object": (
        "anthropic",
        {**ANTHROPIC_OK, "content": [{"type": "tool_use", "id": "t", "name": "f", "input": "x"}]},
    ),
    "cohere-no-message": ("cohere", {k: v for k, v in COHERE_OK.items() if k != "message"}),
    "cohere-no-finish": ("cohere", {k: v for k, v in COHERE_OK.items() if k != "finish_reason"}),
    "cohere-content-not-list": ("cohere", {**COHERE_OK, "message": {"content": "hi"}}),
    "cohere-usage-empty": ("cohere", {**COHERE_OK, "usage": {}}),
    "cohere-not-utf8": ("cohere", b"\xff\xfe\x00garbage"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_200_is_invalid_response(name: str) -> None:
    type_, body = MALFORMED[name]
    failure = failed(parse(type_, 200, body))
    assert failure.error_class == "invalid_response"
    assert failure.retryable
    assert failure.status == 200
    assert failure.message


def test_malformed_messages_say_where(snapshot: Any) -> None:
    messages = {
        name: failed(parse(*MALFORMED[name][:1], 200, MALFORMED[name][1])).message
        for name in sorted(MALFORMED)
    }
    assert messages == snapshot


def test_deeply_nested_body_does_not_crash() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    assert failed(parse("openai", 200, body)).error_class == "invalid_response"
