"""The HTTP server itself: concurrency with keep-alive, odd-but-legal requests, clean shutdown."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import httpx
import pytest

from llmpool_policy.emulator import Behaviour, Emulator

from .conftest import chat_body, post


async def _keep_alive_client(port: int, request: bytes, count: int) -> list[bytes]:
    """A minimal HTTP/1.1 client: ``count`` requests, one after another, on one connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses = []
    try:
        for _ in range(count):
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            statuses.append(head.split(b" ")[1])
    finally:
        writer.close()
        await writer.wait_closed()
    return statuses


def test_concurrency_100_with_keep_alive(emulator: Emulator) -> None:
    """100 connections at once, each carrying 3 requests: 300 answers over exactly 100
    connections. (A raw client: httpx's own pool slows down past a few dozen connections,
    encode/httpx#3215, which would measure httpx, not the emulator.)"""
    provider = emulator.add("p", "openai")
    body = json.dumps(chat_body(provider)).encode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in provider.headers().items())
    request = (
        f"POST {provider.path_prefix}/chat/completions HTTP/1.1\r\nhost: emulator\r\n"
        f"{headers}content-length: {len(body)}\r\n\r\n"
    ).encode() + body

    async def main() -> list[list[bytes]]:
        clients = [_keep_alive_client(provider.port, request, 3) for _ in range(100)]
        return list(await asyncio.wait_for(asyncio.gather(*clients), 20))

    results = asyncio.run(main())
    assert [status for statuses in results for status in statuses] == [b"200"] * 300
    assert provider.connections[1] == 100
    entries = emulator.journal.entries("p")
    assert len({e.connection for e in entries}) == 100
    assert sorted(e.index for e in entries) == list(range(300))


def test_concurrency_100_through_an_httpx_pool(emulator: Emulator) -> None:
    provider = emulator.add("p", "anthropic")

    async def main() -> list[int]:
        limits = httpx.Limits(max_connections=25, max_keepalive_connections=25)
        async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
            body = chat_body(provider)
            statuses: list[int] = []
            for _ in range(2):
                wave = [
                    client.post(provider.url, headers=provider.headers(), json=body)
                    for _ in range(100)
                ]
                statuses += [r.status_code for r in await asyncio.gather(*wave)]
            return statuses

    assert asyncio.run(main()) == [200] * 200
    assert provider.connections[1] <= 25  # 200 requests over at most 25 reused connections


def test_keep_alive_sequential_uses_one_connection(
    emulator: Emulator, client: httpx.Client
) -> None:
    provider = emulator.add("p", "anthropic")
    for _ in range(5):
        assert post(client, provider).status_code == 200
    assert {e.connection for e in emulator.journal.entries("p")} == {1}
    # Errors keep the connection too.
    provider.queue_faults("server_error", "rate_limited")
    assert [post(client, provider).status_code for _ in range(2)] == [500, 429]
    assert provider.connections == (1, 1)


def _raw(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_chunked_body_and_connection_close(emulator: Emulator) -> None:
    provider = emulator.add("p", "openai", api_key=None)
    body = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    request = (
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n"
        + f"{10:x}\r\n".encode() + body[:10] + b"\r\n"
        + f"{len(body) - 10:x}\r\n".encode() + body[10:] + b"\r\n0\r\n\r\n"
    )  # fmt: skip
    answer = _raw(provider.port, request)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"connection: close" in answer and b"Emulated reply" in answer


def test_http_1_0_and_garbage(emulator: Emulator) -> None:
    provider = emulator.add("p", "openai", api_key=None)
    answer = _raw(
        provider.port, b"POST /v1/chat/completions HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}"
    )
    assert answer.startswith(b"HTTP/1.1 400 ")  # closed after: HTTP/1.0 without keep-alive
    assert _raw(provider.port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert _raw(provider.port, b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505 ")


def test_clean_shutdown_drops_hung_connections_and_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    emu = Emulator(latency_scale=0.0).start()
    provider = emu.add("p", "openai", behaviour=Behaviour(faults={"hang": 1.0}))
    slow = emu.add("slow", "cohere", behaviour=Behaviour(latency_scale=1000.0))
    emu.latency_scale = 1.0
    errors: list[BaseException] = []

    def hang(target: str) -> None:
        try:
            with httpx.Client(timeout=30.0) as client:
                post(client, emu[target])
        except BaseException as exc:  # recorded for the assertion
            errors.append(exc)

    clients = [threading.Thread(target=hang, args=(name,)) for name in ("p", "p", "slow")]
    for thread in clients:
        thread.start()
    for _ in range(500):
        if len(emu.journal) == 3:
            break
        threading.Event().wait(0.01)
    assert provider.connections[0] == 2 and slow.connections[0] == 1
    emu.stop()
    for thread in clients:
        thread.join(5)
        assert not thread.is_alive()
    assert len(errors) == 3 and all(isinstance(e, httpx.TransportError) for e in errors)
    assert set(threading.enumerate()) == before
    emu.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.post(f"http://127.0.0.1:{provider.port}/v1/chat/completions")


def test_start_stop_restart_and_add_while_running() -> None:
    emu = Emulator(latency_scale=0.0)
    early = emu.add("early", "openai")
    with pytest.raises(RuntimeError):
        _ = early.base_url
    with emu, httpx.Client() as client:
        late = emu.add("late", "anthropic")
        assert post(client, early).status_code == 200
        assert post(client, late).status_code == 200
        with pytest.raises(RuntimeError):
            emu.start()
        with pytest.raises(ValueError, match="already exists"):
            emu.add("late", "cohere")
    assert not emu.running
    with emu, httpx.Client() as client:  # a stopped emulator starts again
        assert post(client, early).status_code == 200


def test_async_context_manager() -> None:
    async def main() -> int:
        async with Emulator(latency_scale=0.0) as emu:
            provider = emu.add("p", "cohere")
            async with httpx.AsyncClient() as client:
                response = await client.post(
                    provider.url, headers=provider.headers(), json=chat_body(provider)
                )
            return response.status_code

    assert asyncio.run(main()) == 200


def test_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        Emulator(host="0.0.0.0")
    Emulator(host="::1")  # fine (not started: the sandbox may lack IPv6)


def test_fixed_port(emulator: Emulator, client: httpx.Client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    provider = emulator.add("p", "openai", port=port)
    assert provider.port == port
    assert post(client, provider).status_code == 200


def test_expect_100_continue_is_answered_before_the_body(emulator: Emulator) -> None:
    """A client that sends ``Expect: 100-continue`` holds the body back until the interim
    100: this one waits for it (5 s) and only then sends; without it, no answer ever comes."""
    provider = emulator.add("p", "openai", api_key=None)
    body = json.dumps(chat_body(provider, "x" * 2_000_000)).encode()
    head = (
        "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", provider.port), timeout=5) as sock:
        sock.sendall(head)
        interim = b""
        while not interim.endswith(b"\r\n\r\n"):
            interim += sock.recv(1)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and b"Emulated reply" in answer
    # Without a body there is nothing to wait for: no interim answer, just the final one.
    bodiless = head.replace(f"Content-Length: {len(body)}".encode(), b"Content-Length: 0")
    assert _raw(provider.port, bodiless).startswith(b"HTTP/1.1 400 ")


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_curl_sends_a_large_body_without_waiting(emulator: Emulator, tmp_path: Path) -> None:
    """curl asks `Expect: 100-continue` for a body over 1 MB; told to wait up to 30 s for the
    100, it answers at once only if the server sends it."""
    provider = emulator.add("p", "openai", api_key=None)
    payload = tmp_path / "body.json"
    payload.write_text(json.dumps(chat_body(provider, "y" * 2_000_000)))
    result = subprocess.run(
        ["curl", "-sS", "--expect100-timeout", "30", "-o", "/dev/null", "-w", "%{http_code}",
         "-H", "content-type: application/json", "--data-binary", f"@{payload}", provider.url],
        capture_output=True, text=True, timeout=10, check=False,
    )  # fmt: skip
    assert result.stdout == "200", result.stderr
    (entry,) = emulator.journal.entries("p")
    assert dict(entry.headers)["expect"] == "100-continue"
