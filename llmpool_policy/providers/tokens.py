"""A fast estimate of a request's input tokens, for routing (``request.input_tokens``).

Routing needs a figure before any provider has counted: it picks long-context providers and
reserves tokens-per-minute. Exact counts differ per provider anyway, so this aims to be cheap
and slightly high rather than exact.

* Text: with ``tiktoken`` importable **and** its ``o200k_base`` file already in tiktoken's cache
  (so loading never touches the network), the text is encoded; anything going wrong falls back.
  Otherwise: one token per 4 ASCII characters (OpenAI's published rule of thumb for English,
  "1 token ~ 4 characters") plus one token per non-ASCII character (CJK text runs close to one
  token per character; accented letters are over-counted, which errs high).
* Per message: 3 tokens of framing, plus 1 for a ``name``; 3 more for the reply's priming
  (OpenAI's documented chat overhead).
* Per image: ``ceil(width * height / 750)`` clamped to 85..1600 when the size is known from an
  inline image's header (Anthropic's published formula; its resizing caps images near 1,600
  tokens; 85 is OpenAI's low-detail cost); 85 for ``detail="low"``; 1,000 for an image by URL
  (size unknown).
* Tools: their JSON schema text at the text rate, plus 8 tokens each; tool calls likewise.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import json
import math
import os
import tempfile
from collections.abc import Callable
from typing import Final

from ..messages import ChatMessage, ChatRequest, ImagePart

__all__ = [
    "IMAGE_TOKENS_UNKNOWN",
    "estimate_image_tokens",
    "estimate_request_tokens",
    "estimate_text_tokens",
    "token_counter",
]

MESSAGE_OVERHEAD: Final = 3
REPLY_PRIMING: Final = 3
TOOL_OVERHEAD: Final = 8
IMAGE_TOKENS_UNKNOWN: Final = 1000
IMAGE_TOKENS_LOW: Final = 85
IMAGE_TOKENS_MAX: Final = 1600
_ENCODING: Final = "o200k_base"
_BLOB: Final = f"https://openaipublic.blob.core.windows.net/encodings/{_ENCODING}.tiktoken"


def _tiktoken_cache_file() -> str | None:
    """Where tiktoken keeps the encoding file (its own cache layout), or None if uncached."""
    cache_dir = os.environ.get("TIKTOKEN_CACHE_DIR") or os.environ.get("DATA_GYM_CACHE_DIR")
    if cache_dir is None:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    path = os.path.join(cache_dir, hashlib.sha1(_BLOB.encode()).hexdigest())
    return path if os.path.isfile(path) else None


@functools.cache
def _encoder() -> Callable[[str], int] | None:
    """tiktoken's counter when it loads offline, else None (never raises)."""
    try:
        if _tiktoken_cache_file() is None:
            return None
        tiktoken = importlib.import_module("tiktoken")
        encoding = tiktoken.get_encoding(_ENCODING)

        def count(text: str) -> int:
            return len(encoding.encode(text, disallowed_special=()))

        count("warm up")
        return count
    except Exception:  # an optional accelerator: any failure means the heuristic
        return None


def token_counter() -> str:
    """Which counter is in use: ``"tiktoken:o200k_base"`` or ``"heuristic"``."""
    return f"tiktoken:{_ENCODING}" if _encoder() is not None else "heuristic"


def _heuristic(text: str) -> int:
    if text.isascii():
        return math.ceil(len(text) / 4)
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    return math.ceil(ascii_chars / 4) + (len(text) - ascii_chars)


def estimate_text_tokens(text: str) -> int:
    """Tokens in a piece of text (tiktoken when available offline, else the heuristic)."""
    if not text:
        return 0
    encoder = _encoder()
    if encoder is not None:
        try:
            return encoder(text)
        except Exception:
            pass
    return _heuristic(text)


def estimate_image_tokens(image: ImagePart) -> int:
    """Tokens an image costs (see the module docstring for the calibration)."""
    if image.detail == "low":
        return IMAGE_TOKENS_LOW
    if image.width is None or image.height is None:
        return IMAGE_TOKENS_UNKNOWN
    area = math.ceil(image.width * image.height / 750)
    return min(IMAGE_TOKENS_MAX, max(IMAGE_TOKENS_LOW, area))


def _message_tokens(message: ChatMessage) -> int:
    total = MESSAGE_OVERHEAD + (1 if message.name else 0)
    if isinstance(message.content, str):
        total += estimate_text_tokens(message.content)
    else:
        for part in message.content:
            if isinstance(part, ImagePart):
                total += estimate_image_tokens(part)
            else:
                total += estimate_text_tokens(part.text)
    for call in message.tool_calls:
        total += TOOL_OVERHEAD + estimate_text_tokens(call.name + call.arguments)
    return total


def estimate_request_tokens(request: ChatRequest) -> int:
    """Estimated input tokens of a whole request: messages, images and tool definitions."""
    total = REPLY_PRIMING + sum(_message_tokens(m) for m in request.messages)
    for tool in request.tools:
        schema = json.dumps(
            {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
            separators=(",", ":"),
            default=str,
        )
        total += TOOL_OVERHEAD + estimate_text_tokens(schema)
    return total
