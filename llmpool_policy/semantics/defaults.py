"""The pool-wide defaults a policy falls back on: what a route that names no retry block (or a
``retry ... from config`` block that leaves them out) does about attempts and backoff, and how
long one call may take when neither the route nor the provider says.

They come from the config's pool settings (``max_retries``, ``retry_delay``, ``timeout``, in
ms), so the checker's bounds (``check --bounds --config``), the compiled graph, the reference
interpreter and the running pool all read the same figures. Without a config they are the
seed library's defaults: 3 retries (4 tries per provider), 1 s first backoff, 30 s timeout.
``explicit`` names the settings the config writes out: only those does a policy that sets its
own override (warning W107), a defaulted one is no one's choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

__all__ = [
    "BACKOFF_CAP_SECONDS",
    "DEFAULT_TIMEOUT_SECONDS",
    "POOL_FIELDS",
    "PoolDefaults",
    "PoolSettings",
    "doubling_steps",
]

DEFAULT_TIMEOUT_SECONDS: Final = 30.0  # the seed's pool `timeout` (30000 ms)
DEFAULT_MAX_RETRIES: Final = 3  # the seed's `maxRetries`
DEFAULT_RETRY_DELAY_SECONDS: Final = 1.0  # the seed's `retryDelay` (1000 ms)
BACKOFF_CAP_SECONDS: Final = 30.0  # the longest default backoff step (unless retry_delay is more)
# The config's pool settings a policy may override (its retry blocks and route timeouts).
POOL_FIELDS: Final = frozenset({"max_retries", "retry_delay", "timeout"})


class PoolSettings(Protocol):
    """What :meth:`PoolDefaults.from_config` reads of a ``PoolConfig`` (durations in ms)."""

    @property
    def timeout(self) -> int: ...

    @property
    def max_retries(self) -> int: ...

    @property
    def retry_delay(self) -> int: ...

    @property
    def model_fields_set(self) -> set[str]: ...


@dataclass(frozen=True)
class PoolDefaults:
    """``attempts``: tries per provider (the first included) on a route without a retry block;
    ``backoff_base_s``: the sleep before its first retry, doubling before each next one up to
    :data:`BACKOFF_CAP_SECONDS` (full jitter); ``timeout_s``: one call's time when neither the
    route's ``timeout`` nor the provider's own ``timeout`` is given; ``explicit``: which of
    :data:`POOL_FIELDS` the config writes out (the rest are the seed's defaults)."""

    attempts: int = DEFAULT_MAX_RETRIES + 1
    backoff_base_s: float = DEFAULT_RETRY_DELAY_SECONDS
    timeout_s: float = DEFAULT_TIMEOUT_SECONDS
    explicit: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1 (got {self.attempts})")
        if self.backoff_base_s < 0:
            raise ValueError(f"backoff_base_s must be >= 0 (got {self.backoff_base_s})")
        if self.timeout_s <= 0:
            raise ValueError(f"timeout_s must be > 0 (got {self.timeout_s})")
        if not self.explicit <= POOL_FIELDS:
            unknown = sorted(self.explicit - POOL_FIELDS)
            raise ValueError(f"explicit names unknown settings: {unknown}")

    @classmethod
    def from_config(cls, config: PoolSettings) -> PoolDefaults:
        """The defaults of a loaded ``PoolConfig``: ``max_retries + 1`` tries, ``retry_delay``
        and ``timeout`` converted from ms to seconds; ``explicit`` from pydantic's
        ``model_fields_set`` (what the document writes, even when it writes the default)."""
        return cls(
            attempts=config.max_retries + 1,
            backoff_base_s=config.retry_delay / 1000.0,
            timeout_s=config.timeout / 1000.0,
            explicit=frozenset(config.model_fields_set) & POOL_FIELDS,
        )

    def setting(self, name: str) -> int:
        """A pool setting as the config writes it (``max_retries``; ms for the durations)."""
        if name == "max_retries":
            return self.attempts - 1
        seconds = self.backoff_base_s if name == "retry_delay" else self.timeout_s
        return round(seconds * 1000)

    @property
    def backoff_cap_s(self) -> float:
        """The longest step: 30 s, or the first delay itself when that is longer."""
        return max(BACKOFF_CAP_SECONDS, self.backoff_base_s)

    @property
    def jitter(self) -> str:
        return "full"

    def sleeps(self, tries: int | None = None) -> tuple[float, ...]:
        """The longest sleep before each retry on one provider (``tries - 1`` of them; by
        default ``attempts - 1``, a ``from config`` block may set its own attempts)."""
        count = (self.attempts if tries is None else tries) - 1
        return doubling_steps(self.backoff_base_s, self.backoff_cap_s, count)

    def describe(self) -> str:
        """One line for reports: ``4 tries, backoff 1s..30s full jitter, timeout 30s``."""
        return (
            f"{self.attempts} tr{'y' if self.attempts == 1 else 'ies'} per provider, "
            f"backoff exponential {self.backoff_base_s:g}s..{self.backoff_cap_s:g}s jitter full, "
            f"timeout {self.timeout_s:g}s"
        )


def doubling_steps(base: float, cap: float, count: int) -> tuple[float, ...]:
    """``count`` exponential backoff steps from ``base``, each at most ``cap``. Doubled step by
    step, so a long run saturates at the cap (or infinity) instead of overflowing."""
    steps = []
    step = base
    for _ in range(max(0, count)):
        steps.append(min(cap, step))
        step = min(step * 2.0, float("inf"))
    return tuple(steps)
