"""Golden request bodies: the exact JSON each adapter builds, held by syrupy snapshots.

Headers are snapshotted with the key replaced by ``<key>`` (after checking it is the real key),
so snapshot files never hold a secret.
"""

from __future__ import annotations

from typing import Any

import pytest

from llmpool_policy.providers import adapter_for

from .helpers import golden_requests, provider

TYPES = ("openai", "groq", "together", "openai-compatible", "anthropic", "cohere")
REQUESTS = golden_requests()


def shown(type_: str, name: str) -> dict[str, Any]:
    config = provider(type_)
    wire = adapter_for(config).build(REQUESTS[name], config)
    assert config.api_key is not None
    key = config.api_key.reveal()
    headers = dict(wire.headers)
    for header, value in headers.items():
        if key in value:
            headers[header] = value.replace(key, "<key>")
    return {"method": wire.method, "url": wire.url, "headers": headers, "json": wire.json}


@pytest.mark.parametrize("name", sorted(REQUESTS))
@pytest.mark.parametrize("type_", TYPES)
def test_golden_body(type_: str, name: str, snapshot: Any) -> None:
    assert shown(type_, name) == snapshot


@pytest.mark.parametrize("type_", TYPES)
def test_temperature_zero_is_sent_as_zero(type_: str) -> None:
    config = provider(type_, temperature=0.9)
    wire = adapter_for(config).build(REQUESTS["temperature_zero"], config)
    assert wire.json["temperature"] == 0
    assert wire.json["temperature"] is not None
    assert b'"temperature":0' in wire.content()


@pytest.mark.parametrize("type_", TYPES)
def test_configured_zero_temperature_is_a_value(type_: str) -> None:
    config = provider(type_, temperature=0)
    wire = adapter_for(config).build(REQUESTS["text"].__class__(REQUESTS["stop"].messages), config)
    assert wire.json["temperature"] == 0


@pytest.mark.parametrize("type_", TYPES)
def test_request_values_win_over_configured_defaults(type_: str) -> None:
    config = provider(type_, temperature=1.0, max_tokens=4096)
    wire = adapter_for(config).build(REQUESTS["text"], config)
    assert wire.json["temperature"] == 0.7
    max_key = "max_completion_tokens" if type_ == "openai" else "max_tokens"
    assert wire.json[max_key] == 100


@pytest.mark.parametrize("type_", TYPES)
def test_configured_defaults_fill_in(type_: str) -> None:
    config = provider(type_, temperature=0.2, max_tokens=333, timeout=12500)
    wire = adapter_for(config).build(REQUESTS["stop"], config)
    max_key = "max_completion_tokens" if type_ == "openai" else "max_tokens"
    assert (wire.json["temperature"], wire.json[max_key]) == (0.2, 333)
    assert wire.timeout_s == 12.5


def test_content_is_compact_utf8_json() -> None:
    config = provider("openai")
    request = REQUESTS["text"].__class__(REQUESTS["text"].messages[1:])
    wire = adapter_for(config).build(request, config)
    assert wire.content().startswith(b'{"model":"gpt-4o","messages":[')


@pytest.mark.parametrize(
    ("type_", "base_url", "url"),
    [
        ("openai", "https://api.openai.com/v1/", "https://api.openai.com/v1/chat/completions"),
        ("groq", None, "https://api.groq.com/openai/v1/chat/completions"),
        ("together", None, "https://api.together.xyz/v1/chat/completions"),
        ("anthropic", None, "https://api.anthropic.com/v1/messages"),
        ("cohere", None, "https://api.cohere.ai/v2/chat"),
        ("cohere", "https://api.cohere.com/v2", "https://api.cohere.com/v2/chat"),
        ("cohere", "http://127.0.0.1:9000", "http://127.0.0.1:9000/v2/chat"),
    ],
)
def test_endpoints(type_: str, base_url: str | None, url: str) -> None:
    config = provider(type_, **({"base_url": base_url} if base_url else {}))
    assert adapter_for(config).build(REQUESTS["text"], config).url == url


def test_configured_headers_are_sent() -> None:
    config = provider("openai-compatible", headers={"X-Tenant": "acme-secret-tenant"})
    wire = adapter_for(config).build(REQUESTS["text"], config)
    assert wire.headers["x-tenant"] == "acme-secret-tenant"
    assert "acme-secret-tenant" not in repr(wire)


def test_keyless_compatible_provider_sends_no_authorization() -> None:
    from llmpool_policy.config.models import ProviderConfig

    config = ProviderConfig.model_validate(
        {"name": "local", "type": "openai-compatible", "base_url": "http://x/v1", "model": "m"}
    )
    wire = adapter_for(config).build(REQUESTS["text"], config)
    assert "authorization" not in wire.headers
