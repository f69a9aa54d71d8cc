"""The pool's HTTP transport: httpx's own, or httpx over aiohttp (the optional extra) — the same
error classes either way, and the default chosen as documented."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import ProviderError
from llmpool_policy.http_transport import describe, planned
from llmpool_policy.messages import text_message
from llmpool_policy.pool import LLMPool, default_transport

HAVE_AIOHTTP = importlib.util.find_spec("httpx_aiohttp") is not None

POLICY = """policy "t"
limits { deadline 30s }
route d { use all retry { attempts 1 } timeout 300ms failover off }
"""


def _aiohttp() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    transport: httpx.AsyncBaseTransport = AiohttpTransport()
    return transport


TRANSPORTS: list[object] = [
    pytest.param(httpx.AsyncHTTPTransport, id="httpx"),
    pytest.param(
        _aiohttp,
        id="aiohttp",
        marks=pytest.mark.skipif(not HAVE_AIOHTTP, reason="httpx-aiohttp is not installed"),
    ),
]


@pytest.mark.parametrize("make", TRANSPORTS)
@pytest.mark.parametrize(
    ("fault", "expected"), [("reset", "connection"), ("hang", "timeout"), (None, None)]
)
def test_error_classes_do_not_depend_on_the_transport(
    emulator: Emulator,
    tmp_path: Path,
    make: Callable[[], httpx.AsyncBaseTransport],
    fault: str | None,
    expected: str | None,
) -> None:
    emulator.add("a", "openai")
    emulator.write_config(tmp_path / "c.json")
    (tmp_path / "p.policy").write_text(POLICY)
    if fault is not None:
        emulator["a"].set_behaviour(faults={fault: 1.0})

    async def main() -> str | None:
        pool = LLMPool(tmp_path / "c.json", tmp_path / "p.policy", transport=make(),
                       check_interval_s=0)  # fmt: skip
        async with pool:
            try:
                await pool.chat([text_message("user", "hi")], max_tokens=5)
            except ProviderError as exc:
                assert [a.error_class for a in exc.attempts] == [expected]
                return exc.error_class
            return None

    assert asyncio.run(main()) == expected


_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def _clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_default_transport_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMPOOL_HTTP_TRANSPORT", "httpx")
    assert default_transport() is None
    monkeypatch.delenv("LLMPOOL_HTTP_TRANSPORT")
    _clear_proxies(monkeypatch)
    chosen = default_transport()
    assert (chosen is not None) == HAVE_AIOHTTP
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    expected = "httpx+proxy"  # aiohttp would not read the proxy variables
    assert describe(default_transport(), "https://api.openai.com/v1") == expected
    assert planned("https://api.openai.com/v1") == expected
    monkeypatch.setenv("LLMPOOL_HTTP_TRANSPORT", "aiohttp")
    if HAVE_AIOHTTP:
        assert describe(default_transport(), "https://api.openai.com/v1") == "aiohttp"
    else:
        with pytest.raises(ImportError):
            default_transport()


@pytest.mark.skipif(not HAVE_AIOHTTP, reason="httpx-aiohttp is not installed")
def test_a_bare_no_proxy_keeps_the_fast_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13, item 15: NO_PROXY alone configures no proxy (getproxies() still lists it)."""
    monkeypatch.delenv("LLMPOOL_HTTP_TRANSPORT")
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    transport = default_transport()
    assert transport is not None
    for url in ("https://api.openai.com/v1", "http://127.0.0.1:8080/v1"):
        assert describe(transport, url) == "aiohttp"
        assert planned(url) == "aiohttp"


@pytest.mark.skipif(not HAVE_AIOHTTP, reason="httpx-aiohttp is not installed")
def test_the_transport_follows_whether_a_proxy_applies_to_each_provider(
    emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy that applies to b's URL only: a goes over aiohttp (straight to the emulator),
    b over httpx through the proxy (nothing listens there: a connection error), and health()
    and stats() say so, before and after start()."""
    emulator.add("a", "openai")
    emulator.add("b", "openai")
    emulator.write_config(tmp_path / "c.json")
    monkeypatch.delenv("LLMPOOL_HTTP_TRANSPORT")
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # discard port: refused
    monkeypatch.setenv("no_proxy", f"localhost,127.0.0.1:{emulator['a'].port}")
    expected = {"a": "aiohttp", "b": "httpx+proxy"}

    async def chat(name: str) -> str:
        (tmp_path / f"{name}.policy").write_text(
            f'policy "t"\nroute d {{ use {name} retry {{ attempts 1 }} timeout 2s }}'
        )
        pool = LLMPool(tmp_path / "c.json", tmp_path / f"{name}.policy", check_interval_s=0)
        assert pool.health().transports == expected
        async with pool:
            assert pool.health().transports == expected
            assert {n: s.transport for n, s in pool.stats().items()} == expected
            try:
                return (await pool.chat([text_message("user", "hi")], max_tokens=5)).provider
            except ProviderError as exc:
                return exc.error_class

    assert asyncio.run(chat("a")) == "a"
    assert asyncio.run(chat("b")) == "connection"
