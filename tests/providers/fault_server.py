"""A raw asyncio TCP server that answers every request with one wire fault.

Byte-level faults an HTTP server library would never send (trickled bytes, broken chunking, a
body that is not the gzip its header says, a reset mid-body...) so the pool's transports meet
them for real on 127.0.0.1. It runs on its own event loop in a thread, so sync and async tests
both use it.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

_BODY: Final = json.dumps(
    {
        "id": "x",
        "model": "m",
        "choices": [{"message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
).encode()


def _head(extra: str = "", length: int | None = len(_BODY)) -> bytes:
    size = "" if length is None else f"content-length: {length}\r\n"
    return f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{size}{extra}\r\n".encode()


# What each fault does, once the request has been read. Names are the matrix's ids.
FAULTS: Final = (
    "trickle_headers",  # the status line and headers one byte per tick
    "trickle_body",  # headers at once, the body one byte per tick
    "hang_before_headers",  # reads the request, says nothing
    "hang_mid_body",  # half the body, then silence
    "close_before_headers",  # closes without a byte
    "reset_mid_body",  # half the body, then a TCP RST
    "truncated_body",  # content-length says more than is sent, then a clean close
    "invalid_chunk_size",  # chunked, with a chunk size that is not hex
    "bad_gzip",  # content-encoding: gzip over a plain JSON body
    "garbage_status_line",  # not HTTP at all
)


class FaultServer:
    """``url`` serves ``fault`` (settable) to every connection; ``tick_s`` paces trickles."""

    def __init__(self, fault: str = "trickle_body", *, tick_s: float = 0.05) -> None:
        self.fault = fault
        self.tick_s = tick_s
        self.port = 0
        self.connections = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FaultServer:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._start(), self._loop)
        future.result(5)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
                for task in asyncio.all_tasks():
                    if task is not asyncio.current_task():
                        task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            await reader.readexactly(length)
            await self._answer(self.fault, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _trickle(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        for index in range(len(data)):
            writer.write(data[index : index + 1])
            await writer.drain()
            await asyncio.sleep(self.tick_s)

    async def _answer(self, fault: str, writer: asyncio.StreamWriter) -> None:
        half = _BODY[: len(_BODY) // 2]
        if fault == "trickle_headers":
            await self._trickle(writer, _head() + _BODY)
        elif fault == "trickle_body":
            writer.write(_head())
            await self._trickle(writer, _BODY)
        elif fault == "hang_before_headers":
            await asyncio.sleep(3600)
        elif fault == "hang_mid_body":
            writer.write(_head() + half)
            await writer.drain()
            await asyncio.sleep(3600)
        elif fault == "close_before_headers":
            return
        elif fault == "reset_mid_body":
            writer.write(_head() + half)
            await writer.drain()
            await asyncio.sleep(0.01)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
        elif fault == "truncated_body":
            writer.write(_head() + half)
            await writer.drain()
        elif fault == "invalid_chunk_size":
            writer.write(_head("transfer-encoding: chunked\r\n", None) + b"zz\r\n" + half + b"\r\n")
            await writer.drain()
            await asyncio.sleep(3600)  # and keeps the connection open
        elif fault == "bad_gzip":
            writer.write(_head("content-encoding: gzip\r\n") + _BODY)
            await writer.drain()
        elif fault == "garbage_status_line":
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
            await writer.drain()
        else:  # "ok": a well-formed answer
            writer.write(_head() + _BODY)
            await writer.drain()


@contextmanager
def fault_server(fault: str = "ok", *, tick_s: float = 0.05) -> Iterator[FaultServer]:
    server = FaultServer(fault, tick_s=tick_s).start()
    try:
        yield server
    finally:
        server.stop()
