"""Which HTTP transport carries each provider's requests, decided per URL.

httpx over aiohttp (the optional extra) carries several times the requests per second of httpx's
own pool, but it does not read the proxy variables. So the choice is made per origin, by the
standard library's reading of the environment (``urllib.request.getproxies`` and
``proxy_bypass``): a URL a proxy applies to goes through httpx's own transport with that proxy;
every other URL (no proxy configured, or its host in ``NO_PROXY``) goes through aiohttp. A bare
``NO_PROXY`` configures no proxy, so it keeps the fast transport.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import urllib.request
from collections.abc import Mapping
from typing import Final

import httpx

__all__ = [
    "AIOHTTP",
    "HTTPX",
    "HTTPX_PROXY",
    "PerUrlTransport",
    "default_transport",
    "describe",
    "planned",
]

AIOHTTP: Final = "aiohttp"
HTTPX: Final = "httpx"
HTTPX_PROXY: Final = "httpx+proxy"  # httpx's own, through the environment's proxy


_Choice = tuple[str, httpx.AsyncBaseTransport]


def _proxy_for(url: httpx.URL, proxies: Mapping[str, str]) -> str | None:
    """The proxy URL that applies to ``url`` under ``getproxies()``/``proxy_bypass`` rules."""
    proxy = proxies.get(url.scheme) or proxies.get("all")
    if not proxy:
        return None
    host = url.host if url.port is None else f"{url.host}:{url.port}"
    if urllib.request.proxy_bypass(host):
        return None
    return proxy


class PerUrlTransport(httpx.AsyncBaseTransport):
    """aiohttp for the URLs no proxy applies to, httpx's own through the proxy for the rest.

    The environment is read once, when the transport is made (as httpx reads it for a client);
    the decision is cached per origin, so a request pays one dict lookup."""

    def __init__(self, fast: httpx.AsyncBaseTransport) -> None:
        self._fast = fast
        self._proxies = _env_proxies()
        self._proxied: dict[str, httpx.AsyncBaseTransport] = {}
        self._by_origin: dict[
            tuple[str, str, int | None], tuple[str, httpx.AsyncBaseTransport]
        ] = {}

    def choose(self, url: httpx.URL | str) -> tuple[str, httpx.AsyncBaseTransport]:
        """``(name, transport)`` for ``url``: :data:`AIOHTTP` or :data:`HTTPX_PROXY`."""
        url = httpx.URL(url)
        key = (url.scheme, url.host, url.port)
        found = self._by_origin.get(key)
        if found is None:
            proxy = _proxy_for(url, self._proxies)
            if proxy is None:
                found = (AIOHTTP, self._fast)
            else:
                transport = self._proxied.get(proxy)
                if transport is None:
                    transport = self._proxied[proxy] = httpx.AsyncHTTPTransport(proxy=proxy)
                found = (HTTPX_PROXY, transport)
            self._by_origin[key] = found
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self.choose(request.url)[1].handle_async_request(request)

    async def aclose(self) -> None:
        await self._fast.aclose()
        for transport in self._proxied.values():
            await transport.aclose()


def default_transport() -> httpx.AsyncBaseTransport | None:
    """The HTTP transport of a pool given none: a :class:`PerUrlTransport` over aiohttp when the
    optional extra is installed (``pip install 'llmpool-policy[aiohttp]'``, package
    ``httpx-aiohttp``), else None (httpx's own, which reads the proxy variables itself).
    ``LLMPOOL_HTTP_TRANSPORT=httpx`` forces httpx's own; ``=aiohttp`` forces aiohttp for every
    URL (no proxy)."""
    choice = os.environ.get("LLMPOOL_HTTP_TRANSPORT", "").strip().lower()
    if choice == "httpx":
        return None
    try:
        module = importlib.import_module("httpx_aiohttp")
    except ImportError:
        if choice == "aiohttp":
            raise
        return None
    fast: httpx.AsyncBaseTransport = module.AiohttpTransport()
    return fast if choice == "aiohttp" else PerUrlTransport(fast)


def _env_proxies() -> dict[str, str]:
    return {k: v for k, v in urllib.request.getproxies().items() if k != "no"}


def planned(url: str) -> str:
    """What :func:`default_transport` would carry ``url`` over, without making a transport."""
    choice = os.environ.get("LLMPOOL_HTTP_TRANSPORT", "").strip().lower()
    proxied = _proxy_for(httpx.URL(url), _env_proxies()) is not None
    if choice == "aiohttp":
        return AIOHTTP
    if choice == "httpx" or importlib.util.find_spec("httpx_aiohttp") is None:
        return HTTPX_PROXY if proxied else HTTPX
    return HTTPX_PROXY if proxied else AIOHTTP


def describe(transport: httpx.AsyncBaseTransport | None, url: str) -> str:
    """What carries requests to ``url`` over ``transport`` (None: httpx's own client)."""
    if transport is None:
        return HTTPX if _proxy_for(httpx.URL(url), _env_proxies()) is None else HTTPX_PROXY
    if isinstance(transport, PerUrlTransport):
        return transport.choose(url)[0]
    if type(transport).__module__.startswith("httpx_aiohttp"):
        return AIOHTTP
    if isinstance(transport, httpx.AsyncHTTPTransport):
        return HTTPX
    return type(transport).__name__
