"""The read-only protocol the decision reads: a snapshot of every provider's live state.

``decide(request, snapshot)`` sees metrics only through :class:`MetricsSnapshot` and
:class:`ProviderView`. Two implementations exist: the live one from
:meth:`MetricsRegistry.snapshot() <llmpool_policy.metrics.registry.MetricsRegistry.snapshot>`
and :class:`~llmpool_policy.metrics.static.StaticSnapshot` from a JSON document (``explain
--metrics``, tests). Reading a snapshot never changes any state.

Conventions: windows are seconds; rates are fractions (0.3 is 30%); latencies are seconds; a
rate or latency over a window without attempts is ``None`` (no data, which is not 0); limits
that do not exist read ``None`` for ``remaining``.
"""

from __future__ import annotations

from typing import Final, Protocol, runtime_checkable

__all__ = [
    "BREAKER_STATES",
    "EMPTY_STAMP",
    "LATENCY_STATS",
    "EmptyProviderView",
    "MetricsSnapshot",
    "ProviderView",
    "Stamp",
    "StampedSnapshot",
    "check_stat",
    "stable_edge",
]

LATENCY_STATS: Final[tuple[str, ...]] = ("p50", "p95", "p99", "mean")
QUANTILES: Final[dict[str, float]] = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
BREAKER_STATES: Final[tuple[str, ...]] = ("closed", "open", "half_open")


def check_stat(stat: str) -> None:
    if stat not in LATENCY_STATS:
        raise ValueError(f"unknown latency statistic {stat!r}: expected one of p50, p95, p99, mean")


@runtime_checkable
class ProviderView(Protocol):
    """One provider's live state as of the snapshot's ``now``."""

    def error_rate(self, window_s: float) -> float | None:
        """Share of finished attempts that failed (cancelled ones aside); None without any."""
        ...

    def success_rate(self, window_s: float) -> float | None:
        """Share of finished attempts that succeeded (cancelled ones aside); None without any."""
        ...

    def latency(self, stat: str, window_s: float) -> float | None:
        """``p50`` / ``p95`` / ``p99`` / ``mean`` of successful attempts, seconds; None without
        any."""
        ...

    def requests(self, window_s: float) -> int:
        """Attempts finished in the window (every outcome)."""
        ...

    def spend(self, window_s: float) -> float:
        """USD spent on attempts finished in the window."""
        ...

    @property
    def in_flight(self) -> int: ...

    @property
    def rpm_used(self) -> int: ...

    @property
    def rpm_remaining(self) -> int | None: ...

    @property
    def rpd_used(self) -> int: ...

    @property
    def rpd_remaining(self) -> int | None: ...

    @property
    def tpm_used(self) -> int: ...

    @property
    def tpm_remaining(self) -> int | None: ...

    @property
    def breaker_state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"``."""
        ...

    @property
    def cooling_down(self) -> bool:
        """A retry-after cool-down is active."""
        ...


@runtime_checkable
class MetricsSnapshot(Protocol):
    """Every provider's state at one instant."""

    @property
    def now(self) -> float: ...

    def provider(self, name: str) -> ProviderView:
        """The view of ``name``; a provider the snapshot knows nothing of reads as fresh."""
        ...

    def budget_spent(self, budget_name: str, key: str | None, period: str) -> float:
        """USD spent against a budget (``key`` None for an unkeyed budget) in the current
        ``period`` (minute, hour, day, week, month)."""
        ...


class EmptyProviderView:
    """A provider with no history: no data, no limits, breaker closed."""

    __slots__ = ()

    def error_rate(self, window_s: float) -> float | None:
        return None

    def success_rate(self, window_s: float) -> float | None:
        return None

    def latency(self, stat: str, window_s: float) -> float | None:
        check_stat(stat)
        return None

    def requests(self, window_s: float) -> int:
        return 0

    def spend(self, window_s: float) -> float:
        return 0.0

    in_flight: Final = 0
    rpm_used: Final = 0
    rpm_remaining: Final = None
    rpd_used: Final = 0
    rpd_remaining: Final = None
    tpm_used: Final = 0
    tpm_remaining: Final = None
    breaker_state: Final = "closed"
    cooling_down: Final = False


EMPTY_VIEW: Final = EmptyProviderView()


class Stamp:
    """A token standing for "this provider's view reads the same": every read of it over the
    windows the stamp was made for gives the same value under the same stamp (compared by
    identity). A live stamp is valid for ``since <= now < until`` and until the provider's
    next event; the decision graph keeps per-provider results under their stamp, so a decision
    re-reads only the providers that changed since the last one."""

    __slots__ = ("since", "until")

    def __init__(self, since: float, until: float) -> None:
        self.since = since
        self.until = until

    def __repr__(self) -> str:
        return f"Stamp(since={self.since!r}, until={self.until!r})"


# The stamp of a provider a snapshot knows nothing of: its view is EMPTY_VIEW, which never
# changes.
EMPTY_STAMP: Final = Stamp(float("-inf"), float("inf"))


def stable_edge(edge: float) -> float:
    """``edge`` moved a hair earlier: a boundary computed in floating point may land an ulp or
    two after the instant a read's ``now // width`` actually flips; a stamp that ends early
    only costs a recomputation. The margin, 1e-14 relative, is about 45 ulps at any magnitude:
    ample for the few roundings involved, and small enough that at epoch-scale clocks (1.7e9 s)
    a stamp made just before an edge is lost for 17 µs, not milliseconds."""
    return edge - 1e-14 * max(1.0, abs(edge))


@runtime_checkable
class StampedSnapshot(MetricsSnapshot, Protocol):
    """A snapshot that can say which providers' views are unchanged since an earlier one (the
    live and static snapshots can). Optional: the decision graph memoises per-provider results
    only for snapshots that implement it, and reads everything afresh otherwise."""

    def stamps(self, names: tuple[str, ...], windows: tuple[float, ...]) -> tuple[Stamp, ...]:
        """One stamp per provider of ``names``, covering reads of ``windows`` (seconds) and of
        every unwindowed figure."""
        ...
