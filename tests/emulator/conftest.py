from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from llmpool_policy.emulator import EmulatedProvider

TYPES = ("openai", "anthropic", "cohere", "groq", "together")


def chat_body(
    provider: EmulatedProvider, text: str = "hello there", **extra: object
) -> dict[str, object]:
    """A valid request body in the provider's wire format."""
    body: dict[str, object] = {
        "model": provider.model,
        "messages": [{"role": "user", "content": text}],
    }
    if provider.wire.name == "anthropic":
        body["max_tokens"] = 256
    body.update(extra)
    return body


def post(
    client: httpx.Client, provider: EmulatedProvider, text: str = "hello there", **extra: object
) -> httpx.Response:
    return client.post(
        provider.url, headers=provider.headers(), json=chat_body(provider, text, **extra)
    )


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0) as c:
        yield c
