"""Loading from a real HTTP server on 127.0.0.1: every outcome is a config, UNCHANGED, or a
typed ConfigurationError."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from llmpool_policy.config import (
    UNCHANGED,
    PoolConfig,
    UrlSource,
    config_checksum,
    load_config,
    poll_config,
)
from llmpool_policy.errors import ConfigurationError

from .corpus import doc, provider

GOOD = doc(provider(name="remote-1"), provider(name="remote-2"))
GOOD_BODY = json.dumps(GOOD).encode()
ETAG = '"v1"'
LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"


class _Handler(BaseHTTPRequestHandler):
    seen: ClassVar[list[dict[str, str]]] = []

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        _Handler.seen.append(dict(self.headers))
        route = self.path.split("?")[0]
        if route == "/config.json":
            if self.headers.get("If-None-Match") == ETAG:
                self._send(304, headers={"ETag": ETAG})
            else:
                self._send(200, GOOD_BODY, {"ETag": ETAG, "Last-Modified": LAST_MODIFIED})
        elif route == "/dated.json":
            if self.headers.get("If-Modified-Since") == LAST_MODIFIED:
                self._send(304)
            else:
                self._send(200, GOOD_BODY, {"Last-Modified": LAST_MODIFIED})
        elif route == "/error":
            self._send(500, b"oops")
        elif route == "/redirect":
            self._send(302, headers={"Location": "http://example.com/config.json"})
        elif route == "/slow":
            time.sleep(0.5)
            self._send(200, GOOD_BODY)
        elif route in ("/trickle-headers", "/trickle-body"):
            body = b" " * 200 + GOOD_BODY
            head = (f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            if route == "/trickle-body":
                self.wfile.write(head)
                head = b""
            for index, byte in enumerate(head + body):  # one byte every 50 ms
                self.wfile.write(bytes([byte]))
                time.sleep(0.05)
                if index > 40:  # the client is long gone by then
                    break
        elif route == "/invalid":
            self._send(200, b'{"providers": [')
        elif route == "/bad-values":
            self._send(200, json.dumps(doc(provider(priority=-1))).encode())
        elif route == "/big":
            self._send(200, b" " * 5000 + GOOD_BODY)
        elif route == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for _ in range(10):
                chunk = b" " * 1000
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        else:
            self._send(404)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _error(call: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as info:
        call()
    return info.value


def test_200_loads(server: str) -> None:
    config = load_config(f"{server}/config.json", env={})
    assert [p.name for p in config.providers] == ["remote-1", "remote-2"]
    assert config.checksum == config_checksum(GOOD)
    assert config.origin == f"{server}/config.json"


def test_304_with_etag_is_unchanged(server: str) -> None:
    source = UrlSource(f"{server}/config.json")
    first = poll_config(source, env={})
    assert isinstance(first, PoolConfig)
    _Handler.seen.clear()
    assert poll_config(source, env={}) is UNCHANGED
    assert _Handler.seen[-1]["If-None-Match"] == ETAG
    assert _Handler.seen[-1]["If-Modified-Since"] == LAST_MODIFIED
    source.reset()
    assert isinstance(poll_config(source, env={}), PoolConfig)


def test_304_with_last_modified_is_unchanged(server: str) -> None:
    source = UrlSource(f"{server}/dated.json")
    assert isinstance(poll_config(source, env={}), PoolConfig)
    assert poll_config(source, env={}) is UNCHANGED


def test_500(server: str, snapshot: Any) -> None:
    exc = _error(lambda: load_config(f"{server}/error?token=s3cr3t"))
    (found,) = exc.diagnostics
    assert found.code == "C015"
    assert "s3cr3t" not in str(exc)
    assert (found.message, found.help) == snapshot


def test_404(server: str) -> None:
    assert [d.code for d in _error(lambda: load_config(f"{server}/nope")).diagnostics] == ["C015"]


def test_redirect_not_followed(server: str, snapshot: Any) -> None:
    (found,) = _error(lambda: load_config(f"{server}/redirect")).diagnostics
    assert found.code == "C015"
    assert (found.message, found.help) == snapshot


def test_timeout(server: str, snapshot: Any) -> None:
    started = time.monotonic()
    exc = _error(lambda: load_config(UrlSource(f"{server}/slow", timeout=0.1)))
    assert time.monotonic() - started < 0.45
    (found,) = exc.diagnostics
    assert found.code == "C015"
    assert (found.message, found.help) == snapshot


@pytest.mark.parametrize("route", ["/trickle-headers", "/trickle-body"])
def test_the_timeout_bounds_the_whole_fetch(server: str, route: str) -> None:
    """Issue 13, item 1: a server trickling a byte every 50 ms never trips a timeout between
    bytes; the fetch's timeout is a wall-clock bound on the whole call (it took 6.1 s for a
    1 s timeout before)."""
    started = time.monotonic()
    exc = _error(lambda: load_config(UrlSource(f"{server}{route}", timeout=0.3)))
    assert time.monotonic() - started < 0.3 + 0.25  # generous: the machine is loaded
    (found,) = exc.diagnostics
    assert found.code == "C015" and found.message == "no answer within 0.3 s"


def test_connection_refused(server: str) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exc = _error(lambda: load_config(f"http://127.0.0.1:{port}/config.json"))
    assert [d.code for d in exc.diagnostics] == ["C015"]


def test_invalid_json(server: str) -> None:
    exc = _error(lambda: load_config(f"{server}/invalid"))
    assert [d.code for d in exc.diagnostics] == ["C001"]
    assert exc.diagnostics[0].path == f"{server}/invalid"


def test_invalid_values_point_into_the_document(server: str) -> None:
    exc = _error(lambda: load_config(f"{server}/bad-values", env={}))
    assert [(d.code, d.pointer) for d in exc.diagnostics] == [("C004", "/providers/0/priority")]


@pytest.mark.parametrize("route", ["/big", "/big-chunked"])
def test_oversize(server: str, route: str, snapshot: Any) -> None:
    exc = _error(lambda: load_config(UrlSource(f"{server}{route}", max_bytes=1024)))
    (found,) = exc.diagnostics
    assert found.code == "C016"
    assert found.message == snapshot


def test_checksum_mismatch(server: str) -> None:
    exc = _error(lambda: load_config(f"{server}/config.json", env={}, expected_checksum="0" * 64))
    assert [d.code for d in exc.diagnostics] == ["C013"]
    pinned = load_config(
        f"{server}/config.json", env={}, expected_checksum="sha256:" + config_checksum(GOOD)
    )
    assert pinned.checksum == config_checksum(GOOD)


@pytest.mark.parametrize(
    "url",
    ["http://example.com/config.json", "ftp://127.0.0.1/config.json", "http://10.0.0.1/c.json"],
)
def test_plain_http_only_to_loopback(url: str, snapshot: Any) -> None:
    (found,) = _error(lambda: UrlSource(url)).diagnostics
    assert found.code == "C017"
    assert found.message == snapshot


def test_loopback_names_allowed() -> None:
    for url in ("http://localhost:1/c.json", "http://[::1]:1/c.json", "http://127.8.0.1/c.json"):
        assert UrlSource(url).name == url
