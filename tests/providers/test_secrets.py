"""A key never shows: not in a WireRequest's repr or str, not in failures, errors or snapshots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpool_policy.config.secrets import MASK
from llmpool_policy.messages import ChatRequest, image_message, text_message
from llmpool_policy.providers import (
    ProviderFailure,
    UnsupportedRequestError,
    adapter_for,
    provider_secrets,
    sanitize,
)

from .helpers import ANTHROPIC_KEY, COHERE_KEY, MARKER, OPENAI_KEY, PNG_URL, provider

TYPES = ("openai", "groq", "together", "openai-compatible", "anthropic", "cohere")
REQUEST = ChatRequest((text_message("user", "hello"),))


@pytest.mark.parametrize("type_", TYPES)
def test_wire_request_repr_and_str_hide_the_key(type_: str) -> None:
    config = provider(type_, headers={"X-Extra-Secret": f"extra-{MARKER}-value"})
    wire = adapter_for(config).build(REQUEST, config)
    assert config.api_key is not None
    assert any(config.api_key.reveal() in v for v in wire.headers.values())  # it is sent
    for text in (repr(wire), str(wire), f"{wire}", f"{wire!r}", repr([wire]), repr({"w": wire})):
        assert MARKER not in text
        assert MASK in text
    assert "content-type" in repr(wire) and "application/json" in repr(wire)


@pytest.mark.parametrize("type_", TYPES)
def test_key_echoed_in_an_error_body_is_masked(type_: str) -> None:
    config = provider(type_)
    assert config.api_key is not None
    key = config.api_key.reveal()
    body = json.dumps(
        {
            "error": {
                "message": f"Incorrect API key provided: {key}. Header was Bearer {key}",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        }
    ).encode()
    result = adapter_for(config).parse(401, {}, body, provider=config)
    assert isinstance(result, ProviderFailure)
    assert result.error_class == "auth"
    error = result.to_error(config.name)
    for text in (result.message, repr(result), str(result), str(error), repr(error)):
        assert MARKER not in text
    assert MASK in result.message


def test_key_in_a_malformed_200_is_masked() -> None:
    config = provider("anthropic")
    result = adapter_for(config).parse(200, {}, f"oops {ANTHROPIC_KEY}".encode(), provider=config)
    assert isinstance(result, ProviderFailure)
    assert MARKER not in result.message


def test_keys_are_masked_even_without_the_provider() -> None:
    body = json.dumps({"error": {"message": f"bad key {OPENAI_KEY}"}}).encode()
    result = adapter_for("openai").parse(401, {}, body)
    assert isinstance(result, ProviderFailure)
    assert MARKER not in result.message


def test_refusals_do_not_carry_the_key() -> None:
    config = provider("cohere", supports={"vision": False})
    with pytest.raises(UnsupportedRequestError) as info:
        adapter_for(config).build(ChatRequest((image_message("user", "x", PNG_URL),)), config)
    assert MARKER not in str(info.value) and MARKER not in repr(info.value)


def test_snapshot_files_hold_no_key() -> None:
    for path in (Path(__file__).parent / "__snapshots__").glob("*.ambr"):
        assert MARKER not in path.read_text(encoding="utf-8"), path


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        (f"key {COHERE_KEY} rejected", [COHERE_KEY], f"key {MASK} rejected"),
        ("Authorization: Bearer abc.def-123", [], f"Authorization: Bearer {MASK}"),
        ("sent bearer xyz123 to server", [], f"sent bearer {MASK} to server"),
        (
            "Incorrect API key provided: sk-abc1*****************wxyz.",
            [],
            f"Incorrect API key provided: {MASK}.",
        ),
        ("key gsk_abcdefghijklmnop failed", [], f"key {MASK} failed"),
        ('{"api_key": "hunter22"}', [], f'{{"api_key": "{MASK}"}}'),
        ("x-api-key=topsecret1", [], f"x-api-key={MASK}"),
        ("too many tokens: 300000 > 256000", [], "too many tokens: 300000 > 256000"),
        ("a basic token count of 12", [], "a basic token count of 12"),
        ("short secret ab stays", ["ab"], "short secret ab stays"),
        ("nested ABCDEF and ABCDEFGH", ["ABCDEF", "ABCDEFGH"], f"nested {MASK} and {MASK}"),
    ],
)
def test_sanitize(text: str, secrets: list[str], expected: str) -> None:
    assert sanitize(text, secrets) == expected


def test_provider_secrets() -> None:
    config = provider("openai", headers={"OpenAI-Organization": "org-123456"})
    assert set(provider_secrets(config)) == {OPENAI_KEY, "org-123456"}
    assert provider_secrets(None) == ()
