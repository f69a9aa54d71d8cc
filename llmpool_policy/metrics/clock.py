"""Injected time: every metric reads the clock it was given, never the system clock directly.

``now()`` is monotonic seconds (windows, cool-downs, limits). ``wall()`` is UTC seconds since the
epoch and is used for one thing only: which calendar period (day, month, ...) a budget's spend
falls in. A :class:`ManualClock` drives tests and the simulator without real sleeps.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "ManualClock", "MonotonicClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of time: ``now()`` never goes backwards; ``wall()`` is UTC epoch seconds."""

    def now(self) -> float: ...

    def wall(self) -> float: ...


class MonotonicClock:
    """The real clock: ``time.monotonic`` for intervals, wall time anchored once at creation.

    ``wall()`` is the wall time at creation plus the monotonic time elapsed since, so it never
    jumps when the system clock is adjusted (a budget period boundary may then be off by the
    drift accumulated since the pool started, which NTP keeps to well under a second a day).
    """

    __slots__ = ("_mono0", "_wall0")

    def __init__(self) -> None:
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)


class ManualClock:
    """A clock that moves only when told to: for tests and the simulator.

    ``wall()`` is ``now() + wall_offset``; the default offset 0 makes ``now`` itself UTC epoch
    seconds (``now=0`` is 1970-01-01T00:00:00Z).
    """

    __slots__ = ("_now", "wall_offset")

    def __init__(self, now: float = 0.0, *, wall_offset: float = 0.0) -> None:
        self._now = float(now)
        self.wall_offset = float(wall_offset)

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._now + self.wall_offset

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a clock cannot go backwards (advance by {seconds})")
        self._now += seconds
        return self._now

    def set(self, now: float) -> None:
        """Jump to ``now``, which must not be earlier than the current time."""
        if now < self._now:
            raise ValueError(f"a clock cannot go backwards ({now} < {self._now})")
        self._now = float(now)

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r}, wall_offset={self.wall_offset!r})"
