"""A routing decision: the plan of attempts, the limits, and why — as plain, comparable data.

Both the compiled decision graph and the reference interpreter produce these values, so the
differential tests compare them directly. ``explain()`` renders the trace for people and
``to_json()`` for machines (``schemas/decision.schema.json``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .errors import NoProviderAvailableError
from .money import format_money

__all__ = [
    "DEFAULT_COOL_DOWN_CAP_S",
    "BudgetCheck",
    "CandidateTrace",
    "Decision",
    "PlannedAttempt",
    "RouteCheck",
    "RoutePlan",
    "SplitDraw",
    "Trace",
]


# The longest a provider's retry-after takes it out of rotation when the policy does not say
# (`honor retry_after ..., cool down at most D`): a `retry-after: 2592000` must not bench a
# provider for 30 days.
DEFAULT_COOL_DOWN_CAP_S = 600.0


@dataclass(frozen=True)
class PlannedAttempt:
    """Up to ``tries`` attempts at one provider, each with ``timeout_s``; ``backoff_s[i]`` is the
    longest sleep before retry i+1 (jitter may shorten it)."""

    provider: str
    tries: int
    timeout_s: float
    backoff_s: tuple[float, ...]
    jitter: str
    retry_on: tuple[str, ...]
    retry_statuses: tuple[tuple[int, int], ...]
    retry_after_cap_s: float | None  # None: retry-after is not honoured
    # The provider's context window (None: unknown), so that a context_window failure fails
    # over only to larger windows. Static config, not part of the plan's JSON.
    context_window: int | None = None
    # The longest a retry-after from this provider takes it out of rotation (the retry
    # block's `cool down at most`). Not part of the plan's JSON: the same for every attempt
    # of a route, it is the route's setting.
    cool_down_cap_s: float = DEFAULT_COOL_DOWN_CAP_S

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "tries": self.tries,
            "timeout_s": self.timeout_s,
            "backoff_s": list(self.backoff_s),
            "jitter": self.jitter,
            "retry_on": list(self.retry_on),
            "retry_statuses": [list(r) for r in self.retry_statuses],
            # JSON has no infinity: an uncapped `honor retry_after` is written "unbounded"
            "retry_after_cap_s": "unbounded"
            if self.retry_after_cap_s == float("inf")
            else self.retry_after_cap_s,
        }


_new = object.__new__
_set = object.__setattr__


@dataclass(frozen=True)
class RoutePlan:
    """The attempts of one route, in order, and what moves on to the next provider."""

    route: str
    attempts: tuple[PlannedAttempt, ...]
    failover_on: tuple[str, ...] | None  # None: `failover off`
    failover_statuses: tuple[tuple[int, int], ...] = ()

    @classmethod
    def make(
        cls,
        route: str,
        attempts: tuple[PlannedAttempt, ...],
        failover_on: tuple[str, ...] | None,
        failover_statuses: tuple[tuple[int, int], ...],
    ) -> RoutePlan:
        """The same as ``RoutePlan(...)``, built for the decision path: the instance's
        ``__dict__`` set at once instead of the frozen ``__init__``'s ``object.__setattr__``
        per field (several times faster). Only for values already in their final types;
        tests/test_decision_schema.py holds it equal to the constructor."""
        plan: RoutePlan = _new(cls)
        _set(plan, "__dict__", {
            "route": route, "attempts": attempts, "failover_on": failover_on,
            "failover_statuses": failover_statuses,
        })  # fmt: skip
        return plan

    def to_json(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "attempts": [a.to_json() for a in self.attempts],
            "failover_on": None if self.failover_on is None else list(self.failover_on),
            "failover_statuses": [list(r) for r in self.failover_statuses],
        }


@dataclass(frozen=True)
class RouteCheck:
    route: str
    condition: str
    matched: bool
    values: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class CandidateTrace:
    """One provider considered by one route: removed (and why), avoided, or kept with its keys."""

    route: str
    provider: str
    excluded: str | None = None
    avoided: str | None = None
    values: tuple[tuple[str, Any], ...] = ()
    order_keys: tuple[Any, ...] = ()


@dataclass(frozen=True)
class SplitDraw:
    route: str
    key: str
    draw: float
    arm: str


@dataclass(frozen=True)
class BudgetCheck:
    budget: str
    key: str | None
    spent: float
    amount: float
    breached: bool
    action: str  # "none" | "deny" | "fallback <route>"


@dataclass(frozen=True)
class Trace:
    routes: tuple[RouteCheck, ...] = ()
    budgets: tuple[BudgetCheck, ...] = ()
    candidates: tuple[CandidateTrace, ...] = ()
    splits: tuple[SplitDraw, ...] = ()

    @classmethod
    def make(
        cls,
        routes: tuple[RouteCheck, ...],
        budgets: tuple[BudgetCheck, ...],
        candidates: tuple[CandidateTrace, ...],
        splits: tuple[SplitDraw, ...],
    ) -> Trace:
        """The same as ``Trace(...)``, built for the decision path (see
        :meth:`RoutePlan.make`)."""
        trace: Trace = _new(cls)
        _set(trace, "__dict__", {
            "routes": routes, "budgets": budgets, "candidates": candidates, "splits": splits,
        })  # fmt: skip
        return trace


@dataclass(frozen=True)
class Decision:
    """The outcome of ``decide``: the matched route, every route plan in order (the matched
    route first, then its fallbacks), the request's limits, and — when asked for — the trace."""

    policy: str
    route: str | None
    plans: tuple[RoutePlan, ...]
    deadline_s: float | None
    max_attempts: int | None
    max_cost: float | None
    seed: int
    excluded: tuple[tuple[str, str], ...] = ()  # (provider, reason) for every removal
    denied: str | None = None  # set when a budget denies the request
    trace: Trace | None = field(default=None, compare=False)
    # `when none available wait up to D`: how long the request may wait for a provider the
    # live gate holds (within the deadline) instead of failing at once; None: it does not wait
    wait_s: float | None = None

    @classmethod
    def make(
        cls,
        policy: str,
        route: str | None,
        plans: tuple[RoutePlan, ...],
        deadline_s: float | None,
        max_attempts: int | None,
        max_cost: float | None,
        seed: int,
        excluded: tuple[tuple[str, str], ...],
        denied: str | None,
        trace: Trace | None,
        wait_s: float | None = None,
    ) -> Decision:
        """The same as ``Decision(...)``, built for the decision path (see
        :meth:`RoutePlan.make`)."""
        decision: Decision = _new(cls)
        _set(decision, "__dict__", {
            "policy": policy, "route": route, "plans": plans, "deadline_s": deadline_s,
            "max_attempts": max_attempts, "max_cost": max_cost, "seed": seed,
            "excluded": excluded, "denied": denied, "trace": trace, "wait_s": wait_s,
        })  # fmt: skip
        return decision

    @property
    def attempts(self) -> tuple[PlannedAttempt, ...]:
        return tuple(a for plan in self.plans for a in plan.attempts)

    @property
    def providers(self) -> tuple[str, ...]:
        return tuple(a.provider for a in self.attempts)

    @property
    def ok(self) -> bool:
        return self.denied is None and any(plan.attempts for plan in self.plans)

    def raise_if_unroutable(self) -> Decision:
        """Raise the typed no-provider error listing why each provider was excluded."""
        if self.denied is None:
            for plan in self.plans:  # (a loop, not any(): this runs on every decision)
                if plan.attempts:
                    return self
        if self.denied is not None:
            from .errors import BudgetExceededError

            error: Exception = BudgetExceededError(self.denied)
        elif not any(plan.attempts for plan in self.plans):
            summary = f"no provider available for route '{self.route}'"
            if not self.excluded:
                summary += " (no candidates)"
            error = NoProviderAvailableError(summary, dict(self.excluded))
        else:
            return self
        error.decision = self  # type: ignore[attr-defined]
        raise error

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "policy": self.policy,
            "route": self.route,
            "plans": [p.to_json() for p in self.plans],
            "deadline_s": self.deadline_s,
            "max_attempts": self.max_attempts,
            "max_cost": self.max_cost,
            "seed": self.seed,
            "excluded": [{"provider": p, "reason": r} for p, r in self.excluded],
            "denied": self.denied,
            "wait_s": self.wait_s,
        }
        if self.trace is not None:
            t = self.trace
            data["trace"] = {
                "routes": [
                    {"route": r.route, "condition": r.condition, "matched": r.matched,
                     "values": {k: _jsonable(v) for k, v in r.values}}
                    for r in t.routes
                ],
                "budgets": [
                    {"budget": b.budget, "key": b.key, "spent": b.spent, "amount": b.amount,
                     "breached": b.breached, "action": b.action}
                    for b in t.budgets
                ],
                "candidates": [
                    {"route": c.route, "provider": c.provider, "excluded": c.excluded,
                     "avoided": c.avoided, "values": {k: _jsonable(v) for k, v in c.values},
                     "order_keys": [_jsonable(k) for k in c.order_keys]}
                    for c in t.candidates
                ],
                "splits": [
                    {"route": s.route, "key": s.key, "draw": s.draw, "arm": s.arm}
                    for s in t.splits
                ],
            }  # fmt: skip
        return data

    def to_json_text(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True)

    def explain(self) -> str:
        """Readable text: which route and why, who was removed and why, the plan, the limits."""
        lines = [f"policy {self.policy!r}: route {self.route!r}" if self.route else
                 f"policy {self.policy!r}: no route"]  # fmt: skip
        t = self.trace
        if t is not None:
            for r in t.routes:
                mark = "matched" if r.matched else "no match"
                values = _values(r.values)
                lines.append(f"  route {r.route}: when {r.condition} -> {mark}{values}")
            for b in t.budgets:
                key = f" for {b.key}" if b.key is not None else ""
                state = "BREACHED" if b.breached else "within"
                lines.append(
                    f"  budget {b.budget}{key}: {format_money(b.spent)} of "
                    f"{format_money(b.amount)} ({state})"
                    + (f" -> {b.action}" if b.breached else "")
                )
            for s in t.splits:
                lines.append(f"  split in {s.route}: key {s.key!r} drew {s.draw:.4f} -> {s.arm}")
            current = None
            for c in t.candidates:
                if c.route != current:
                    current = c.route
                    lines.append(f"  candidates of {c.route}:")
                if c.excluded is not None:
                    lines.append(f"    - {c.provider}: removed, {c.excluded}{_values(c.values)}")
                elif c.avoided is not None:
                    lines.append(f"    ~ {c.provider}: avoided, {c.avoided}{_values(c.values)}")
                else:
                    keys = ", ".join("unknown" if k is None else _show(k) for k in c.order_keys)
                    ordering = f" (order keys: {keys})" if keys else ""
                    lines.append(f"    + {c.provider}{ordering}{_values(c.values)}")
        if self.denied is not None:
            lines.append(f"  denied: {self.denied}")
        lines.append("  plan:")
        if not self.attempts:
            lines.append("    (empty: no provider available)")
        n = 0
        for plan in self.plans:
            for a in plan.attempts:
                n += 1
                backoff = ", ".join(format_duration(d) for d in a.backoff_s) or "none"
                lines.append(
                    f"    {n}. {a.provider} via {plan.route}: {a.tries} tr"
                    f"{'y' if a.tries == 1 else 'ies'}, timeout {format_duration(a.timeout_s)}, "
                    f"backoff {backoff}"
                )
        limits = [
            f"deadline {format_duration(self.deadline_s)}" if self.deadline_s is not None else None,
            f"max attempts {self.max_attempts}" if self.max_attempts is not None else None,
            f"max cost {format_money(self.max_cost)}" if self.max_cost is not None else None,
            f"when none available wait up to {format_duration(self.wait_s)}"
            if self.wait_s is not None
            else None,
        ]
        shown = [x for x in limits if x]
        if shown:
            lines.append("  limits: " + ", ".join(shown))
        lines.append(f"  seed: {self.seed}")
        return "\n".join(lines)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | int | str | bool) or value is None:
        return value
    return str(value)


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _values(values: tuple[tuple[str, Any], ...]) -> str:
    if not values:
        return ""
    return " [" + ", ".join(f"{k}={_show(v)}" for k, v in values) + "]"


def format_duration(value: float | None) -> str:
    """Seconds as people read them in a plan: ``500ms``, ``30s``; ``none`` for no value."""
    if value is None:
        return "none"
    if value < 1:
        return f"{value * 1000:g}ms"
    return f"{value:g}s"
