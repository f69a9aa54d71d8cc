"""One HTTP exchange with a provider, bounded and classified: the only I/O in the providers.

The attempt's timeout (already capped by the request's deadline by the executor) is a
wall-clock bound on the whole exchange — connect, send, headers and body — not httpx's bound
between two bytes: a server trickling one byte per 0.3 s never outlives it. Whatever the wire
does, the caller gets the answer's status, headers and body or a classified
:class:`ProviderFailure` (see docs/providers.md, "Wire faults"); never a raw transport
exception. Headers that HTTP cannot carry (CR, LF, other control characters, non-ASCII: a key
read from a file with its newline) are refused before anything is sent, naming the header and
never showing its value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import httpx

from .base import ProviderFailure, WireRequest, make_failure, transport_failure
from .sent_body import SentBody

__all__ = ["Answer", "classify_exception", "exchange", "header_problem"]

# Headers whose value is a credential: a bad one is an ``auth`` failure (fix the key), a bad
# custom header a ``bad_request`` (fix the config); neither is retried.
_AUTH_HEADERS: Final = frozenset({"authorization", "x-api-key", "api-key"})
_TOKEN_CHARS: Final = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class Answer:
    """What came back: the status, the headers (names lower-cased) and the decoded body."""

    status: int
    headers: dict[str, str]
    body: bytes


def header_problem(headers: Mapping[str, str]) -> ProviderFailure | None:
    """A failure naming the first header HTTP cannot carry as given, else None."""
    for name, value in headers.items():
        lower = name.lower()
        if not lower or not set(lower) <= _TOKEN_CHARS:
            what = f"header name {name.encode('ascii', 'backslashreplace').decode()!r}"
            return make_failure(
                "bad_request",
                None,
                f"{what} is not a valid HTTP header name; fix it in the provider's headers",
            )
        bad = next((c for c in value if not (" " <= c <= "~" or c == "\t")), None)
        if bad is not None:
            kind = "non-ASCII" if ord(bad) > 127 else f"control character U+{ord(bad):04X}"
            source = "key" if lower in _AUTH_HEADERS else "value"
            return make_failure(
                "auth" if lower in _AUTH_HEADERS else "bad_request",
                None,
                f"header {lower!r}: its {source} holds a {kind} character, which HTTP cannot "
                "carry; nothing was sent (a key read from a file often ends in a newline: "
                "strip it)",
            )
    return None


def _aiohttp_cause(exc: BaseException) -> BaseException | None:
    """The aiohttp error behind ``exc`` when it is not a timeout: httpx-aiohttp maps every
    broken connection to ``httpx.ConnectTimeout`` and lets some errors through unmapped."""
    cause = exc if type(exc).__module__.startswith("aiohttp") else exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return None
    return None if isinstance(cause, TimeoutError) else cause


def classify_exception(exc: Exception, secrets: Iterable[str] = ()) -> ProviderFailure | None:
    """The failure for an exception out of an exchange; None for one that is not the wire's."""
    broken = _aiohttp_cause(exc)  # under the aiohttp transport: not a timeout after all
    if broken is not None:
        return transport_failure("connection", type(broken).__name__, secrets=secrets)
    if isinstance(exc, httpx.TimeoutException):
        return transport_failure("timeout", secrets=secrets)
    if isinstance(exc, httpx.DecodingError):  # content-encoding: gzip over a non-gzip body
        return make_failure(
            "invalid_response", None, "body does not match its content-encoding", secrets=secrets
        )
    if isinstance(exc, httpx.TransportError):
        return transport_failure("connection", type(exc).__name__, secrets=secrets)
    return None


async def exchange(
    client: httpx.AsyncClient,
    wire: WireRequest,
    timeout_s: float | None,
    *,
    secrets: Iterable[str] = (),
    sent: SentBody | None = None,
) -> Answer | ProviderFailure:
    """Send ``wire`` and read the whole answer within ``timeout_s`` seconds of wall clock.
    ``sent``: ``wire``'s content as a :class:`SentBody`, to learn whether the request went out
    (the pool's rate-limit accounting of a cancelled attempt needs it).

    Raises only what is not the wire's doing: cancellation, and an error of a client the pool
    closed meanwhile (the caller says so)."""
    refused = header_problem(wire.headers)
    if refused is not None:
        return refused
    headers = dict(wire.headers)
    content: bytes | SentBody = wire.content()
    if sent is not None:
        content = sent
        headers["content-length"] = str(len(sent.body))
    try:
        async with asyncio.timeout(timeout_s):
            response = await client.request(
                wire.method,
                wire.url,
                headers=headers,
                content=content,
                timeout=httpx.Timeout(timeout_s),
            )
            body = await response.aread()
    except TimeoutError:
        return transport_failure("timeout", f"no whole answer within {timeout_s:g}s")
    except Exception as exc:
        failure = classify_exception(exc, secrets)
        if failure is None:
            raise
        return failure
    return Answer(response.status_code, dict(response.headers), body)
