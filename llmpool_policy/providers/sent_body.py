"""A request body that tells whether the transport started sending it.

A cancelled attempt must give its rate-limit slot back only when the provider never saw the
request (issue 13, item 5): cancelling after the request went out and counting nothing let 20
requests through an rpm of 3. Both transports (httpx's own and httpx-aiohttp) write the request
line and headers, then pull the body from its iterator; so the first pull is the moment the
request reached the wire. Re-iterable (a fresh iterator per pull), so a transport that retries
an unsent request on a new connection can read it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

__all__ = ["SentBody"]


class SentBody:
    """``body`` as an async iterable; ``sent`` turns true when a transport starts reading it.
    Send ``content-length: len(body)`` with it, so it goes out as one framed body, not chunked."""

    __slots__ = ("body", "sent")

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent = False

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        self.sent = True
        yield self.body
