"""The providers' wire formats, and which one (and which path prefix) each provider type uses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .anthropic import AnthropicWire
from .base import Chat, ErrorKind, Usage, WireFormat
from .cohere import CohereWire
from .openai import OpenAIWire

__all__ = [
    "DEFAULT_PREFIX",
    "WIRES",
    "WIRE_FOR_TYPE",
    "AnthropicWire",
    "Chat",
    "CohereWire",
    "ErrorKind",
    "OpenAIWire",
    "Usage",
    "WireFormat",
]

WIRES: Final[Mapping[str, WireFormat]] = {
    "openai": OpenAIWire(),
    "anthropic": AnthropicWire(),
    "cohere": CohereWire(),
}

# Provider type (our config's `type`) -> wire format.
WIRE_FOR_TYPE: Final[Mapping[str, str]] = {
    "openai": "openai",
    "groq": "openai",
    "together": "openai",
    "openai-compatible": "openai",
    "anthropic": "anthropic",
    "cohere": "cohere",
}

# Provider type -> the path prefix the real service uses (the base URL's path).
DEFAULT_PREFIX: Final[Mapping[str, str]] = {
    "openai": "/v1",
    "groq": "/openai/v1",
    "together": "/v1",
    "openai-compatible": "/v1",
    "anthropic": "/v1",
    "cohere": "/v2",
}
