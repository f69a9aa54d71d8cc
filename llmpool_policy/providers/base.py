"""The adapter seam: what every wire format provides, and the values that cross it.

An :class:`Adapter` is pure (sans-I/O): :meth:`~Adapter.build` turns a
:class:`~llmpool_policy.messages.ChatRequest` into a :class:`WireRequest` (method, URL, headers,
JSON body) that a driver sends however it likes, and :meth:`~Adapter.parse` turns the status,
headers and body that came back into a :class:`~llmpool_policy.messages.ChatResponse` or a
:class:`ProviderFailure` classified into the policy's error classes. ``build`` is the only place
an API key is revealed; a :class:`WireRequest` masks it in its repr and str.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol

from ..config.models import ProviderConfig
from ..config.secrets import MASK
from ..errors import ERROR_CLASSES, ErrorClass, ProviderError, RateLimitError
from ..messages import ChatRequest, ChatResponse
from .headers import RateLimitInfo
from .sanitize import sanitize

__all__ = [
    "ERROR_CLASSES",
    "RETRYABLE_CLASSES",
    "Adapter",
    "ErrorClass",
    "ProviderFailure",
    "UnsupportedRequestError",
    "WireRequest",
    "classify_status",
    "transport_failure",
]

RETRYABLE_CLASSES: Final = frozenset(
    {"rate_limited", "overloaded", "server_error", "timeout", "connection", "invalid_response"}
)
# Header values a repr may show; every other value (keys, custom headers) is masked.
_SHOWN_HEADERS: Final = frozenset({"content-type", "accept", "anthropic-version", "user-agent"})
MAX_MESSAGE_CHARS: Final = 500


class UnsupportedRequestError(ProviderError):
    """The provider (as configured) cannot take this request: images to a model without vision,
    tools without tool support, streaming. Nothing was sent; another provider may accept it.

    ``feature`` names what is missing (``"vision"``, ``"tools"``, ``"stream"``, ...).
    """

    def __init__(self, message: str, *, provider: str, feature: str) -> None:
        super().__init__(
            message, provider=provider, status=None, retryable=False, error_class="bad_request"
        )
        self.feature = feature


@dataclass(frozen=True, repr=False)
class WireRequest:
    """One HTTP request to send. ``headers`` carry the key: the repr and str never show it."""

    method: str
    url: str
    headers: Mapping[str, str]
    json: Mapping[str, Any]
    timeout_s: float | None = None

    def content(self) -> bytes:
        """The JSON body as bytes (UTF-8, compact)."""
        return json.dumps(self.json, ensure_ascii=False, separators=(",", ":")).encode()

    def __repr__(self) -> str:
        shown = {
            name: value if name.lower() in _SHOWN_HEADERS else MASK
            for name, value in self.headers.items()
        }
        return (
            f"WireRequest(method={self.method!r}, url={self.url!r}, headers={shown!r}, "
            f"json=<{len(self.json)} fields: {', '.join(sorted(self.json))}>, "
            f"timeout_s={self.timeout_s!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class ProviderFailure:
    """A failed attempt, classified. ``message`` is sanitised of keys and bounded in length.

    ``retry_after_s`` is the provider's own hint (``retry-after``, or for a 429 without one the
    reset of the exhausted limit); ``code`` is the provider's error code or type, if it gave one.
    """

    error_class: ErrorClass
    status: int | None
    message: str
    retry_after_s: float | None = None
    code: str | None = None
    retryable: bool = field(init=False)

    def __post_init__(self) -> None:
        if self.error_class not in ERROR_CLASSES:
            raise ValueError(f"unknown error class {self.error_class!r}")
        object.__setattr__(self, "retryable", self.error_class in RETRYABLE_CLASSES)

    def to_error(self, provider: str) -> ProviderError:
        """The typed exception for this failure (:class:`RateLimitError` for rate limits)."""
        text = f"{provider}: {self.error_class}"
        if self.status is not None:
            text += f" (HTTP {self.status})"
        if self.message:
            text += f": {self.message}"
        if self.error_class == "rate_limited":
            return RateLimitError(
                text, provider=provider, status=self.status, reset_time=self.retry_after_s
            )
        return ProviderError(
            text,
            provider=provider,
            status=self.status,
            retryable=self.retryable,
            error_class=self.error_class,
        )


def make_failure(
    error_class: ErrorClass,
    status: int | None,
    message: str,
    *,
    secrets: Iterable[str] = (),
    retry_after_s: float | None = None,
    code: str | None = None,
) -> ProviderFailure:
    """A failure with its message sanitised (first) and then cut to a readable length."""
    clean = " ".join(sanitize(message, secrets).split())
    if len(clean) > MAX_MESSAGE_CHARS:
        clean = clean[: MAX_MESSAGE_CHARS - 3] + "..."
    safe_code = None if code is None else sanitize(code, secrets)[:100]
    return ProviderFailure(error_class, status, clean, retry_after_s, safe_code)


def transport_failure(
    kind: Literal["timeout", "connection", "cancelled"],
    message: str = "",
    *,
    secrets: Iterable[str] = (),
) -> ProviderFailure:
    """A failure where no response came back (for drivers: a timeout or a broken connection)."""
    return make_failure(kind, None, message or kind, secrets=secrets)


_CONTEXT_CODES: Final = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_TEXT: Final = re.compile(
    r"context[ _-]?length|context[ _-]?window|maximum context|prompt is too long"
    r"|too many tokens|reduce the length of the (?:messages|prompt)|input is too long"
    r"|tokens \+ `max_new_tokens` must be",
    re.IGNORECASE,
)
_POLICY_CODES: Final = frozenset({"content_policy_violation", "content_filter"})


def classify_status(
    status: int, message: str = "", code: str | None = None, error_type: str | None = None
) -> ErrorClass:
    """The error class of a non-2xx answer, from its status and what its body says.

    429 rate_limited; 503 and 529 overloaded (and any 5xx whose type says overloaded); other 5xx
    server_error; 401, 403 auth; 402 auth (billing: the account, not the request); 404
    not_found; 408 timeout; a 400/413/422 about context length context_window; a 400 with a
    content-policy code content_policy; other 4xx bad_request; anything else invalid_response.
    """
    if status == 429:
        return "rate_limited"
    if 500 <= status <= 599:
        if status in (503, 529) or error_type == "overloaded_error":
            return "overloaded"
        return "server_error"
    if status in (401, 403, 402):
        return "auth"
    if status == 404:
        return "not_found"
    if status == 408:
        return "timeout"
    if 400 <= status <= 499:
        if status in (400, 413, 422) and (
            code in _CONTEXT_CODES or _CONTEXT_TEXT.search(message) is not None
        ):
            return "context_window"
        if code in _POLICY_CODES or error_type in _POLICY_CODES:
            return "content_policy"
        return "bad_request"
    if 300 <= status <= 399:
        return "bad_request"  # a redirect: the base_url is wrong (we never follow them)
    return "invalid_response"


class Adapter(Protocol):
    """One provider wire format (OpenAI chat completions, Anthropic messages, Cohere chat v2)."""

    @property
    def wire_format(self) -> str: ...

    def build(self, request: ChatRequest, provider: ProviderConfig) -> WireRequest:
        """The HTTP request for ``provider``; raises :class:`UnsupportedRequestError` when the
        provider as configured cannot take the request (never drops part of it)."""
        ...

    def parse(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        provider: ProviderConfig | None = None,
        now: float | None = None,
    ) -> ChatResponse | ProviderFailure:
        """The response, or a classified failure. With ``provider`` given, its name and model
        fill the response and its secrets are masked in messages; ``now`` (Unix seconds) lets an
        HTTP-date ``retry-after`` be converted."""
        ...

    def limits_from_headers(
        self, headers: Mapping[str, str], *, now: float | None = None
    ) -> RateLimitInfo:
        """The rate-limit figures in a response's headers (see :mod:`.headers`)."""
        ...
