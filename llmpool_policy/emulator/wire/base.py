"""What the three wire formats share: the parsed request, token counting, the reply text, and
the interface each format implements (validation, success and error bodies, limit headers)."""

from __future__ import annotations

import hashlib
import json
import math
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from .._http import Request, Response

__all__ = [
    "IMAGE_TOKENS",
    "Answer",
    "Chat",
    "ErrorKind",
    "ToolCall",
    "Usage",
    "WireFormat",
    "bearer_token",
    "count_tokens",
    "fill",
    "json_response",
    "reply_text",
    "stable_id",
    "tool_schemas",
]

IMAGE_TOKENS: Final = 85  # what OpenAI charges a low-detail image; a flat estimate for all

ErrorKind = Literal[
    "auth_missing",
    "auth_invalid",
    "bad_json",
    "bad_request",
    "not_found",
    "method_not_allowed",
    "model_not_found",
    "rate_limited",
    "overloaded",
    "service_unavailable",
    "server_error",
    "context_window",
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """The call an emulated model makes when a request demands one: ``arguments`` is the
    minimal JSON instance of the tool's parameter schema."""

    name: str
    arguments: object


@dataclass(frozen=True, slots=True)
class Chat:
    """A valid chat request, whatever its wire format. ``structured`` is the JSON value the
    reply must be (structured output demanded), ``tool_call`` the call it must make."""

    model: str
    text_chars: int
    images: int
    last_user_text: str
    max_tokens: int | None
    messages: int
    choices: int = 1
    stop: tuple[str, ...] = ()
    structured: object = None
    wants_structured: bool = False
    tool_call: ToolCall | None = None

    @property
    def input_tokens(self) -> int:
        return count_tokens(self.text_chars) + self.images * IMAGE_TOKENS


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int
    output_tokens: int


def count_tokens(chars: int) -> int:
    """The emulator's tokenizer: one token per 4 characters, rounded up."""
    return math.ceil(chars / 4)


@dataclass(frozen=True, slots=True)
class Answer:
    """What the emulated model says: ``text`` (cut by a stop sequence or max_tokens), which
    stop sequence cut it, or the tool call it makes instead of text."""

    text: str
    truncated: bool = False
    stop_sequence: str | None = None
    tool_call: ToolCall | None = None

    @property
    def output_chars(self) -> int:
        if self.tool_call is not None:
            return len(json.dumps(self.tool_call.arguments)) + len(self.tool_call.name)
        return len(self.text)


def reply_text(provider: str, chat: Chat) -> Answer:
    """The deterministic reply: the demanded tool call, the demanded JSON value, or an echo of
    the last user text; then cut at the first stop sequence, then at max_tokens."""
    if chat.tool_call is not None:
        return Answer("", tool_call=chat.tool_call)
    if chat.wants_structured:
        text = json.dumps(chat.structured)
    else:
        text = f"Emulated reply from {provider} ({chat.model}): {chat.last_user_text[:200]}"
    found = [(text.find(stop), stop) for stop in chat.stop if stop and stop in text]
    matched = None
    if found:
        at, matched = min(found)
        text = text[:at]
    if chat.max_tokens is not None and count_tokens(len(text)) > chat.max_tokens:
        return Answer(text[: chat.max_tokens * 4], truncated=True)
    return Answer(text, stop_sequence=matched)


class _Filled(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "?"


def fill(template: str, detail: Mapping[str, object]) -> str:
    """``template`` with ``{field}``s from ``detail``; a missing field reads as ``?``."""
    return template.format_map(_Filled(detail))


def stable_id(*parts: object, length: int = 24) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:length]


def json_response(status: int, body: object, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    data = json.dumps(body, separators=(",", ":")).encode()
    return Response(status, data, (("content-type", "application/json"), *headers))


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header (scheme case-insensitive)."""
    value = request.header("authorization")
    if value is None:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def tool_schemas(tools: object, *, nested: bool, schema_key: str) -> dict[str, object] | None:
    """Tool name -> parameter schema from a request's ``tools`` list (``nested``: under
    ``function``, as OpenAI and Cohere write them); None when the list has the wrong shape."""
    if not isinstance(tools, list):
        return None
    out: dict[str, object] = {}
    for tool in tools:
        spec = tool.get("function") if nested and isinstance(tool, Mapping) else tool
        if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str):
            return None
        out[spec["name"]] = spec.get(schema_key, {"type": "object"})
    return out


def content_parts(content: object, text_types: frozenset[str]) -> tuple[list[str], int] | None:
    """The texts and the image count of a message's content (a string or a list of parts);
    None when the content has the wrong shape."""
    if content is None:
        return [], 0
    if isinstance(content, str):
        return [content], 0
    if not isinstance(content, list):
        return None
    texts: list[str] = []
    images = 0
    for part in content:
        if not isinstance(part, Mapping):
            return None
        kind = part.get("type")
        if kind in text_types:
            text = part.get("text")
            if not isinstance(text, str):
                return None
            texts.append(text)
        elif kind in ("image_url", "image"):
            images += 1
        elif not isinstance(kind, str):
            return None
    return texts, images


class WireFormat(ABC):
    """One provider API: where it listens, what it accepts, what it answers."""

    name: str
    endpoint: str  # the path after the provider's prefix

    @abstractmethod
    def authenticate(self, request: Request, api_key: str | None) -> Response | None:
        """None when the request may pass; else the provider's 401 (or 400) answer."""

    @abstractmethod
    def parse(self, body: object) -> Chat | Response:
        """The request's content, or the provider's 400 for a body it would reject."""

    @abstractmethod
    def error(
        self, kind: ErrorKind, detail: Mapping[str, object], headers: tuple[tuple[str, str], ...]
    ) -> Response:
        """The provider's own error status and body for ``kind``."""

    @abstractmethod
    def success(
        self, chat: Chat, rid: str, created: int, answer: Answer, usage: Usage
    ) -> dict[str, object]:
        """A success body."""

    @abstractmethod
    def strip_required(self, body: dict[str, object]) -> dict[str, object]:
        """A success body without the part a client needs (a malformed 200)."""

    @abstractmethod
    def limit_headers(
        self, limit: int, remaining: int, reset_s: float, wall: float
    ) -> tuple[tuple[str, str], ...]:
        """Rate-limit headers as this provider sends them (success and 429)."""

    @abstractmethod
    def retry_headers(self, retry_after_s: float) -> tuple[tuple[str, str], ...]:
        """Headers that tell a client when to retry a 429 or an overload."""

    def request_id_headers(self, rid: str) -> tuple[tuple[str, str], ...]:
        return (("x-request-id", f"req_{rid}"),)
