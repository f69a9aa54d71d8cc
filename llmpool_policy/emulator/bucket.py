"""A token bucket per emulated provider: ``requests_per_minute`` enforced like a provider does.

The bucket holds ``capacity`` tokens and refills continuously at ``capacity`` per ``period``
seconds; every request that passes authentication takes one. It reads time only from the value
it is given, so a manual clock makes it exact: with capacity 2 and a frozen clock, exactly two of
any number of concurrent requests get through.
"""

from __future__ import annotations

import math
import threading

__all__ = ["TokenBucket"]


class TokenBucket:
    __slots__ = ("_lock", "_stamp", "_tokens", "capacity", "period")

    def __init__(self, capacity: int, now: float, *, period: float = 60.0) -> None:
        if capacity < 0:
            raise ValueError("capacity must be >= 0")
        if period <= 0:
            raise ValueError("period must be > 0")
        self.capacity = capacity
        self.period = period
        self._tokens = float(capacity)
        self._stamp = now
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        if now > self._stamp and self.capacity > 0:
            rate = self.capacity / self.period
            self._tokens = min(float(self.capacity), self._tokens + (now - self._stamp) * rate)
        self._stamp = max(self._stamp, now)

    def take(self, now: float) -> bool:
        """Take one token if there is one; False (and nothing taken) when the bucket is empty."""
        with self._lock:
            self._refill(now)
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    def remaining(self, now: float) -> int:
        with self._lock:
            self._refill(now)
            return math.floor(self._tokens)

    def until_next(self, now: float) -> float:
        """Seconds until one whole token is available (0 when one is available now)."""
        with self._lock:
            self._refill(now)
            if self._tokens >= 1.0:
                return 0.0
            if self.capacity == 0:
                return math.inf
            return (1.0 - self._tokens) * self.period / self.capacity

    def until_full(self, now: float) -> float:
        """Seconds until the bucket is full again (what ``x-ratelimit-reset-requests`` says)."""
        with self._lock:
            self._refill(now)
            if self.capacity == 0:
                return 0.0
            return (self.capacity - self._tokens) * self.period / self.capacity
