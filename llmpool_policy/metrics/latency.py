"""Latency distributions per time window: p50/p95/p99 from log-bucketed histograms, plus mean.

Each time bucket (the same tiers as :mod:`.windows`) keeps a sparse histogram whose bins grow
geometrically by ``gamma = (1 + alpha) / (1 - alpha)`` (the DDSketch mapping): bin ``i`` holds
values in ``(gamma**(i-1), gamma**i]`` and reports ``2 * gamma**i / (gamma + 1)``, which is within
a relative ``alpha`` of every value in the bin. A read merges the buckets of the window.

Error bound. For quantile ``q`` over ``N`` values the exact answer is the value of rank
``floor(q * (N - 1))`` (0-based) in sorted order; the estimate is within ``alpha`` (1% by default)
relative error of it, for latencies of at least ``MIN_LATENCY_S`` (1 µs). Smaller latencies
(including 0) share one bin reported as 0, an absolute error below 1 µs. The window edge has the
resolution stated in :mod:`.windows`. Memory: at most one bin per ``alpha``-step of the range of
values actually seen in a bucket (about 1,150 bins from 1 µs to 3 h at 1%), independent of the
number of samples; buckets are cleared as they age out.

``mean`` is exact (sum / count per bucket). :class:`Ewma` is a per-sample exponentially weighted
moving average for callers that want a recency-weighted figure without a window.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate

from .windows import _NO_BUCKET, DEFAULT_TIERS, Tier, next_edge, window_too_long

__all__ = [
    "DEFAULT_ALPHA",
    "MIN_LATENCY_S",
    "Ewma",
    "LatencyWindows",
    "LogBins",
    "Summary",
    "rank_of",
]

DEFAULT_ALPHA = 0.01
MIN_LATENCY_S = 1e-6
_ZERO_BIN = -(1 << 30)


def rank_of(q: float, count: int) -> int:
    """The 0-based rank the ``q`` quantile names among ``count`` sorted values."""
    return math.floor(q * (count - 1))


class LogBins:
    """The value <-> bin mapping with relative accuracy ``alpha``."""

    __slots__ = ("_inv_log_gamma", "alpha", "gamma")

    def __init__(self, alpha: float = DEFAULT_ALPHA) -> None:
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1 (got {alpha})")
        self.alpha = alpha
        self.gamma = (1 + alpha) / (1 - alpha)
        self._inv_log_gamma = 1.0 / math.log(self.gamma)

    def bin(self, value: float) -> int:
        if value < MIN_LATENCY_S:
            return _ZERO_BIN
        return math.ceil(math.log(value) * self._inv_log_gamma)

    def value(self, index: int) -> float:
        if index == _ZERO_BIN:
            return 0.0
        return 2.0 * self.gamma**index / (self.gamma + 1.0)


class _LatencyRing:
    __slots__ = ("count", "head", "hist", "n", "total", "width")

    def __init__(self, tier: Tier) -> None:
        self.width = tier.width_s
        self.n = n = tier.slots
        self.head = _NO_BUCKET
        self.hist: list[dict[int, int] | None] = [None] * n
        self.count = [0] * n
        self.total = [0.0] * n

    def advance(self, idx: int) -> None:
        n = self.n
        if idx - self.head >= n:
            self.hist = [None] * n
            self.count = [0] * n
            self.total = [0.0] * n
        else:
            hist, count, total = self.hist, self.count, self.total
            for i in range(self.head + 1, idx + 1):
                s = i % n
                hist[s] = None
                count[s] = 0
                total[s] = 0.0
        self.head = idx


class LatencyWindows:
    """Latency samples per time bucket, per tier; quantiles and mean over any window."""

    __slots__ = ("_memo_settled", "_rings", "_spans", "_tracked", "bins")

    def __init__(
        self,
        tiers: tuple[Tier, ...] = DEFAULT_TIERS,
        alpha: float = DEFAULT_ALPHA,
        track: tuple[float, ...] = (),
    ):
        # histograms only in the per-event tiers: a rollup tier keeps counts, not samples
        ordered = tuple(sorted((t for t in tiers if not t.rollup), key=lambda t: t.span_s))
        self._rings = tuple(_LatencyRing(t) for t in ordered)
        self._spans = tuple(t.span_s for t in ordered)
        self.bins = LogBins(alpha)
        # window -> [ring, buckets, bucket the summary was made at, summary]
        self._tracked: dict[float, _Tracked] = {}
        # A read-side memo of settled summaries, by window: (bucket, summary). A settled summary
        # covers finished buckets only, so it never changes once made; memoising it is not a
        # change of state (every read returns what it would have returned anyway), but it keeps
        # a read after an idle spell O(1) instead of re-merging every bucket for every decision.
        self._memo_settled: dict[float, tuple[int, Summary]] = {}
        for window in track:
            self.track(window)

    def track(self, window: float) -> None:
        """Summarise ``window`` once per bucket on the write path, so :meth:`settled` reads of
        it cost O(1) (the compiler registers every latency window a policy uses)."""
        if window in self._tracked or not window > 0:
            return
        ring, k = self._settled_shape(window)
        summary = _Tracked(ring, k)
        if ring.head != _NO_BUCKET:
            summary.at = ring.head
            summary.value = self._summarise(ring, ring.head - k, ring.head - 1)
        self._tracked[window] = summary

    @property
    def tracked(self) -> tuple[float, ...]:
        return tuple(self._tracked)

    def record(self, now: float, latency_s: float) -> None:
        b = self.bins.bin(latency_s)
        for ring in self._rings:
            idx = int(now // ring.width)
            if idx > ring.head:
                ring.advance(idx)
                if self._tracked:
                    for summary in self._tracked.values():
                        if summary.ring is ring:
                            summary.at = idx
                            summary.value = self._summarise(ring, idx - summary.k, idx - 1)
            elif idx <= ring.head - ring.n:
                continue
            s = idx % ring.n
            h = ring.hist[s]
            if h is None:
                ring.hist[s] = {b: 1}
            else:
                h[b] = h.get(b, 0) + 1
            ring.count[s] += 1
            ring.total[s] += latency_s

    @property
    def max_window_s(self) -> float:
        return self._spans[-1]

    def _ring_for(self, window: float) -> _LatencyRing:
        for r, span in zip(self._rings, self._spans, strict=True):
            if window <= span:
                return r
        raise window_too_long(window, self._spans[-1], "latency")

    def _range(self, now: float, window: float) -> tuple[_LatencyRing, int, int]:
        ring = self._ring_for(window)
        hi = min(int(now // ring.width), ring.head)
        lo = max(int((now - window) // ring.width), ring.head - ring.n + 1)
        return ring, lo, hi

    def count(self, now: float, window: float) -> int:
        ring, lo, hi = self._range(now, window)
        return sum(ring.count[i % ring.n] for i in range(lo, hi + 1))

    def mean(self, now: float, window: float) -> float | None:
        """Exact mean latency over the window; None without samples (read-only)."""
        ring, lo, hi = self._range(now, window)
        n = ring.n
        count = 0
        total = 0.0
        for i in range(lo, hi + 1):
            s = i % n
            count += ring.count[s]
            total += ring.total[s]
        return total / count if count else None

    def quantiles(self, now: float, window: float, qs: Sequence[float]) -> list[float | None]:
        """Estimates for each quantile in ``qs`` (0..1) over the window (read-only)."""
        ring, lo, hi = self._range(now, window)
        merged: dict[int, int] = {}
        n = ring.n
        for i in range(lo, hi + 1):
            h = ring.hist[i % n]
            if h:
                if not merged:
                    merged = dict(h)
                else:
                    for b, c in h.items():
                        merged[b] = merged.get(b, 0) + c
        if not merged:
            return [None] * len(qs)
        total = sum(merged.values())
        keys = sorted(merged)
        out: list[float | None] = []
        for q in qs:
            rank = rank_of(q, total)
            seen = 0
            for b in keys:
                seen += merged[b]
                if seen > rank:
                    out.append(self.bins.value(b))
                    break
        return out

    def _settled_shape(self, window: float) -> tuple[_LatencyRing, int]:
        ring = self._ring_for(window)
        return ring, math.ceil(window / ring.width - 1e-9)

    def _summarise(self, ring: _LatencyRing, lo: int, hi: int) -> Summary:
        """p50, p95, p99 and mean over buckets ``lo..hi`` (clipped to what the ring holds)."""
        lo = max(lo, ring.head - ring.n + 1)
        hi = min(hi, ring.head)
        n = ring.n
        merged: dict[int, int] = {}
        count = 0
        total = 0.0
        for i in range(lo, hi + 1):
            s = i % n
            h = ring.hist[s]
            if h:
                count += ring.count[s]
                total += ring.total[s]
                if not merged:
                    merged = dict(h)
                else:
                    for b, c in h.items():
                        merged[b] = merged.get(b, 0) + c
        if not count:
            return _NO_SUMMARY
        keys = sorted(merged)
        cumulative = list(accumulate(map(merged.__getitem__, keys)))
        value = self.bins.value
        p50, p95, p99 = (
            value(keys[bisect_right(cumulative, rank_of(q, count))]) for q in _SUMMARY_QS
        )
        return (p50, p95, p99, total / count)

    def settled(self, now: float, window: float) -> Summary:
        """``(p50, p95, p99, mean)`` over the ``window`` seconds ending where the current bucket
        starts: whole buckets only, so up to one bucket width (1 s for windows up to a minute,
        10 s up to an hour) of the newest samples are left out. A tracked window at a busy
        provider reads a summary made on the write path (O(1)); otherwise it merges (read-only
        either way)."""
        summary = self._tracked.get(window)
        if summary is not None:
            cur = int(now // summary.ring.width)
            if cur == summary.at:
                return summary.value
            ring, k = summary.ring, summary.k
        else:
            ring, k = self._settled_shape(window)
            cur = int(now // ring.width)
        memo = self._memo_settled.get(window)
        if memo is not None and memo[0] == cur:
            return memo[1]
        value = self._summarise(ring, cur - k, cur - 1)
        if cur >= ring.head:  # every bucket it covers is finished: the summary is final
            self._memo_settled[window] = (cur, value)
        return value

    def edges(self, windows: tuple[float, ...]) -> set[tuple[float, float]]:
        """Where :meth:`settled` reads of ``windows`` may change without a new sample: the
        edges ``(width, 0)`` of their buckets (see :func:`~.windows.next_edge`). Windows
        longer than this keeps add none: no latency read of them is served."""
        last = self._spans[-1]
        return {(self._ring_for(window).width, 0.0) for window in windows if window <= last}

    def next_change(self, now: float, windows: tuple[float, ...]) -> float:
        """The first instant after ``now`` at which a :meth:`settled` read of one of
        ``windows`` may give another value without a new sample."""
        return next_edge(now, self.edges(windows))

    def quantile(self, now: float, window: float, q: float) -> float | None:
        return self.quantiles(now, window, (q,))[0]

    def bins_kept(self) -> int:
        """Histogram bins currently held (bounded by buckets x distinct log-bins)."""
        return sum(len(h) for ring in self._rings for h in ring.hist if h)


Summary = tuple[float | None, float | None, float | None, float | None]
_NO_SUMMARY: Summary = (None, None, None, None)
_SUMMARY_QS = (0.50, 0.95, 0.99)


class _Tracked:
    __slots__ = ("at", "k", "ring", "value")

    def __init__(self, ring: _LatencyRing, k: int) -> None:
        self.ring = ring
        self.k = k
        self.at = _NO_BUCKET
        self.value: Summary = _NO_SUMMARY


class Ewma:
    """Per-sample exponentially weighted moving average: ``v += alpha * (x - v)``."""

    __slots__ = ("alpha", "value")

    def __init__(self, alpha: float = 0.2) -> None:
        if not 0 < alpha <= 1:
            raise ValueError(f"alpha must be in (0, 1] (got {alpha})")
        self.alpha = alpha
        self.value: float | None = None

    def update(self, x: float) -> None:
        v = self.value
        self.value = x if v is None else v + self.alpha * (x - v)
