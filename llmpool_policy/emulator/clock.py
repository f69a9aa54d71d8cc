"""The emulator's time source: injected, so tests control rate-limit buckets and timed phases.

Any object with ``now()`` (monotonic seconds) and ``wall()`` (UTC epoch seconds) will do — the
same shape as :class:`llmpool_policy.metrics.ManualClock`, so one manual clock can drive both the
pool and the emulator in a test. The emulator never sleeps on this clock: latency is real time.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float: ...

    def wall(self) -> float: ...


class SystemClock:
    """``time.monotonic`` for intervals; wall time anchored once so it never jumps."""

    __slots__ = ("_mono0", "_wall0")

    def __init__(self) -> None:
        self._mono0 = time.monotonic()
        self._wall0 = time.time()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return self._wall0 + (time.monotonic() - self._mono0)
