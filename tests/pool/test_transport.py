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


def test_default_transport_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMPOOL_HTTP_TRANSPORT", "httpx")
    assert default_transport() is None
    monkeypatch.delenv("LLMPOOL_HTTP_TRANSPORT")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    chosen = default_transport()
    assert (chosen is not None) == HAVE_AIOHTTP
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert default_transport() is None  # aiohttp would not read the proxy variables
    monkeypatch.setenv("LLMPOOL_HTTP_TRANSPORT", "aiohttp")
    if HAVE_AIOHTTP:
        assert default_transport() is not None
    else:
        with pytest.raises(ImportError):
            default_transport()
