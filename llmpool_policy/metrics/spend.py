"""Spend per budget key per calendar period.

A policy's ``budget team = $100 per day per request.metadata.team`` is checked against
:meth:`BudgetLedger.spent`. Periods are *calendar* periods in UTC, from the clock's ``wall()``:
a minute, hour or day starts on the boundary; a week starts on Monday 00:00 UTC (ISO weeks); a
month on the 1st at 00:00 UTC. Calendar periods match how providers bill and how people read
"$100 per day", and need one number per key instead of a rolling window. Each entry remembers
its period; a read in a later period sees 0 (without changing anything), and entries whose
period is over are pruned as new spend arrives, so memory follows the keys active in the
current period. Provider spend over a sliding window (``spend(5m)``) lives in
:class:`~llmpool_policy.metrics.windows.EventWindows`, beside the attempts it was spent on.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Final

__all__ = ["PERIODS", "BudgetLedger", "period_bounds"]

PERIODS: Final[tuple[str, ...]] = ("minute", "hour", "day", "week", "month")
_FIXED: Final[dict[str, float]] = {"minute": 60.0, "hour": 3600.0, "day": 86400.0}
_WEEK = 7 * 86400.0
_MONDAY_OFFSET = 3 * 86400.0  # 1970-01-01 was a Thursday; Monday 1969-12-29 starts its week
_PRUNE_EVERY = 1024


def period_bounds(period: str, wall: float) -> tuple[float, float]:
    """``[start, end)`` in UTC epoch seconds of the calendar ``period`` holding ``wall``."""
    width = _FIXED.get(period)
    if width is not None:
        start = math.floor(wall / width) * width
        return start, start + width
    if period == "week":
        start = math.floor((wall + _MONDAY_OFFSET) / _WEEK) * _WEEK - _MONDAY_OFFSET
        return start, start + _WEEK
    if period == "month":
        moment = datetime.fromtimestamp(wall, tz=UTC)
        first = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        if moment.month == 12:
            following = datetime(moment.year + 1, 1, 1, tzinfo=UTC)
        else:
            following = datetime(moment.year, moment.month + 1, 1, tzinfo=UTC)
        return first.timestamp(), following.timestamp()
    raise ValueError(f"unknown period {period!r}: expected one of {', '.join(PERIODS)}")


class _Entry:
    __slots__ = ("amount", "end", "start")

    def __init__(self, start: float, end: float) -> None:
        self.start = start
        self.end = end
        self.amount = 0.0


BudgetKey = tuple[str, str | None, str]


class BudgetLedger:
    """USD spent per (budget, key, period) in the current calendar period."""

    __slots__ = ("_adds", "_entries")

    def __init__(self) -> None:
        self._entries: dict[BudgetKey, _Entry] = {}
        self._adds = 0

    def add(self, wall: float, budget: str, key: str | None, period: str, amount: float) -> None:
        """Record ``amount`` USD spent at UTC time ``wall`` against a budget (and key)."""
        entry = self._entries.get((budget, key, period))
        if entry is None or not entry.start <= wall < entry.end:
            if entry is not None and wall < entry.start:
                return  # spend for a period already replaced by a later one
            start, end = period_bounds(period, wall)
            entry = self._entries[(budget, key, period)] = _Entry(start, end)
        entry.amount += amount
        self._adds += 1
        if self._adds % _PRUNE_EVERY == 0:
            self.prune(wall)

    def spent(self, wall: float, budget: str, key: str | None, period: str) -> float:
        """USD spent in the period holding ``wall`` (read-only)."""
        entry = self._entries.get((budget, key, period))
        if entry is None or not entry.start <= wall < entry.end:
            if period not in PERIODS:
                raise ValueError(f"unknown period {period!r}: expected one of {', '.join(PERIODS)}")
            return 0.0
        return entry.amount

    def current(self, wall: float) -> list[tuple[str, str | None, str, float]]:
        """Every (budget, key, period, spent) whose period holds ``wall`` (read-only)."""
        return [
            (budget, key, period, e.amount)
            for (budget, key, period), e in self._entries.items()
            if e.start <= wall < e.end
        ]

    def prune(self, wall: float) -> int:
        """Forget entries whose period ended before ``wall``; returns how many."""
        stale = [k for k, e in self._entries.items() if e.end <= wall]
        for k in stale:
            del self._entries[k]
        return len(stale)

    def __len__(self) -> int:
        return len(self._entries)
