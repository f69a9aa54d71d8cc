"""Live provider state: windows, percentiles, breakers, rate limits, spend — and snapshots.

    registry = MetricsRegistry(clock)
    registry.reconcile(["openai", "anthropic"], limits={"openai": LimitSpec(rpm=60)})
    attempt = registry.provider("openai").on_dispatch(tokens=500)   # Attempt | Refused
    ...
    attempt.complete(None, tokens=480, cost=0.004)                  # or an error class
    snapshot = registry.snapshot()                                  # read-only, for decide()
    snapshot.provider("openai").error_rate(300.0)

This package sits below the policy stages: it imports nothing from syntax, semantics or cli.
"""

from __future__ import annotations

from .breaker import (
    CLOSED,
    DEFAULT_COUNTED,
    HALF_OPEN,
    OPEN,
    Breaker,
    BreakerSpec,
    Transition,
)
from .clock import Clock, ManualClock, MonotonicClock
from .latency import DEFAULT_ALPHA, MIN_LATENCY_S, Ewma, LatencyWindows
from .limits import LIMIT_KINDS, LimitKind, LimitSpec, RateLimits, Refused, Reservation
from .live import LiveProviderView, LiveSnapshot
from .registry import (
    DEFAULT_LATENCY_WINDOWS,
    Attempt,
    MetricsRegistry,
    ProviderMetrics,
    ProviderTotals,
    ReconcileResult,
    TransitionListener,
)
from .snapshot import (
    BREAKER_STATES,
    EMPTY_STAMP,
    EMPTY_VIEW,
    LATENCY_STATS,
    EmptyProviderView,
    MetricsSnapshot,
    ProviderView,
    Stamp,
    StampedSnapshot,
)
from .spend import PERIODS, BudgetLedger, period_bounds
from .static import StaticProviderView, StaticSnapshot, parse_window
from .windows import (
    DEFAULT_TIERS,
    ERROR_CLASSES,
    LATENCY_WINDOW_LIMIT_S,
    WINDOW_LIMIT_S,
    EventWindows,
    SlidingCounter,
    Tier,
    WindowCounts,
)

__all__ = [
    "BREAKER_STATES",
    "CLOSED",
    "DEFAULT_ALPHA",
    "DEFAULT_COUNTED",
    "DEFAULT_LATENCY_WINDOWS",
    "DEFAULT_TIERS",
    "EMPTY_STAMP",
    "EMPTY_VIEW",
    "ERROR_CLASSES",
    "HALF_OPEN",
    "LATENCY_STATS",
    "LATENCY_WINDOW_LIMIT_S",
    "LIMIT_KINDS",
    "MIN_LATENCY_S",
    "OPEN",
    "PERIODS",
    "WINDOW_LIMIT_S",
    "Attempt",
    "Breaker",
    "BreakerSpec",
    "BudgetLedger",
    "Clock",
    "EmptyProviderView",
    "EventWindows",
    "Ewma",
    "LatencyWindows",
    "LimitKind",
    "LimitSpec",
    "LiveProviderView",
    "LiveSnapshot",
    "ManualClock",
    "MetricsRegistry",
    "MetricsSnapshot",
    "MonotonicClock",
    "ProviderMetrics",
    "ProviderTotals",
    "ProviderView",
    "RateLimits",
    "ReconcileResult",
    "Refused",
    "Reservation",
    "SlidingCounter",
    "Stamp",
    "StampedSnapshot",
    "StaticProviderView",
    "StaticSnapshot",
    "Tier",
    "Transition",
    "TransitionListener",
    "WindowCounts",
    "parse_window",
    "period_bounds",
]
