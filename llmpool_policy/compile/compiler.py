"""Checked policy + providers -> decision graph: routes with generated matchers and planners.

Per route, two Python functions are generated and compiled once: ``when`` (request only) and
``plan`` (the candidate loop: gates, skip/avoid rules, order keys, split, the attempts). Each
comes in a fast variant and a traced one that records every value read. Routes whose condition
pins a requested model or tag are indexed, so a request tests only the routes it can match.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..decision import CandidateTrace, PlannedAttempt, RoutePlan, SplitDraw
from ..request import RoutingRequest
from ..semantics import CheckedPolicy, ProviderFacts
from ..semantics import types as t
from ..semantics.signals import Scope
from ..semantics.typecheck import ExprChecker
from ..syntax import ast
from .codegen import HELPERS, ExprCompiler, reads_only, reads_untyped
from .reference import _Env, draw, evaluate
from .spec import BudgetSpec, PolicySpec, RouteSpec, build_spec, provider_timeout

__all__ = ["CompiledBudget", "CompiledPolicy", "CompiledRoute", "compile_policy"]

_NUMERIC = {
    t.Kind.NUMBER,
    t.Kind.DURATION,
    t.Kind.MONEY,
    t.Kind.PERCENT,
    t.Kind.TOKENS,
    t.Kind.BOOL,
}
_ALL = frozenset({Scope.REQUEST, Scope.STATIC, Scope.LIVE})

Planner = Callable[
    [Any, Any, list[tuple[str, str]], "list[CandidateTrace] | None", "list[SplitDraw] | None"],
    RoutePlan,
]


@dataclass(frozen=True)
class CompiledRoute:
    name: str
    condition_text: str
    when: Callable[[Any, Any], bool] | None  # (request, record-or-None) -> matched
    plan: Planner
    plan_traced: Planner
    fallback: str | None
    deadline_s: float | None
    max_attempts: int | None
    max_cost: float | None
    source: str = field(repr=False, default="")


@dataclass(frozen=True)
class CompiledBudget:
    name: str
    amount: float
    period: str
    key: Callable[[Any], Any] | None
    action: str
    fallback: str | None


@dataclass(frozen=True)
class CompiledPolicy:
    """The decision graph: plain data and generated closures, printable with ``describe()``."""

    name: str
    routes: tuple[CompiledRoute, ...]
    by_name: dict[str, CompiledRoute]
    budgets: tuple[CompiledBudget, ...]
    exempt: dict[str, frozenset[str]]
    unindexed: tuple[int, ...]
    by_model: dict[str, tuple[int, ...]]
    by_tag: dict[str, tuple[int, ...]]
    spec: PolicySpec = field(repr=False)

    def candidate_routes(self, model: str | None, tags: Sequence[str]) -> Sequence[int]:
        """Indices of routes that may match, in policy order."""
        if not self.by_model and not self.by_tag:
            return range(len(self.routes))
        hits = set(self.unindexed)
        if model is not None:
            hits.update(self.by_model.get(model, ()))
        for tag in tags:
            hits.update(self.by_tag.get(tag, ()))
        return sorted(hits)

    def describe(self) -> str:
        """The graph as text, for `check --graph`."""
        lines = [f"decision graph of policy {self.name!r}:"]
        if self.by_model or self.by_tag:
            lines.append(
                f"  index: {len(self.by_model)} model key(s), {len(self.by_tag)} tag key(s), "
                f"{len(self.unindexed)} route(s) always tested"
            )
        for i, route in enumerate(self.routes):
            spec = self.spec.routes[i]
            when = route.condition_text or "(always)"
            lines.append(f"  [{i}] route {route.name} when {when}")
            kind = spec.use_kind if spec.selector is None else "selector"
            lines.append(f"      candidates ({kind}): {', '.join(spec.use_names) or '(none)'}")
            for _c, text in spec.skips:
                lines.append(f"      skip when {text}")
            for _c, text in spec.avoids:
                lines.append(f"      avoid when {text}")
            if spec.order:
                keys = ", ".join(text + (" desc" if desc else "") for _e, desc, text in spec.order)
                lines.append(f"      order by {keys}")
            if spec.split:
                arms = ", ".join(f"{n} {w * 100:g}%" for n, w in spec.split)
                lines.append(f"      split {arms}")
            lines.append(
                f"      each provider: {spec.tries} tr{'y' if spec.tries == 1 else 'ies'}, "
                f"failover {'off' if spec.failover_on is None else ', '.join(spec.failover_on)}"
            )
            if route.fallback:
                lines.append(f"      on exhausted -> route {route.fallback}")
        for budget in self.budgets:
            action = "deny" if budget.action == "deny" else f"fallback {budget.fallback}"
            lines.append(
                f"  budget {budget.name}: ${budget.amount:g} per {budget.period} -> {action}"
            )
        return "\n".join(lines)


def _index_keys(cond: ast.Expr | None) -> list[tuple[str, str]] | None:
    """The (kind, value) keys a route's condition requires one of, or None (not indexable)."""
    if cond is None:
        return None
    if isinstance(cond, ast.Binary):
        if cond.op == "and":
            return _index_keys(cond.left) or _index_keys(cond.right)
        if cond.op == "or":
            left, right = _index_keys(cond.left), _index_keys(cond.right)
            return None if left is None or right is None else left + right
        if (
            cond.op == "=="
            and cond.left == ast.Path(("request", "model"))
            and isinstance(cond.right, ast.Literal)
            and cond.right.kind is ast.LiteralKind.STRING
        ):
            return [("model", str(cond.right.value))]
        if (
            cond.op == "in"
            and cond.right == ast.Path(("request", "tags"))
            and isinstance(cond.left, ast.Literal)
            and cond.left.kind is ast.LiteralKind.STRING
        ):
            return [("tag", str(cond.left.value))]
    return None


def _numeric(expr: ast.Expr) -> bool:
    """Whether ``expr`` is surely a number (or missing), so a sort may negate it for `desc`."""
    kind = ExprChecker("<compile>", lambda _d: None).type_of(expr, _ALL).kind
    return kind in _NUMERIC and not reads_untyped(expr)


def _compile_when(route: RouteSpec) -> tuple[Callable[[Any, Any], bool] | None, str]:
    if route.condition is None:
        return None, ""
    fast_compiler = ExprCompiler(traced=False)
    traced_compiler = ExprCompiler(traced=True)
    fast = fast_compiler.truth(route.condition, fast_compiler.expr(route.condition))
    traced = traced_compiler.truth(route.condition, traced_compiler.expr(route.condition))
    source = f"def when(r, R):\n    if R is None:\n        return {fast}\n    return {traced}\n"
    namespace: dict[str, Any] = dict(HELPERS)
    exec(compile(source, f"<route {route.name} when>", "exec"), namespace)
    return namespace["when"], source


def _planner_source(route: RouteSpec, traced: bool) -> tuple[str, list[str]]:
    cond = ExprCompiler(traced=traced, hoist=True)
    plain = ExprCompiler(traced=False, hoist=True, hoisted=cond.hoisted)  # one q0, q1, ... series
    body: list[str] = []
    emit = body.append
    emit("    keep = []")
    emit("    avoid = []")
    emit("    needed = r.input_tokens + r.max_tokens")
    emit("    images = r.images > 0")
    emit("    tools_wanted = r.tools > 0")
    emit("    for name, a, att, ip, op, vision, tools, cw, sk in CANDS:")
    emit("        if a is None:")
    emit("            X.append((name, 'not in the provider config'))")
    if traced:
        emit("            T.append(CandidateTrace(ROUTE, name, excluded=X[-1][1]))")
    emit("            continue")
    emit("        v = snap.provider(name)")
    if traced or _uses_cost(route):
        emit(
            "        c = None if ip is None and op is None else"
            " (0.0 + (r.input_tokens / 1000.0 * ip if ip is not None else 0.0))"
            " + (r.max_tokens / 1000.0 * op if op is not None else 0.0)"
        )
    if route.selector is not None:
        emit(f"        if not {plain.truth(route.selector, plain.expr(route.selector))}:")
        emit("            continue")
    if traced:
        emit("        R = []")
    emit("        reason = None")
    emit("        if images and vision is not True:")
    emit("            reason = 'cannot take images'")
    emit("        elif tools_wanted and tools is not True:")
    emit("            reason = 'cannot take tools'")
    emit("        elif cw is not None and needed > cw:")
    emit("            reason = f'context window {cw:g} < {needed} tokens'")
    if route.max_cost is not None:
        emit(f"        elif c is not None and c > {route.max_cost!r}:")
        emit(f"            reason = f'estimated cost ${{c:.4f}} over max cost ${route.max_cost:g}'")
    for condition, text in route.skips:
        emit(f"        elif {cond.truth(condition, cond.expr(condition))}:")
        emit(f"            reason = {'skip when ' + text!r}")
    emit("        if reason is not None:")
    emit("            X.append((name, reason))")
    if traced:
        emit("            T.append(CandidateTrace(ROUTE, name, excluded=reason, values=tuple(R)))")
    emit("            continue")
    fast_numeric = (
        not traced and bool(route.order) and all(_numeric(key) for key, _d, _t in route.order)
    )
    key_codes = [
        f"sk[{i}]" if _static_only(key) else plain.expr(key)
        for i, (key, _d, _t) in enumerate(route.order)
    ]
    if fast_numeric:
        # The sort key is built right here (missing last, desc negated), sorted by a C getter.
        for i, code in enumerate(key_codes):
            emit(f"        k{i} = {code}")
        parts = []
        for i, (_key, desc, _text) in enumerate(route.order):
            parts.append(f"k{i} is None")
            parts.append(f"0 if k{i} is None else {'-' if desc else ''}k{i}")
        emit(f"        keys = ({', '.join(parts)},)")
    else:
        joined = ", ".join(key_codes)
        emit(f"        keys = ({joined}{',' if len(route.order) == 1 else ''})")
    if route.avoids:
        emit("        avoided = None")
        for i, (condition, text) in enumerate(route.avoids):
            test = cond.truth(condition, cond.expr(condition))
            emit(f"        {'if' if i == 0 else 'elif'} {test}:")
            emit(f"            avoided = {'avoid when ' + text!r}")
        emit("        (avoid if avoided is not None else keep).append((keys, name))")
        if traced:
            emit(
                "        T.append(CandidateTrace(ROUTE, name, avoided=avoided, values=tuple(R),"
                " order_keys=keys))"
            )
    else:
        emit("        keep.append((keys, name))")
        if traced:
            emit("        T.append(CandidateTrace(ROUTE, name, values=tuple(R), order_keys=keys))")
    if fast_numeric:
        emit("    keep.sort(key=_first)")
        emit("    avoid.sort(key=_first)")
    elif route.order:
        if all(_numeric(key) for key, _d, _t in route.order):
            parts = []
            for i, (_key, desc, _text) in enumerate(route.order):
                parts.append(f"k[0][{i}] is None")
                parts.append(f"0 if k[0][{i}] is None else {'-' if desc else ''}k[0][{i}]")
            emit(f"    keep.sort(key=lambda k: ({', '.join(parts)}))")
            emit(f"    avoid.sort(key=lambda k: ({', '.join(parts)}))")
        else:
            emit("    keep = _multisort(keep, DESCS)")
            emit("    avoid = _multisort(avoid, DESCS)")
    emit("    plan = [n for _k, n in keep]")
    if route.split:
        if route.split_by is not None:
            emit(f"    value = {ExprCompiler(traced=False).expr(route.split_by)}")
            emit("    key = str(SEED(r)) if value is None else str(value)")
        else:
            emit("    key = str(SEED(r))")
        emit("    u = _draw(ROUTE, key)")
        emit("    arm = ARMS[-1][0]")
        emit("    acc = 0.0")
        emit("    for arm_name, weight in ARMS:")
        emit("        acc += weight")
        emit("        if u < acc:")
        emit("            arm = arm_name")
        emit("            break")
        if traced:
            emit("    S.append(SplitDraw(ROUTE, key, u, arm))")
        emit("    if arm in plan:")
        emit("        plan.remove(arm)")
        emit("        plan.insert(0, arm)")
    if route.avoids:
        emit("    plan += [n for _k, n in avoid]")
    if route.failover_on is None:
        emit("    plan = plan[:1]")
    emit(
        "    return RoutePlan.make(ROUTE, tuple([ATT[n] for n in plan]), FAILOVER_ON,"
        " FAILOVER_STATUSES)"
    )
    prelude = [f"    {line}" for line in cond.hoisted]
    name = "plan_traced" if traced else "plan"
    source = f"def {name}(r, snap, X, T, S):\n" + "\n".join(prelude + body) + "\n"
    return source, cond.hoisted


def _mentions_cost(expr: ast.Expr | None) -> bool:
    if expr is None:
        return False
    if isinstance(expr, ast.Path):
        return expr.dotted in ("cost", "estimated_cost", "provider.cost", "provider.estimated_cost")
    if isinstance(expr, ast.Call | ast.Literal):
        return False
    if isinstance(expr, ast.ListExpr):
        return any(_mentions_cost(i) for i in expr.items)
    if isinstance(expr, ast.Unary):
        return _mentions_cost(expr.operand)
    return _mentions_cost(expr.left) or _mentions_cost(expr.right)


def _uses_cost(route: RouteSpec) -> bool:
    """Whether the planner needs the estimated cost (computing it costs a little per provider)."""
    exprs = [route.selector, *(c for c, _ in route.skips), *(c for c, _ in route.avoids)]
    exprs += [k for k, _d, _t in route.order]
    return route.max_cost is not None or any(_mentions_cost(e) for e in exprs)


def _static_only(expr: ast.Expr) -> bool:
    """Its value per provider is fixed at compile time (``order by priority`` costs nothing per
    request)."""
    return reads_only(expr, Scope.STATIC)


def _static_keys(route: RouteSpec, attrs: Mapping[str, object]) -> tuple[Any, ...]:
    """Each order key's value for this provider where it is static (by the reference's own
    evaluation, so both agree), else None (computed per request)."""
    empty = RoutingRequest()
    return tuple(
        evaluate(key, _Env(empty, attrs)) if _static_only(key) else None
        for key, _d, _t in route.order
    )


def _multisort(
    items: list[tuple[tuple[Any, ...], str]], descs: tuple[bool, ...]
) -> list[tuple[tuple[Any, ...], str]]:
    result = list(items)
    for index in reversed(range(len(descs))):
        present = [it for it in result if it[0][index] is not None]
        missing = [it for it in result if it[0][index] is None]
        present.sort(key=lambda it: it[0][index], reverse=descs[index])
        result = present + missing
    return result


def _compile_route(spec: PolicySpec, route: RouteSpec) -> CompiledRoute:
    attrs = spec.attributes
    cands: list[tuple[Any, ...]] = []
    attempts: dict[str, PlannedAttempt] = {}
    for name in route.use_names:
        a = attrs.get(name)
        if a is None:
            cands.append((name, None, None, None, None, None, None, None, ()))
            continue
        attempt = PlannedAttempt(
            provider=name,
            tries=route.tries,
            timeout_s=provider_timeout(a, route),
            backoff_s=route.backoff_s,
            jitter=route.jitter,
            retry_on=route.retry_on,
            retry_statuses=route.retry_statuses,
            retry_after_cap_s=route.retry_after_cap_s,
        )
        attempts[name] = attempt
        ip = a.get("input_price")
        op = a.get("output_price")
        cw = a.get("context_window")
        cands.append((
            name, a, attempt,
            float(ip) if isinstance(ip, int | float) else None,
            float(op) if isinstance(op, int | float) else None,
            a.get("supports.vision"), a.get("supports.tools"),
            cw if isinstance(cw, int | float) else None,
            _static_keys(route, a),
        ))  # fmt: skip
    namespace: dict[str, Any] = dict(HELPERS)
    namespace.update(
        CANDS=tuple(cands),
        ATT=attempts,
        ROUTE=route.name,
        ARMS=route.split,
        DESCS=tuple(desc for _k, desc, _t in route.order),
        FAILOVER_ON=route.failover_on,
        FAILOVER_STATUSES=route.failover_statuses,
        RoutePlan=RoutePlan,
        CandidateTrace=CandidateTrace,
        SplitDraw=SplitDraw,
        SEED=lambda r: r.effective_seed,
        _draw=draw,
        _multisort=_multisort,
        _first=operator.itemgetter(0),
    )
    fast_src, _ = _planner_source(route, traced=False)
    traced_src, _ = _planner_source(route, traced=True)
    exec(compile(fast_src, f"<route {route.name} plan>", "exec"), namespace)
    exec(compile(traced_src, f"<route {route.name} plan, traced>", "exec"), namespace)
    when, when_src = _compile_when(route)
    return CompiledRoute(
        name=route.name,
        condition_text=route.condition_text,
        when=when,
        plan=namespace["plan"],
        plan_traced=namespace["plan_traced"],
        fallback=route.fallback,
        deadline_s=route.deadline_s,
        max_attempts=route.max_attempts,
        max_cost=route.max_cost,
        source=when_src + fast_src,
    )


def _compile_budget(budget: BudgetSpec) -> CompiledBudget:
    key = None
    if budget.key is not None:
        namespace: dict[str, Any] = dict(HELPERS)
        src = f"def key(r):\n    return {ExprCompiler(traced=False).expr(budget.key)}\n"
        exec(compile(src, f"<budget {budget.name} key>", "exec"), namespace)
        key = namespace["key"]
    return CompiledBudget(budget.name, budget.amount, budget.period, key, budget.action,
                          budget.fallback)  # fmt: skip


def compile_policy(checked: CheckedPolicy, providers: Sequence[ProviderFacts]) -> CompiledPolicy:
    """Compile a checked, error-free policy against the providers of a config (config order)."""
    if not checked.ok:
        from ..errors import PolicyError

        raise PolicyError(checked.errors)
    spec = build_spec(checked, providers)
    routes = tuple(_compile_route(spec, r) for r in spec.routes)
    by_model: dict[str, list[int]] = {}
    by_tag: dict[str, list[int]] = {}
    unindexed: list[int] = []
    for i, route in enumerate(spec.routes):
        keys = _index_keys(route.condition)
        if keys is None:
            unindexed.append(i)
            continue
        for kind, value in keys:
            (by_model if kind == "model" else by_tag).setdefault(value, []).append(i)
    return CompiledPolicy(
        name=spec.name,
        routes=routes,
        by_name={r.name: r for r in routes},
        budgets=tuple(_compile_budget(b) for b in spec.budgets),
        exempt={r.name: spec.budget_exempt(r.name) for r in spec.routes},
        unindexed=tuple(unindexed),
        by_model={k: tuple(v) for k, v in by_model.items()},
        by_tag={k: tuple(v) for k, v in by_tag.items()},
        spec=spec,
    )
