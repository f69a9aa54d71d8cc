"""Rate limits that hold under concurrency: reserve at dispatch, settle on completion.

Three sliding counters per provider: requests per minute (1 s buckets), requests per day
(1 min buckets) and tokens per minute (1 s buckets). :meth:`RateLimits.reserve` checks and
counts in one step under a lock, so with ``rpm=2`` and ten concurrent callers exactly two get a
:class:`Reservation`; the rest get a :class:`Refused` saying which limit and for how long. A
reservation holds its request slot from dispatch; :meth:`Reservation.settle` replaces the
estimated tokens by the actual usage; :meth:`Reservation.cancel` gives everything back (for an
attempt that was never sent). A slot is released between 60 and 61 s after it was taken (a day
and a minute for rpd): never early.

Limits learned from response headers (``x-ratelimit-remaining-*`` with their reset) lower what
remains until the reset: while a learned figure is live, ``remaining = min(configured remaining,
learned remaining - reserved since)``. A ``retry-after`` sets a cool-down during which nothing is
reserved. ``None`` means no limit; ``0`` is a limit (nothing passes).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Final, Literal

from .windows import SlidingCounter, next_edge

__all__ = ["LIMIT_KINDS", "LimitKind", "LimitSpec", "RateLimits", "Refused", "Reservation"]

LimitKind = Literal["rpm", "rpd", "tpm"]
LIMIT_KINDS: Final[tuple[LimitKind, ...]] = ("rpm", "rpd", "tpm")


@dataclass(frozen=True)
class LimitSpec:
    """Configured limits; ``None`` is unlimited."""

    rpm: int | None = None
    rpd: int | None = None
    tpm: int | None = None

    def __post_init__(self) -> None:
        for kind in LIMIT_KINDS:
            value = getattr(self, kind)
            if value is not None and value < 0:
                raise ValueError(f"{kind} must be >= 0 or None (got {value})")


@dataclass(frozen=True)
class Refused:
    """A reservation that was not granted: which gate, and when trying again may help."""

    reason: str  # "rpm" | "rpd" | "tpm" | "cool_down" | "breaker_open" | "probes_busy"
    retry_in_s: float | None = None

    def __bool__(self) -> Literal[False]:  # `if attempt:` reads naturally (and narrows types)
        return False


class _Learned:
    __slots__ = ("remaining", "until")

    def __init__(self, remaining: int, until: float) -> None:
        self.remaining = remaining
        self.until = until


_OPEN, _SETTLED, _CANCELLED = 0, 1, 2


class Reservation:
    """A granted slot (and estimated tokens). Settle it when the attempt finishes, or cancel it
    if the attempt is never sent; either may happen once."""

    __slots__ = ("_limits", "_rpd_idx", "_rpm_idx", "_state", "_tpm_idx", "at", "tokens")

    def __init__(
        self, limits: RateLimits, at: float, tokens: int, rpm: int, rpd: int, tpm: int
    ) -> None:
        self._limits = limits
        self.at = at
        self.tokens = tokens
        self._rpm_idx = rpm
        self._rpd_idx = rpd
        self._tpm_idx = tpm
        self._state = _OPEN

    def __bool__(self) -> Literal[True]:
        return True

    @property
    def open(self) -> bool:
        return self._state == _OPEN

    def _finish(self, state: int) -> None:
        if self._state != _OPEN:
            done = "settled" if self._state == _SETTLED else "cancelled"
            raise RuntimeError(f"this reservation was already {done}")
        self._state = state

    def settle(self, actual_tokens: int | None = None) -> None:
        """The attempt was sent: keep the request slot; count ``actual_tokens`` (if known)."""
        limits = self._limits
        with limits._lock:
            self._finish(_SETTLED)
            if actual_tokens is not None and actual_tokens != self.tokens:
                delta = actual_tokens - self.tokens
                limits._tpm.adjust(self._tpm_idx, delta)
                learned = limits._learned.get("tpm")
                if learned is not None:
                    learned.remaining -= delta
                self.tokens = actual_tokens

    def cancel(self) -> None:
        """The attempt was never sent: give back the request slot and the tokens."""
        limits = self._limits
        with limits._lock:
            self._finish(_CANCELLED)
            limits._rpm.adjust(self._rpm_idx, -1)
            limits._rpd.adjust(self._rpd_idx, -1)
            limits._tpm.adjust(self._tpm_idx, -self.tokens)
            for kind, amount in (("rpm", 1), ("rpd", 1), ("tpm", self.tokens)):
                learned = limits._learned.get(kind)
                if learned is not None:
                    learned.remaining += amount


class RateLimits:
    """One provider's rpm / rpd / tpm counters, learned limits and retry-after cool-down."""

    __slots__ = ("_cool_until", "_learned", "_lock", "_rpd", "_rpm", "_tpm", "spec")

    def __init__(self, spec: LimitSpec | None = None) -> None:
        self.spec = spec or LimitSpec()
        self._rpm = SlidingCounter(60.0, 1.0)
        self._rpd = SlidingCounter(86400.0, 60.0)
        self._tpm = SlidingCounter(60.0, 1.0)
        self._learned: dict[str, _Learned] = {}
        self._cool_until = float("-inf")
        self._lock = threading.Lock()

    def _counter(self, kind: str) -> SlidingCounter:
        return self._rpm if kind == "rpm" else self._rpd if kind == "rpd" else self._tpm

    # ---- reads ---------------------------------------------------------------------------------

    def used(self, kind: LimitKind, now: float) -> int:
        return self._counter(kind).value(now)

    def remaining(self, kind: LimitKind, now: float) -> int | None:
        """What may still be reserved now; None when nothing limits it."""
        # On the decision path (twice per provider in the default policy): no helper calls
        # when nothing was learned from headers, the common case.
        if kind == "rpm":
            limit, counter = self.spec.rpm, self._rpm
        elif kind == "rpd":
            limit, counter = self.spec.rpd, self._rpd
        else:
            limit, counter = self.spec.tpm, self._tpm
        if limit is None:
            left = None
        else:
            used = counter.value(now)
            left = limit - used if used < limit else 0
        if self._learned:
            learned = self._learned.get(kind)
            if learned is not None and now < learned.until:
                lr = max(0, learned.remaining)
                left = lr if left is None else min(left, lr)
        return left

    def edges(self) -> set[tuple[float, float]]:
        """Where the counters' reads may change without a reservation: their bucket edges
        (see :func:`~.windows.next_edge`)."""
        return {(c.width_s, 0.0) for c in (self._rpm, self._rpd, self._tpm)}

    def next_deadline(self, now: float) -> float:
        """The first instant after ``now`` at which a learned limit resets or a cool-down ends
        (each changes what remains, or whether it is cooling down)."""
        edge = math.inf
        if not self._learned and not now < self._cool_until:
            return edge
        for learned in self._learned.values():
            if now < learned.until < edge:
                edge = learned.until
        if now < self._cool_until < edge:
            edge = self._cool_until
        return edge

    def next_change(self, now: float) -> float:
        """The first instant after ``now`` at which a read (used, remaining, cooling down) may
        change without a reservation."""
        return min(next_edge(now, self.edges()), self.next_deadline(now))

    def cooling_down(self, now: float) -> bool:
        return now < self._cool_until

    @property
    def cool_until(self) -> float | None:
        return None if self._cool_until == float("-inf") else self._cool_until

    def check(self, now: float, tokens: int = 0) -> Refused | None:
        """Why a reservation of ``tokens`` would be refused now, or None (read-only)."""
        if now < self._cool_until:
            return Refused("cool_down", self._cool_until - now)
        for kind, need in (("rpm", 1), ("rpd", 1), ("tpm", tokens)):
            left = self.remaining(kind, now)  # type: ignore[arg-type]
            if left is not None and (left < need or left == 0):
                return Refused(kind, self._retry_in(kind, now))
        return None

    def _retry_in(self, kind: str, now: float) -> float | None:
        learned = self._learned.get(kind)
        if learned is not None and now < learned.until and learned.remaining <= 0:
            return learned.until - now
        return self._counter(kind).next_release(now)

    # ---- changes -------------------------------------------------------------------------------

    def reserve(self, now: float, tokens: int = 0) -> Reservation | Refused:
        """Check every limit and count one request (and ``tokens``) atomically."""
        if tokens < 0:
            raise ValueError(f"tokens must be >= 0 (got {tokens})")
        with self._lock:
            refused = self.check(now, tokens)
            if refused is not None:
                return refused
            return self._take(now, tokens)

    def force(self, now: float, tokens: int = 0) -> Reservation:
        """Count an attempt sent despite the limits (a soft gate): nothing is refused."""
        with self._lock:
            return self._take(now, tokens)

    def _take(self, now: float, tokens: int) -> Reservation:
        learned = self._learned
        if learned:
            for kind, amount in (("rpm", 1), ("rpd", 1), ("tpm", tokens)):
                entry = learned.get(kind)
                if entry is not None:
                    entry.remaining -= amount
        return Reservation(
            self,
            now,
            tokens,
            self._rpm.add(now, 1),
            self._rpd.add(now, 1),
            self._tpm.add(now, tokens) if tokens else self._tpm.bucket(now),
        )

    def update_from_headers(
        self, now: float, *, kind: LimitKind, remaining: int, reset_in_s: float
    ) -> None:
        """The provider says ``remaining`` are left for ``reset_in_s`` seconds."""
        if kind not in LIMIT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(LIMIT_KINDS)} (got {kind!r})")
        if remaining < 0 or reset_in_s < 0:
            raise ValueError("remaining and reset_in_s must be >= 0")
        with self._lock:
            self._learned[kind] = _Learned(int(remaining), now + reset_in_s)

    def cool_down_until(self, until: float) -> None:
        """Refuse everything before ``until`` (a retry-after); never shortens a cool-down."""
        with self._lock:
            if until > self._cool_until:
                self._cool_until = until
