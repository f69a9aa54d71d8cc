"""Where a configuration document comes from: a local file or an https URL.

A :class:`ConfigSource` is what the pool's reloader polls. ``fetch()`` returns the document's
bytes, or :data:`UNCHANGED` when the source can tell nothing changed (same file contents, or an
HTTP 304 answer to ``If-None-Match``/``If-Modified-Since``). Every failure is a
:class:`ConfigurationError` with one diagnostic; nothing else escapes.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol, runtime_checkable

import httpx

from ..diagnostics import Diagnostic
from ..errors import ConfigurationError
from .urls import display_url, url_problem

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "UNCHANGED",
    "ConfigSource",
    "Fetched",
    "FileSource",
    "Unchanged",
    "UrlSource",
    "open_source",
]

DEFAULT_MAX_BYTES: Final = 2 * 1024 * 1024
DEFAULT_TIMEOUT: Final = 10.0  # seconds


@dataclass(frozen=True)
class Fetched:
    """A document's bytes and the name diagnostics should use for it."""

    content: bytes
    name: str


class Unchanged:
    """The source has nothing new since the last successful fetch."""

    _instance: Unchanged | None = None

    def __new__(cls) -> Unchanged:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = Unchanged()


@runtime_checkable
class ConfigSource(Protocol):
    """Something the pool can poll for its configuration document."""

    @property
    def name(self) -> str:
        """How diagnostics refer to the document (a path, or a URL without credentials)."""
        ...

    def fetch(self) -> Fetched | Unchanged: ...

    def reset(self) -> None:
        """Forget what was seen, so the next fetch returns the document even if unchanged."""
        ...


def _fail(code: str, message: str, name: str, hint: str | None = None) -> ConfigurationError:
    return ConfigurationError([Diagnostic(code, message, path=name, help=hint)])


def _too_large(name: str, size: int | None, cap: int) -> ConfigurationError:
    size_text = "" if size is None else f"{size} bytes, "
    return _fail(
        "C016",
        f"is {size_text}more than the {cap}-byte cap",
        name,
        "split the configuration, or raise max_bytes if this size is intended",
    )


class FileSource:
    """A local JSON file; unchanged when its bytes are the same as last time."""

    def __init__(self, path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._name = str(path)
        self._digest: str | None = None

    @property
    def name(self) -> str:
        return self._name

    def reset(self) -> None:
        self._digest = None

    def fetch(self) -> Fetched | Unchanged:
        try:
            with self.path.open("rb") as handle:
                content = handle.read(self.max_bytes + 1)
        except FileNotFoundError:
            raise _fail(
                "C014", "cannot read: no such file", self._name, f"looked in {Path.cwd()}"
            ) from None
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise _fail("C014", f"cannot read: {reason}", self._name) from None
        if len(content) > self.max_bytes:
            size = self.path.stat().st_size
            raise _too_large(self._name, size, self.max_bytes)
        digest = hashlib.sha256(content).hexdigest()
        if digest == self._digest:
            return UNCHANGED
        self._digest = digest
        return Fetched(content, self._name)


class UrlSource:
    """A remote JSON document over https (http only to loopback), fetched conditionally.

    After a 200 the ``ETag`` and ``Last-Modified`` answers are remembered and sent back, so
    an unchanged remote configuration costs one 304 and no body. Redirects are refused rather
    than followed, so an https URL can never be silently downgraded.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        client: httpx.Client | None = None,
    ) -> None:
        self.url = url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._client = client
        self._name = display_url(url)
        self._etag: str | None = None
        self._last_modified: str | None = None
        problem = url_problem(url)
        if problem is not None:
            raise _fail(
                "C017",
                f"configuration URL {problem}",
                self._name,
                "serve the configuration over https, or from localhost for local testing",
            )

    @property
    def name(self) -> str:
        return self._name

    def reset(self) -> None:
        self._etag = None
        self._last_modified = None

    def fetch(self) -> Fetched | Unchanged:
        if self._client is not None:
            return self._fetch(self._client)
        with httpx.Client(follow_redirects=False) as client:
            return self._fetch(client)

    def _conditional_headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self._etag is not None:
            headers["If-None-Match"] = self._etag
        if self._last_modified is not None:
            headers["If-Modified-Since"] = self._last_modified
        return headers

    def _fetch(self, client: httpx.Client) -> Fetched | Unchanged:
        watchdog = _Watchdog(self.timeout)
        try:
            with client.stream(
                "GET",
                self.url,
                headers=self._conditional_headers(),
                timeout=self.timeout,
                extensions={"trace": watchdog.trace},
            ) as response:
                return self._read(response)
        except httpx.HTTPError as exc:
            if not (watchdog.expired or isinstance(exc, httpx.TimeoutException)):
                raise _fail(
                    "C015",
                    f"request failed ({type(exc).__name__})",
                    self._name,
                    "check the URL and that the server is reachable",
                ) from None
            raise _fail(
                "C015",
                f"no answer within {self.timeout:g} s",
                self._name,
                "check that the server is up, or raise the timeout",
            ) from None
        finally:
            watchdog.stop()

    def _read(self, response: httpx.Response) -> Fetched | Unchanged:
        if response.status_code == 304 and (self._etag or self._last_modified):
            return UNCHANGED
        if response.status_code != 200:
            hint = (
                "redirects are not followed; point at the final https URL"
                if response.is_redirect
                else "check the server; a running pool keeps its last good configuration"
            )
            raise _fail("C015", f"server answered HTTP {response.status_code}", self._name, hint)
        declared = response.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_large(self._name, int(declared), self.max_bytes)
        body = bytearray()
        for chunk in response.iter_bytes():
            body.extend(chunk)
            if len(body) > self.max_bytes:
                raise _too_large(self._name, None, self.max_bytes)
        self._etag = response.headers.get("ETag")
        self._last_modified = response.headers.get("Last-Modified")
        return Fetched(bytes(body), self._name)


class _Watchdog:
    """Cuts a blocking fetch's socket once ``timeout`` seconds have passed since it was made, so
    the timeout bounds the whole call (connect, headers, body) in wall clock: httpx's own is a
    bound between two bytes, which a server trickling one byte at a time never trips. The socket
    is learnt from httpcore's ``trace`` extension when the TCP connection is made."""

    def __init__(self, timeout: float) -> None:
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._timer = threading.Timer(timeout, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event != "connection.connect_tcp.complete":
            return
        stream = info.get("return_value")
        sock = None if stream is None else stream.get_extra_info("socket")
        if isinstance(sock, socket.socket):
            with self._lock:
                self._sockets.append(sock)
                if self.expired:
                    _cut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _cut(sock)

    def stop(self) -> None:
        self._timer.cancel()


def _cut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def open_source(source: str | Path | ConfigSource) -> ConfigSource:
    """A source for a path, an ``http(s)://`` URL, or an existing source (returned as is)."""
    if isinstance(source, str) and source.startswith(("http://", "https://")):
        return UrlSource(source)
    if isinstance(source, str | Path):
        return FileSource(source)
    return source
