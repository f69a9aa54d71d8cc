"""Checked policy + providers -> decision graph: routes with generated matchers and planners.

Per route, two Python functions are generated and compiled once: ``when`` (request only) and
``plan`` (the candidate loop: gates, skip/avoid rules, order keys, split, the attempts). Each
comes in a fast variant and a traced one that records every value read. Routes whose condition
pins a requested model or tag are indexed, so a request tests only the routes it can match.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..decision import CandidateTrace, PlannedAttempt, RouteCheck, RoutePlan, SplitDraw
from ..money import format_money
from ..request import RoutingRequest
from ..semantics import CheckedPolicy, ProviderFacts
from ..semantics import types as t
from ..semantics.signals import Scope
from ..semantics.typecheck import ExprChecker
from ..syntax import ast
from .codegen import HELPERS, ExprCompiler, reads_only, reads_request, reads_untyped, windows_read
from .reference import _Env, draw, evaluate
from .spec import (
    BudgetSpec,
    PolicySpec,
    RouteSpec,
    build_spec,
    context_window,
    provider_budget_refusal,
    provider_timeout,
)

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
    wait_s: float | None
    source: str = field(repr=False, default="")
    # a route without a condition: its (constant) check, for traces
    always: RouteCheck = field(repr=False, default=RouteCheck("", "(always)", True))


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
    budgets: tuple[CompiledBudget, ...]  # checked per request
    exempt: dict[str, frozenset[str]]
    unindexed: tuple[int, ...]
    by_model: dict[str, tuple[int, ...]]
    by_tag: dict[str, tuple[int, ...]]
    spec: PolicySpec = field(repr=False)
    # `per provider`: checked per candidate, charged to the provider that served
    provider_budgets: tuple[CompiledBudget, ...] = ()

    @functools.cached_property
    def every_route(self) -> range:
        return range(len(self.routes))

    def candidate_routes(self, model: str | None, tags: Sequence[str]) -> Sequence[int]:
        """Indices of routes that may match, in policy order."""
        if not self.by_model and not self.by_tag:
            return self.every_route
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
                keys = ", ".join(
                    text + (" desc" if desc else "") + (" unknown first" if first else "")
                    for _e, desc, text, first in spec.order
                )
                lines.append(f"      order by {keys}")
            if spec.split:
                arms = ", ".join(f"{n} {w * 100:g}%" for n, w in spec.split)
                lines.append(f"      split {arms}")
            lines.append(
                f"      each provider: {spec.tries} tr{'y' if spec.tries == 1 else 'ies'}, "
                f"failover {_failover_words(spec)}"
            )
            if route.fallback:
                lines.append(f"      on exhausted -> route {route.fallback}")
        for budget in self.budgets:
            action = "deny" if budget.action == "deny" else f"fallback {budget.fallback}"
            lines.append(
                f"  budget {budget.name}: {format_money(budget.amount)} per {budget.period} "
                f"-> {action}"
            )
        for budget in self.provider_budgets:
            lines.append(
                f"  budget {budget.name}: {format_money(budget.amount)} per {budget.period} "
                "per provider -> the spent provider is refused"
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


def _planner_source(route: RouteSpec, traced: bool, name: str, budgets: bool) -> str:
    """The planner that reads every candidate afresh (any route, any snapshot); ``budgets``:
    the policy has budgets `per provider` (see :func:`_gate_lines`)."""
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
        emit("        " + _COST)
    if route.selector is not None:
        emit(f"        if not {plain.truth(route.selector, plain.expr(route.selector))}:")
        emit("            continue")
    if traced:
        emit("        R = []")
    body += _gate_lines(route, "        ", budgets)
    for condition, text in route.skips:
        emit(f"        elif {cond.truth(condition, cond.expr(condition))}:")
        emit(f"            reason = {'skip when ' + text!r}")
    emit("        if reason is not None:")
    emit("            X.append((name, reason))")
    if traced:
        emit("            T.append(CandidateTrace(ROUTE, name, excluded=reason, values=tuple(R)))")
    emit("            continue")
    emit(f"        keys = {_keys_code(route, plain, _numeric_order(route) and not traced)}")
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
    body += _sort_lines(route, _numeric_order(route) and not traced, "    ")
    emit("    plan = [n for _k, n in keep]")
    if route.avoids:
        emit("    avoid_names = [n for _k, n in avoid]")
    body += _tail_lines(route, traced)
    prelude = [f"    {line}" for line in cond.hoisted]
    return f"def {name}(r, snap, X, T, S):\n" + "\n".join(prelude + body) + "\n"


# The estimated cost of the request at a candidate (USD; None without prices).
_COST = (
    "c = None if ip is None and op is None else"
    " (0.0 + (r.input_tokens / 1000.0 * ip if ip is not None else 0.0))"
    " + (r.max_tokens / 1000.0 * op if op is not None else 0.0)"
)


def _gate_lines(route: RouteSpec, indent: str, budgets: bool) -> list[str]:
    """The per-request gates setting ``reason``: the capabilities (images, tools, context
    window, cost ceiling), then with ``budgets`` the candidate's own `per provider` budgets
    (spend is not under the provider's stamp: read per request). A planner may chain more
    ``elif`` tests after them."""
    lines = [
        "reason = None",
        "if images and vision is not True:",
        "    reason = 'cannot take images'",
        "elif tools_wanted and tools is not True:",
        "    reason = 'cannot take tools'",
        "elif cw is not None and needed > cw:",
        "    reason = f'context window {cw:g} < {needed} tokens'",
    ]
    if route.max_cost is not None:
        lines.append(f"elif c is not None and c > {route.max_cost!r}:")
        limit = format_money(route.max_cost)
        lines.append(f"    reason = f'estimated cost ${{c:.4f}} over max cost {limit}'")
    if budgets:
        lines.append("elif (spent := BUDGET_REFUSAL(snap, name)) is not None:")
        lines.append("    reason = spent")
    return [indent + line for line in lines]


def _row_exprs(route: RouteSpec) -> list[ast.Expr]:
    """What a candidate's row reads: the selector, the skip and avoid rules, the order keys."""
    exprs = [] if route.selector is None else [route.selector]
    exprs += [c for c, _ in route.skips] + [c for c, _ in route.avoids]
    return exprs + [k for k, *_ in route.order]


def _memoisable(route: RouteSpec) -> bool:
    """Whether a candidate's row depends on the provider alone (its facts and live state), not
    on the request: then rows are kept across decisions under the provider's stamp."""
    return not any(reads_request(e) for e in _row_exprs(route))


# A row's status (its first item): kept, avoided, excluded (with a reason), dropped (not
# selected by the route's `use providers where`; silently).
KEPT, AVOIDED, EXCLUDED, DROPPED = 0, 1, 2, 3


def _row_source(route: RouteSpec, traced: bool) -> str:
    """``row_of(v, a, sk, name)``: one candidate's request-independent verdict, as ``(status,
    text, item, trace)``: the status (KEPT ...), the skip or avoid rule's text, the item the
    planner lists (``(keys, name)`` to order, or ``(name, reason)`` for the exclusions) and,
    when ``traced``, the candidate's :class:`CandidateTrace`."""
    cond = ExprCompiler(traced=traced)
    plain = ExprCompiler(traced=False)
    body: list[str] = []
    emit = body.append
    missing = "not in the provider config"
    trace = f"CandidateTrace(ROUTE, name, excluded={missing!r})" if traced else "None"
    emit("    if a is None:")
    emit(f"        return ({EXCLUDED}, {missing!r}, (name, {missing!r}), {trace})")
    if route.selector is not None:
        emit(f"    if not {plain.truth(route.selector, plain.expr(route.selector))}:")
        emit(f"        return ({DROPPED}, None, None, None)")
    if traced:
        emit("    R = []")
    for i, (condition, text) in enumerate(route.skips):
        emit(f"    {'if' if i == 0 else 'elif'} {cond.truth(condition, cond.expr(condition))}:")
        reason = "skip when " + text
        trace = (
            f"CandidateTrace(ROUTE, name, excluded={reason!r}, values=tuple(R))"
            if traced
            else "None"
        )
        emit(f"        return ({EXCLUDED}, {reason!r}, (name, {reason!r}), {trace})")
    if traced:  # the trace shows the keys as read; the planner sorts on the flat ones
        emit(f"    keys = {_keys_code(route, plain, flat=False)}")
        n = len(route.order)
        flat = (
            _flat_key(route, [f"keys[{i}]" for i in range(n)], None)
            if _numeric_order(route)
            else "keys"
        )
        emit(f"    item = ({flat}, name)")
    else:
        emit(f"    item = ({_keys_code(route, plain, flat=_numeric_order(route))}, name)")
    emit("    avoided = None")
    for i, (condition, text) in enumerate(route.avoids):  # (none: avoided stays None)
        test = cond.truth(condition, cond.expr(condition))
        emit(f"    {'if' if i == 0 else 'elif'} {test}:")
        emit(f"        avoided = {'avoid when ' + text!r}")
    trace = (
        "CandidateTrace(ROUTE, name, avoided=avoided, values=tuple(R), order_keys=keys)"
        if traced
        else "None"
    )
    emit(f"    return ({KEPT} if avoided is None else {AVOIDED}, avoided, item, {trace})")
    head = f"def {'row_of_traced' if traced else 'row_of'}(v, a, sk, name):\n"
    return head + "\n".join(body) + "\n"


def _numeric_order(route: RouteSpec) -> bool:
    """Every order key is a number: candidates sort on a flat key (see :func:`_keys_code`) by
    a C getter rather than a Python key function."""
    return bool(route.order) and all(_numeric(k) for k, *_ in route.order)


def _keys_code(route: RouteSpec, plain: ExprCompiler, flat: bool) -> str:
    """The order keys as a tuple: as the trace shows them, or ``flat`` for sorting."""
    codes = [
        f"sk[{i}]" if _static_only(key) else plain.expr(key)
        for i, (key, *_) in enumerate(route.order)
    ]
    if not flat:
        return f"({', '.join(codes)}{',' if len(codes) == 1 else ''})"
    return _flat_key(route, [f"(_kv := {code})" for code in codes], "_kv")


def _flat_key(route: RouteSpec, values: list[str], again: str | None) -> str:
    """``(missing, value, missing, value, ..., position)``: ``missing`` is ``value is None``
    (unknown last) or ``value is not None`` (unknown first), ``desc`` negated, then the
    candidate's position, so the order is total, as a stable sort in policy order would make it,
    and a kept order can be checked by its neighbours alone (see :func:`_keep_order_lines`).
    ``again`` names what re-reads each value (a walrus target); without it the values are
    re-read as written."""
    parts = []
    for value, (_key, desc, _text, first) in zip(values, route.order, strict=True):
        parts.append(f"{value} is {'not ' if first else ''}None")
        same = again or value
        parts.append(f"0 if {same} is None else {'-' if desc else ''}{same}")
    parts.append(f"sk[{len(route.order)}]")
    return f"({', '.join(parts)},)"


def _sort_lines(route: RouteSpec, flat: bool, indent: str) -> list[str]:
    if flat:
        return [f"{indent}keep.sort(key=_first)", f"{indent}avoid.sort(key=_first)"]
    if not route.order:
        return []
    if all(_numeric(key) for key, *_ in route.order):
        parts = []
        for i, (_key, desc, _text, first) in enumerate(route.order):
            parts.append(f"k[0][{i}] is {'not ' if first else ''}None")
            parts.append(f"0 if k[0][{i}] is None else {'-' if desc else ''}k[0][{i}]")
        key = f"lambda k: ({', '.join(parts)})"
        return [f"{indent}keep.sort(key={key})", f"{indent}avoid.sort(key={key})"]
    return [f"{indent}keep = _multisort(keep, DESCS)", f"{indent}avoid = _multisort(avoid, DESCS)"]


def _tail_lines(route: RouteSpec, traced: bool) -> list[str]:
    """From the ordered names (``plan``, ``avoid_names``) to the route plan: the split, the
    avoided providers last, failover off."""
    lines: list[str] = []
    emit = lines.append
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
        emit("    plan += avoid_names")
    if route.failover_on is None:
        emit("    plan = plan[:1]")
    emit("    return PLAN_OF(plan)")
    return lines


def _memo_planner_source(route: RouteSpec, traced: bool, plain_ok: bool, budgets: bool) -> str:
    """The planner for a memoisable route. Each candidate's row is the last decision's while
    its stamp holds; the capability gates run per request. With the trace off, a request no
    gate can refuse anywhere (``plain``; never under a cost ceiling) takes the lean path, and
    while no stamp changed it gets the last such decision's whole plan (its order, with a
    split)."""
    name = "plan_traced" if traced else "plan"
    fresh = "fresh_traced" if traced else "fresh"
    last_name = "LAST_TRACED" if traced else "LAST"
    row = "row_of_traced" if traced else "row_of"
    whole = not route.split  # a split re-draws per request: only the order is kept
    plain_ok = plain_ok and not traced
    make = f"{row}(snap.provider(c[0]), c[1], c[8], c[0])"
    lines = [
        f"def {name}(r, snap, X, T, S):",
        "    stamps_of = getattr(snap, 'stamps', None)",
        "    if stamps_of is None:",
        f"        return {fresh}(r, snap, X, T, S)",
        "    stamps = stamps_of(NAMES, WINDOWS)",
        "    needed = r.input_tokens + r.max_tokens",
        "    images = r.images > 0",
        "    tools_wanted = r.tools > 0",
    ]
    emit = lines.append
    if plain_ok:
        emit(
            "    plain = (not images or ALL_VISION) and (not tools_wanted or ALL_TOOLS)"
            " and needed <= MIN_CW"
        )
    emit(f"    last = {last_name}[0]")
    emit("    if last is not None and last[0] == stamps:")
    emit("        rows = last[1]")
    if plain_ok:
        emit("        if plain and last[2] is not None:")
        emit("            if last[2]:")
        emit("                X.extend(last[2])")
        if whole:
            emit("            return last[3]")
        else:
            emit("            plan = list(last[3])")
            emit("            avoid_names = last[4]")
            emit(f"{_tail_source(route, traced, '            ')}")
    emit("    elif last is None:")
    emit(f"        rows = [{make} for c in CANDS]")
    keeps_order = plain_ok and whole and not route.avoids and _numeric_order(route)
    if keeps_order:
        lines += _keep_order_lines(make)
    else:
        emit("    else:")
        emit(f"        rows = [e if s is p else {make}")
        emit("                for s, p, e, c in zip(stamps, last[0], last[1], CANDS)]")
    if plain_ok:
        emit("    if plain:")
        emit(f"        xs = tuple([w[2] for w in rows if w[0] == {EXCLUDED}])")
        emit("        if xs:")
        emit("            X.extend(xs)")
        emit("        keep = [w[2] for w in rows if not w[0]]")  # KEPT is 0
        if route.avoids:
            emit(f"        avoid = [w[2] for w in rows if w[0] == {AVOIDED}]")
        else:
            emit("        avoid = []")
        lines += _sort_lines(route, _numeric_order(route), "        ")
        emit("        plan = [n for _k, n in keep]")
        emit("        avoid_names = [n for _k, n in avoid]")
        if whole:
            emit(f"{_tail_source(route, traced, '        ', keep_as='result = ')}")
            emit("        LAST[0] = (stamps, rows, xs, result, keep)")
            emit("        return result")
        else:
            emit("        LAST[0] = (stamps, rows, xs, tuple(plan), tuple(avoid_names))")
            emit(f"{_tail_source(route, traced, '        ')}")
    emit("    if last is None or last[1] is not rows:")
    emit(f"        {last_name}[0] = (stamps, rows, None, None, None)")
    body: list[str] = []
    add = body.append
    add("keep = []")
    add("avoid = []")
    add("for (name, a, att, ip, op, vision, tools, cw, sk), row in zip(CANDS, rows):")
    add("    status = row[0]")
    add(f"    if status == {DROPPED}:")
    add("        continue")
    add("    if a is None:")
    add("        X.append(row[2])")
    if traced:
        add("        T.append(row[3])")
    add("        continue")
    if route.max_cost is not None:
        add("    " + _COST)
    body += [line[4:] for line in _gate_lines(route, "        ", budgets)]
    add("    if reason is not None:")
    add("        X.append((name, reason))")
    if traced:
        add("        T.append(CandidateTrace(ROUTE, name, excluded=reason))")
    add("        continue")
    add(f"    if status == {EXCLUDED}:")
    add("        X.append(row[2])")
    if traced:
        add("        T.append(row[3])")
    add("        continue")
    if traced:
        add("    T.append(row[3])")
    if route.avoids:
        add("    (avoid if status else keep).append(row[2])")
    else:
        add("    keep.append(row[2])")
    lines += ["    " + line for line in body]
    lines += _sort_lines(route, _numeric_order(route), "    ")
    emit("    plan = [n for _k, n in keep]")
    emit("    avoid_names = [n for _k, n in avoid]")
    lines += _tail_lines(route, traced)
    return "\n".join(lines) + "\n"


def _keep_order_lines(make: str) -> list[str]:
    """A few providers changed since the last plain decision: re-make their rows, and if each
    was kept and still is, with its new sort key still between its neighbours' in the last
    order (keys are total: the position is their last item), that order and so the plan stand.
    Otherwise all rows are gathered for the full path."""
    return [
        "    else:",
        "        rows = None",
        "        if plain and last[2] is not None:",
        "            changed = [i for i, s, p in zip(POSITIONS, stamps, last[0]) if s is not p]",
        "            if len(changed) <= 2:",
        "                rows = list(last[1])",
        "                order = last[4]",
        "                for i in changed:",
        "                    c = CANDS[i]",
        f"                    new = rows[i] = {make}",
        "                    if order is None:",
        "                        continue",
        "                    old = last[1][i]",
        "                    if old[0] or new[0]:",  # KEPT is 0
        "                        order = None",
        "                        continue",
        "                    at = order.index(old[2])",
        "                    k = new[2][0]",
        "                    if (at and order[at - 1][0] > k) or (",
        "                        at + 1 < len(order) and k > order[at + 1][0]",
        "                    ):",
        "                        order = None",
        "                        continue",
        "                    if order is last[4]:",
        "                        order = list(order)",
        "                    order[at] = new[2]",
        "                if order is not None:",
        "                    if last[2]:",
        "                        X.extend(last[2])",
        "                    LAST[0] = (stamps, rows, last[2], last[3], order)",
        "                    return last[3]",
        "        if rows is None:",
        f"            rows = [e if s is p else {make}",
        "                    for s, p, e, c in zip(stamps, last[0], last[1], CANDS)]",
    ]


def _tail_source(route: RouteSpec, traced: bool, indent: str, keep_as: str = "") -> str:
    """:func:`_tail_lines` at ``indent``; with ``keep_as``, the plan is assigned, not returned."""
    tail = [indent + line[4:] for line in _tail_lines(route, traced)]
    if keep_as:
        tail[-1] = tail[-1].replace("return ", keep_as, 1)
    return "\n".join(tail)


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
    exprs += [k for k, *_ in route.order]
    return route.max_cost is not None or any(_mentions_cost(e) for e in exprs)


def _static_only(expr: ast.Expr) -> bool:
    """Its value per provider is fixed at compile time (``order by priority`` costs nothing per
    request)."""
    return reads_only(expr, Scope.STATIC)


def _static_keys(route: RouteSpec, attrs: Mapping[str, object], index: int) -> tuple[Any, ...]:
    """Each order key's value for this provider where it is static (by the reference's own
    evaluation, so both agree), else None (computed per request); then the candidate's
    position, the last key of a flat sort key (see :func:`_keys_code`)."""
    empty = RoutingRequest()
    return (
        *(
            evaluate(key, _Env(empty, attrs)) if _static_only(key) else None
            for key, *_ in route.order
        ),
        index,
    )


def _multisort(
    items: list[tuple[tuple[Any, ...], str]], descs: tuple[tuple[bool, bool], ...]
) -> list[tuple[tuple[Any, ...], str]]:
    """The reference's sort for keys that are not all numbers; ``descs``: per key,
    (descending, unknown first)."""
    result = list(items)
    for index in reversed(range(len(descs))):
        descending, missing_first = descs[index]
        present = [it for it in result if it[0][index] is not None]
        missing = [it for it in result if it[0][index] is None]
        present.sort(key=lambda it: it[0][index], reverse=descending)
        result = missing + present if missing_first else present + missing
    return result


def _plan_maker(
    route: RouteSpec, attempts: Mapping[str, PlannedAttempt]
) -> Callable[[list[str]], RoutePlan]:
    """The route's plan for an order of providers; orders repeat from one decision to the next,
    so the (immutable) plans are kept, a bounded number of them."""
    made: dict[tuple[str, ...], RoutePlan] = {}

    def plan_of(names: list[str]) -> RoutePlan:
        key = tuple(names)
        found = made.get(key)
        if found is None:
            if len(made) >= 256:
                made.clear()
            found = made[key] = RoutePlan.make(
                route.name,
                tuple([attempts[n] for n in key]),
                route.failover_on,
                route.failover_statuses,
            )
        return found

    return plan_of


def _compile_route(spec: PolicySpec, route: RouteSpec) -> CompiledRoute:
    attrs = spec.attributes
    cands: list[tuple[Any, ...]] = []
    attempts: dict[str, PlannedAttempt] = {}
    for index, name in enumerate(route.use_names):
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
            cool_down_cap_s=route.cool_down_cap_s,
            context_window=context_window(a),
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
            _static_keys(route, a, index),
        ))  # fmt: skip
    namespace: dict[str, Any] = dict(HELPERS)
    namespace.update(
        PLAN_OF=_plan_maker(route, attempts),
        CANDS=tuple(cands),
        ATT=attempts,
        ROUTE=route.name,
        ARMS=route.split,
        DESCS=tuple((desc, first) for _k, desc, _t, first in route.order),
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
    budgets = bool(spec.provider_budgets)
    namespace["BUDGET_REFUSAL"] = _budget_refusal(spec.provider_budgets)
    if _memoisable(route):
        plain_ok = route.max_cost is None and not budgets  # a spent budget refuses per request
        vision = [c[5] for c in cands if c[1] is not None]
        tools = [c[6] for c in cands if c[1] is not None]
        windows = sorted(set().union(*(windows_read(e) for e in _row_exprs(route))))
        namespace.update(
            NAMES=tuple(c[0] for c in cands),
            WINDOWS=tuple(windows),
            MIN_CW=min((c[7] for c in cands if c[1] is not None and c[7] is not None),
                       default=float("inf")),
            ALL_VISION=all(v is True for v in vision),
            ALL_TOOLS=all(t is True for t in tools),
            LAST=[None],
            LAST_TRACED=[None],
            POSITIONS=range(len(cands)),
        )  # fmt: skip
        sources = [
            _planner_source(route, traced=False, name="fresh", budgets=budgets),
            _planner_source(route, traced=True, name="fresh_traced", budgets=budgets),
            _row_source(route, traced=False),
            _row_source(route, traced=True),
            _memo_planner_source(route, traced=False, plain_ok=plain_ok, budgets=budgets),
            _memo_planner_source(route, traced=True, plain_ok=plain_ok, budgets=budgets),
        ]
    else:
        sources = [
            _planner_source(route, traced=False, name="plan", budgets=budgets),
            _planner_source(route, traced=True, name="plan_traced", budgets=budgets),
        ]
    for source in sources:
        label = source[4 : source.index("(")]
        exec(compile(source, f"<route {route.name} {label}>", "exec"), namespace)
    fast_src = "".join(sources[::2])
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
        wait_s=route.wait_s,
        source=when_src + fast_src,
        always=RouteCheck(route.name, "(always)", True),
    )


def _budget_refusal(
    budgets: tuple[BudgetSpec, ...],
) -> Callable[[Any, str], str | None]:
    """``(snapshot, provider) -> reason``: the first of its `per provider` budgets that is
    spent, as the reference words it; None while every one is within."""

    def refusal(snap: Any, name: str) -> str | None:
        for budget in budgets:
            spent = snap.budget_spent(budget.name, name, budget.period)
            if spent >= budget.amount:
                return provider_budget_refusal(budget, name, spent)
        return None

    return refusal


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
        provider_budgets=tuple(_compile_budget(b) for b in spec.provider_budgets),
    )


def _status_words(low: int, high: int) -> str:
    """A status range as a policy writes it: ``429``, ``5xx`` or ``500..504``."""
    if low == high:
        return str(low)
    if low % 100 == 0 and high == low + 99:
        return f"{low // 100}xx"
    return f"{low}..{high}"


def _failover_words(spec: RouteSpec) -> str:
    """What a route fails over on, classes then statuses, for `check --graph`."""
    if spec.failover_on is None:
        return "off"
    items = [*spec.failover_on, *(_status_words(lo, hi) for lo, hi in spec.failover_statuses)]
    return ", ".join(items)
