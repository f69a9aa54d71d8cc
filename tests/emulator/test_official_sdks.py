"""The official SDKs (openai, anthropic >= 2, cohere v2) as clients of the emulator on 127.0.0.1:
what users point at it must work as against the real service (issue 12, "Emulator fidelity").

The SDKs are test-only dependencies (the dev extra). Every client has ``max_retries=0`` so a
wrong answer fails at once instead of being retried with backoff.
"""

from __future__ import annotations

import anthropic
import cohere
import openai
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
