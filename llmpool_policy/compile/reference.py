"""The reference interpreter: the semantics of a decision, written to be read, not to be fast.

It walks the normalised AST for every request. The compiled decision graph must give the same
:class:`~llmpool_policy.decision.Decision` on every input; the differential tests hold them
equal. When the two disagree, this file is right.

Rules, in order:

1. Routes are tried top to bottom; the first whose ``when`` is true matches (no ``when``: always).
2. Budgets (except those whose breach falls back to the matched route, and those ``per
   provider``, which are checked per candidate, see 4) are checked in order; the
   first breached one acts: ``deny`` refuses the request, ``fallback R`` routes it to R instead.
   A budget's key is the string of its key expression's value (None when absent).
3. The plan is the route's own attempts, then those of its ``on exhausted fallback`` chain. The
   limits (deadline, max attempts, max cost) are those of the route the request was routed to.
4. A route's candidates: its ``use`` set (a list keeps its order; ``all`` and selectors keep config
   order), else its split arms, else every provider. Then, per candidate, in this order: not in
   the config; cannot take the request's images or tools; context window too small for input +
   max tokens; estimated cost above ``max cost``; its own ``per provider`` budget spent (in
   policy order); the first ``skip when`` that is true (hard: removed); any ``avoid when``
   that is true (soft: kept, but after every other candidate).
5. Survivors are stably sorted by the ``order by`` keys (``desc`` reverses a key; a missing
   value sorts first or last as the key's ``unknown`` says, whatever the direction; unsaid,
   first for a key reading a measured metric, else last: semantics/unknowns.py); then a
   ``split`` draws an arm from a hash of its ``by`` key (or the seed) and moves that arm to the
   front if it survived. ``failover off`` keeps only the first.
6. Values: comparisons, ``in`` and arithmetic with a missing value (no data, no limit, no
   attribute) are false (arithmetic: missing); so are those whose operands do not fit at run
   time (an untyped ``request.metadata`` value that is not a number, negated or compared with
   one); a condition is true only when its value is truthy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from ..decision import (
    BudgetCheck,
    CandidateTrace,
    Decision,
    PlannedAttempt,
    RouteCheck,
    RoutePlan,
    SplitDraw,
    Trace,
)
from ..metrics.snapshot import MetricsSnapshot, ProviderView
from ..money import format_money
from ..request import RoutingRequest
from ..semantics.signals import Scope, lookup
from ..semantics.static_eval import ARITH, COMPARE
from ..syntax import ast
from .spec import (
    PolicySpec,
    RouteSpec,
    context_window,
    provider_budget_refusal,
    provider_timeout,
)
from .values import estimated_cost, live_value, request_value

__all__ = ["draw", "reference_decide"]

# The operators mean the same here as when selectors are resolved at check time.
_COMPARE = COMPARE
_ARITH = ARITH


def draw(route: str, key: str) -> float:
    """A uniform number in [0, 1) from a route name and a key: the same key, the same arm."""
    digest = hashlib.blake2b(f"{route}\0{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


class _Env:
    def __init__(
        self,
        request: RoutingRequest,
        attrs: Mapping[str, object] | None = None,
        view: ProviderView | None = None,
        cost: float | None = None,
    ) -> None:
        self.request = request
        self.attrs = attrs
        self.view = view
        self.cost = cost
        self.reads: list[tuple[str, Any]] = []

    def read(self, label: str, value: Any) -> Any:
        if all(label != k for k, _ in self.reads):
            self.reads.append((label, value))
        return value


def _window_label(name: str, seconds: float) -> str:
    from ..semantics.render import format_seconds

    return f"{name}({format_seconds(seconds)})"


def evaluate(expr: ast.Expr, env: _Env) -> Any:
    if isinstance(expr, ast.Literal):
        return expr.value
    if isinstance(expr, ast.ListExpr):
        return [evaluate(item, env) for item in expr.items]
    if isinstance(expr, ast.Path):
        dotted = expr.dotted
        signal = lookup(dotted)
        assert signal is not None, dotted
        if signal.scope is Scope.REQUEST:
            return env.read(dotted, request_value(env.request, dotted))
        if signal.scope is Scope.STATIC:
            assert env.attrs is not None
            return env.read(signal.name, env.attrs.get(signal.name))
        assert env.view is not None
        return env.read(signal.name, live_value(signal.name, None, env.view, env.cost))
    if isinstance(expr, ast.Call):
        signal = lookup(expr.func.dotted)
        assert signal is not None and env.view is not None
        arg = expr.args[0]
        assert isinstance(arg, ast.Literal)
        seconds = arg.seconds()
        value = live_value(signal.name, seconds, env.view, env.cost)
        return env.read(_window_label(signal.name, seconds), value)
    if isinstance(expr, ast.Unary):
        value = evaluate(expr.operand, env)
        if expr.op == "not":
            return not _truthy(value)
        if value is None:
            return None
        try:
            return -value
        except TypeError:
            return None
    op = expr.op
    if op == "and":
        return _truthy(evaluate(expr.left, env)) and _truthy(evaluate(expr.right, env))
    if op == "or":
        return _truthy(evaluate(expr.left, env)) or _truthy(evaluate(expr.right, env))
    left = evaluate(expr.left, env)
    right = evaluate(expr.right, env)
    if left is None or right is None:
        return False if op in _COMPARE or op in ("in", "not in") else None
    if op in ("in", "not in"):
        try:
            found = left in right
        except TypeError:
            return False
        return found if op == "in" else not found
    if op in _COMPARE:
        try:
            return bool(_COMPARE[op](left, right))
        except TypeError:
            return False
    try:
        return _ARITH[op](left, right)
    except (TypeError, ZeroDivisionError):
        return None


def _truthy(value: Any) -> bool:
    return value is not None and bool(value)


def _sort(
    items: list[tuple[str, tuple[Any, ...]]], order: tuple[tuple[ast.Expr, bool, str, bool], ...]
) -> list[tuple[str, tuple[Any, ...]]]:
    """Stable multi-key sort, last key first; missing values first or last as the key says,
    whatever the direction."""
    result = list(items)
    for index in reversed(range(len(order))):
        _key, descending, _text, missing_first = order[index]
        present = [it for it in result if it[1][index] is not None]
        missing = [it for it in result if it[1][index] is None]
        present.sort(key=lambda it: it[1][index], reverse=descending)
        result = missing + present if missing_first else present + missing
    return result


def _route_plan(
    spec: PolicySpec,
    route: RouteSpec,
    request: RoutingRequest,
    snapshot: MetricsSnapshot,
    seed: int,
    excluded: list[tuple[str, str]],
    candidates_trace: list[CandidateTrace],
    splits: list[SplitDraw],
) -> RoutePlan:
    attrs_by_name = spec.attributes
    kept: list[tuple[str, tuple[Any, ...]]] = []
    avoided: list[tuple[str, tuple[Any, ...]]] = []
    for name in route.use_names:
        attrs = attrs_by_name.get(name)
        if attrs is None:
            missing = "not in the provider config"
            excluded.append((name, missing))
            candidates_trace.append(CandidateTrace(route.name, name, excluded=missing))
            continue
        view = snapshot.provider(name)
        cost = estimated_cost(request, attrs)
        if route.selector is not None:
            env = _Env(request, attrs, view, cost)
            if not _truthy(evaluate(route.selector, env)):
                continue  # not selected: not a candidate at all
        reason = _gate(route, request, attrs, cost)
        for budget in spec.provider_budgets:
            if reason is None:
                spent = snapshot.budget_spent(budget.name, name, budget.period)
                reason = provider_budget_refusal(budget, name, spent)
        env = _Env(request, attrs, view, cost)
        if reason is None:
            for condition, text in route.skips:
                if _truthy(evaluate(condition, env)):
                    reason = f"skip when {text}"
                    break
        if reason is not None:
            excluded.append((name, reason))
            candidates_trace.append(
                CandidateTrace(route.name, name, excluded=reason, values=tuple(env.reads))
            )
            continue
        avoid: str | None = None
        for condition, text in route.avoids:
            if _truthy(evaluate(condition, env)):
                avoid = f"avoid when {text}"
                break
        keys = tuple(evaluate(key, _Env(request, attrs, view, cost)) for key, *_ in route.order)
        (avoided if avoid else kept).append((name, keys))
        candidates_trace.append(
            CandidateTrace(
                route.name, name, avoided=avoid, values=tuple(env.reads), order_keys=keys
            )
        )
    ordered = [n for n, _ in _sort(kept, route.order)]
    ordered_avoided = [n for n, _ in _sort(avoided, route.order)]
    if route.split:
        if route.split_by is not None:
            value = evaluate(route.split_by, _Env(request))
            key = str(seed) if value is None else str(value)
        else:
            key = str(seed)
        u = draw(route.name, key)
        cumulative = 0.0
        arm = route.split[-1][0]
        for name, weight in route.split:
            cumulative += weight
            if u < cumulative:
                arm = name
                break
        splits.append(SplitDraw(route.name, key, u, arm))
        if arm in ordered:
            ordered.remove(arm)
            ordered.insert(0, arm)
    plan = ordered + ordered_avoided
    if route.failover_on is None:
        plan = plan[:1]
    attempts = tuple(
        PlannedAttempt(
            provider=name,
            tries=route.tries,
            timeout_s=provider_timeout(attrs_by_name[name], route),
            backoff_s=route.backoff_s,
            jitter=route.jitter,
            retry_on=route.retry_on,
            retry_statuses=route.retry_statuses,
            retry_after_cap_s=route.retry_after_cap_s,
            cool_down_cap_s=route.cool_down_cap_s,
            context_window=context_window(attrs_by_name[name]),
        )
        for name in plan
    )
    return RoutePlan(route.name, attempts, route.failover_on, route.failover_statuses)


def _gate(
    route: RouteSpec, request: RoutingRequest, attrs: Mapping[str, object], cost: float | None
) -> str | None:
    """The built-in gates: what the request needs that a provider cannot give."""
    if request.images > 0 and attrs.get("supports.vision") is not True:
        return "cannot take images"
    if request.tools > 0 and attrs.get("supports.tools") is not True:
        return "cannot take tools"
    window = attrs.get("context_window")
    needed = request.input_tokens + request.max_tokens
    if isinstance(window, int | float) and needed > window:
        return f"context window {window:g} < {needed} tokens"
    if route.max_cost is not None and cost is not None and cost > route.max_cost:
        return f"estimated cost ${cost:.4f} over max cost {format_money(route.max_cost)}"
    return None


def reference_decide(
    spec: PolicySpec, request: RoutingRequest, snapshot: MetricsSnapshot
) -> Decision:
    """The decision for ``request`` given ``snapshot``, with its full trace."""
    seed = request.effective_seed
    route_checks: list[RouteCheck] = []
    matched: RouteSpec | None = None
    for route in spec.routes:
        if route.condition is None:
            route_checks.append(RouteCheck(route.name, "(always)", True))
            matched = route
            break
        env = _Env(request)
        hit = _truthy(evaluate(route.condition, env))
        route_checks.append(RouteCheck(route.name, route.condition_text, hit, tuple(env.reads)))
        if hit:
            matched = route
            break
    if matched is None:
        return Decision(spec.name, None, (), None, None, None, seed,
                        trace=Trace(routes=tuple(route_checks)))  # fmt: skip

    budgets: list[BudgetCheck] = []
    denied = None
    exempt = spec.budget_exempt(matched.name)
    for budget in spec.budgets:
        if budget.name in exempt:
            continue
        value = None if budget.key is None else evaluate(budget.key, _Env(request))
        key = None if value is None else str(value)
        spent = snapshot.budget_spent(budget.name, key, budget.period)
        breached = spent >= budget.amount
        action = "deny" if budget.action == "deny" else f"fallback {budget.fallback}"
        budgets.append(BudgetCheck(budget.name, key, spent, budget.amount, breached, action))
        if breached:
            if budget.action == "deny":
                who = f" for {key}" if key is not None else ""
                denied = (
                    f"budget {budget.name}{who} is spent: {format_money(spent)} of "
                    f"{format_money(budget.amount)} per {budget.period}"
                )
            else:
                assert budget.fallback is not None
                matched = spec.route(budget.fallback)
            break

    excluded: list[tuple[str, str]] = []
    candidates: list[CandidateTrace] = []
    splits: list[SplitDraw] = []
    plans: list[RoutePlan] = []
    if denied is None:
        current: RouteSpec | None = matched
        seen: set[str] = set()
        while current is not None and current.name not in seen:
            seen.add(current.name)
            plans.append(
                _route_plan(spec, current, request, snapshot, seed, excluded, candidates, splits)
            )
            current = spec.route(current.fallback) if current.fallback is not None else None
    return Decision(
        policy=spec.name,
        route=matched.name,
        plans=tuple(plans),
        deadline_s=matched.deadline_s,
        max_attempts=matched.max_attempts,
        max_cost=matched.max_cost,
        wait_s=matched.wait_s,
        seed=seed,
        excluded=tuple(excluded),
        denied=denied,
        trace=Trace(tuple(route_checks), tuple(budgets), tuple(candidates), tuple(splits)),
    )
