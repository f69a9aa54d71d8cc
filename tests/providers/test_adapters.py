"""Adapter specifics: faithful conversion (system prompts, media types, tools) or a refusal."""

from __future__ import annotations

from typing import Any

import pytest

from llmpool_policy.errors import ProviderError
from llmpool_policy.messages import ChatMessage, ChatRequest, ToolCall, image_message, text_message
from llmpool_policy.providers import (
    ADAPTERS,
    AnthropicAdapter,
    CohereAdapter,
    OpenAIAdapter,
    UnsupportedRequestError,
    adapter_for,
)
from llmpool_policy.providers.anthropic import DEFAULT_MAX_TOKENS

from .helpers import HTTPS_URL, JPEG_URL, PNG_URL, WEATHER, data_url, gif_bytes, provider

TYPES = ("openai", "groq", "together", "openai-compatible", "anthropic", "cohere")


def build(type_: str, request: ChatRequest, **extra: Any) -> dict[str, Any]:
    config = provider(type_, **extra)
    return dict(adapter_for(config).build(request, config).json)


def test_registry() -> None:
    assert isinstance(adapter_for("openai"), OpenAIAdapter)
    assert adapter_for("groq") is adapter_for("together") is adapter_for("openai")
    assert isinstance(adapter_for("anthropic"), AnthropicAdapter)
    assert isinstance(adapter_for("cohere"), CohereAdapter)
    assert adapter_for(provider("cohere")) is ADAPTERS["cohere"]
    with pytest.raises(KeyError, match="known: anthropic, cohere"):
        adapter_for("bard")
    assert {a.wire_format for a in ADAPTERS.values()} == {"openai", "anthropic", "cohere"}


# ---------------------------------------------------------------- refusals, never silent drops


@pytest.mark.parametrize("type_", TYPES)
def test_images_to_a_provider_without_vision_are_refused(type_: str) -> None:
    request = ChatRequest((image_message("user", "what is this?", PNG_URL),))
    with pytest.raises(UnsupportedRequestError, match="does not take images") as info:
        build(type_, request, supports={"vision": False, "tools": True})
    error = info.value
    assert isinstance(error, ProviderError)
    assert (error.feature, error.error_class, error.retryable, error.status) == (
        "vision",
        "bad_request",
        False,
        None,
    )
    assert error.provider == f"{type_}-main"


@pytest.mark.parametrize("type_", TYPES)
def test_tools_to_a_provider_without_tools_are_refused(type_: str) -> None:
    request = ChatRequest((text_message("user", "weather?"),), tools=(WEATHER,))
    with pytest.raises(UnsupportedRequestError, match="does not take tools"):
        build(type_, request, supports={"vision": True, "tools": False})


@pytest.mark.parametrize("type_", TYPES)
def test_streaming_is_refused_not_ignored(type_: str) -> None:
    with pytest.raises(UnsupportedRequestError, match="streaming") as info:
        build(type_, ChatRequest((text_message("user", "x"),), stream=True))
    assert info.value.feature == "stream"


def test_anthropic_refuses_temperature_above_one() -> None:
    with pytest.raises(UnsupportedRequestError, match=r"0\.\.1") as info:
        build("anthropic", ChatRequest((text_message("user", "x"),), temperature=1.5))
    assert info.value.feature == "temperature"
    assert (
        build("anthropic", ChatRequest((text_message("user", "x"),), temperature=1))["temperature"]
        == 1
    )


def test_anthropic_refuses_a_system_prompt_alone() -> None:
    with pytest.raises(UnsupportedRequestError, match="at least one user message"):
        build("anthropic", ChatRequest((text_message("system", "be nice"),)))


def test_cohere_refuses_a_named_tool_choice() -> None:
    request = ChatRequest((text_message("user", "x"),), tools=(WEATHER,), tool_choice="get_weather")
    with pytest.raises(UnsupportedRequestError, match="cannot force one named tool"):
        build("cohere", request)


# ---------------------------------------------------------------- system prompts


def test_anthropic_joins_every_system_message_in_order() -> None:
    request = ChatRequest(
        (
            text_message("system", "First."),
            text_message("user", "hi"),
            text_message("system", "Second."),
            text_message("assistant", "hello"),
            text_message("system", "Third."),
            text_message("user", "bye"),
        )
    )
    body = build("anthropic", request)
    assert body["system"] == "First.\n\nSecond.\n\nThird."
    assert [m["role"] for m in body["messages"]] == ["user", "assistant", "user"]
    assert all(m["role"] != "system" for m in body["messages"])


def test_cohere_keeps_system_prompts() -> None:
    request = ChatRequest((text_message("system", "Be terse."), text_message("user", "hi")))
    body = build("cohere", request)
    assert body["messages"][0] == {"role": "system", "content": "Be terse."}


@pytest.mark.parametrize("type_", ("openai", "groq", "together", "openai-compatible"))
def test_openai_keeps_every_system_message(type_: str) -> None:
    request = ChatRequest(
        (text_message("system", "A"), text_message("user", "hi"), text_message("system", "B"))
    )
    roles = [(m["role"], m["content"]) for m in build(type_, request)["messages"]]
    assert roles == [("system", "A"), ("user", "hi"), ("system", "B")]


# ---------------------------------------------------------------- images


def anthropic_sources(url: str) -> list[dict[str, Any]]:
    body = build("anthropic", ChatRequest((image_message("user", "see", url),)))
    return [b["source"] for b in body["messages"][0]["content"] if b["type"] == "image"]


def test_anthropic_media_types_are_the_real_ones() -> None:
    assert anthropic_sources(PNG_URL)[0]["media_type"] == "image/png"
    assert anthropic_sources(JPEG_URL)[0]["media_type"] == "image/jpeg"
    assert anthropic_sources(data_url("image/gif", gif_bytes()))[0]["media_type"] == "image/gif"
    png = anthropic_sources(PNG_URL)[0]
    assert png == {"type": "base64", "media_type": "image/png", "data": PNG_URL.split(",", 1)[1]}


def test_anthropic_sends_https_images_as_url_sources() -> None:
    assert anthropic_sources(HTTPS_URL) == [{"type": "url", "url": HTTPS_URL}]


@pytest.mark.parametrize("type_", ("openai", "cohere"))
def test_image_urls_keep_their_media_type(type_: str) -> None:
    body = build(type_, ChatRequest((image_message("user", "see", PNG_URL, detail="high"),)))
    part = body["messages"][0]["content"][1]
    assert part == {"type": "image_url", "image_url": {"url": PNG_URL, "detail": "high"}}


# ---------------------------------------------------------------- defaults and parameters


def test_anthropic_max_tokens_defaults() -> None:
    request = ChatRequest((text_message("user", "x"),))
    assert build("anthropic", request)["max_tokens"] == DEFAULT_MAX_TOKENS == 1024
    assert build("anthropic", request, max_tokens=4096)["max_tokens"] == 4096


def test_openai_length_field_per_type() -> None:
    request = ChatRequest((text_message("user", "x"),), max_tokens=9)
    assert build("openai", request)["max_completion_tokens"] == 9
    assert "max_tokens" not in build("openai", request)
    for type_ in ("groq", "together", "openai-compatible", "cohere"):
        assert build(type_, request)["max_tokens"] == 9


def test_unset_parameters_are_left_out() -> None:
    request = ChatRequest((text_message("user", "x"),))
    for type_ in ("openai", "cohere"):
        body = build(type_, request)
        assert not {"temperature", "max_tokens", "max_completion_tokens", "stop", "tools"} & set(
            body
        )


def test_top_p_and_user() -> None:
    request = ChatRequest((text_message("user", "x"),), top_p=0.9, user="u-1")
    assert (build("openai", request)["top_p"], build("openai", request)["user"]) == (0.9, "u-1")
    assert build("anthropic", request)["metadata"] == {"user_id": "u-1"}
    assert build("cohere", request)["p"] == 0.9


@pytest.mark.parametrize(
    ("choice", "openai", "anthropic", "cohere"),
    [
        ("auto", "auto", {"type": "auto"}, None),
        ("none", "none", {"type": "none"}, "NONE"),
        ("required", "required", {"type": "any"}, "REQUIRED"),
        (
            "get_weather",
            {"type": "function", "function": {"name": "get_weather"}},
            {"type": "tool", "name": "get_weather"},
            "refused",
        ),
    ],
)
def test_tool_choice(choice: str, openai: object, anthropic: object, cohere: object) -> None:
    request = ChatRequest((text_message("user", "x"),), tools=(WEATHER,), tool_choice=choice)
    assert build("openai", request)["tool_choice"] == openai
    assert build("anthropic", request)["tool_choice"] == anthropic
    if cohere == "refused":
        with pytest.raises(UnsupportedRequestError):
            build("cohere", request)
    else:
        assert build("cohere", request).get("tool_choice") == cohere


CONVERSATION = ChatRequest(
    (
        text_message("user", "Weather in Paris?"),
        ChatMessage(
            "assistant", "", tool_calls=(ToolCall("call_1", "get_weather", '{"city": "Paris"}'),)
        ),
        ChatMessage("tool", '{"temp_c": 18}', tool_call_id="call_1"),
        text_message("user", "Thanks; and tomorrow?"),
    ),
    tools=(WEATHER,),
)


def test_tool_round_trip_openai() -> None:
    messages = build("openai", CONVERSATION)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert messages[2] == {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "call_1"}


def test_tool_round_trip_anthropic() -> None:
    messages = build("anthropic", CONVERSATION)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "content": [
            {"type": "tool_use", "id": "call_1", "name": "get_weather", "input": {"city": "Paris"}}
        ],
    }
    # The tool result and the next user text share one user turn, result first.
    assert messages[2] == {
        "role": "user",
        "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": '{"temp_c": 18}'},
            {"type": "text", "text": "Thanks; and tomorrow?"},
        ],
    }
    assert len(messages) == 3


def test_tool_round_trip_cohere() -> None:
    messages = build("cohere", CONVERSATION)["messages"]
    assert messages[1] == {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
            }
        ],
    }
    assert messages[2] == {"role": "tool", "content": '{"temp_c": 18}', "tool_call_id": "call_1"}


@pytest.mark.parametrize("type_", ["openai", "anthropic", "cohere"])
def test_tool_call_arguments_as_a_dict_reach_the_wire_as_json(type_: str) -> None:
    # Issue 13, item 12: a dict, as users write it, raised a raw TypeError from the adapter.
    call = ToolCall("call_1", "get_weather", {"city": "Paris"})
    first, _, *rest = CONVERSATION.messages
    as_dict = ChatRequest(
        (first, ChatMessage("assistant", "", tool_calls=(call,)), *rest), tools=(WEATHER,)
    )
    assert call.arguments == '{"city": "Paris"}'
    assert build(type_, as_dict) == build(type_, CONVERSATION)


def test_anthropic_refuses_tool_calls_with_bad_arguments() -> None:
    request = ChatRequest(
        (
            text_message("user", "x"),
            ChatMessage("assistant", "", tool_calls=(ToolCall("c", "get_weather", "[1]"),)),
            ChatMessage("tool", "ok", tool_call_id="c"),
        ),
        tools=(WEATHER,),
    )
    with pytest.raises(UnsupportedRequestError, match="not a JSON object"):
        build("anthropic", request)


def test_message_names_for_openai() -> None:
    request = ChatRequest((ChatMessage("user", "hi", name="alice"),))
    assert build("openai", request)["messages"][0] == {
        "role": "user",
        "content": "hi",
        "name": "alice",
    }
