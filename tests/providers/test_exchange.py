"""providers.exchange at call time: headers HTTP cannot carry are refused before anything is
sent, typed and naming the header, never its value (issue 13, item 11, the last line of defence
behind the config loader's checks: keys from env vars, headers set after loading)."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable, Iterator

import httpx
import pytest

from llmpool_policy.providers.base import ProviderFailure, WireRequest
from llmpool_policy.providers.exchange import Answer, exchange

from .fault_server import FaultServer

HAVE_AIOHTTP = importlib.util.find_spec("httpx_aiohttp") is not None
SECRET = "sk-MARKERKEY-exchange"


def _aiohttp() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    transport: httpx.AsyncBaseTransport = AiohttpTransport()
    return transport


TRANSPORTS = [
    pytest.param(httpx.AsyncHTTPTransport, id="httpx"),
    pytest.param(
        _aiohttp,
        id="aiohttp",
        marks=pytest.mark.skipif(not HAVE_AIOHTTP, reason="httpx-aiohttp is not installed"),
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    running = FaultServer("ok").start()
    yield running
    running.stop()


def _send(
    server: FaultServer, make: Callable[[], httpx.AsyncBaseTransport], headers: dict[str, str]
) -> Answer | ProviderFailure:
    wire = WireRequest("POST", server.url + "/chat/completions", headers, {"model": "m"}, 1.0)

    async def main() -> Answer | ProviderFailure:
        async with httpx.AsyncClient(transport=make()) as client:
            return await exchange(client, wire, 1.0, secrets=[SECRET])

    return asyncio.run(main())


@pytest.mark.parametrize("make", TRANSPORTS)
@pytest.mark.parametrize(
    ("name", "value", "error_class", "kind"),
    [
        ("authorization", f"Bearer {SECRET}\n", "auth", "control character U+000A"),
        ("authorization", f"Bearer {SECRET}\r\nx-injected: 1", "auth", "control character"),
        ("x-api-key", f"{SECRET}é", "auth", "non-ASCII"),
        ("x-team", "équipe", "bad_request", "non-ASCII"),
        ("x-team", "a\x00b", "bad_request", "control character U+0000"),
    ],
)
def test_a_header_http_cannot_carry_is_refused_before_sending(
    server: FaultServer,
    make: Callable[[], httpx.AsyncBaseTransport],
    name: str,
    value: str,
    error_class: str,
    kind: str,
) -> None:
    before = server.connections
    result = _send(server, make, {"content-type": "application/json", name: value})
    assert isinstance(result, ProviderFailure)
    assert result.error_class == error_class
    assert not result.retryable  # never retried as a connection error
    assert repr(name) in result.message and kind in result.message
    assert "MARKERKEY" not in result.message and "équipe" not in result.message
    assert server.connections == before  # nothing was sent


@pytest.mark.parametrize("make", TRANSPORTS)
def test_a_bad_header_name_is_refused_and_good_headers_pass(
    server: FaultServer, make: Callable[[], httpx.AsyncBaseTransport]
) -> None:
    bad = _send(server, make, {"x team\n": "1"})
    assert isinstance(bad, ProviderFailure) and bad.error_class == "bad_request"
    assert "header name" in bad.message
    good = _send(server, make, {"authorization": f"Bearer {SECRET}", "x-team": "a\tb"})
    assert isinstance(good, Answer) and good.status == 200
