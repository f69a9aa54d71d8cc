"""Which adapter speaks for which provider type."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from ..config.models import ProviderConfig
from .anthropic import AnthropicAdapter
from .base import Adapter
from .cohere import CohereAdapter
from .openai import OpenAIAdapter

__all__ = ["ADAPTERS", "adapter_for"]

_OPENAI: Final = OpenAIAdapter()

ADAPTERS: Final[Mapping[str, Adapter]] = MappingProxyType(
    {
        "openai": _OPENAI,
        "groq": _OPENAI,
        "together": _OPENAI,
        # Compatible servers (vLLM, llama.cpp, Ollama, ...) may leave usage out.
        "openai-compatible": OpenAIAdapter(require_usage=False),
        "anthropic": AnthropicAdapter(),
        "cohere": CohereAdapter(),
    }
)


def adapter_for(provider: ProviderConfig | str) -> Adapter:
    """The adapter for a provider (or a provider type); ``KeyError`` names the known types."""
    kind = provider if isinstance(provider, str) else provider.type
    try:
        return ADAPTERS[kind]
    except KeyError:
        known = ", ".join(sorted(ADAPTERS))
        raise KeyError(f"no adapter for provider type {kind!r}; known: {known}") from None
