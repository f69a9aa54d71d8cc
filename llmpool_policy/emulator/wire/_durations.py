"""How providers write times in rate-limit headers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

__all__ = ["go_duration", "retry_after_seconds", "rfc3339"]


def go_duration(seconds: float) -> str:
    """OpenAI's ``x-ratelimit-reset-*`` format (Go's time.Duration): ``6m0s``, ``7.66s``,
    ``20ms``, ``1h2m3s``, ``0s``."""
    if seconds <= 0:
        return "0s"
    if seconds < 1:
        return f"{max(1, round(seconds * 1000))}ms"
    total = round(seconds, 3)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text


def rfc3339(wall: float) -> str:
    """Anthropic's ``anthropic-ratelimit-*-reset`` format: ``2024-05-03T08:15:51Z``."""
    return datetime.fromtimestamp(math.ceil(wall), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def retry_after_seconds(seconds: float) -> int:
    """``retry-after`` is whole seconds; round up so a client never comes back early."""
    return max(0, math.ceil(seconds))
