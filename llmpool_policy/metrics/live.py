"""The live snapshot: read-only views of :class:`ProviderMetrics` at one instant ``now``.

Reads are lazy (nothing is copied up front, so a snapshot costs nothing until read) and O(1):
window counts come from running totals, latency summaries of finished buckets are memoised in
the metrics (they can no longer change). Events that finish while a snapshot is being read are
seen by reads that have not happened yet; take a new snapshot per decision.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from .snapshot import EMPTY_VIEW, LATENCY_STATS, ProviderView, Stamp, check_stat
from .windows import WindowCounts, window_name

if TYPE_CHECKING:
    from .registry import MetricsRegistry, ProviderMetrics

__all__ = ["LiveProviderView", "LiveSnapshot"]

_STAT_INDEX = {"p50": 0, "p95": 1, "p99": 2, "mean": 3}


class LiveProviderView:
    """One provider as of ``now`` (implements :class:`ProviderView`)."""

    __slots__ = ("_m", "_now")

    def __init__(self, metrics: ProviderMetrics, now: float) -> None:
        self._m = metrics
        self._now = now

    def _window(self, window_s: float) -> WindowCounts:
        # O(1) in the windows themselves; a per-view memo cost more than it saved
        return self._m.windows.counts(self._now, window_s)

    def error_rate(self, window_s: float) -> float | None:
        successes, failures = self._m.windows.outcomes(self._now, window_s)
        done = successes + failures
        return failures / done if done else None

    def success_rate(self, window_s: float) -> float | None:
        successes, failures = self._m.windows.outcomes(self._now, window_s)
        done = successes + failures
        return successes / done if done else None

    def latency(self, stat: str, window_s: float) -> float | None:
        summary = self._m.latency.settled(self._now, window_s)  # O(1): memoised per bucket
        index = _STAT_INDEX.get(stat)
        if index is None:
            check_stat(stat)  # raises: an unknown statistic
            return None
        return summary[index]

    def requests(self, window_s: float) -> int:
        return self._window(window_s).attempts

    def spend(self, window_s: float) -> float:
        return self._window(window_s).spend

    def errors(self, window_s: float) -> dict[str, int]:
        """Failures by error class in the window (not part of :class:`ProviderView`)."""
        return self._m.windows.errors(self._now, window_s)

    @property
    def in_flight(self) -> int:
        return self._m.in_flight

    @property
    def rpm_used(self) -> int:
        return self._m.limits.used("rpm", self._now)

    @property
    def rpm_remaining(self) -> int | None:
        return self._m.limits.remaining("rpm", self._now)

    @property
    def rpd_used(self) -> int:
        return self._m.limits.used("rpd", self._now)

    @property
    def rpd_remaining(self) -> int | None:
        return self._m.limits.remaining("rpd", self._now)

    @property
    def tpm_used(self) -> int:
        return self._m.limits.used("tpm", self._now)

    @property
    def tpm_remaining(self) -> int | None:
        return self._m.limits.remaining("tpm", self._now)

    @property
    def breaker_state(self) -> str:
        return self._m.breaker.state(self._now)

    @property
    def cooling_down(self) -> bool:
        return self._m.limits.cooling_down(self._now)

    @property
    def latency_ewma(self) -> float | None:
        return self._m.ewma.value


class LiveSnapshot:
    """Every registered provider at ``now`` (implements :class:`MetricsSnapshot`)."""

    __slots__ = ("_generation", "_registry", "_views", "now", "wall")

    def __init__(self, registry: MetricsRegistry, now: float, wall: float) -> None:
        self._registry = registry
        self.now = now
        self.wall = wall
        self._views: dict[str, ProviderView] = {}
        self._generation = registry.generation

    def provider(self, name: str) -> ProviderView:
        view = self._views.get(name)
        if view is None:
            metrics = self._registry._providers.get(name)
            view = EMPTY_VIEW if metrics is None else LiveProviderView(metrics, self.now)
            self._views[name] = view
        return view

    def budget_spent(self, budget_name: str, key: str | None, period: str) -> float:
        return self._registry.budgets.spent(self.wall, budget_name, key, period)

    def stamps(self, names: tuple[str, ...], windows: tuple[float, ...]) -> tuple[Stamp, ...]:
        """Implements :class:`~llmpool_policy.metrics.snapshot.StampedSnapshot`.

        A provider the registry does not hold, and every provider once the registry's
        membership changed after this snapshot was taken (its views may then belong to other
        metrics than the registry's), get a stamp of their own that nothing can match: what is
        read under it is never kept."""
        registry = self._registry
        now = self.now
        if registry.generation != self._generation:
            return tuple([Stamp(now, now) for _ in names])
        get = registry._providers.get
        out: list[Stamp] = []
        for name in names:
            metrics = get(name)
            if metrics is None:
                out.append(Stamp(now, now))
                continue
            stamp = metrics._stamps.get(windows)
            if stamp is None or not stamp.since <= now < stamp.until:
                stamp = metrics.new_stamp(now, windows)
            out.append(stamp)
        return tuple(out)

    def to_document(
        self, windows: Sequence[float] = (60.0, 300.0), names: Iterable[str] | None = None
    ) -> dict[str, Any]:
        """This snapshot as a static-snapshot document (``schemas/metrics-snapshot.schema.json``)
        for the given windows: record what a decision saw, replay it with ``explain --metrics``."""
        providers: dict[str, Any] = {}
        for name in self._registry.names if names is None else names:
            view = self.provider(name)
            doc: dict[str, Any] = {}
            for field in ("error_rate", "success_rate"):
                by_window = {
                    window_name(w): r for w in windows if (r := getattr(view, field)(w)) is not None
                }
                if by_window:
                    doc[field] = by_window
            latency = {}
            for stat in LATENCY_STATS:
                by_window = {
                    window_name(w): v for w in windows if (v := view.latency(stat, w)) is not None
                }
                if by_window:
                    latency[stat] = by_window
            if latency:
                doc["latency"] = latency
            doc["requests"] = {window_name(w): view.requests(w) for w in windows}
            doc["spend"] = {window_name(w): view.spend(w) for w in windows}
            doc["in_flight"] = view.in_flight
            for kind in ("rpm", "rpd", "tpm"):
                doc[f"{kind}_used"] = getattr(view, f"{kind}_used")
                remaining = getattr(view, f"{kind}_remaining")
                if remaining is not None:
                    doc[f"{kind}_remaining"] = remaining
            doc["breaker_state"] = view.breaker_state
            doc["cooling_down"] = view.cooling_down
            providers[name] = doc
        budgets: dict[str, Any] = {}
        for budget, key, period, spent in self._registry.budgets.current(self.wall):
            by_period = budgets.setdefault(budget, {})
            if key is None:
                by_period[period] = spent
            else:
                existing = by_period.setdefault(period, {})
                if isinstance(existing, dict):
                    existing[key] = spent
        return {"now": self.now, "providers": providers, "budgets": budgets}
