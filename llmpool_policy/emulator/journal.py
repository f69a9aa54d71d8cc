"""Every request an emulated provider received, for assertions: who, what, which fault, which
status. Credentials never reach it: header values that carry keys are replaced on the way in.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Final

__all__ = ["REDACTED", "Journal", "JournalEntry", "redact_headers"]

REDACTED: Final = "REDACTED"
_SECRET_HEADERS: Final = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
_SECRET_WORDS: Final = ("key", "token", "secret", "auth", "password")


def redact_headers(headers: Mapping[str, str] | list[tuple[str, str]]) -> dict[str, str]:
    """Lower-cased header names; the values of credential-carrying headers replaced."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        lower = name.lower()
        secret = lower in _SECRET_HEADERS or any(word in lower for word in _SECRET_WORDS)
        out[lower] = REDACTED if secret else value
    return out


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request. ``status`` None: no status was sent (a hang or a reset).
    ``body`` is the parsed JSON, or None when the body was not JSON."""

    provider: str
    index: int
    method: str
    path: str
    headers: Mapping[str, str]
    body: object
    fault: str | None
    status: int | None
    time: float
    wall: float
    delay: float
    connection: int = 0

    def to_json(self) -> dict[str, object]:
        return {
            "provider": self.provider,
            "index": self.index,
            "method": self.method,
            "path": self.path,
            "headers": dict(self.headers),
            "body": self.body,
            "fault": self.fault,
            "status": self.status,
            "time": self.time,
            "wall": self.wall,
            "delay": self.delay,
            "connection": self.connection,
        }


class Journal:
    """Thread-safe: the server appends from its loop thread while a test reads."""

    def __init__(self) -> None:
        self._entries: list[JournalEntry] = []
        self._lock = threading.Lock()

    def record(self, entry: JournalEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    def entries(
        self,
        provider: str | None = None,
        *,
        fault: str | None = None,
        status: int | None = None,
        path: str | None = None,
    ) -> list[JournalEntry]:
        """The entries matching every filter given, in arrival order."""
        with self._lock:
            entries = list(self._entries)
        return [
            e
            for e in entries
            if (provider is None or e.provider == provider)
            and (fault is None or e.fault == fault)
            and (status is None or e.status == status)
            and (path is None or e.path == path)
        ]

    def count(
        self, provider: str | None = None, *, fault: str | None = None, status: int | None = None
    ) -> int:
        return len(self.entries(provider, fault=fault, status=status))

    def faults(self, provider: str | None = None) -> list[str | None]:
        return [e.fault for e in self.entries(provider)]

    def clear(self, provider: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self._entries.clear()
            else:
                self._entries = [e for e in self._entries if e.provider != provider]

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __iter__(self) -> Iterator[JournalEntry]:
        return iter(self.entries())
