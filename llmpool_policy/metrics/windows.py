"""Time-bucketed sliding windows: attempts, successes, failures by error class, and spend.

Each :class:`Tier` is a ring of fixed-width time buckets holding running totals. Recording an
event touches one bucket of each tier (O(1)); when time moves past a bucket, the buckets it
skipped are filled in (at most the ring's length, so O(1) amortised per elapsed bucket). A read
is the difference of two running totals (O(1) for any window). Memory is fixed at construction:
it never grows with traffic.

Resolution. A read of window ``w`` at time ``now`` uses the finest tier whose span covers ``w``
and sums the buckets with index ``floor((now - w) / width)`` through ``floor(now / width)``. So it
counts every event in ``(now - w, now]`` exactly, plus the events of at most one more bucket
width on the old side: ``true(w) <= read(w) <= true(w + width)``. With the default tiers a
window up to 60 s is exact to 1 s, up to 1 h to 10 s, up to a day to 15 min and up to 30 days to
6 h. A window longer than the longest tier's span is refused (``ValueError`` naming the limit),
never read short; the checker refuses such a policy first (``WINDOW_LIMIT_S``).

Long tiers (``Tier(..., rollup=True)``) cost nothing per event. Every ring holds *running*
totals (everything up to the end of a bucket), so a long tier only needs the totals as they
stood at each of its bucket edges: they are copied from the last per-event tier when that tier
moves to a new bucket (at most once per its width), and the open bucket reads the current totals.

:class:`SlidingCounter` is the same ring with a running total, for rate limits and the breaker's
error-rate mode, where reads must be O(1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from ..errors import ERROR_CLASSES

__all__ = [
    "DEFAULT_TIERS",
    "ERROR_CLASSES",
    "LATENCY_WINDOW_LIMIT_S",
    "WINDOW_LIMIT_S",
    "EventWindows",
    "SlidingCounter",
    "Tier",
    "WindowCounts",
    "fewest_edges",
    "next_edge",
    "window_name",
]

CLASS_INDEX: dict[str, int] = {name: i for i, name in enumerate(ERROR_CLASSES)}
CANCELLED = CLASS_INDEX["cancelled"]
_NO_BUCKET = -(1 << 62)


@dataclass(frozen=True)
class Tier:
    """Buckets of ``width_s`` seconds covering windows up to ``span_s`` seconds. A ``rollup``
    tier is filled from the per-event tiers' running totals at its bucket edges (no cost per
    event) and keeps counts and spend only: latency histograms stop at the per-event tiers."""

    width_s: float
    span_s: float
    rollup: bool = False

    def __post_init__(self) -> None:
        if not (self.width_s > 0 and self.span_s >= self.width_s):
            raise ValueError(f"a tier needs 0 < width <= span (got {self.width_s}, {self.span_s})")

    @property
    def slots(self) -> int:
        """Buckets kept: enough for a read of ``span_s`` at any phase of the current bucket."""
        return math.ceil(self.span_s / self.width_s) + 1


DAY_S = 86400.0
DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier(1.0, 60.0),
    Tier(10.0, 3600.0),
    Tier(900.0, DAY_S, rollup=True),
    Tier(21600.0, 30 * DAY_S, rollup=True),
)
# The longest windows the default tiers serve: counts, rates and spend; latency percentiles.
WINDOW_LIMIT_S: float = max(t.span_s for t in DEFAULT_TIERS)
LATENCY_WINDOW_LIMIT_S: float = max(t.span_s for t in DEFAULT_TIERS if not t.rollup)


def window_too_long(window: float, limit: float, what: str) -> ValueError:
    """The error for a read of a window longer than what is kept (never read short)."""
    return ValueError(
        f"a {what} window of {window_name(window)} is longer than the {window_name(limit)}"
        " these metrics keep"
    )


def window_name(seconds: float) -> str:
    """300.0 -> "5m"; 90.0 -> "90s"; 0.5 -> "500ms"."""
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    if (seconds * 1000) % 1 == 0:
        return f"{int(seconds * 1000)}ms"
    return f"{seconds:.6f}".rstrip("0") + "s"


class WindowCounts(NamedTuple):
    """What happened in one window: finished attempts by outcome, and their cost. (A named
    tuple rather than a dataclass: one is built per read, on the decision's path.)"""

    attempts: int  # every finished attempt, cancelled ones included
    successes: int
    failures: int  # finished with an error class other than ``cancelled``
    cancelled: int
    spend: float


_EMPTY = WindowCounts(0, 0, 0, 0, 0.0)


class _Ring:
    """One tier's buckets, stored as running totals so any window reads in O(1).

    ``attempts[i % m]`` is the number of attempts in every bucket up to and including ``i``
    (likewise successes, failures, spend), kept for ``head - n <= i <= head`` with ``m = n + 1``
    slots; a window's count is the difference of two of them. ``by_class`` holds per-bucket
    (not running) counts, only where an error happened."""

    __slots__ = (
        "attempts",
        "by_class",
        "failures",
        "head",
        "m",
        "n",
        "spend",
        "successes",
        "width",
    )

    def __init__(self, tier: Tier) -> None:
        self.width = tier.width_s
        self.n = tier.slots
        self.m = m = self.n + 1
        self.head = _NO_BUCKET
        self.attempts = [0] * m
        self.successes = [0] * m
        self.failures = [0] * m
        self.spend = [0.0] * m
        self.by_class: list[list[int] | None] = [None] * m

    def advance(self, idx: int) -> None:
        """Make ``idx`` the newest bucket, carrying the running totals into skipped buckets."""
        m = self.m
        h = self.head % m
        a, s, f, c = self.attempts[h], self.successes[h], self.failures[h], self.spend[h]
        if idx - self.head >= m:
            self.attempts = [a] * m
            self.successes = [s] * m
            self.failures = [f] * m
            self.spend = [c] * m
            self.by_class = [None] * m
        else:
            attempts, successes, failures = self.attempts, self.successes, self.failures
            spend, by_class = self.spend, self.by_class
            for i in range(self.head + 1, idx + 1):
                k = i % m
                attempts[k] = a
                successes[k] = s
                failures[k] = f
                spend[k] = c
                by_class[k] = None
        self.head = idx

    def span(self, now: float, window: float) -> tuple[int, int]:
        """The bucket indexes a read covers, clipped to what the ring holds (may be empty)."""
        hi = min(int(now // self.width), self.head)
        lo = max(int((now - window) // self.width), self.head - self.n + 1)
        return lo, hi


class _Rollup:
    """A long tier: the running totals as they stood at the end of each finished bucket.

    ``attempts[j % m]`` (likewise successes, failures, spend, and ``classes``, the running
    failures by error class) is everything up to the end of bucket ``j``, kept for
    ``head - n <= j < head``; bucket ``head``, still open, reads the current totals."""

    __slots__ = ("attempts", "classes", "failures", "head", "m", "n", "spend", "successes", "width")

    def __init__(self, tier: Tier) -> None:
        self.width = tier.width_s
        self.n = tier.slots
        self.m = m = self.n + 1
        self.head = _NO_BUCKET
        self.attempts = [0] * m
        self.successes = [0] * m
        self.failures = [0] * m
        self.spend = [0.0] * m
        self.classes: list[tuple[int, ...]] = [_NO_CLASSES] * m

    def close(self, idx: int, totals: _Totals) -> None:
        """Time reached bucket ``idx``: every bucket before it ends with ``totals``."""
        a, s, f, c, k = totals
        m = self.m
        first = max(self.head, idx - m)
        for j in range(first, idx):
            slot = j % m
            self.attempts[slot] = a
            self.successes[slot] = s
            self.failures[slot] = f
            self.spend[slot] = c
            self.classes[slot] = k
        self.head = idx

    def late(self, idx: int, outcome: int, cost: float) -> None:
        """An event for a finished bucket ``idx`` (only with out-of-order times)."""
        m = self.m
        for j in range(max(idx, self.head - self.n), self.head):
            slot = j % m
            self.attempts[slot] += 1
            if outcome < 0:
                self.successes[slot] += 1
            else:
                if outcome != CANCELLED:
                    self.failures[slot] += 1
                counts = list(self.classes[slot])
                counts[outcome] += 1
                self.classes[slot] = tuple(counts)
            self.spend[slot] += cost

    def span(self, now: float, window: float) -> tuple[int, int | None] | None:
        """The buckets a read's difference takes: the one just before its range, and its last
        one (None: the open bucket, read from the current totals); None when the range holds
        nothing."""
        head = self.head
        hi = int(now // self.width)
        b = int((now - window) // self.width) - 1
        if b >= min(hi, head):
            return None
        b = max(b, head - self.n)
        if hi >= head:
            return b, None
        return (b, hi) if hi >= head - self.n else None


# running totals: attempts, successes, failures, spend, failures by class
_Totals = tuple[int, int, int, float, tuple[int, ...]]
_NO_CLASSES: tuple[int, ...] = (0,) * len(ERROR_CLASSES)


class EventWindows:
    """Finished attempts per time bucket, in every tier. See the module docstring."""

    __slots__ = ("_classes", "_last", "_memo_ring", "_rings", "_rollups", "_spans", "tiers")

    def __init__(self, tiers: tuple[Tier, ...] = DEFAULT_TIERS) -> None:
        if not tiers:
            raise ValueError("at least one tier is needed")
        self.tiers = tuple(sorted(tiers, key=lambda t: t.span_s))
        detail = [t for t in self.tiers if not t.rollup]
        long = [t for t in self.tiers if t.rollup]
        if not detail or (long and long[0].span_s <= detail[-1].span_s):
            raise ValueError("rollup tiers need a per-event tier, and must span longer than it")
        if any(t.width_s % detail[-1].width_s for t in long):
            raise ValueError(
                f"a rollup tier's width must be a multiple of {detail[-1].width_s:g} s"
            )
        self._rings = tuple(_Ring(t) for t in detail)
        self._rollups = tuple(_Rollup(t) for t in long)
        self._last = self._rings[-1]  # rollups copy its totals when it moves to a new bucket
        self._classes = [0] * len(ERROR_CLASSES)  # running failures by class, every event
        self._spans = tuple(t.span_s for t in self.tiers)
        # window -> (ring, window, rollup): fixed by the tiers, memoised for the read path
        self._memo_ring: dict[float, tuple[_Ring, float, _Rollup | None]] = {}

    @property
    def max_window_s(self) -> float:
        return self._spans[-1]

    def record(self, now: float, outcome: int, cost: float = 0.0) -> None:
        """One finished attempt at ``now``; ``outcome`` is -1 for success or a class index."""
        late = False
        for ring in self._rings:
            idx = int(now // ring.width)
            if idx > ring.head:
                if ring is self._last and self._rollups:
                    self._close_rollups(now)
                ring.advance(idx)
            elif idx != ring.head:
                late = self._record_late(ring, idx, outcome, cost) and ring is self._last
                continue
            k = idx % ring.m
            ring.attempts[k] += 1
            if outcome < 0:
                ring.successes[k] += 1
            else:
                if outcome != CANCELLED:
                    ring.failures[k] += 1
                counts = ring.by_class[k]
                if counts is None:
                    counts = ring.by_class[k] = [0] * len(ERROR_CLASSES)
                counts[outcome] += 1
            if cost:
                ring.spend[k] += cost
        if outcome >= 0:
            self._classes[outcome] += 1
        if late:
            for rollup in self._rollups:
                idx = int(now // rollup.width)
                if idx < rollup.head:
                    rollup.late(idx, outcome, cost)

    def _totals(self) -> _Totals:
        """Running totals of every event recorded so far (read from the last per-event tier)."""
        ring = self._last
        h = ring.head % ring.m
        return (
            ring.attempts[h],
            ring.successes[h],
            ring.failures[h],
            ring.spend[h],
            tuple(self._classes),
        )

    def _close_rollups(self, now: float) -> None:
        """Before the event at ``now`` counts: the rollups' buckets it leaves behind end with
        the totals as they stand."""
        totals: _Totals | None = None
        for rollup in self._rollups:
            idx = int(now // rollup.width)
            if idx > rollup.head:
                if totals is None:
                    totals = self._totals()
                rollup.close(idx, totals)

    @staticmethod
    def _record_late(ring: _Ring, idx: int, outcome: int, cost: float) -> bool:
        """An event for a bucket older than the newest (only with out-of-order times); False
        when it is older than anything this tier keeps."""
        if idx <= ring.head - ring.n:
            return False
        m = ring.m
        for i in range(idx, ring.head + 1):
            k = i % m
            ring.attempts[k] += 1
            if outcome < 0:
                ring.successes[k] += 1
            elif outcome != CANCELLED:
                ring.failures[k] += 1
            ring.spend[k] += cost
        if outcome >= 0:
            k = idx % m
            counts = ring.by_class[k]
            if counts is None:
                counts = ring.by_class[k] = [0] * len(ERROR_CLASSES)
            counts[outcome] += 1
        return True

    def _ring_for(self, window: float) -> tuple[_Ring, float, _Rollup | None]:
        found = self._memo_ring.get(window)
        if found is not None:
            return found
        for ring, span in zip(self._rings, self._spans, strict=False):
            if window <= span:
                found = (ring, window, None)
                break
        else:
            spans = self._spans[len(self._rings) :]
            for rollup, span in zip(self._rollups, spans, strict=True):
                if window <= span:
                    found = (self._last, window, rollup)
                    break
            else:
                raise window_too_long(window, self._spans[-1], "count or spend")
        self._memo_ring[window] = found
        return found

    def _rollup_counts(self, rollup: _Rollup, now: float, window: float) -> WindowCounts:
        """What a rollup reads over the window: the difference of two running totals."""
        found = rollup.span(now, window)
        if found is None:
            return _EMPTY
        lo, hi = found
        if hi is None:
            ring = self._last
            h = ring.head % ring.m
            a1, s1, f1, c1 = ring.attempts[h], ring.successes[h], ring.failures[h], ring.spend[h]
        else:
            h = hi % rollup.m
            a1, s1 = rollup.attempts[h], rollup.successes[h]
            f1, c1 = rollup.failures[h], rollup.spend[h]
        k = lo % rollup.m
        attempts = a1 - rollup.attempts[k]
        if not attempts:
            return _EMPTY
        successes = s1 - rollup.successes[k]
        failures = f1 - rollup.failures[k]
        cancelled = attempts - successes - failures
        return WindowCounts(attempts, successes, failures, cancelled, c1 - rollup.spend[k])

    def outcomes(self, now: float, window: float) -> tuple[int, int]:
        """(successes, failures) over ``window`` ending at ``now``: the rates' fast path, the
        same figures as :meth:`counts` without building the whole record."""
        found = self._memo_ring.get(window)
        if found is None:
            found = self._ring_for(window)
        ring, window, rollup = found
        if rollup is not None:
            got = self._rollup_counts(rollup, now, window)
            return got.successes, got.failures
        width = ring.width
        head = ring.head
        hi = min(int(now // width), head)
        lo = max(int((now - window) // width), head - ring.n + 1)
        if lo > hi:
            return 0, 0
        m = ring.m
        h, b = hi % m, (lo - 1) % m
        return ring.successes[h] - ring.successes[b], ring.failures[h] - ring.failures[b]

    def counts(self, now: float, window: float) -> WindowCounts:
        """Totals over ``window`` seconds ending at ``now`` (read-only, O(1))."""
        ring, window, rollup = self._ring_for(window)
        if rollup is not None:
            return self._rollup_counts(rollup, now, window)
        lo, hi = ring.span(now, window)
        if lo > hi:
            return _EMPTY
        m = ring.m
        h, b = hi % m, (lo - 1) % m
        attempts = ring.attempts[h] - ring.attempts[b]
        successes = ring.successes[h] - ring.successes[b]
        failures = ring.failures[h] - ring.failures[b]
        spend = ring.spend[h] - ring.spend[b] if attempts else 0.0
        return WindowCounts(attempts, successes, failures, attempts - successes - failures, spend)

    def errors(self, now: float, window: float) -> dict[str, int]:
        """Failures by error class over the window; classes with none are left out."""
        ring, window, rollup = self._ring_for(window)
        if rollup is not None:
            found = rollup.span(now, window)
            if found is None:
                return {}
            lo, hi = found
            upper = self._classes if hi is None else rollup.classes[hi % rollup.m]
            lower = rollup.classes[lo % rollup.m]
            pairs = zip(upper, lower, strict=True)
            return {ERROR_CLASSES[c]: u - v for c, (u, v) in enumerate(pairs) if u != v}
        lo, hi = ring.span(now, window)
        totals = [0] * len(ERROR_CLASSES)
        for i in range(lo, hi + 1):
            counts = ring.by_class[i % ring.m]
            if counts is not None:
                for c, v in enumerate(counts):
                    totals[c] += v
        return {ERROR_CLASSES[c]: v for c, v in enumerate(totals) if v}

    def edges(self, windows: tuple[float, ...]) -> set[tuple[float, float]]:
        """Where reads of ``windows`` may change without a new event: ``(width, offset)`` for
        the instants ``offset + k * width``, at which either end of a read's bucket range
        moves (see :func:`next_edge`)."""
        out: set[tuple[float, float]] = set()
        for window in windows:
            ring, _, rollup = self._ring_for(window)
            width = ring.width if rollup is None else rollup.width
            out.add((width, 0.0))
            out.add(_edge(width, window))
        return out

    def next_change(self, now: float, windows: tuple[float, ...]) -> float:
        """The first instant after ``now`` at which a read of one of ``windows`` may give
        another value without a new event."""
        return next_edge(now, self.edges(windows))

    def buckets_kept(self) -> int:
        """How many buckets exist in all (constant: memory does not grow with traffic)."""
        return sum(r.m for r in self._rings) + sum(r.m for r in self._rollups)


def _edge(width: float, offset: float) -> tuple[float, float]:
    """``(width, offset)``, with an offset that is a whole number of widths written as 0."""
    return (width, 0.0) if offset % width == 0 else (width, offset)


def next_edge(now: float, edges: Iterable[tuple[float, float]]) -> float:
    """The first instant after ``now`` of the form ``offset + k * width`` over ``edges``: where
    ``(t - offset) // width``, as a read computes it, next moves."""
    edge = math.inf
    for width, offset in edges:
        at = ((now - offset) // width + 1.0) * width + offset
        if at < edge:
            edge = at
    return edge


def fewest_edges(edges: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """``edges`` without those whose every instant another one already has (``(10, 0)`` goes
    when ``(1, 0)`` is there): the same :func:`next_edge`, in fewer steps."""
    pairs = sorted(set(edges))
    kept: list[tuple[float, float]] = []
    for width, offset in pairs:
        if not any(width % w == 0 and (offset - o) % w == 0 for w, o in kept):
            kept.append((width, offset))
    return tuple(kept)


class SlidingCounter:
    """An integer total over the last ``span_s`` seconds, with O(1) adds and reads.

    Buckets are ``width_s`` wide; an amount added at ``t`` stops counting once the whole bucket
    holding ``t`` is older than ``span_s``: between ``span_s`` and ``span_s + width_s`` after it
    was added. For rate limits that is the safe side: a slot is never freed early.
    """

    __slots__ = ("_head", "_n", "_slots", "_total", "span_s", "width_s")

    def __init__(self, span_s: float, width_s: float) -> None:
        if not (width_s > 0 and span_s >= width_s):
            raise ValueError(f"a counter needs 0 < width <= span (got {width_s}, {span_s})")
        self.span_s = span_s
        self.width_s = width_s
        self._n = math.ceil(span_s / width_s) + 1
        self._slots = [0] * self._n
        self._head = _NO_BUCKET
        self._total = 0

    def bucket(self, now: float) -> int:
        return int(now // self.width_s)

    def _advance(self, idx: int) -> None:
        n = self._n
        if idx - self._head >= n:
            self._slots = [0] * n
            self._total = 0
        else:
            slots = self._slots
            total = self._total
            for i in range(self._head + 1, idx + 1):
                s = i % n
                total -= slots[s]
                slots[s] = 0
            self._total = total
        self._head = idx

    def add(self, now: float, amount: int) -> int:
        """Add ``amount`` at ``now``; returns the bucket index (to adjust it later)."""
        idx = int(now // self.width_s)
        if idx > self._head:
            self._advance(idx)
        elif idx <= self._head - self._n:
            return idx
        self._slots[idx % self._n] += amount
        self._total += amount
        return idx

    def adjust(self, idx: int, delta: int) -> None:
        """Change the amount recorded in bucket ``idx``, if that bucket still counts."""
        if self._head - self._n < idx <= self._head:
            self._slots[idx % self._n] += delta
            self._total += delta

    def _expired(self, idx: int) -> int:
        """Of the running total, what has expired by bucket ``idx`` (read-only)."""
        gap = idx - self._head
        if gap <= 0:
            return 0
        if gap >= self._n:
            return self._total
        n = self._n
        slots = self._slots
        return sum(slots[i % n] for i in range(self._head + 1, idx + 1))

    def value(self, now: float) -> int:
        """The total counting at ``now`` (read-only)."""
        idx = int(now // self.width_s)
        if idx <= self._head:
            return self._total
        return self._total - self._expired(idx)

    def next_release(self, now: float) -> float | None:
        """Seconds until part of the current total stops counting; None when nothing counts."""
        idx = int(now // self.width_s)
        n = self._n
        for i in range(max(idx, self._head) - n + 1, min(idx, self._head) + 1):
            if i > self._head - n and self._slots[i % n] > 0:
                return max(0.0, (i + n) * self.width_s - now)
        return None

    def reset(self) -> None:
        self._slots = [0] * self._n
        self._head = _NO_BUCKET
        self._total = 0
