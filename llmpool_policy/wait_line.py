"""The line of requests waiting for a provider to free up (`when none available wait up to D`).

Waiting requests are let through in the order they arrived, one at a time: only the first in
line re-decides, so the first to wait is the first served, and a freed slot is offered to one
request at a time (the live gate still admits atomically, so no limit is ever exceeded).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

__all__ = ["WaitLine"]


class WaitLine:
    """Requests waiting for a provider, in arrival order. Only the first in line re-decides;
    the others wait for it to be let through (or to give up) before their turn comes."""

    def __init__(self) -> None:
        self._line: deque[asyncio.Event] = deque()

    def join(self) -> asyncio.Event:
        """A place at the back of the line; its event is set when it is first."""
        place = asyncio.Event()
        if not self._line:
            place.set()
        self._line.append(place)
        return place

    def leave(self, place: asyncio.Event) -> None:
        """Leave the line (let through, or given up); the next one becomes first."""
        try:
            first = self._line[0] is place
            self._line.remove(place)
        except (IndexError, ValueError):
            return
        if first and self._line:
            self._line[0].set()

    def __len__(self) -> int:
        return len(self._line)

    @staticmethod
    async def first(
        place: asyncio.Event, timeout: float, sleep: Callable[[float], Awaitable[None]]
    ) -> bool:
        """Wait until ``place`` is first in line, at most ``timeout`` seconds of ``sleep``
        (the driver's clock); True when it is."""
        if place.is_set():
            return True
        turn = asyncio.ensure_future(place.wait())
        timer = asyncio.ensure_future(sleep(timeout))
        try:
            await asyncio.wait({turn, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (turn, timer):
                task.cancel()
        return place.is_set()
