"""The circuit breaker: closed -> open -> half_open -> closed, with a bounded number of probes.

::

              counted failures reach the threshold
    CLOSED ──────────────────────────────────────────▶ OPEN ◀──────────────┐
      ▲                                                 │                   │ probe fails with a
      │ a probe succeeds                                │ cool-down ends    │ counted class: reopen,
      │                                                 ▼                   │ cool-down doubled (up
      └──────────────────────────────────────────── HALF_OPEN ─────────────┘ to the cap) if extend
                                        admits at most `probes` probes at once

- Closed: every attempt passes. A finished attempt whose error class is in ``spec.counted`` is a
  failure. The breaker opens when ``spec.failures`` of them fall in the last ``failure_window_s``
  (the interval ``(now - window, now]``, exact: the last N failure times are kept), or when the
  share of counted failures over ``rate_window_s`` reaches ``spec.error_rate`` with at least
  ``min_requests`` attempts (bucketed to 1/60 of the window). Client errors (bad_request, auth,
  ...) are not counted by default, so a bad request never trips a healthy provider.
- Open: nothing passes until ``cool_down`` has elapsed; then the breaker *reads* as half_open.
  Reading never changes state: the stored state moves to half_open when a probe is acquired.
- Half-open: :meth:`Breaker.try_acquire_probe` grants at most ``spec.probes`` concurrent probes.
  A probe success closes the breaker (cool-down back to its base); a probe failure of a counted
  class reopens it; any other probe outcome (a client error, cancelled) just frees the slot.
- Results of non-probe attempts that finish while the breaker is open or half-open (dispatched
  before it opened, or forced through a soft gate) do not move it.

Transitions are returned by the method that caused them and passed to every listener, so the
pool can emit ``breaker_opened`` / ``breaker_closed`` events.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from .windows import SlidingCounter

__all__ = [
    "CLOSED",
    "DEFAULT_COUNTED",
    "HALF_OPEN",
    "MAX_COOL_DOWN_S",
    "OPEN",
    "Breaker",
    "BreakerSpec",
    "Transition",
]

CLOSED: Final = "closed"
OPEN: Final = "open"
HALF_OPEN: Final = "half_open"
# An uncapped extending cool-down still stops doubling here (one day).
MAX_COOL_DOWN_S: Final = 86400.0

DEFAULT_COUNTED: frozenset[str] = frozenset(
    {"overloaded", "server_error", "timeout", "connection", "invalid_response"}
)


@dataclass(frozen=True)
class BreakerSpec:
    """When a breaker opens and how it recovers. Defaults follow the seed: 5 failures in 60 s,
    a 60 s cool-down, one probe. ``None`` switches a trip condition off (zero is not None)."""

    failures: int | None = 5
    failure_window_s: float = 60.0
    error_rate: float | None = None  # a fraction in (0, 1]
    rate_window_s: float = 60.0
    min_requests: int = 10
    cool_down_s: float = 60.0
    extend_on_failure: bool = False
    extend_cap_s: float | None = None  # None: doubles up to MAX_COOL_DOWN_S
    probes: int = 1
    counted: frozenset[str] = field(default=DEFAULT_COUNTED)

    def __post_init__(self) -> None:
        problems: list[str] = []
        if self.failures is not None and self.failures < 1:
            problems.append(f"failures must be at least 1 (got {self.failures})")
        if self.error_rate is not None and not 0 < self.error_rate <= 1:
            problems.append(f"error_rate must be in (0, 1] (got {self.error_rate})")
        for name in ("failure_window_s", "rate_window_s"):
            if not getattr(self, name) > 0:
                problems.append(f"{name} must be positive (got {getattr(self, name)})")
        if not self.cool_down_s >= 0:  # 0 (a seed `circuit_breaker_timeout: 0`): probe at once
            problems.append(f"cool_down_s must be >= 0 (got {self.cool_down_s})")
        if self.extend_cap_s is not None and self.extend_cap_s < self.cool_down_s:
            problems.append(f"extend_cap_s ({self.extend_cap_s}) is below cool_down_s")
        if self.probes < 1:
            problems.append(f"probes must be at least 1 (got {self.probes})")
        if self.min_requests < 0:
            problems.append(f"min_requests must be >= 0 (got {self.min_requests})")
        if problems:
            raise ValueError("; ".join(problems))

    @classmethod
    def from_seed(cls, threshold: int | None, timeout_ms: float | None) -> BreakerSpec:
        """From a seed ``config.json``: ``circuit_breaker_threshold`` and ``..._timeout`` (ms)."""
        base = cls()
        return cls(
            failures=base.failures if threshold is None else threshold,
            cool_down_s=base.cool_down_s if timeout_ms is None else timeout_ms / 1000.0,
        )

    @property
    def max_cool_down_s(self) -> float:
        return MAX_COOL_DOWN_S if self.extend_cap_s is None else self.extend_cap_s


@dataclass(frozen=True)
class Transition:
    """A change of breaker state, for events and traces."""

    from_state: str
    to_state: str
    at: float
    reason: str
    cool_down_s: float | None = None  # for transitions to open: how long it stays open


class Breaker:
    """One provider's breaker (see the module docstring). Times are passed in, not read."""

    __slots__ = (
        "_cool",
        "_open_until",
        "_probes_out",
        "_rate_attempts",
        "_rate_failures",
        "_recent",
        "_state",
        "listeners",
        "spec",
    )

    def __init__(
        self,
        spec: BreakerSpec | None = None,
        listeners: list[Callable[[Transition], None]] | None = None,
    ) -> None:
        self.spec = spec or BreakerSpec()
        self.listeners: list[Callable[[Transition], None]] = listeners or []
        self._state: str = CLOSED
        self._open_until = 0.0
        self._cool = self.spec.cool_down_s
        self._probes_out = 0
        self._recent: deque[float] = deque(maxlen=self.spec.failures or 1)
        self._rate_attempts: SlidingCounter | None = None
        self._rate_failures: SlidingCounter | None = None
        if self.spec.error_rate is not None:
            width = self.spec.rate_window_s / 60.0
            self._rate_attempts = SlidingCounter(self.spec.rate_window_s, width)
            self._rate_failures = SlidingCounter(self.spec.rate_window_s, width)

    # ---- reads (never change state) ------------------------------------------------------------

    def state(self, now: float) -> str:
        if self._state == OPEN and now >= self._open_until:
            return HALF_OPEN
        return self._state

    def next_change(self, now: float) -> float:
        """The first instant after ``now`` at which :meth:`state` may read otherwise without
        an event: the end of an open breaker's cool-down."""
        if self._state == OPEN and now < self._open_until:
            return self._open_until
        return math.inf

    def allows(self, now: float) -> bool:
        """Would an attempt be admitted now (as a normal call or as a probe)?"""
        state = self.state(now)
        if state == CLOSED:
            return True
        if state == HALF_OPEN:
            return self._probes_out < self.spec.probes
        return False

    @property
    def open_until(self) -> float | None:
        return self._open_until if self._state == OPEN else None

    @property
    def current_cool_down_s(self) -> float:
        return self._cool

    @property
    def probes_in_flight(self) -> int:
        return self._probes_out

    # ---- changes -------------------------------------------------------------------------------

    def _emit(self, transition: Transition) -> Transition:
        for listener in self.listeners:
            listener(transition)
        return transition

    def _open(self, now: float, from_state: str, reason: str) -> Transition:
        self._state = OPEN
        self._open_until = now + self._cool
        return self._emit(Transition(from_state, OPEN, now, reason, self._cool))

    def try_acquire_probe(self, now: float) -> bool:
        """Take a probe slot if the breaker is half-open and one is free."""
        if self.state(now) != HALF_OPEN:
            return False
        if self._state == OPEN:
            self._state = HALF_OPEN
            self._emit(Transition(OPEN, HALF_OPEN, now, "cool-down elapsed"))
        if self._probes_out >= self.spec.probes:
            return False
        self._probes_out += 1
        return True

    def release_probe(self) -> None:
        """Give back a probe slot without an outcome (the probe was never sent)."""
        if self._probes_out > 0:
            self._probes_out -= 1

    def record(self, now: float, outcome: str | None, *, probe: bool = False) -> Transition | None:
        """A finished attempt: ``outcome`` is None for success or its error class."""
        spec = self.spec
        if probe:
            if self._probes_out > 0:
                self._probes_out -= 1
            if self._state != HALF_OPEN:
                return None
            if outcome is None:
                self._reset_counts()
                self._cool = spec.cool_down_s
                self._state = CLOSED
                return self._emit(Transition(HALF_OPEN, CLOSED, now, "probe succeeded"))
            if outcome in spec.counted:
                if spec.extend_on_failure:
                    self._cool = min(self._cool * 2.0, spec.max_cool_down_s)
                return self._open(now, HALF_OPEN, f"probe failed: {outcome}")
            return None
        if self._state != CLOSED or outcome == "cancelled":
            return None
        counted = outcome is not None and outcome in spec.counted
        if self._rate_attempts is not None and self._rate_failures is not None:
            self._rate_attempts.add(now, 1)
            if counted:
                self._rate_failures.add(now, 1)
        if not counted:
            return None
        if spec.failures is not None:
            recent = self._recent
            recent.append(now)
            if len(recent) >= spec.failures and recent[0] > now - spec.failure_window_s:
                return self._open(
                    now, CLOSED, f"{spec.failures} failures within {spec.failure_window_s:g}s"
                )
        if self._rate_attempts is not None and self._rate_failures is not None:
            attempts = self._rate_attempts.value(now)
            rate = spec.error_rate or 0.0
            if attempts >= max(spec.min_requests, 1) and (
                self._rate_failures.value(now) >= rate * attempts
            ):
                return self._open(
                    now, CLOSED, f"error rate {rate:.0%} within {spec.rate_window_s:g}s"
                )
        return None

    def _reset_counts(self) -> None:
        self._recent.clear()
        if self._rate_attempts is not None and self._rate_failures is not None:
            self._rate_attempts.reset()
            self._rate_failures.reset()

    def reconfigure(self, spec: BreakerSpec) -> None:
        """Adopt a new spec (config reload), keeping state; counters restart if their shape
        changed."""
        old = self.spec
        self.spec = spec
        if spec.failures != old.failures:
            self._recent = deque(self._recent, maxlen=spec.failures or 1)
        if (spec.error_rate is None) != (old.error_rate is None) or (
            spec.rate_window_s != old.rate_window_s
        ):
            self._rate_attempts = self._rate_failures = None
            if spec.error_rate is not None:
                width = spec.rate_window_s / 60.0
                self._rate_attempts = SlidingCounter(spec.rate_window_s, width)
                self._rate_failures = SlidingCounter(spec.rate_window_s, width)
        if self._state == CLOSED:
            self._cool = spec.cool_down_s
        else:
            self._cool = min(max(self._cool, spec.cool_down_s), spec.max_cool_down_s)
