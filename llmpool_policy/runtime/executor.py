"""The executor: a Decision plus outcomes in, actions out — no sockets, no clock, no sleeping.

In the manner of h11, retry and failover logic exists once, here. The live pool drives it with
httpx and asyncio; the simulator drives it with a virtual clock and modelled outcomes. A driver:

    executor = Executor(decision, now=clock.now())
    action = executor.next_action(clock.now())
    while not isinstance(action, Succeed | Fail):
        if isinstance(action, Send):
            outcome = <send the attempt, or Refused(...) when the live gate says no>
            executor.record(outcome, clock.now())
        elif isinstance(action, Sleep):
            <sleep action.seconds>
        action = executor.next_action(clock.now())

Rules: each provider gets up to ``tries`` attempts while its failures are in the plan's
``retry_on``; a failure in ``failover_on`` moves to the next provider; any other failure (a
client error: auth, bad_request, ...) ends the request at once. When a route's plan is spent
the next route plan (its fallback) continues with the SAME counters. The deadline and max
attempts bound everything; a provider the live gate refuses (breaker open, rate limit spent) is
passed over without using an attempt.

A failure path is judged by its latency too, so the executor never sleeps toward a retry that
cannot happen: the driver reports with each failure when the provider's live gate will next
admit an attempt (``Outcome.available_in_s``: a retry-after cool-down, a breaker that has just
opened, a spent limit). When that is later than the sleep the policy allows before the retry,
or the sleep would cross the deadline, the provider's retries are given up at once and the
request fails over to the next candidate (which still has the rest of the deadline).
A ``context_window`` failure fails over only to providers whose window is larger (or unknown).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ..decision import DEFAULT_COOL_DOWN_CAP_S, Decision, PlannedAttempt, RoutePlan
from ..errors import (
    DeadlineExceededError,
    LLMPoolError,
    NoProviderAvailableError,
    ProviderError,
    RateLimitError,
)

__all__ = [
    "AttemptRecord",
    "Executor",
    "Fail",
    "Outcome",
    "Refused",
    "Send",
    "Sleep",
    "Succeed",
]


@dataclass(frozen=True)
class Send:
    """Send attempt ``number`` (1-based, over the whole request) to ``provider``."""

    provider: str
    route: str
    timeout_s: float
    number: int
    try_number: int  # 1-based, at this provider
    # another try at this provider may follow: only then does the executor want the gate's
    # answer (``Outcome.available_in_s``) after a failure, so the driver skips asking it
    may_retry: bool = True
    # the longest a retry-after from this provider may bench it (the route's ceiling)
    cool_down_cap_s: float = DEFAULT_COOL_DOWN_CAP_S

    def cool_down_s(self, error_class: str | None, retry_after_s: float | None) -> float | None:
        """How long a failure takes the provider out of rotation: its retry-after on a
        rate-limited or overloaded answer, capped by the policy's ceiling; None: not at all.
        One rule for both drivers (the pool and the simulator)."""
        if retry_after_s is None or error_class not in ("rate_limited", "overloaded"):
            return None
        return min(retry_after_s, self.cool_down_cap_s)


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Succeed:
    response: object
    attempts: tuple[AttemptRecord, ...]


@dataclass(frozen=True)
class Fail:
    error: LLMPoolError
    attempts: tuple[AttemptRecord, ...]


@dataclass(frozen=True)
class Outcome:
    """What came of a Send: ``error_class`` None means success (``response`` holds it).
    ``available_in_s``: after a failure, the seconds until the provider's live gate admits its
    next attempt, as the driver read it once the failure was settled (0.0: at once;
    ``math.inf``: no time can be named)."""

    error_class: str | None
    status: int | None = None
    latency_s: float = 0.0
    retry_after_s: float | None = None
    message: str = ""
    response: object = None
    available_in_s: float = 0.0


@dataclass(frozen=True)
class Refused:
    """The live gate refused the provider before sending (no attempt was used)."""

    reason: str
    retry_after_s: float | None = None


@dataclass(frozen=True)
class AttemptRecord:
    provider: str
    route: str
    number: int
    error_class: str | None
    status: int | None
    latency_s: float
    message: str = ""
    skipped: bool = False  # refused by the live gate; not an attempt


Action = Send | Sleep | Succeed | Fail


def _in_statuses(status: int | None, ranges: tuple[tuple[int, int], ...]) -> bool:
    return status is not None and any(lo <= status <= hi for lo, hi in ranges)


class Executor:
    """One request's retry and failover state machine."""

    def __init__(self, decision: Decision, *, now: float, seed: int | None = None) -> None:
        self._decision = decision
        self._plans: tuple[RoutePlan, ...] = decision.plans
        self._plan = 0
        self._index = 0
        self._tries = 0  # attempts at the current provider
        self._used = 0  # attempts over the whole request
        self._records: list[AttemptRecord] = []
        self._deadline = None if decision.deadline_s is None else now + decision.deadline_s
        self._seed = decision.seed if seed is None else seed
        self._rng: random.Random | None = None  # made on the first jittered sleep (~4 µs)
        self._pending: Send | None = None
        self._sleep: float | None = None
        self._final: Succeed | Fail | None = None
        self._last_failure: AttemptRecord | None = None
        self._last_retry_after: float | None = None
        self._gave_up: str = ""  # why the last provider's retries were given up, if they were
        self._deadline_blocked = False  # the last retry given up would have crossed the deadline
        self._window_floor: int | None = None  # after a context_window failure: skip windows <=
        if decision.denied is not None:
            from ..errors import BudgetExceededError

            self._final = Fail(BudgetExceededError(decision.denied), ())
        elif not decision.attempts:
            reasons = dict(decision.excluded)
            self._final = Fail(
                NoProviderAvailableError(
                    f"no provider available for route '{decision.route}'", reasons
                ),
                (),
            )

    @property
    def attempts(self) -> tuple[AttemptRecord, ...]:
        return tuple(self._records)

    def _current(self) -> PlannedAttempt | None:
        while self._plan < len(self._plans):
            plan = self._plans[self._plan]
            if self._index < len(plan.attempts):
                attempt = plan.attempts[self._index]
                floor = self._window_floor
                if floor is not None and self._tries == 0 and self._too_small(attempt, floor):
                    self._records.append(
                        AttemptRecord(attempt.provider, plan.route, self._used + 1, None, None,
                                      0.0, f"context window {attempt.context_window} is not "
                                      f"larger than the {floor} that was exceeded", skipped=True)
                    )  # fmt: skip
                    self._index += 1
                    continue
                return attempt
            self._plan += 1
            self._index = 0
            self._tries = 0
        return None

    @staticmethod
    def _too_small(attempt: PlannedAttempt, floor: int) -> bool:
        window = attempt.context_window
        return window is not None and window <= floor

    def _advance_provider(self) -> None:
        self._index += 1
        self._tries = 0

    def next_action(self, now: float) -> Action:
        """The next thing the driver must do."""
        if self._final is not None:
            return self._final
        if self._pending is not None:
            return self._pending
        if self._sleep is not None:
            seconds, self._sleep = self._sleep, None
            return Sleep(seconds)
        attempt = self._current()
        if attempt is None:
            if self._deadline_blocked:  # the last provider's retry would have passed it
                return self._finish(self._deadline_error())
            return self._finish(self._exhausted())
        remaining = None if self._deadline is None else self._deadline - now
        if remaining is not None and remaining <= 0:
            return self._finish(self._deadline_error())
        limit = self._decision.max_attempts
        if limit is not None and self._used >= limit:
            return self._finish(self._exhausted(f"max attempts ({limit}) reached"))
        timeout = attempt.timeout_s if remaining is None else min(attempt.timeout_s, remaining)
        self._pending = Send(
            attempt.provider,
            self._plans[self._plan].route,
            timeout,
            self._used + 1,
            self._tries + 1,
            self._tries + 1 < attempt.tries,
            attempt.cool_down_cap_s,
        )
        return self._pending

    def record(self, outcome: Outcome | Refused, now: float) -> None:
        """Feed back what came of the pending Send."""
        send = self._pending
        if send is None:
            raise RuntimeError("record() without a pending Send")
        self._pending = None
        if isinstance(outcome, Refused):
            self._records.append(
                AttemptRecord(send.provider, send.route, send.number, None, None, 0.0,
                              outcome.reason, skipped=True)
            )  # fmt: skip
            if outcome.retry_after_s is not None:
                self._last_retry_after = outcome.retry_after_s
            self._advance_provider()
            return
        self._used += 1
        self._tries += 1
        record = AttemptRecord(
            send.provider, send.route, send.number, outcome.error_class, outcome.status,
            outcome.latency_s, outcome.message,
        )  # fmt: skip
        self._records.append(record)
        if outcome.error_class is None:
            self._final = Succeed(outcome.response, tuple(self._records))
            return
        self._last_failure = record
        if outcome.retry_after_s is not None:
            self._last_retry_after = outcome.retry_after_s
        attempt = self._current()
        plan = self._plans[self._plan]
        assert attempt is not None
        error = outcome.error_class
        retryable = error in attempt.retry_on or _in_statuses(
            outcome.status, attempt.retry_statuses
        )
        self._gave_up = ""
        self._deadline_blocked = False
        if retryable and self._tries < attempt.tries:
            delay = self._backoff(attempt, self._tries - 1, outcome.retry_after_s)
            gate = outcome.available_in_s
            if gate > delay:
                # The gate would refuse the retry after the sleep: give it up now, not later.
                self._gave_up = (
                    f"{send.provider} cannot be tried again for "
                    f"{'an unknown time' if gate == math.inf else f'{gate:g}s'}, longer than "
                    f"the {delay:g}s the policy waits before a retry"
                )
            elif self._deadline is not None and now + delay >= self._deadline:
                self._gave_up = (
                    f"a retry of {send.provider} after {delay:g}s would pass the deadline"
                )
                self._deadline_blocked = True
            else:
                if delay > 0:
                    self._sleep = delay
                return
        fails_over = plan.failover_on is not None and (
            error in plan.failover_on or _in_statuses(outcome.status, plan.failover_statuses)
        )
        if fails_over:
            if error == "context_window" and attempt.context_window is not None:
                floor = self._window_floor
                self._window_floor = max(attempt.context_window, floor or 0)
            self._advance_provider()
            return
        if self._deadline_blocked:
            self._final = self._fail(self._deadline_error())
            return
        # A client error (or a transient one this route will not fail over on): stop here.
        self._final = self._fail(
            self._error_from(record, terminal=not retryable, why=self._gave_up)
        )

    def _backoff(
        self, attempt: PlannedAttempt, retry_index: int, retry_after: float | None
    ) -> float:
        base = attempt.backoff_s[retry_index] if retry_index < len(attempt.backoff_s) else 0.0
        rng = self._rng
        if rng is None and attempt.jitter in ("full", "equal"):
            rng = self._rng = random.Random(self._seed)
        if attempt.jitter == "full":
            assert rng is not None
            delay = rng.uniform(0.0, base)
        elif attempt.jitter == "equal":
            assert rng is not None
            delay = base / 2 + rng.uniform(0.0, base / 2)
        else:
            delay = base
        if retry_after is not None and attempt.retry_after_cap_s is not None:
            delay = max(delay, min(retry_after, attempt.retry_after_cap_s))
        return delay

    def _finish(self, error: LLMPoolError) -> Fail:
        self._final = self._fail(error)
        return self._final

    def _fail(self, error: LLMPoolError) -> Fail:
        error.attempts = tuple(self._records)
        return Fail(error, tuple(self._records))

    def _deadline_error(self) -> LLMPoolError:
        return DeadlineExceededError(
            f"deadline of {self._decision.deadline_s:g}s passed after {self._used} attempt(s)"
        )

    def _exhausted(self, why: str = "every planned provider was tried") -> LLMPoolError:
        if self._last_failure is None:
            reasons = dict(self._decision.excluded)  # removed by the policy, then the gate's
            reasons.update((r.provider, r.message) for r in self._records if r.skipped)
            return NoProviderAvailableError(
                f"no provider available for route '{self._decision.route}'", reasons
            )
        if self._gave_up:
            why = f"{why}; {self._gave_up}"
        return self._error_from(self._last_failure, terminal=False, why=why)

    def _error_from(self, record: AttemptRecord, *, terminal: bool, why: str = "") -> LLMPoolError:
        summary = ", ".join(
            f"{r.provider}: {r.error_class or 'ok'}" for r in self._records if not r.skipped
        )
        prefix = f"request failed ({why})" if why else "request failed"
        message = f"{prefix}; attempts: {summary}"
        if record.error_class == "rate_limited":
            return RateLimitError(
                message, provider=record.provider, status=record.status,
                reset_time=self._last_retry_after,
            )  # fmt: skip
        return ProviderError(
            message,
            provider=record.provider,
            status=record.status,
            retryable=not terminal,
            error_class=record.error_class or "server_error",
        )
