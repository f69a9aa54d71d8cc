"""Every provider's live state, updated on dispatch and completion of each attempt.

:class:`ProviderMetrics` bundles one provider's windows, latency, rate limits and breaker.
The runtime calls :meth:`ProviderMetrics.on_dispatch` before sending an attempt (it checks the
breaker and reserves the rate-limit slots atomically, so concurrency cannot overshoot) and
:meth:`ProviderMetrics.on_complete` when it finishes. :class:`MetricsRegistry` holds providers by
name, keeps their state across configuration reloads (:meth:`MetricsRegistry.reconcile`) and
hands out read-only snapshots for the decision.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from .breaker import HALF_OPEN, OPEN, Breaker, BreakerSpec, Transition
from .clock import Clock, MonotonicClock
from .latency import DEFAULT_ALPHA, Ewma, LatencyWindows
from .limits import LimitKind, LimitSpec, RateLimits, Refused, Reservation
from .live import LiveSnapshot
from .snapshot import Stamp, stable_edge
from .spend import BudgetLedger
from .windows import CLASS_INDEX, DEFAULT_TIERS, EventWindows, Tier, fewest_edges, next_edge

__all__ = [
    "DEFAULT_LATENCY_WINDOWS",
    "Attempt",
    "MetricsRegistry",
    "ProviderMetrics",
    "ProviderTotals",
    "ReconcileResult",
    "TransitionListener",
]

TransitionListener = Callable[[str, Transition], None]

# Latency windows summarised on the write path by default: the language's default window (5m).
DEFAULT_LATENCY_WINDOWS: tuple[float, ...] = (300.0,)


class Attempt:
    """A dispatched attempt: hand it back to :meth:`ProviderMetrics.on_complete` (or call
    :meth:`cancel` if it was never sent)."""

    __slots__ = ("done", "probe", "provider", "reservation", "started_at")

    def __init__(
        self, provider: ProviderMetrics, started_at: float, reservation: Reservation, probe: bool
    ) -> None:
        self.provider = provider
        self.started_at = started_at
        self.reservation = reservation
        self.probe = probe
        self.done = False

    def __bool__(self) -> Literal[True]:
        return True

    def complete(
        self,
        outcome: str | None,
        latency_s: float | None = None,
        tokens: int | None = None,
        cost: float = 0.0,
    ) -> Transition | None:
        return self.provider.on_complete(self, outcome, latency_s, tokens, cost)

    def cancel(self) -> None:
        self.provider.cancel(self)

    def abandon(self) -> None:
        self.provider.abandon(self)


@dataclass(frozen=True)
class ProviderTotals:
    """Lifetime figures for ``pool.stats()``."""

    requests: int
    successes: int
    failures: int
    total_cost: float
    total_tokens: int
    average_response_time: float | None
    latency_ewma: float | None

    @property
    def success_rate(self) -> float | None:
        done = self.successes + self.failures
        return self.successes / done if done else None


class ProviderMetrics:
    """One provider's live state. All times come from ``clock``."""

    __slots__ = (
        "_failures",
        "_latency_sum",
        "_lock",
        "_memo_edges",
        "_requests",
        "_stamps",
        "_successes",
        "_tokens",
        "_total_cost",
        "breaker",
        "clock",
        "ewma",
        "in_flight",
        "latency",
        "limits",
        "name",
        "windows",
    )

    def __init__(
        self,
        name: str,
        clock: Clock,
        *,
        limits: LimitSpec | None = None,
        breaker: BreakerSpec | None = None,
        tiers: tuple[Tier, ...] = DEFAULT_TIERS,
        latency_alpha: float = DEFAULT_ALPHA,
        ewma_alpha: float = 0.2,
        latency_windows: tuple[float, ...] = DEFAULT_LATENCY_WINDOWS,
    ) -> None:
        self.name = name
        self.clock = clock
        self.windows = EventWindows(tiers)
        self.latency = LatencyWindows(tiers, latency_alpha, track=latency_windows)
        self.ewma = Ewma(ewma_alpha)
        self.limits = RateLimits(limits)
        self.breaker = Breaker(breaker)
        self.in_flight = 0
        self._requests = 0
        self._successes = 0
        self._failures = 0
        self._total_cost = 0.0
        self._tokens = 0
        self._latency_sum = 0.0
        self._lock = threading.Lock()
        # windows -> the current Stamp; emptied by every change (see stamp())
        self._stamps: dict[tuple[float, ...], Stamp] = {}
        self._memo_edges: dict[tuple[float, ...], tuple[tuple[float, float], ...]] = {}

    def on_dispatch(self, tokens: int = 0, *, enforce: bool = True) -> Attempt | Refused:
        """Admit an attempt: the breaker (a probe slot when half-open), the retry-after
        cool-down and the rate limits, atomically. With ``enforce=False`` (a soft gate) nothing
        is refused but the attempt is still counted."""
        with self._lock:
            self._stamps.clear()
            now = self.clock.now()
            breaker = self.breaker
            probe = False
            if enforce:
                state = breaker.state(now)
                if state == OPEN:
                    until = breaker.open_until
                    return Refused("breaker_open", None if until is None else until - now)
                if state == HALF_OPEN:
                    refused = self.limits.check(now, tokens)
                    if refused is not None:
                        return refused
                    if not breaker.try_acquire_probe(now):
                        return Refused("probes_busy", None)
                    probe = True
                reservation = self.limits.reserve(now, tokens)
                if isinstance(reservation, Refused):
                    if probe:
                        breaker.release_probe()
                    return reservation
            else:
                reservation = self.limits.force(now, tokens)
            self.in_flight += 1
            return Attempt(self, now, reservation, probe)

    def available_in(self, tokens: int = 0) -> float:
        """Seconds until :meth:`on_dispatch` would admit an attempt of ``tokens`` (0.0: now),
        read without changing anything: an open breaker's cool-down, a retry-after cool-down,
        a spent rate limit's release. ``math.inf`` when no time can be named (half-open with
        every probe slot taken: it frees when a probe ends). Drivers pass it to the executor,
        which never sleeps toward a retry this gate would refuse."""
        with self._lock:
            now = self.clock.now()
            breaker = self.breaker
            wait = 0.0
            state = breaker.state(now)
            if state == OPEN:
                until = breaker.open_until
                wait = math.inf if until is None else until - now
            elif state == HALF_OPEN and breaker.probes_in_flight >= breaker.spec.probes:
                return math.inf
            refused = self.limits.check(now, tokens)
            if refused is not None:
                if refused.retry_in_s is None:
                    return math.inf
                wait = max(wait, refused.retry_in_s)
            return wait

    def on_complete(
        self,
        attempt: Attempt,
        outcome: str | None,
        latency_s: float | None = None,
        tokens: int | None = None,
        cost: float = 0.0,
    ) -> Transition | None:
        """A dispatched attempt finished: ``outcome`` is None for success, else its error class.
        ``latency_s`` defaults to the time since dispatch; ``tokens`` (actual usage) settles the
        token reservation. Returns the breaker transition this caused, if any."""
        if attempt.provider is not self:
            raise ValueError(f"this attempt was dispatched to {attempt.provider.name!r}")
        index = -1 if outcome is None else CLASS_INDEX.get(outcome)
        if index is None:
            raise ValueError(f"unknown error class {outcome!r}")
        with self._lock:
            if attempt.done:
                raise RuntimeError("this attempt was already completed or cancelled")
            attempt.done = True
            self._stamps.clear()
            now = self.clock.now()
            if latency_s is None:
                latency_s = now - attempt.started_at
            self.in_flight -= 1
            attempt.reservation.settle(tokens)
            self._requests += 1
            self.windows.record(now, index, cost)
            if outcome is None:
                self.latency.record(now, latency_s)
                self.ewma.update(latency_s)
                self._successes += 1
                self._latency_sum += latency_s
            elif outcome != "cancelled":
                self._failures += 1
            if cost:
                self._total_cost += cost
            if tokens:
                self._tokens += tokens
            return self.breaker.record(now, outcome, probe=attempt.probe)

    def cancel(self, attempt: Attempt) -> None:
        """The attempt was never sent: release its reservation and probe slot; record nothing."""
        with self._lock:
            if attempt.done:
                raise RuntimeError("this attempt was already completed or cancelled")
            attempt.done = True
            self._stamps.clear()
            self.in_flight -= 1
            attempt.reservation.cancel()
            if attempt.probe:
                self.breaker.release_probe()

    def abandon(self, attempt: Attempt) -> None:
        """The attempt was sent but its answer will never be read (the caller cancelled): the
        provider saw it, so its request slot and tokens stay counted; its probe slot is freed
        and no outcome is recorded (nothing is known of one)."""
        with self._lock:
            if attempt.done:
                raise RuntimeError("this attempt was already completed or cancelled")
            attempt.done = True
            self._stamps.clear()
            self.in_flight -= 1
            attempt.reservation.settle(None)
            if attempt.probe:
                self.breaker.release_probe()

    def update_from_headers(self, *, kind: LimitKind, remaining: int, reset_in_s: float) -> None:
        """A limit learned from response headers (see :class:`RateLimits`)."""
        with self._lock:
            self._stamps.clear()
            self.limits.update_from_headers(
                self.clock.now(), kind=kind, remaining=remaining, reset_in_s=reset_in_s
            )

    def cool_down(self, seconds: float) -> None:
        """Refuse attempts for ``seconds`` from now (a ``retry-after``)."""
        self.cool_down_until(self.clock.now() + seconds)

    def cool_down_until(self, until: float) -> None:
        with self._lock:
            self._stamps.clear()
            self.limits.cool_down_until(until)

    def stamp(self, now: float, windows: tuple[float, ...]) -> Stamp:
        """The stamp of this provider's state as read at ``now`` over ``windows`` (see
        :class:`~llmpool_policy.metrics.snapshot.Stamp`): the current one while no event has
        happened and no read can have moved, else a new one."""
        stamp = self._stamps.get(windows)
        if stamp is not None and stamp.since <= now < stamp.until:
            return stamp
        return self.new_stamp(now, windows)

    def new_stamp(self, now: float, windows: tuple[float, ...]) -> Stamp:
        """A new stamp from ``now`` to the first instant a read of ``windows`` (or of an
        unwindowed figure) may move: a bucket edge, a learned limit's reset, the end of a
        cool-down or of an open breaker's cool-down. Made under the lock, so an event racing
        with it cannot leave a stamp that outlives the event. (On the decision path whenever
        a provider changed: the parts' bucket edges are merged once per ``windows``, rather
        than each part's ``next_change`` asked every time.)"""
        edges = self._memo_edges.get(windows)
        if edges is None:  # fixed by the tiers and the windows: worked out once
            found = self.windows.edges(windows) | self.latency.edges(windows)
            edges = self._memo_edges[windows] = fewest_edges(found | self.limits.edges())
        with self._lock:
            edge = min(
                next_edge(now, edges), self.limits.next_deadline(now), self.breaker.next_change(now)
            )
            stamp = Stamp(now, stable_edge(edge))
            self._stamps[windows] = stamp
        return stamp

    def totals(self) -> ProviderTotals:
        """Lifetime figures (read-only)."""
        return ProviderTotals(
            requests=self._requests,
            successes=self._successes,
            failures=self._failures,
            total_cost=self._total_cost,
            total_tokens=self._tokens,
            average_response_time=(
                self._latency_sum / self._successes if self._successes else None
            ),
            latency_ewma=self.ewma.value,
        )

    def reconfigure(self, limits: LimitSpec | None, breaker: BreakerSpec | None) -> None:
        """Adopt new specs (config reload), keeping every counter and the breaker's state."""
        with self._lock:
            self._stamps.clear()
            if limits is not None:
                self.limits.spec = limits
            if breaker is not None:
                self.breaker.reconfigure(breaker)

    def __repr__(self) -> str:
        return f"ProviderMetrics({self.name!r}, in_flight={self.in_flight})"


@dataclass(frozen=True)
class ReconcileResult:
    kept: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]


class MetricsRegistry:
    """Providers' metrics by name, the budget ledger, and snapshots of both."""

    __slots__ = (
        "_latency_windows",
        "_listeners",
        "_providers",
        "_tiers",
        "budgets",
        "clock",
        "generation",
    )

    def __init__(self, clock: Clock | None = None, *, tiers: tuple[Tier, ...] = DEFAULT_TIERS):
        self.clock: Clock = clock if clock is not None else MonotonicClock()
        self._tiers = tiers
        self._providers: dict[str, ProviderMetrics] = {}
        self._listeners: list[TransitionListener] = []
        self._latency_windows: tuple[float, ...] = DEFAULT_LATENCY_WINDOWS
        self.budgets = BudgetLedger()
        # counts changes of membership (a provider added or removed), for snapshots' stamps
        self.generation = 0

    def track_latency_windows(self, windows: Iterable[float]) -> None:
        """Summarise these latency windows on the write path for every provider, present and
        future, so a policy's ``latency.p50(W)`` reads cost O(1) (see ``LatencyWindows.track``).
        """
        for window in windows:
            if window not in self._latency_windows:
                self._latency_windows = (*self._latency_windows, window)
        for metrics in self._providers.values():
            with metrics._lock:
                metrics._stamps.clear()
                for window in self._latency_windows:
                    metrics.latency.track(window)

    def add(
        self, name: str, *, limits: LimitSpec | None = None, breaker: BreakerSpec | None = None
    ) -> ProviderMetrics:
        if name in self._providers:
            raise ValueError(f"provider {name!r} is already registered")
        metrics = ProviderMetrics(
            name,
            self.clock,
            limits=limits,
            breaker=breaker,
            tiers=self._tiers,
            latency_windows=self._latency_windows,
        )

        def forward(transition: Transition) -> None:
            self._emit(name, transition)

        metrics.breaker.listeners.append(forward)
        self._providers[name] = metrics
        self.generation += 1
        return metrics

    def _emit(self, name: str, transition: Transition) -> None:
        for listener in self._listeners:
            listener(name, transition)

    def on_transition(self, listener: TransitionListener) -> None:
        """Call ``listener(provider_name, transition)`` on every breaker transition."""
        self._listeners.append(listener)

    def provider(self, name: str) -> ProviderMetrics:
        try:
            return self._providers[name]
        except KeyError:
            raise KeyError(f"no metrics for provider {name!r}") from None

    def get(self, name: str) -> ProviderMetrics | None:
        return self._providers.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._providers

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._providers)

    def reconcile(
        self,
        names: Iterable[str],
        *,
        limits: Mapping[str, LimitSpec] | None = None,
        breakers: Mapping[str, BreakerSpec] | None = None,
    ) -> ReconcileResult:
        """Match the providers of a (re)loaded configuration: keep the state of providers
        whose name stays (adopting new specs), add new ones fresh, drop removed ones."""
        wanted = list(names)
        if len(set(wanted)) != len(wanted):
            dupes = sorted({n for n in wanted if wanted.count(n) > 1})
            raise ValueError(f"duplicate provider names: {', '.join(dupes)}")
        limits = limits or {}
        breakers = breakers or {}
        kept: list[str] = []
        added: list[str] = []
        for name in wanted:
            existing = self._providers.get(name)
            if existing is None:
                self.add(name, limits=limits.get(name), breaker=breakers.get(name))
                added.append(name)
            else:
                existing.reconfigure(limits.get(name), breakers.get(name))
                kept.append(name)
        keep = set(wanted)
        removed = [n for n in self._providers if n not in keep]
        for name in removed:
            del self._providers[name]
        if removed:
            self.generation += 1
        return ReconcileResult(tuple(kept), tuple(added), tuple(removed))

    def record_budget(self, budget: str, key: str | None, period: str, amount: float) -> None:
        """Charge ``amount`` USD to a budget (and key) in its current period."""
        self.budgets.add(self.clock.wall(), budget, key, period, amount)

    def snapshot(self) -> LiveSnapshot:
        """A read-only view of every provider at the clock's current time."""
        return LiveSnapshot(self, self.clock.now(), self.clock.wall())
