"""A small HTTP/1.1 server on asyncio streams: keep-alive, Content-Length and chunked request
bodies, ``Expect: 100-continue``, and the two misbehaviours a real peer has — never answering,
and resetting the socket.

It knows nothing about LLM providers: a handler turns a :class:`Request` into a :class:`Reply`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Final

__all__ = ["Hang", "HttpServer", "Reply", "Request", "Reset", "Response"]

_MAX_HEAD: Final = 1 << 20  # request line + headers
_MAX_BODY: Final = 64 << 20


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # the target without its query string
    query: str
    headers: tuple[tuple[str, str], ...]  # names lower-cased, in arrival order
    body: bytes
    connection: int = 0  # which connection (1, 2, ... per server) carried it: keep-alive shows

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()

    def encode(self, *, keep_alive: bool) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = {529: "Overloaded"}.get(self.status, "Unknown")
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        lines.append(f"content-length: {len(self.body)}")
        lines.append(f"connection: {'keep-alive' if keep_alive else 'close'}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body


@dataclass(frozen=True, slots=True)
class Hang:
    """Never answer; the connection is held until the client closes it or the server stops."""


@dataclass(frozen=True, slots=True)
class Reset:
    """Send ``partial`` (a prefix of a response), then reset the connection (TCP RST)."""

    partial: bytes = b""


Reply = Response | Hang | Reset
Handler = Callable[[Request], Awaitable[Reply]]


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "chunked" in headers.get("transfer-encoding", "").lower():
        chunks: list[bytes] = []
        size_total = 0
        while True:
            line = await reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "bad chunk size") from None
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                return b"".join(chunks)
            size_total += size
            if size_total > _MAX_BODY:
                raise _BadRequest(413, "body too large")
            chunks.append(await reader.readexactly(size))
            await reader.readexactly(2)
    length = headers.get("content-length")
    if length is None:
        return b""
    try:
        size = int(length)
    except ValueError:
        raise _BadRequest(400, "bad content-length") from None
    if size < 0:
        raise _BadRequest(400, "bad content-length")
    if size > _MAX_BODY:
        raise _BadRequest(413, "body too large")
    return await reader.readexactly(size)


async def _continue(writer: asyncio.StreamWriter, headers: dict[str, str], version: str) -> None:
    """Answer ``Expect: 100-continue`` before reading the body: such a client (curl for a body
    over 1 MB) sends the body only after the interim 100, or after its own timeout (1 s)."""
    if version != "HTTP/1.1" or headers.get("expect", "").lower() != "100-continue":
        return
    if "chunked" not in headers.get("transfer-encoding", "").lower():
        try:
            length = int(headers.get("content-length", "0"))
        except ValueError:
            return  # _read_body refuses it
        if not 0 < length <= _MAX_BODY:
            return  # no body to wait for, or one _read_body refuses (413) unread
    writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    await writer.drain()


async def _read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
) -> tuple[Request, bool] | None:
    """The next request and whether the connection stays open after it; None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise _BadRequest(431, "request header fields too large") from None
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3:
        raise _BadRequest(400, "bad request line")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise _BadRequest(505, "HTTP version not supported")
    pairs: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise _BadRequest(400, "bad header line")
        pairs.append((name.lower(), value.strip()))
    headers = dict(pairs)
    await _continue(writer, headers, version)
    body = await _read_body(reader, headers)
    tokens = headers.get("connection", "").lower()
    keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
    path, _, query = target.partition("?")
    return Request(method, path, query, tuple(pairs), body, connection), keep_alive


def _abort_with_reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class HttpServer:
    """One listening socket; ``start()`` binds (port 0 picks a free port), ``close()`` stops
    listening, drops every open connection (hung ones included) and waits for their tasks."""

    def __init__(self, handler: Handler, host: str = "127.0.0.1", port: int = 0) -> None:
        self._handler = handler
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._accepted = 0

    @property
    def port(self) -> int:
        return self._port

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    @property
    def accepted_connections(self) -> int:
        return self._accepted

    async def start(self) -> int:
        self._server = await asyncio.start_server(
            self._serve, self._host, self._port, limit=_MAX_HEAD, backlog=1024
        )
        self._port = int(self._server.sockets[0].getsockname()[1])
        return self._port

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task, writer in list(self._connections.items()):
            writer.transport.abort()
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        self._accepted += 1
        try:
            await self._loop(reader, writer, self._accepted)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            # Only close() cancels: end quietly (a cancelled connection task makes asyncio's
            # stream callback log an error).
            pass
        finally:
            self._connections.pop(task, None)
            if not writer.transport.is_closing():
                writer.close()  # flushes what is buffered, then closes

    async def _loop(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: int
    ) -> None:
        while True:
            try:
                read = await _read_request(reader, writer, connection)
            except _BadRequest as exc:
                body = str(exc).encode()
                writer.write(Response(exc.status, body).encode(keep_alive=False))
                await writer.drain()
                return
            if read is None:
                return
            request, keep_alive = read
            try:
                reply = await self._handler(request)
            except Exception:  # an emulator bug: answer 500 and say so, never hang the client
                traceback.print_exc(file=sys.stderr)
                reply = Response(500, b"emulator error")
            if isinstance(reply, Hang):
                while await reader.read(65536):  # until the client gives up
                    pass
                return
            if isinstance(reply, Reset):
                if reply.partial:
                    writer.write(reply.partial)
                    await writer.drain()
                _abort_with_reset(writer)
                return
            writer.write(reply.encode(keep_alive=keep_alive))
            await writer.drain()
            if not keep_alive:
                return
