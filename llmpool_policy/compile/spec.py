"""The static part of a policy, resolved once: per route, what it uses, how it retries, its
limits and fallback; per budget, its amount and breach action.

Conditions stay ASTs here (normalised); the compiler turns them into closures, the reference
interpreter walks them. Everything else is plain data both share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..decision import DEFAULT_COOL_DOWN_CAP_S
from ..money import format_money
from ..semantics import CheckedPolicy, PoolDefaults, ProviderFacts
from ..semantics.bounds import retry_block, retry_shape
from ..semantics.defaults import DEFAULT_TIMEOUT_SECONDS
from ..semantics.unknowns import unknown_first
from ..syntax import ast
from ..syntax.formatter import format_expr
from .normalize import normalize

__all__ = [
    "DEFAULT_FAILOVER",
    "DEFAULT_RETRY_ON",
    "BudgetSpec",
    "PolicySpec",
    "RouteSpec",
    "build_spec",
    "provider_budget_refusal",
]

# Transient failures worth retrying at the same provider, when a route says nothing (the seed's
# intent).
DEFAULT_RETRY_ON = ("rate_limited", "overloaded", "server_error", "timeout", "connection")
# ... and worth moving on from: also a malformed answer (another provider may answer well) and a
# context window exceeded (another provider may have a larger one: the executor tries only
# those). docs/providers.md, "Error classes", is the one table of what each class does.
DEFAULT_FAILOVER = (*DEFAULT_RETRY_ON, "invalid_response", "context_window")


@dataclass(frozen=True)
class RouteSpec:
    name: str
    condition: ast.Expr | None
    condition_text: str
    use_kind: str  # "list" | "selector" | "all"
    use_names: tuple[str, ...]  # for "list"; config order of the listed providers
    selector: ast.Expr | None
    skips: tuple[tuple[ast.Expr, str], ...]
    avoids: tuple[tuple[ast.Expr, str], ...]
    order: tuple[tuple[ast.Expr, bool, str, bool], ...]  # (key, descending, text, unknown first)
    split: tuple[tuple[str, float], ...]
    split_by: ast.Expr | None
    tries: int
    backoff_s: tuple[float, ...]
    jitter: str
    retry_on: tuple[str, ...]
    retry_statuses: tuple[tuple[int, int], ...]
    retry_after_cap_s: float | None
    failover_on: tuple[str, ...] | None
    failover_statuses: tuple[tuple[int, int], ...]
    fallback: str | None
    timeout_s: float | None
    deadline_s: float | None
    max_attempts: int | None
    max_cost: float | None
    wait_s: float | None  # `when none available wait up to D`
    breaker: str | None
    # One call's time when neither the route nor the provider gives one: the pool's `timeout`.
    default_timeout_s: float = DEFAULT_TIMEOUT_SECONDS
    # The longest a provider's retry-after benches it (`cool down at most D`, else the default).
    cool_down_cap_s: float = DEFAULT_COOL_DOWN_CAP_S


@dataclass(frozen=True)
class BudgetSpec:
    name: str
    amount: float
    period: str
    key: ast.Expr | None
    action: str  # "deny" | "fallback"
    fallback: str | None
    per_provider: bool = False  # keyed by the provider; checked per candidate


def provider_budget_refusal(budget: BudgetSpec, provider: str, spent: float) -> str | None:
    """Why ``provider`` is refused by its own per-provider ``budget`` having ``spent`` so much
    this period; None while it is within."""
    if spent < budget.amount:
        return None
    return (
        f"budget {budget.name} for {provider} is spent: {format_money(spent)} of "
        f"{format_money(budget.amount)} per {budget.period}"
    )


@dataclass(frozen=True)
class PolicySpec:
    name: str
    providers: tuple[ProviderFacts, ...]
    routes: tuple[RouteSpec, ...]
    budgets: tuple[BudgetSpec, ...]  # checked per request (unkeyed or keyed by the request)
    defaults: PoolDefaults = field(default_factory=PoolDefaults)
    provider_budgets: tuple[BudgetSpec, ...] = ()  # `per provider`: checked per candidate

    def route(self, name: str) -> RouteSpec:
        for route in self.routes:
            if route.name == name:
                return route
        raise KeyError(name)

    @property
    def attributes(self) -> Mapping[str, Mapping[str, object]]:
        return {p.name: p.attributes for p in self.providers}

    def budget_exempt(self, route: str) -> frozenset[str]:
        """Budgets that do not apply to ``route``: those whose breach falls back to it."""
        return frozenset(b.name for b in self.budgets if b.fallback == route)


def _items(items: tuple[ast.ErrorItem, ...]) -> tuple[tuple[str, ...], tuple[tuple[int, int], ...]]:
    classes: list[str] = []
    statuses: list[tuple[int, int]] = []
    for item in items:
        if isinstance(item, ast.ErrorClass):
            classes.append(item.name)
        elif isinstance(item, ast.StatusCode):
            statuses.append((item.code, item.code))
        elif isinstance(item, ast.StatusClass):
            statuses.append((item.hundreds * 100, item.hundreds * 100 + 99))
        else:
            statuses.append((item.low, item.high))
    return tuple(classes), tuple(statuses)


def _limits(
    route: ast.RouteDecl, checked: CheckedPolicy
) -> tuple[float | None, int | None, float | None, float | None]:
    deadline: float | None = None
    attempts: int | None = None
    cost: float | None = None
    wait: float | None = None
    blocks = [s for s in route.body if isinstance(s, ast.LimitsDecl)]
    if checked.symbols.limits is not None:
        blocks.append(checked.symbols.limits)
    for block in blocks:  # the route's own settings first, then the policy's
        for s in block.settings:
            if isinstance(s, ast.Deadline) and deadline is None:
                deadline = s.duration.seconds()
            elif isinstance(s, ast.MaxAttempts) and attempts is None:
                attempts = int(s.count.value)
            elif isinstance(s, ast.MaxCost) and cost is None:
                cost = float(s.amount.value)
            elif isinstance(s, ast.WaitWhenNone) and wait is None:
                wait = s.duration.seconds()
    return deadline, attempts, cost, wait


def _flatten(
    expr: ast.GroupExpr,
    checked: CheckedPolicy,
    config_order: Sequence[str],
    seen: frozenset[str] = frozenset(),
) -> tuple[str, tuple[str, ...], ast.Expr | None]:
    """(kind, names, selector) of a provider set."""
    if isinstance(expr, ast.AllProviders):
        return "all", tuple(config_order), None
    if isinstance(expr, ast.Selector):
        return "selector", tuple(config_order), normalize(expr.condition)
    if isinstance(expr, ast.GroupRef):
        group = checked.symbols.groups.get(expr.name.value)
        if group is not None and expr.name.value not in seen:
            return _flatten(group.value, checked, config_order, seen | {expr.name.value})
        return "list", (expr.name.value,), None
    names: list[str] = []
    for item in expr.items:
        if not (isinstance(item, ast.Path) and len(item.parts) == 1):
            continue
        name = item.parts[0]
        group = checked.symbols.groups.get(name)
        if group is not None and name not in seen:
            kind, inner, selector = _flatten(group.value, checked, config_order, seen | {name})
            if kind == "selector" and selector is not None:
                from ..semantics.static_eval import NotStatic, evaluate

                facts = (
                    {p.name: p.attributes for p in checked.symbols.providers.values()}
                    if checked.symbols.providers
                    else {}
                )
                kept = []
                for n in inner:
                    try:
                        if evaluate(selector, facts.get(n, {})):
                            kept.append(n)
                    except NotStatic:
                        kept.append(n)
                inner = tuple(kept)
            names.extend(n for n in inner if n not in names)
        elif name not in names:
            names.append(name)
    return "list", tuple(names), None


def _conditions(
    route: ast.RouteDecl, kind: type[ast.Skip] | type[ast.Avoid]
) -> tuple[tuple[ast.Expr, str], ...]:
    return tuple(
        (normalize(s.condition), format_expr(s.condition))
        for s in route.body
        if isinstance(s, kind)
    )


def _order(order_by: ast.OrderBy | None) -> tuple[tuple[ast.Expr, bool, str, bool], ...]:
    if order_by is None:
        return ()
    return tuple(
        (normalize(k.expr), k.direction == "desc", format_expr(k.expr), unknown_first(k))
        for k in order_by.keys
    )


def build_spec(
    checked: CheckedPolicy,
    providers: Sequence[ProviderFacts],
    defaults: PoolDefaults | None = None,
) -> PolicySpec:
    """The static plan of every route; ``providers`` in config order. ``defaults``: the pool
    settings for routes without a retry block and providers without a timeout; None takes the
    ones the policy was checked against (so its bounds and its plans agree)."""
    pool = defaults if defaults is not None else checked.defaults
    order = [p.name for p in providers]
    routes = []
    for route in checked.policy.routes:
        use = next((s for s in route.body if isinstance(s, ast.Use)), None)
        split = next((s for s in route.body if isinstance(s, ast.Split)), None)
        if use is not None:
            kind, names, selector = _flatten(use.providers, checked, order)
        elif split is not None:
            kind, names, selector = "list", tuple(a.provider.value for a in split.arms), None
        else:
            kind, names, selector = "all", tuple(order), None
        block = retry_block(route, checked.symbols)
        settings = block.settings if block is not None else ()
        shape = retry_shape(block, pool)
        on = next((s for s in settings if isinstance(s, ast.RetryOn)), None)
        honor = next((s for s in settings if isinstance(s, ast.HonorRetryAfter)), None)
        retry_on, retry_statuses = _items(on.items) if on is not None else (DEFAULT_RETRY_ON, ())
        failover = next((s for s in route.body if isinstance(s, ast.Failover)), None)
        if failover is None:
            failover_on: tuple[str, ...] | None = DEFAULT_FAILOVER
            failover_statuses: tuple[tuple[int, int], ...] = ()
        elif failover.items is None:
            failover_on, failover_statuses = None, ()
        else:
            failover_on, failover_statuses = _items(failover.items)
        fallback = next((s.route.value for s in route.body if isinstance(s, ast.Fallback)), None)
        timeout = next(
            (s.duration.seconds() for s in route.body if isinstance(s, ast.Timeout)), None
        )
        breaker = next((s.name.value for s in route.body if isinstance(s, ast.BreakerRef)), None)
        if breaker is None and "default" in checked.symbols.breakers:
            breaker = "default"
        deadline, max_attempts, max_cost, wait = _limits(route, checked)
        order_by = next((s for s in route.body if isinstance(s, ast.OrderBy)), None)
        honor_cap = None
        cool_down_cap = DEFAULT_COOL_DOWN_CAP_S
        if honor is not None:
            honor_cap = honor.cap.seconds() if honor.cap is not None else float("inf")
            if honor.cool_down_cap is not None:
                cool_down_cap = honor.cool_down_cap.seconds()
        routes.append(
            RouteSpec(
                name=route.name.value,
                condition=None if route.condition is None else normalize(route.condition),
                condition_text="" if route.condition is None else format_expr(route.condition),
                use_kind=kind,
                use_names=names,
                selector=selector,
                skips=_conditions(route, ast.Skip),
                avoids=_conditions(route, ast.Avoid),
                order=_order(order_by),
                split=tuple((a.provider.value, float(a.weight.value)) for a in split.arms)
                if split
                else (),
                split_by=None if split is None or split.by is None else normalize(split.by),
                tries=shape.tries,
                backoff_s=shape.steps,
                jitter=shape.jitter,
                retry_on=retry_on,
                retry_statuses=retry_statuses,
                retry_after_cap_s=honor_cap,
                failover_on=failover_on,
                failover_statuses=failover_statuses,
                fallback=fallback,
                timeout_s=timeout,
                deadline_s=deadline,
                max_attempts=max_attempts,
                max_cost=max_cost,
                wait_s=wait,
                breaker=breaker,
                default_timeout_s=pool.timeout_s,
                cool_down_cap_s=cool_down_cap,
            )
        )  # fmt: skip
    budgets = tuple(
        BudgetSpec(
            name=d.name.value,
            amount=float(d.amount.value),
            period=d.period,
            key=None if d.key is None else normalize(d.key),
            action="fallback" if isinstance(d.breach, ast.BreachFallback) else "deny",
            fallback=d.breach.route.value if isinstance(d.breach, ast.BreachFallback) else None,
            per_provider=d.per_provider,
        )
        for d in checked.policy.decls
        if isinstance(d, ast.BudgetDecl)
    )
    return PolicySpec(
        checked.policy.name or "",
        tuple(providers),
        tuple(routes),
        tuple(b for b in budgets if not b.per_provider),
        pool,
        tuple(b for b in budgets if b.per_provider),
    )


def context_window(attributes: Mapping[str, object]) -> int | None:
    """The provider's configured context window in tokens (None: not configured)."""
    value = attributes.get("context_window")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def provider_timeout(attributes: Mapping[str, object], route: RouteSpec) -> float:
    """One call's time at a provider: the route's `timeout`, else the provider's own, else the
    pool's `timeout`."""
    if route.timeout_s is not None:
        return route.timeout_s
    value = attributes.get("timeout")
    return float(value) if isinstance(value, int | float) else route.default_timeout_s
