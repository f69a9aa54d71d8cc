"""Our side of the wire: chat messages, requests and responses as frozen, validated values.

Adapters (:mod:`llmpool_policy.providers`) turn a :class:`ChatRequest` into each provider's wire
format and each provider's answer into a :class:`ChatResponse`. Everything here is checked when
it is built, so an adapter never meets a malformed message: an image data URL must really be
base64 of a PNG, JPEG, GIF or WebP image, and its declared media type must match its bytes (the
seed library labelled every image JPEG). Zero is a value: ``temperature=0`` is sent as ``0``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "IMAGE_MEDIA_TYPES",
    "ROLES",
    "ChatMessage",
    "ChatRequest",
    "ChatResponse",
    "ContentPart",
    "ImageError",
    "ImagePart",
    "MessageError",
    "Role",
    "TextPart",
    "Tool",
    "ToolCall",
    "Usage",
    "image_message",
    "text_message",
]

Role = Literal["system", "user", "assistant", "tool"]
ROLES: Final[tuple[Role, ...]] = ("system", "user", "assistant", "tool")
# The image types every supported provider accepts (OpenAI, Anthropic and Cohere agree).
IMAGE_MEDIA_TYPES: Final[tuple[str, ...]] = ("image/png", "image/jpeg", "image/gif", "image/webp")
_ALIASES: Final[dict[str, str]] = {"image/jpg": "image/jpeg", "image/pjpeg": "image/jpeg"}
_DATA_URL = re.compile(r"data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.DOTALL)
_TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")


class MessageError(ValueError):
    """A message or request that cannot be sent as built (says what and where)."""


class ImageError(MessageError):
    """An image that is not usable: not a data URL or https URL, not base64, not an image type."""


@dataclass(frozen=True)
class TextPart:
    text: str

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise MessageError(f"text must be a string (got {type(self.text).__name__})")


@dataclass(frozen=True, repr=False)
class ImagePart:
    """An image, either inline (``media_type`` + base64 ``data``) or by https ``url``.

    Build one with :meth:`from_url`, which accepts ``data:image/png;base64,...`` (the media
    type is checked against the image's own bytes) or ``https://...``. ``width`` and ``height``
    are read from the image header when the bytes are inline (for token estimates).
    """

    url: str | None = None
    media_type: str | None = None
    data: str | None = None
    width: int | None = None
    height: int | None = None
    detail: Literal["auto", "low", "high"] | None = None

    def __post_init__(self) -> None:
        inline = self.data is not None
        if inline == (self.url is not None):
            raise ImageError("an image needs either a url or inline data, not both")
        if inline and self.media_type not in IMAGE_MEDIA_TYPES:
            raise ImageError(
                f"unsupported image media type {self.media_type!r}; "
                f"use one of {', '.join(IMAGE_MEDIA_TYPES)}"
            )
        if self.url is not None and not self.url.lower().startswith("https://"):
            raise ImageError("an image URL must be https:// (or a data:image/...;base64 URL)")

    @classmethod
    def from_url(
        cls, url: str, *, detail: Literal["auto", "low", "high"] | None = None
    ) -> ImagePart:
        """An image from a ``data:`` URL (validated, media type from its bytes) or an https URL."""
        if not isinstance(url, str):
            raise ImageError(f"an image URL must be a string (got {type(url).__name__})")
        stripped = url.strip()
        if stripped[:5].lower() != "data:":
            if not stripped.lower().startswith("https://") or len(stripped) <= len("https://"):
                raise ImageError(
                    "an image must be a data:image/...;base64 URL or an https:// URL "
                    f"(got {_preview(stripped)!r})"
                )
            return cls(url=stripped, detail=detail)
        match = _DATA_URL.fullmatch(stripped)
        if match is None:
            raise ImageError("malformed data URL: expected data:<media type>;base64,<data>")
        declared = match.group("type").strip().lower()
        declared = _ALIASES.get(declared, declared)
        params = [p.strip().lower() for p in match.group("params").split(";") if p.strip()]
        if "base64" not in params:
            raise ImageError("an image data URL must be base64-encoded (data:<type>;base64,...)")
        if not declared.startswith("image/"):
            raise ImageError(f"data URL media type {declared or '(none)'!r} is not an image type")
        if declared not in IMAGE_MEDIA_TYPES:
            raise ImageError(
                f"unsupported image media type {declared!r}; "
                f"use one of {', '.join(IMAGE_MEDIA_TYPES)}"
            )
        text = re.sub(r"\s+", "", match.group("data"))
        if not text:
            raise ImageError("image data URL carries no data")
        try:
            raw = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ImageError("image data URL is not valid base64") from None
        actual = sniff_image_type(raw)
        if actual is None:
            raise ImageError(
                f"image data URL declares {declared} but its bytes are not a PNG, JPEG, GIF "
                "or WebP image"
            )
        if actual != declared:
            raise ImageError(
                f"image data URL declares {declared} but its bytes are {actual}; "
                f"fix the prefix to data:{actual};base64,"
            )
        size = image_size(raw, actual)
        width, height = size if size is not None else (None, None)
        return cls(media_type=actual, data=text, width=width, height=height, detail=detail)

    @property
    def is_inline(self) -> bool:
        return self.data is not None

    def as_url(self) -> str:
        """The image as a URL: the https URL, or a ``data:`` URL rebuilt from the bytes."""
        if self.url is not None:
            return self.url
        return f"data:{self.media_type};base64,{self.data}"

    def __repr__(self) -> str:
        # Images are large; a repr shows what they are, not their bytes.
        if self.url is not None:
            return f"ImagePart(url={_preview(self.url)!r})"
        size = "" if self.width is None else f", {self.width}x{self.height}"
        return f"ImagePart({self.media_type}, {len(self.data or '')} base64 chars{size})"


ContentPart: TypeAlias = TextPart | ImagePart


@dataclass(frozen=True, init=False)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the JSON text the model wrote.

    Built by hand (to replay an assistant turn), ``arguments`` may be a mapping, as users write
    it: it is serialised to JSON text here, so every adapter and the token estimate see text.
    """

    id: str
    name: str
    arguments: str

    def __init__(self, id: str, name: str, arguments: str | Mapping[str, Any] = "{}") -> None:
        for what, value in (("id", id), ("name", name)):
            if not isinstance(value, str):
                kind = type(value).__name__
                raise MessageError(f"tool call {what} must be a string (got {kind})")
        object.__setattr__(self, "id", id)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "arguments", _arguments_text(id, name, arguments))

    def parsed_arguments(self) -> Any:
        """``arguments`` decoded (raises :class:`MessageError` if the model wrote bad JSON)."""
        try:
            return json.loads(self.arguments)
        except ValueError:
            raise MessageError(
                f"tool call {self.id!r} ({self.name}) has arguments that are not JSON"
            ) from None


def _arguments_text(call_id: str, name: str, arguments: object) -> str:
    """A tool call's arguments as JSON text: text as given, a mapping serialised."""
    if isinstance(arguments, str):
        return arguments
    if not isinstance(arguments, Mapping):
        raise MessageError(
            f"tool call {call_id!r} ({name}): arguments must be JSON text or a dict "
            f"(got {type(arguments).__name__})"
        )
    try:
        return json.dumps(dict(arguments), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise MessageError(
            f"tool call {call_id!r} ({name}): arguments cannot be written as JSON "
            f"({error}); use strings, finite numbers, booleans, None, lists and dicts"
        ) from None


@dataclass(frozen=True)
class Tool:
    """A function the model may call: name, description and a JSON Schema for its arguments."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _TOOL_NAME.fullmatch(self.name):
            raise MessageError(f"tool name {self.name!r} must be 1-64 letters, digits, '_' or '-'")
        if not isinstance(self.parameters, Mapping):
            raise MessageError(f"tool {self.name!r}: parameters must be a JSON Schema object")


@dataclass(frozen=True)
class ChatMessage:
    """One message. ``content`` is a string or a tuple of parts (text and images).

    Images may only appear in ``user`` messages. A ``tool`` message answers the call
    ``tool_call_id``; an ``assistant`` message may carry the ``tool_calls`` it made.
    """

    role: Role
    content: str | tuple[ContentPart, ...]
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise MessageError(f"role must be one of {', '.join(ROLES)} (got {self.role!r})")
        content: object = self.content
        if isinstance(content, list):
            content = tuple(content)
            object.__setattr__(self, "content", content)
        if isinstance(content, tuple):
            for part in content:
                if not isinstance(part, TextPart | ImagePart):
                    raise MessageError(
                        f"{self.role} message: content parts must be TextPart or ImagePart "
                        f"(got {type(part).__name__})"
                    )
                if isinstance(part, ImagePart) and self.role != "user":
                    raise MessageError(f"images can only be sent in user messages, not {self.role}")
        elif not isinstance(content, str):
            raise MessageError(
                f"{self.role} message: content must be a string or a tuple of parts "
                f"(got {type(content).__name__})"
            )
        if isinstance(self.tool_calls, list):
            object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.tool_calls and self.role != "assistant":
            raise MessageError("only assistant messages carry tool_calls")
        if self.role == "tool":
            if not self.tool_call_id:
                raise MessageError("a tool message needs the tool_call_id it answers")
            if not isinstance(content, str):
                raise MessageError("a tool message's content must be a string")
        elif self.tool_call_id is not None:
            raise MessageError("only tool messages carry a tool_call_id")

    @property
    def parts(self) -> tuple[ContentPart, ...]:
        """The content as parts (a string is one text part; an empty string is none)."""
        if isinstance(self.content, str):
            return (TextPart(self.content),) if self.content else ()
        return self.content

    @property
    def text(self) -> str:
        """All the text of the message (parts joined by newlines)."""
        if isinstance(self.content, str):
            return self.content
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def images(self) -> tuple[ImagePart, ...]:
        if isinstance(self.content, str):
            return ()
        return tuple(p for p in self.content if isinstance(p, ImagePart))


def text_message(role: Role, text: str) -> ChatMessage:
    """A plain text message (the seed's ``createTextMessage``)."""
    if not isinstance(text, str):
        raise MessageError(f"text must be a string (got {type(text).__name__})")
    return ChatMessage(role=role, content=text)


def image_message(
    role: Role,
    text: str,
    image_url: str,
    *,
    detail: Literal["auto", "low", "high"] | None = None,
) -> ChatMessage:
    """Text plus one image (the seed's ``createImageMessage``): a base64 data URL or https URL."""
    parts: list[ContentPart] = []
    if text:
        parts.append(TextPart(text))
    parts.append(ImagePart.from_url(image_url, detail=detail))
    return ChatMessage(role=role, content=tuple(parts))


@dataclass(frozen=True)
class ChatRequest:
    """What an application asks for, provider-independent.

    ``None`` means "not given" (the provider's configured default applies); ``0`` is a value.
    Lists given for ``messages``, ``stop`` and ``tools`` are stored as tuples.
    ``tool_choice`` is ``"auto"``, ``"none"``, ``"required"`` or the name of one tool.
    """

    messages: tuple[ChatMessage, ...]
    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    tools: tuple[Tool, ...] = ()
    tool_choice: str | None = None
    stream: bool = False
    user: str | None = None

    def __post_init__(self) -> None:
        for name in ("messages", "stop", "tools"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,) if name == "stop" else value
            if isinstance(value, Sequence) and not isinstance(value, tuple | str):
                value = tuple(value)
            object.__setattr__(self, name, value)
        if not isinstance(self.messages, tuple) or not self.messages:
            raise MessageError("a request needs at least one message")
        for index, message in enumerate(self.messages):
            if not isinstance(message, ChatMessage):
                raise MessageError(
                    f"messages[{index}] must be a ChatMessage (got {type(message).__name__}); "
                    "build one with text_message() or image_message()"
                )
        if self.max_tokens is not None and (
            isinstance(self.max_tokens, bool)
            or not isinstance(self.max_tokens, int)
            or self.max_tokens < 1
        ):
            raise MessageError(f"max_tokens must be a positive integer (got {self.max_tokens!r})")
        _check_number("temperature", self.temperature, 0.0, 2.0)
        _check_number("top_p", self.top_p, 0.0, 1.0)
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise MessageError("stop must be a sequence of non-empty strings")
        if not isinstance(self.tools, tuple) or not all(isinstance(t, Tool) for t in self.tools):
            raise MessageError("tools must be a sequence of Tool")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise MessageError("tool names must be unique")
        choices = ("auto", "none", "required", *names)
        if self.tool_choice is not None and self.tool_choice not in choices:
            raise MessageError(
                f"tool_choice {self.tool_choice!r} is not 'auto', 'none', 'required' "
                "or the name of a tool in the request"
            )
        if not isinstance(self.stream, bool):
            raise MessageError("stream must be true or false")

    @property
    def image_count(self) -> int:
        return sum(len(m.images) for m in self.messages)


def _check_number(name: str, value: object, low: float, high: float) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MessageError(f"{name} must be a number (got {type(value).__name__})")
    if not math.isfinite(value) or not low <= value <= high:
        raise MessageError(f"{name} must be between {low:g} and {high:g} (got {value!r})")


@dataclass(frozen=True)
class Usage:
    """Tokens of one response. ``input_tokens`` counts all input, cached tokens included;
    ``cached_tokens`` is the part of it read from the provider's prompt cache."""

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    total_tokens: int = 0

    @classmethod
    def of(cls, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> Usage:
        return cls(input_tokens, output_tokens, cached_tokens, input_tokens + output_tokens)


@dataclass(frozen=True)
class ChatResponse:
    """A provider's answer, normalised.

    ``finish_reason`` is ``"stop"`` (natural end or a stop sequence), ``"length"`` (max_tokens
    reached), ``"tool_calls"``, or the provider's own word, lower-cased, for anything else.
    ``raw_id`` is the provider's response id.
    """

    content: str
    finish_reason: str
    usage: Usage
    model: str
    provider: str
    raw_id: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()


def _preview(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def sniff_image_type(raw: bytes) -> str | None:
    """The media type an image's bytes say they are (PNG, JPEG, GIF, WebP), or ``None``."""
    if raw.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if raw.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if raw[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if raw[:4] == b"RIFF" and raw[8:12] == b"WEBP":
        return "image/webp"
    return None


def image_size(raw: bytes, media_type: str) -> tuple[int, int] | None:
    """``(width, height)`` from the image header, or ``None`` if the header is cut short."""
    try:
        if media_type == "image/png":
            if raw[12:16] == b"IHDR":
                w, h = struct.unpack(">II", raw[16:24])
                return int(w), int(h)
            return None
        if media_type == "image/gif":
            w, h = struct.unpack("<HH", raw[6:10])
            return int(w), int(h)
        if media_type == "image/webp":
            return _webp_size(raw)
        if media_type == "image/jpeg":
            return _jpeg_size(raw)
    except struct.error:
        return None
    return None


def _webp_size(raw: bytes) -> tuple[int, int] | None:
    chunk = raw[12:16]
    if chunk == b"VP8X":
        w = int.from_bytes(raw[24:27], "little") + 1
        h = int.from_bytes(raw[27:30], "little") + 1
        return w, h
    if chunk == b"VP8L":
        bits = int.from_bytes(raw[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", raw[26:30])
        return int(w) & 0x3FFF, int(h) & 0x3FFF
    return None


def _jpeg_size(raw: bytes) -> tuple[int, int] | None:
    index = 2
    while index + 9 < len(raw):
        if raw[index] != 0xFF:
            return None
        marker = raw[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            index += 2
            continue
        (length,) = struct.unpack(">H", raw[index + 2 : index + 4])
        # SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", raw[index + 5 : index + 9])
            return int(w), int(h)
        if length < 2:
            return None
        index += 2 + length
    return None
