"""Remove credentials from text that came from a provider before anyone can see it.

Provider error messages sometimes echo what they were sent (OpenAI: "Incorrect API key provided:
sk-abc...xyz"). :func:`sanitize` replaces every known secret, any ``Bearer <token>`` and anything
shaped like a common provider key with a mask. It runs on every message a
:class:`~llmpool_policy.providers.base.ProviderFailure` carries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

from ..config.models import ProviderConfig
from ..config.secrets import MASK

__all__ = ["MIN_SECRET_LENGTH", "provider_secrets", "sanitize"]

# A shorter "secret" would mask ordinary words; no real key is this short.
MIN_SECRET_LENGTH: Final = 4
_BEARER = re.compile(r"(?i)\b(bearer)(\s+)[^\s\"',;]+")
# OpenAI / Anthropic (sk-, sk-proj-, sk-ant-), Groq (gsk_), Together-style long hex, with the
# partial masks providers print themselves (sk-abc*****xyz).
_KEY_SHAPES = re.compile(r"\b(?:sk-|gsk_|xai-|pk-)[A-Za-z0-9_\-*]{6,}")
_KEY_FIELDS = re.compile(
    r"(?i)\b(api[_-]?key|x-api-key|authorization)(\"?\s*[:=]\s*\"?)(?!bearer\s)[^\s\"',;]+"
)


def sanitize(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every secret (length >= 4), bearer token and key-shaped word masked."""
    for secret in sorted(
        {s for s in secrets if len(s) >= MIN_SECRET_LENGTH}, key=len, reverse=True
    ):
        text = text.replace(secret, MASK)
    text = _BEARER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _KEY_FIELDS.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _KEY_SHAPES.sub(MASK, text)


def provider_secrets(provider: ProviderConfig | None) -> tuple[str, ...]:
    """Every secret a provider's configuration holds: its key and its extra header values."""
    if provider is None:
        return ()
    found = [value.reveal() for value in provider.headers.values()]
    if provider.api_key is not None:
        found.append(provider.api_key.reveal())
    return tuple(found)
