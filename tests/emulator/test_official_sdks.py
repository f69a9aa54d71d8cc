"""The official SDKs (openai, anthropic >= 2, cohere v2) as clients of the emulator on 127.0.0.1:
what users point at it must work as against the real service (issue 12, "Emulator fidelity").

The SDKs are test-only dependencies (the dev extra). Every client has ``max_retries=0`` so a
wrong answer fails at once instead of being retried with backoff.
"""

from __future__ import annotations

import json
import math
from typing import Any

import anthropic
import cohere
import openai
import pydantic
import pytest

from llmpool_policy.emulator import EmulatedProvider, Emulator


def _origin(provider: EmulatedProvider) -> str:
    """The base URL without the version prefix the SDK adds itself (anthropic, cohere)."""
    return provider.base_url.removesuffix(provider.path_prefix)


def anthropic_client(provider: EmulatedProvider, **auth: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=_origin(provider), max_retries=0, timeout=5.0, **auth)


def openai_client(provider: EmulatedProvider) -> openai.OpenAI:
    return openai.OpenAI(
        api_key=provider.api_key, base_url=provider.base_url, max_retries=0, timeout=5.0
    )


def _ask_claude(client: anthropic.Anthropic, model: str) -> str:
    message = client.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "hello"}]
    )
    block = message.content[0]
    assert block.type == "text"
    return block.text


class TestAnthropicAuth:
    """The API takes the key as ``x-api-key`` or ``Authorization: Bearer``; SDK 2.x sends the
    latter for ``api_key`` (and for ``auth_token``), which the emulator used to answer 401."""

    def test_api_key_as_sent_by_the_sdk(self, emulator: Emulator) -> None:
        provider = emulator.add("claude", "anthropic", api_key="sk-ant-emulated-1")
        assert provider.api_key is not None
        text = _ask_claude(anthropic_client(provider, api_key=provider.api_key), provider.model)
        assert text.endswith("hello")
        (entry,) = emulator.journal.entries("claude")
        sent = dict(entry.headers)
        assert entry.status == 200
        assert "authorization" in sent or "x-api-key" in sent

    def test_auth_token_is_a_bearer_header(self, emulator: Emulator) -> None:
        provider = emulator.add("claude", "anthropic", api_key="sk-ant-emulated-2")
        assert provider.api_key is not None
        text = _ask_claude(anthropic_client(provider, auth_token=provider.api_key), provider.model)
        assert text.endswith("hello")
        (entry,) = emulator.journal.entries("claude")
        assert dict(entry.headers)["authorization"] == "REDACTED"
        assert "x-api-key" not in dict(entry.headers)

    def test_x_api_key_header_still_works(self, emulator: Emulator) -> None:
        provider = emulator.add("claude", "anthropic", api_key="sk-ant-emulated-3")
        client = anthropic_client(
            provider, api_key="unused", default_headers={"x-api-key": "sk-ant-emulated-3"}
        )
        # The SDK's own Authorization header carries a wrong key; x-api-key wins, as documented.
        assert _ask_claude(client, provider.model).endswith("hello")
        (entry,) = emulator.journal.entries("claude")
        assert {"authorization", "x-api-key"} <= set(dict(entry.headers))

    @pytest.mark.parametrize("mode", ["api_key", "auth_token"])
    def test_a_wrong_key_is_refused_either_way(self, emulator: Emulator, mode: str) -> None:
        provider = emulator.add("claude", "anthropic", api_key="sk-ant-right")
        client = anthropic_client(provider, **{mode: "sk-ant-wrong"})
        with pytest.raises(anthropic.AuthenticationError) as caught:
            _ask_claude(client, provider.model)
        assert caught.value.status_code == 401
        assert "sk-ant-right" not in str(caught.value)


def test_openai_sdk_round_trip(emulator: Emulator) -> None:
    provider = emulator.add("oa", "openai")
    reply = openai_client(provider).chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].message.content is not None
    assert reply.choices[0].message.content.endswith("hello")
    assert reply.usage is not None and reply.usage.prompt_tokens == 2


def test_cohere_v2_sdk_round_trip(emulator: Emulator) -> None:
    provider = emulator.add("co", "cohere")
    client = cohere.ClientV2(api_key=provider.api_key, base_url=_origin(provider), timeout=5.0)
    reply = client.chat(model="command-r", messages=[{"role": "user", "content": "hello"}])
    assert reply.message.content is not None
    content = reply.message.content[0]
    assert content.type == "text" and content.text.endswith("hello")
    assert reply.finish_reason == "COMPLETE"


# -- parameters the emulator used to ignore (issue 12, emulator item 5) ----------------------

MESSAGES: list[Any] = [{"role": "user", "content": "hi there, world"}]


class Person(pydantic.BaseModel):
    name: str
    age: int
    tags: list[str]
    nickname: str | None


class GetWeather(pydantic.BaseModel):
    city: str
    days: int


class TestOpenAIParameters:
    def test_n_gives_n_choices_and_stop_cuts_them(self, emulator: Emulator) -> None:
        provider = emulator.add("oa", "openai")
        reply = openai_client(provider).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, n=3, stop=[",", "zzz"]
        )
        assert [c.index for c in reply.choices] == [0, 1, 2]
        texts = {c.message.content for c in reply.choices}
        assert texts == {"Emulated reply from oa (gpt-4o-mini): hi there"}
        assert {c.finish_reason for c in reply.choices} == {"stop"}
        assert reply.usage is not None
        assert reply.usage.completion_tokens == 3 * math.ceil(len(texts.pop() or "") / 4)

    def test_parse_with_a_pydantic_model(self, emulator: Emulator) -> None:
        provider = emulator.add("oa", "openai")
        reply = openai_client(provider).chat.completions.parse(
            model="gpt-4o-mini", messages=MESSAGES, response_format=Person
        )
        parsed = reply.choices[0].message.parsed
        assert isinstance(parsed, Person)
        (entry,) = emulator.journal.entries("oa")
        assert isinstance(entry.body, dict)
        assert entry.body["response_format"]["type"] == "json_schema"

    def test_json_object_mode_answers_json(self, emulator: Emulator) -> None:
        provider = emulator.add("oa", "openai")
        reply = openai_client(provider).chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, response_format={"type": "json_object"}
        )
        assert json.loads(reply.choices[0].message.content or "") == {}

    def test_tool_choice_required_calls_a_tool(self, emulator: Emulator) -> None:
        provider = emulator.add("oa", "openai")
        reply = openai_client(provider).chat.completions.parse(
            model="gpt-4o-mini",
            messages=MESSAGES,
            tools=[openai.pydantic_function_tool(GetWeather)],
            tool_choice="required",
        )
        choice = reply.choices[0]
        assert choice.finish_reason == "tool_calls" and choice.message.content is None
        assert choice.message.tool_calls is not None
        (call,) = choice.message.tool_calls
        assert call.type == "function" and call.function.name == "GetWeather"
        assert isinstance(call.function.parsed_arguments, GetWeather)

    def test_a_named_tool_choice_calls_that_tool(self, emulator: Emulator) -> None:
        provider = emulator.add("oa", "openai")
        tools: list[Any] = [
            {"type": "function", "function": {"name": "a", "parameters": {"type": "object"}}},
            {"type": "function", "function": {"name": "b", "parameters": {"type": "object"}}},
        ]
        reply = openai_client(provider).chat.completions.create(
            model="gpt-4o-mini",
            messages=MESSAGES,
            tools=tools,
            tool_choice={"type": "function", "function": {"name": "b"}},
        )
        calls = reply.choices[0].message.tool_calls
        assert calls is not None and calls[0].type == "function"
        assert calls[0].function.name == "b" and json.loads(calls[0].function.arguments) == {}

    @pytest.mark.parametrize(
        ("extra", "param"),
        [
            ({"logprobs": True}, "logprobs"),
            ({"logprobs": True, "top_logprobs": 2}, "logprobs"),
            ({"tool_choice": "required"}, "tool_choice"),
            ({"n": 0}, "n"),
            ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
            (
                {"response_format": {"type": "json_schema", "json_schema": {"name": "x",
                 "schema": {"type": "string", "pattern": "^a+$"}}}},
                "response_format",
            ),
        ],
    )  # fmt: skip
    def test_what_it_cannot_honour_is_refused_with_openais_400(
        self, emulator: Emulator, extra: dict[str, Any], param: str
    ) -> None:
        provider = emulator.add("oa", "openai")
        with pytest.raises(openai.BadRequestError) as caught:
            openai_client(provider).chat.completions.create(
                model="gpt-4o-mini", messages=MESSAGES, **extra
            )
        body = caught.value.body
        assert isinstance(body, dict)
        assert body["type"] == "invalid_request_error" and body["param"] == param


class TestAnthropicParameters:
    def test_stop_sequences_cut_and_are_reported(self, emulator: Emulator) -> None:
        provider = emulator.add("an", "anthropic")
        client = anthropic_client(provider, api_key=provider.api_key or "")
        message = client.messages.create(
            model=provider.model, max_tokens=100, messages=MESSAGES, stop_sequences=[","]
        )
        assert message.stop_reason == "stop_sequence" and message.stop_sequence == ","
        block = message.content[0]
        assert block.type == "text" and block.text.endswith("hi there")

    @pytest.mark.parametrize(
        ("choice", "name"), [({"type": "any"}, "first"), ({"type": "tool", "name": "w"}, "w")]
    )
    def test_tool_choice_any_or_named_calls_a_tool(
        self, emulator: Emulator, choice: dict[str, Any], name: str
    ) -> None:
        provider = emulator.add("an", "anthropic")
        client = anthropic_client(provider, api_key=provider.api_key or "")
        tools: list[Any] = [
            {"name": "first", "input_schema": {"type": "object"}},
            {"name": "w", "input_schema": GetWeather.model_json_schema()},
        ]
        message = client.messages.create(
            model=provider.model, max_tokens=100, messages=MESSAGES, tools=tools,
            tool_choice=choice,
        )  # fmt: skip
        assert message.stop_reason == "tool_use"
        (block,) = message.content
        assert block.type == "tool_use" and block.name == name
        if name == "w":
            GetWeather.model_validate(block.input)

    def test_tool_choice_without_tools_is_anthropics_400(self, emulator: Emulator) -> None:
        provider = emulator.add("an", "anthropic")
        client = anthropic_client(provider, api_key=provider.api_key or "")
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(
                model=provider.model, max_tokens=100, messages=MESSAGES,
                tool_choice={"type": "any"},
            )  # fmt: skip
        assert caught.value.body == {
            "type": "error",
            "error": {
                "type": "invalid_request_error",
                "message": "tool_choice: tool_choice may only be specified with tools",
            },
        }


class TestCohereParameters:
    def client(self, provider: EmulatedProvider) -> cohere.ClientV2:
        return cohere.ClientV2(api_key=provider.api_key, base_url=_origin(provider), timeout=5.0)

    def test_stop_sequences(self, emulator: Emulator) -> None:
        provider = emulator.add("co", "cohere")
        reply = self.client(provider).chat(
            model="command-r", messages=MESSAGES, stop_sequences=[","]
        )
        assert reply.finish_reason == "STOP_SEQUENCE"
        assert reply.message.content is not None
        content = reply.message.content[0]
        assert content.type == "text" and content.text.endswith("hi there")

    def test_json_object_with_a_schema(self, emulator: Emulator) -> None:
        provider = emulator.add("co", "cohere")
        reply = self.client(provider).chat(
            model="command-r",
            messages=MESSAGES,
            response_format={"type": "json_object", "json_schema": Person.model_json_schema()},
        )
        assert reply.message.content is not None
        content = reply.message.content[0]
        assert content.type == "text"
        Person.model_validate_json(content.text)

    def test_tool_choice_required(self, emulator: Emulator) -> None:
        provider = emulator.add("co", "cohere")
        tool = {"name": "w", "parameters": GetWeather.model_json_schema()}
        reply = self.client(provider).chat(
            model="command-r",
            messages=MESSAGES,
            tools=[{"type": "function", "function": tool}],
            tool_choice="REQUIRED",
        )
        assert reply.finish_reason == "TOOL_CALL"
        assert reply.message.tool_calls is not None
        (call,) = reply.message.tool_calls
        assert call.function is not None and call.function.name == "w"
        GetWeather.model_validate_json(call.function.arguments or "")

    def test_logprobs_is_refused(self, emulator: Emulator) -> None:
        provider = emulator.add("co", "cohere")
        with pytest.raises(cohere.BadRequestError) as caught:
            self.client(provider).chat(model="command-r", messages=MESSAGES, logprobs=True)
        assert "logprobs" in str(caught.value.body)
