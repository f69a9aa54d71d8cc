"""Run the compiled decision graph for one request.

Pure and deterministic: it reads only the request, the snapshot and the graph, and every random
draw comes from the request's seed. With ``trace=False`` no trace object is built at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..decision import (
    BudgetCheck,
    CandidateTrace,
    Decision,
    RouteCheck,
    RoutePlan,
    SplitDraw,
    Trace,
)
from ..metrics.snapshot import MetricsSnapshot
from ..money import format_money
from ..request import RoutingRequest

if TYPE_CHECKING:  # the graph is built by compile/; deciding needs only its data and closures
    from ..compile.compiler import CompiledPolicy, CompiledRoute

__all__ = ["decide"]


def decide(
    graph: CompiledPolicy,
    request: RoutingRequest,
    snapshot: MetricsSnapshot,
    *,
    trace: bool = False,
) -> Decision:
    routes = graph.routes
    route_checks: list[RouteCheck] | None = [] if trace else None
    matched: CompiledRoute | None = None
    # The index skips routes that cannot match; a trace shows every route's check instead.
    indices = range(len(routes)) if trace else graph.candidate_routes(request.model, request.tags)
    for index in indices:
        route = routes[index]
        when = route.when
        if when is None:
            if route_checks is not None:
                route_checks.append(route.always)
            matched = route
            break
        if route_checks is None:
            if when(request, None):
                matched = route
                break
            continue
        reads: list[tuple[str, object]] = []
        hit = when(request, reads)
        route_checks.append(RouteCheck(route.name, route.condition_text, hit, tuple(reads)))
        if hit:
            matched = route
            break
    seed = request.effective_seed
    if matched is None:
        checks = Trace(routes=tuple(route_checks)) if route_checks is not None else None
        return Decision(graph.name, None, (), None, None, None, seed, trace=checks)

    budgets: list[BudgetCheck] | None = [] if trace else None
    denied = None
    if graph.budgets:
        exempt = graph.exempt[matched.name]
        for budget in graph.budgets:
            if budget.name in exempt:
                continue
            value = None if budget.key is None else budget.key(request)
            key = None if value is None else str(value)
            spent = snapshot.budget_spent(budget.name, key, budget.period)
            breached = spent >= budget.amount
            if budgets is not None:
                action = "deny" if budget.action == "deny" else f"fallback {budget.fallback}"
                budgets.append(
                    BudgetCheck(budget.name, key, spent, budget.amount, breached, action)
                )
            if breached:
                if budget.action == "deny":
                    who = f" for {key}" if key is not None else ""
                    denied = (
                        f"budget {budget.name}{who} is spent: {format_money(spent)} of "
                        f"{format_money(budget.amount)} per {budget.period}"
                    )
                else:
                    assert budget.fallback is not None
                    matched = graph.by_name[budget.fallback]
                break

    excluded: list[tuple[str, str]] = []
    candidates: list[CandidateTrace] | None = [] if trace else None
    splits: list[SplitDraw] | None = [] if trace else None
    plans: list[RoutePlan] = []
    if denied is None:
        current: CompiledRoute | None = matched
        while current is not None:
            if trace:
                plans.append(current.plan_traced(request, snapshot, excluded, candidates, splits))
            else:
                plans.append(current.plan(request, snapshot, excluded, None, None))
            fallback = current.fallback
            current = graph.by_name[fallback] if fallback is not None else None
    return Decision.make(
        graph.name,
        matched.name,
        tuple(plans),
        matched.deadline_s,
        matched.max_attempts,
        matched.max_cost,
        seed,
        tuple(excluded),
        denied,
        Trace.make(tuple(route_checks or ()), tuple(budgets or ()), tuple(candidates or ()),
                   tuple(splits or ())) if trace else None,
        matched.wait_s,
    )  # fmt: skip
