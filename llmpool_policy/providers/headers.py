"""Rate-limit headers of every provider family, parsed robustly into one :class:`RateLimitInfo`.

Families understood (names are case-insensitive):

* OpenAI, Groq, Together: ``x-ratelimit-limit-requests`` / ``-tokens``,
  ``x-ratelimit-remaining-requests`` / ``-tokens``, ``x-ratelimit-reset-requests`` / ``-tokens``
  with Go-style durations (``6m0s``, ``1s``, ``20ms``, ``2m59.56s``) or plain seconds; the
  unsuffixed ``x-ratelimit-limit`` / ``-remaining`` / ``-reset`` count requests.
* Anthropic: ``anthropic-ratelimit-requests-limit`` / ``-remaining`` / ``-reset`` and the same
  for ``tokens`` (falling back to ``input-tokens``); resets are RFC 3339 timestamps, turned into
  seconds from the ``now`` the caller passes (Unix seconds; this module reads no clock).
* ``retry-after`` (seconds, or an HTTP date measured from ``now``) and ``retry-after-ms``
  (preferred when both are present: it is more precise).

A value that does not parse is ignored (``None``), never an exception: headers come from the
network.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = [
    "RateLimitInfo",
    "parse_count",
    "parse_duration",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "parse_timestamp",
]

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(h|ms|m|s|us|µs|ns)")
_UNITS: Final[dict[str, float]] = {
    "h": 3600.0,
    "m": 60.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "ns": 1e-9,
}
# Nothing legitimate resets further away than this; larger values are treated as garbage.
_MAX_SECONDS: Final = 366 * 24 * 3600.0


@dataclass(frozen=True)
class RateLimitInfo:
    """What a response's headers say about the provider's limits (``None``: not said).

    ``*_reset_s`` and ``retry_after_s`` are seconds from the response. Groq's request figures
    are per day; OpenAI's per minute: the caller knows which provider it asked.
    """

    requests_limit: int | None = None
    requests_remaining: int | None = None
    requests_reset_s: float | None = None
    tokens_limit: int | None = None
    tokens_remaining: int | None = None
    tokens_reset_s: float | None = None
    retry_after_s: float | None = None

    @property
    def empty(self) -> bool:
        return all(getattr(self, name) is None for name in self.__dataclass_fields__)

    def exhausted_reset_s(self) -> float | None:
        """When the first exhausted limit (remaining 0) resets: a cool-down hint for a 429."""
        waits = [
            reset
            for remaining, reset in (
                (self.requests_remaining, self.requests_reset_s),
                (self.tokens_remaining, self.tokens_reset_s),
            )
            if remaining == 0 and reset is not None
        ]
        return max(waits) if waits else None


def _finite_seconds(value: float) -> float | None:
    if not math.isfinite(value) or value < 0 or value > _MAX_SECONDS:
        return None
    return value


def parse_duration(text: str | None) -> float | None:
    """Seconds in ``6m0s``, ``1h2m3.5s``, ``20ms``, ``1.5`` (plain seconds); else ``None``."""
    if text is None:
        return None
    text = text.strip().lower()
    if not text:
        return None
    try:
        return _finite_seconds(float(text))
    except ValueError:
        pass
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(text):
        if match.start() != position:
            return None
        total += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(text) or position == 0:
        return None
    return _finite_seconds(total)


def parse_count(text: str | None) -> int | None:
    """A non-negative integer count, else ``None``."""
    if text is None:
        return None
    text = text.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def parse_timestamp(text: str | None, now: float | None) -> float | None:
    """Seconds from ``now`` (Unix seconds) to an RFC 3339 timestamp; past times give 0."""
    if text is None or now is None:
        return None
    text = text.strip()
    if len(text) < 20 or len(text) > 40:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None  # RFC 3339 always has an offset; a naive time is ambiguous
    return _finite_seconds(max(0.0, moment.timestamp() - now))


def parse_retry_after(
    retry_after: str | None, retry_after_ms: str | None = None, now: float | None = None
) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    if retry_after_ms is not None:
        try:
            millis = float(retry_after_ms.strip())
        except ValueError:
            millis = math.nan
        seconds = _finite_seconds(millis / 1000.0)
        if seconds is not None:
            return seconds
    if retry_after is None:
        return None
    text = retry_after.strip()
    try:
        return _finite_seconds(float(text))
    except ValueError:
        pass
    if now is None or len(text) > 64:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if moment is None or moment.tzinfo is None:
        return None
    return _finite_seconds(max(0.0, moment.timestamp() - now))


def parse_rate_limit_headers(
    headers: Mapping[str, str], *, now: float | None = None
) -> RateLimitInfo:
    """Every rate-limit figure the headers carry, whatever the provider family."""
    h: dict[str, str] = {}
    try:
        for key, value in headers.items():
            if isinstance(key, str) and isinstance(value, str):
                h[key.lower()] = value
    except (AttributeError, TypeError):
        return RateLimitInfo()

    def first(*names: str) -> str | None:
        for name in names:
            if name in h:
                return h[name]
        return None

    def count(*names: str) -> int | None:
        for name in names:
            value = parse_count(h.get(name))
            if value is not None:
                return value
        return None

    def anthropic_reset(kind: str) -> float | None:
        return parse_timestamp(h.get(f"anthropic-ratelimit-{kind}-reset"), now)

    requests_limit = count(
        "x-ratelimit-limit-requests", "anthropic-ratelimit-requests-limit", "x-ratelimit-limit"
    )
    requests_remaining = count(
        "x-ratelimit-remaining-requests",
        "anthropic-ratelimit-requests-remaining",
        "x-ratelimit-remaining",
    )
    requests_reset = parse_duration(first("x-ratelimit-reset-requests", "x-ratelimit-reset"))
    if requests_reset is None:
        requests_reset = anthropic_reset("requests")

    tokens_limit = count(
        "x-ratelimit-limit-tokens",
        "anthropic-ratelimit-tokens-limit",
        "anthropic-ratelimit-input-tokens-limit",
    )
    tokens_remaining = count(
        "x-ratelimit-remaining-tokens",
        "anthropic-ratelimit-tokens-remaining",
        "anthropic-ratelimit-input-tokens-remaining",
    )
    tokens_reset = parse_duration(h.get("x-ratelimit-reset-tokens"))
    if tokens_reset is None:
        tokens_reset = anthropic_reset("tokens")
    if tokens_reset is None and "anthropic-ratelimit-tokens-reset" not in h:
        tokens_reset = anthropic_reset("input-tokens")

    return RateLimitInfo(
        requests_limit=requests_limit,
        requests_remaining=requests_remaining,
        requests_reset_s=requests_reset,
        tokens_limit=tokens_limit,
        tokens_remaining=tokens_remaining,
        tokens_reset_s=tokens_reset,
        retry_after_s=parse_retry_after(h.get("retry-after"), h.get("retry-after-ms"), now),
    )
