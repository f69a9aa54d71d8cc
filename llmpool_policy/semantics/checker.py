"""The checker: small rules, each registered with the codes it may emit, yielding diagnostics.

In the manner of jsonschema's keyword validators: every rule is a generator over one concern;
``check`` runs them all and returns every finding at once, sorted by position.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from .._gc import paused_gc
from ..diagnostics import Diagnostic, Severity, Span, sort_diagnostics
from ..suggest import closest, did_you_mean
from ..syntax import ast
from ..syntax.formatter import format_expr
from .bounds import PolicyBounds, compute_bounds
from .defaults import PoolDefaults
from .env import ProviderFacts, Symbols, build_symbols
from .ordering import constant_order_keys, split_overrides_order
from .overrides import config_overrides
from .pragmas import apply_allows
from .resolve import resolve_group
from .signals import CLIENT_ERROR_CLASSES, ERROR_CLASSES, Scope
from .typecheck import ExprChecker
from .unknowns import measured_reads

__all__ = ["BOUND_NAMES", "RULES", "CheckedPolicy", "check"]

Rule = Callable[["Context"], Iterator[Diagnostic]]
RULES: list[tuple[tuple[str, ...], Rule]] = []

ALL_SCOPES = frozenset({Scope.REQUEST, Scope.STATIC, Scope.LIVE})
BOUND_NAMES = ("max_calls", "max_time", "max_hops")
_CLIENT_STATUSES = frozenset({400, 401, 403, 404, 422})


def rule(*codes: str) -> Callable[[Rule], Rule]:
    def register(fn: Rule) -> Rule:
        RULES.append((codes, fn))
        return fn

    return register


@dataclass
class Context:
    policy: ast.Policy
    symbols: Symbols
    path: str
    defaults: PoolDefaults = field(default_factory=PoolDefaults)

    def error(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Diagnostic:
        return Diagnostic(code, message, span, self.path, Severity.ERROR, help, notes)

    def warning(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Diagnostic:
        return Diagnostic(code, message, span, self.path, Severity.WARNING, help, notes)

    def note(
        self,
        code: str,
        message: str,
        span: Span | None,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> Diagnostic:
        return Diagnostic(code, message, span, self.path, Severity.NOTE, help, notes)

    @property
    def bounds(self) -> PolicyBounds:
        if self._bounds is None:
            self._bounds = compute_bounds(self.symbols, self.defaults)
        return self._bounds

    _bounds: PolicyBounds | None = field(default=None)


@dataclass(frozen=True)
class CheckedPolicy:
    """A policy with its name tables, bounds and every finding; ``defaults`` are the pool
    settings it was checked against (the compiler plans with the same)."""

    policy: ast.Policy
    symbols: Symbols
    bounds: PolicyBounds
    diagnostics: tuple[Diagnostic, ...]
    defaults: PoolDefaults = field(default_factory=PoolDefaults)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.is_error)

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.WARNING)

    @property
    def notes(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity is Severity.NOTE)


def check(
    policy: ast.Policy,
    providers: Sequence[ProviderFacts] | None = None,
    defaults: PoolDefaults | None = None,
) -> CheckedPolicy:
    """Check a parsed policy, optionally against the providers of a config and its pool
    settings (``defaults``; None: the seed's, see :class:`PoolDefaults`)."""
    pool = defaults if defaults is not None else PoolDefaults()
    with paused_gc():  # like the parse: many small acyclic objects (see _gc.py)
        symbols = build_symbols(policy, providers)
        ctx = Context(policy, symbols, policy.path, pool)
        found: list[Diagnostic] = []
        for _codes, fn in RULES:
            found.extend(fn(ctx))
        if policy.skipped:
            found = [d for d in found if not _caused_by_skipped(d, policy.skipped)]
        found = apply_allows(policy, found)
        return CheckedPolicy(policy, symbols, ctx.bounds, tuple(sort_diagnostics(found)), pool)


# What a statement left out after a syntax error may have declared, by the unknown-name code.
_DECLARED_BY = {
    "E101": ("group",),  # a list item naming a group that failed to parse
    "E102": ("group",),
    "E103": ("retry",),
    "E104": ("breaker",),
    "E105": ("route",),
}
_QUOTED = re.compile(r"'([^']*)'")


def _caused_by_skipped(d: Diagnostic, skipped: Sequence[ast.Skipped]) -> bool:
    """Whether ``d`` may only be the echo of statements a syntax error left out: a name one of
    them declares, a declaration only they use, the catch-all or header they held, or bounds
    (E404, W106) worked out without them. Those are dropped; the syntax error stands for them."""
    name_match = _QUOTED.search(d.message)
    name = name_match.group(1) if name_match else None
    if d.code in _DECLARED_BY:
        kinds = _DECLARED_BY[d.code]
        return any(s.name == name and s.keyword in kinds for s in skipped)
    if d.code == "W101":
        return any(name in s.words for s in skipped)
    if d.code == "E402":
        return any(s.keyword == "route" for s in skipped)
    if d.code == "W103":
        return any(s.keyword == "policy" for s in skipped)
    return d.code in ("E404", "W106")


# ---- helpers ---------------------------------------------------------------------------------


def _route_stmts(ctx: Context) -> Iterator[tuple[ast.RouteDecl, ast.RouteStmt]]:
    for route in ctx.policy.routes:
        for stmt in route.body:
            yield route, stmt


def _retry_bodies(ctx: Context) -> Iterator[ast.RetryBody]:
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.RetryDecl):
            yield decl.body
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.RetryInline):
            yield stmt.body


def _limits_blocks(ctx: Context) -> Iterator[ast.LimitsDecl]:
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.LimitsDecl):
            yield decl
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.LimitsDecl):
            yield stmt


def _asserts(ctx: Context) -> Iterator[tuple[ast.RouteDecl | None, ast.Assert]]:
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.Assert):
            yield None, decl
    for route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Assert):
            yield route, stmt


def _is_catch_all(route: ast.RouteDecl) -> bool:
    cond = route.condition
    return cond is None or (
        isinstance(cond, ast.Literal) and cond.kind is ast.LiteralKind.BOOL and cond.value is True
    )


def _group_exprs(ctx: Context) -> Iterator[tuple[ast.GroupExpr, bool]]:
    """Every provider-set expression, with whether it stands in a group declaration."""
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.GroupDecl):
            yield decl.value, True
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Use):
            yield stmt.providers, False


def _provider_names(ctx: Context) -> list[str]:
    return sorted(ctx.symbols.providers or {})


# ---- names -------------------------------------------------------------------------------------


# Words that `use` reads before any group: a group so named could never be used by name.
_RESERVED_GROUP_NAMES = {
    "all": "`use all` always means every provider",
    "providers": "`use providers where ...` always selects by a condition",
}


@rule("E113")
def reserved_names(ctx: Context) -> Iterator[Diagnostic]:
    for name, group in ctx.symbols.groups.items():
        why = _RESERVED_GROUP_NAMES.get(name)
        if why is not None:
            yield ctx.error(
                "E113",
                f"a group cannot be named '{name}': {why}",
                group.name.span,
                help="rename the group: any name but 'all' and 'providers'",
            )


@rule("E110", "E112")
def duplicate_names(ctx: Context) -> Iterator[Diagnostic]:
    for kind, first, again in ctx.symbols.duplicates:
        yield ctx.error(
            "E110",
            f"{kind} '{again.value}' is declared twice",
            again.span,
            help=f"rename one; the first is at line {first.span.line}",
        )
    if ctx.symbols.providers is not None:
        for name, group in ctx.symbols.groups.items():
            if name in ctx.symbols.providers:
                yield ctx.error(
                    "E112",
                    f"'{name}' names both a provider in the config and a group",
                    group.name.span,
                    help="rename the group so `use` and lists mean one thing",
                )


@rule("E101", "E102", "E205")
def provider_references(ctx: Context) -> Iterator[Diagnostic]:
    providers = ctx.symbols.providers
    groups = ctx.symbols.groups
    for expr, _in_decl in _group_exprs(ctx):
        if isinstance(expr, ast.GroupRef):
            name = expr.name.value
            if name in groups or (providers is not None and name in providers):
                continue
            candidates = [*groups, *(providers or {})]
            yield ctx.error(
                "E102",
                f"unknown group '{name}'",
                expr.name.span,
                help=did_you_mean(name, candidates)
                or (f"to use one provider, write `use [{name}]`" if providers is None else None),
            )
        elif isinstance(expr, ast.GroupList):
            for item in expr.items:
                if not (isinstance(item, ast.Path) and len(item.parts) == 1):
                    yield ctx.error(
                        "E205",
                        "a provider list holds provider or group names only",
                        item.span,
                        help="to pick providers by attribute, write `providers where ...`",
                    )
                    continue
                name = item.parts[0]
                if name in groups or providers is None or name in providers:
                    continue
                yield ctx.error(
                    "E101",
                    f"unknown provider '{name}'",
                    item.span,
                    help=did_you_mean(name, [*providers, *groups])
                    or "known providers: " + ", ".join(sorted(providers)),
                )
    if providers is None:
        return
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Split):
            for arm in stmt.arms:
                if arm.provider.value not in providers:
                    yield ctx.error(
                        "E101",
                        f"unknown provider '{arm.provider.value}'",
                        arm.provider.span,
                        help=did_you_mean(arm.provider.value, providers)
                        or "known providers: " + ", ".join(sorted(providers)),
                    )


def _unknown(
    ctx: Context,
    code: str,
    noun: str,
    name: ast.Name,
    known: Mapping[str, object],
    hint: str | None,
) -> Iterator[Diagnostic]:
    if name.value not in known:
        yield ctx.error(
            code,
            f"unknown {noun} '{name.value}'",
            name.span,
            help=did_you_mean(name.value, known) or hint,
        )


@rule("E103", "E104", "E105")
def declaration_references(ctx: Context) -> Iterator[Diagnostic]:
    symbols = ctx.symbols
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.RetryRef):
            yield from _unknown(
                ctx,
                "E103",
                "retry policy",
                stmt.name,
                symbols.retries,
                "declare it with `retry NAME { ... }` or write the block inline",
            )
        elif isinstance(stmt, ast.BreakerRef):
            yield from _unknown(
                ctx,
                "E104",
                "breaker",
                stmt.name,
                symbols.breakers,
                "declare it with `breaker NAME { ... }`",
            )
        elif isinstance(stmt, ast.Fallback):
            yield from _unknown(ctx, "E105", "route", stmt.route, symbols.routes, None)
    for budget in symbols.budgets.values():
        if isinstance(budget.breach, ast.BreachFallback):
            yield from _unknown(ctx, "E105", "route", budget.breach.route, symbols.routes, None)


@rule("E108", "E306", "W105")
def error_lists(ctx: Context) -> Iterator[Diagnostic]:
    lists: list[tuple[str, tuple[ast.ErrorItem, ...]]] = []
    for body in _retry_bodies(ctx):
        for setting in body.settings:
            if isinstance(setting, ast.RetryOn):
                lists.append(("retry", setting.items))
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.BreakerDecl):
            for bsetting in decl.settings:
                if isinstance(bsetting, ast.CountOn):
                    lists.append(("count", bsetting.items))
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Failover) and stmt.items is not None:
            lists.append(("failover", stmt.items))
    for use, items in lists:
        for item in items:
            if isinstance(item, ast.ErrorClass):
                if item.name not in ERROR_CLASSES:
                    yield ctx.error(
                        "E108",
                        f"unknown error class '{item.name}'",
                        item.span,
                        help=did_you_mean(item.name, ERROR_CLASSES)
                        or "error classes: " + ", ".join(ERROR_CLASSES),
                    )
                elif use in ("retry", "failover") and item.name in CLIENT_ERROR_CLASSES:
                    yield _client_error_warning(ctx, use, item.name, item.span)
            elif isinstance(item, ast.StatusCode):
                if not 100 <= item.code <= 599:
                    yield ctx.error(
                        "E306",
                        f"{item.code} is not an HTTP status code",
                        item.span,
                        help="status codes run from 100 to 599",
                    )
                elif use in ("retry", "failover") and item.code in _CLIENT_STATUSES:
                    yield _client_error_warning(ctx, use, str(item.code), item.span)
            elif isinstance(item, ast.StatusRange):
                if not (100 <= item.low <= item.high <= 599):
                    yield ctx.error(
                        "E306",
                        f"{item.low}..{item.high} is not a range of HTTP status codes",
                        item.span,
                        help="write low..high with 100 <= low <= high <= 599",
                    )
                elif use in ("retry", "failover") and any(
                    item.low <= s <= item.high for s in _CLIENT_STATUSES
                ):
                    yield _client_error_warning(ctx, use, f"{item.low}..{item.high}", item.span)
            elif use in ("retry", "failover") and item.hundreds == 4:
                yield _client_error_warning(ctx, use, "4xx", item.span)


def _client_error_warning(ctx: Context, use: str, what: str, span: Span) -> Diagnostic:
    verb = "retrying" if use == "retry" else "failing over"
    return ctx.warning(
        "W105",
        f"{verb} on {what}: the request itself is at fault, so another try fails the same way",
        span,
        help="list only transient errors (rate_limited, overloaded, server_error, timeout, "
        "connection); 429 is the client status worth retrying",
    )


@rule("E109")
def assert_names(ctx: Context) -> Iterator[Diagnostic]:
    for _route, stmt in _asserts(ctx):
        if stmt.bound.value not in BOUND_NAMES:
            yield ctx.error(
                "E109",
                f"unknown bound '{stmt.bound.value}'",
                stmt.bound.span,
                help=did_you_mean(stmt.bound.value, BOUND_NAMES)
                or "bounds: " + ", ".join(BOUND_NAMES),
            )


# ---- expressions -------------------------------------------------------------------------------


@rule("E106", "E107", "E201", "E202", "E203", "E204", "E206", "E207", "E305")
def expressions(ctx: Context) -> Iterator[Diagnostic]:
    found: list[Diagnostic] = []
    checker = ExprChecker(ctx.path, found.append)
    static = frozenset({Scope.STATIC})
    request = frozenset({Scope.REQUEST})
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.GroupDecl) and isinstance(decl.value, ast.Selector):
            checker.condition(decl.value.condition, static, "a group's selector")
        elif isinstance(decl, ast.BudgetDecl) and decl.key is not None:
            checker.value(decl.key, request, "a budget key")
        elif isinstance(decl, ast.RouteDecl) and decl.condition is not None:
            checker.condition(decl.condition, request, "a route's `when`")
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Use) and isinstance(stmt.providers, ast.Selector):
            checker.condition(stmt.providers.condition, static | request, "a selector")
        elif isinstance(stmt, ast.Skip | ast.Avoid):
            word = "skip" if isinstance(stmt, ast.Skip) else "avoid"
            checker.condition(stmt.condition, ALL_SCOPES, f"`{word} when`")
        elif isinstance(stmt, ast.OrderBy):
            for key in stmt.keys:
                checker.value(key.expr, ALL_SCOPES, "`order by`")
        elif isinstance(stmt, ast.Split) and stmt.by is not None:
            checker.value(stmt.by, request, "a split key")
    yield from found


# ---- values ------------------------------------------------------------------------------------


def _positive_duration(ctx: Context, lit: ast.Literal, what: str) -> Iterator[Diagnostic]:
    if lit.seconds() <= 0:
        yield ctx.error("E301", f"{what} must be longer than zero (got {lit.text})", lit.span)


def _count(ctx: Context, lit: ast.Literal, what: str, minimum: int = 1) -> Iterator[Diagnostic]:
    if lit.kind is not ast.LiteralKind.INT or int(lit.value) < minimum:
        yield ctx.error(
            "E303",
            f"{what} must be a whole number of at least {minimum} (got {lit.text})",
            lit.span,
        )


def _percent(ctx: Context, lit: ast.Literal, what: str) -> Iterator[Diagnostic]:
    if not 0 < float(lit.value) <= 1:
        yield ctx.error(
            "E305", f"{what} must be above 0% and at most 100% (got {lit.text})", lit.span
        )


def _money(ctx: Context, lit: ast.Literal, what: str) -> Iterator[Diagnostic]:
    if float(lit.value) <= 0:
        yield ctx.error("E307", f"{what} must be more than $0 (got {lit.text})", lit.span)


@rule("E301", "E303", "E304")
def retry_values(ctx: Context) -> Iterator[Diagnostic]:
    for body in _retry_bodies(ctx):
        for setting in body.settings:
            if isinstance(setting, ast.Attempts):
                yield from _count(ctx, setting.count, "attempts")
            elif isinstance(setting, ast.Backoff):
                yield from _positive_duration(ctx, setting.base, "the backoff delay")
                if setting.cap is not None:
                    yield from _positive_duration(ctx, setting.cap, "the backoff cap")
                    if setting.base.seconds() > setting.cap.seconds():
                        yield ctx.error(
                            "E304",
                            f"the backoff starts at {setting.base.text}, above its cap "
                            f"{setting.cap.text}",
                            setting.span,
                            help=f"swap them: {setting.cap.text} .. {setting.base.text}",
                        )
            elif isinstance(setting, ast.HonorRetryAfter):
                if setting.cap is not None:
                    yield from _positive_duration(ctx, setting.cap, "the retry-after cap")
                if setting.cool_down_cap is not None:
                    yield from _positive_duration(
                        ctx, setting.cool_down_cap, "the cool-down ceiling"
                    )


@rule("E301", "E303", "E305")
def breaker_values(ctx: Context) -> Iterator[Diagnostic]:
    for decl in ctx.policy.decls:
        if not isinstance(decl, ast.BreakerDecl):
            continue
        for setting in decl.settings:
            if isinstance(setting, ast.OpenAfter):
                yield from _count(ctx, setting.failures, "the failure count")
                yield from _positive_duration(ctx, setting.window, "the window")
            elif isinstance(setting, ast.OpenAtRate):
                yield from _percent(ctx, setting.rate, "the error rate")
                yield from _positive_duration(ctx, setting.window, "the window")
                if setting.min_requests is not None:
                    yield from _count(ctx, setting.min_requests, "the minimum volume")
            elif isinstance(setting, ast.CoolDown):
                yield from _positive_duration(ctx, setting.duration, "the cool-down")
                if setting.extend_cap is not None:
                    yield from _positive_duration(ctx, setting.extend_cap, "the cool-down cap")
            elif isinstance(setting, ast.Probe):
                yield from _count(ctx, setting.count, "the probe count")


@rule("E301", "E303", "E307")
def limit_values(ctx: Context) -> Iterator[Diagnostic]:
    for block in _limits_blocks(ctx):
        for setting in block.settings:
            if isinstance(setting, ast.Deadline):
                yield from _positive_duration(ctx, setting.duration, "the deadline")
            elif isinstance(setting, ast.MaxAttempts):
                yield from _count(ctx, setting.count, "max attempts")
            elif isinstance(setting, ast.WaitWhenNone):
                yield from _positive_duration(ctx, setting.duration, "the wait")
            else:
                yield from _money(ctx, setting.amount, "max cost")
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.BudgetDecl):
            yield from _money(ctx, decl.amount, "a budget")
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Timeout):
            yield from _positive_duration(ctx, stmt.duration, "the timeout")


@rule("E302", "E305", "E405")
def split_values(ctx: Context) -> Iterator[Diagnostic]:
    for route, stmt in _route_stmts(ctx):
        if not isinstance(stmt, ast.Split):
            continue
        total = 0.0
        for arm in stmt.arms:
            yield from _percent(ctx, arm.weight, "a split weight")
            total += float(arm.weight.value)
        if abs(total - 1.0) > 1e-9:
            yield ctx.error(
                "E302",
                f"split weights sum to {total * 100:g}%, not 100%",
                stmt.span,
                help="make the weights add up to exactly 100%",
            )
        use = next((s for s in route.body if isinstance(s, ast.Use)), None)
        if use is None:
            continue
        allowed = resolve_group(use.providers, ctx.symbols)
        if allowed.names is None:
            continue
        for arm in stmt.arms:
            if arm.provider.value not in allowed.names:
                yield ctx.error(
                    "E405",
                    f"split sends traffic to '{arm.provider.value}', which this route's `use` "
                    "does not include",
                    arm.provider.span,
                    help="add it to the route's providers or drop the `use` line",
                )


_SINGLE_ROUTE_STMTS: dict[type, str] = {
    ast.Use: "use",
    ast.OrderBy: "order by",
    ast.Split: "split",
    ast.RetryRef: "retry",
    ast.RetryInline: "retry",
    ast.BreakerRef: "breaker",
    ast.Failover: "failover",
    ast.Fallback: "on exhausted fallback",
    ast.Timeout: "timeout",
    ast.LimitsDecl: "limits",
}


def _once(
    ctx: Context, items: Sequence[object], words: dict[type, str], where: str
) -> Iterator[Diagnostic]:
    seen: dict[str, Span] = {}
    for item in items:
        word = words.get(type(item))
        if word is None:
            continue
        span: Span = item.span  # type: ignore[attr-defined]
        if word in seen:
            yield ctx.error(
                "E111",
                f"`{word}` is given twice in {where}",
                span,
                help=f"keep one; the first is at line {seen[word].line}",
            )
        else:
            seen[word] = span


@rule("E111")
def settings_once(ctx: Context) -> Iterator[Diagnostic]:
    retry_words: dict[type, str] = {
        ast.Attempts: "attempts",
        ast.Backoff: "backoff",
        ast.RetryOn: "on",
        ast.HonorRetryAfter: "honor retry_after",
    }
    breaker_words: dict[type, str] = {
        ast.OpenAfter: "open after",
        ast.OpenAtRate: "open at",
        ast.CoolDown: "cool down",
        ast.Probe: "probe",
        ast.CountOn: "count",
    }
    limit_words: dict[type, str] = {
        ast.Deadline: "deadline",
        ast.MaxAttempts: "max attempts",
        ast.MaxCost: "max cost",
        ast.WaitWhenNone: "when none available wait",
    }
    yield from _once(
        ctx, ctx.policy.decls, {ast.PolicyHeader: "policy", ast.LimitsDecl: "limits"}, "the policy"
    )
    for body in _retry_bodies(ctx):
        yield from _once(ctx, body.settings, retry_words, "a retry block")
    for decl in ctx.policy.decls:
        if isinstance(decl, ast.BreakerDecl):
            yield from _once(ctx, decl.settings, breaker_words, f"breaker '{decl.name.value}'")
    for block in _limits_blocks(ctx):
        yield from _once(ctx, block.settings, limit_words, "a limits block")
    for route in ctx.policy.routes:
        yield from _once(ctx, route.body, _SINGLE_ROUTE_STMTS, f"route '{route.name.value}'")


# ---- structure ---------------------------------------------------------------------------------


@rule("E401", "E402", "W102")
def route_order(ctx: Context) -> Iterator[Diagnostic]:
    routes = ctx.policy.routes
    catch_all: ast.RouteDecl | None = None
    # AST nodes hash and compare without their spans: one dict finds repeats in linear time.
    seen_conditions: dict[ast.Expr, ast.RouteDecl] = {}
    targets = _fallback_targets(ctx)
    for route in routes:
        if catch_all is not None:
            if route.name.value in targets:
                continue  # a fallback-only route: reached by name, never by matching
            yield ctx.error(
                "E401",
                f"route '{route.name.value}' can never match: route '{catch_all.name.value}' "
                "before it matches every request",
                route.name.span,
                help=f"move '{catch_all.name.value}' to the end, or give it a `when` condition",
            )
            continue
        cond = route.condition
        if isinstance(cond, ast.Literal) and cond.kind is ast.LiteralKind.BOOL and not cond.value:
            yield ctx.error(
                "E401",
                f"route '{route.name.value}' can never match: its condition is false",
                cond.span,
                help="delete the route or fix its condition",
            )
        if _is_catch_all(route):
            catch_all = route
            continue
        assert cond is not None
        earlier = seen_conditions.get(cond)
        if earlier is not None:
            yield ctx.warning(
                "W102",
                f"route '{route.name.value}' has the same condition as route "
                f"'{earlier.name.value}', which always matches first",
                cond.span,
                help="merge the two routes or change one condition",
            )
        seen_conditions.setdefault(cond, route)
    if catch_all is None:
        last = routes[-1] if routes else None
        yield ctx.error(
            "E402",
            "no route matches every request: a request matching no `when` would have nowhere to go"
            if routes
            else "the policy has no routes",
            last.name.span if last is not None else None,
            help="end with a route without `when`, e.g. `route default { use all }`",
        )


def _fallback_targets(ctx: Context) -> set[str]:
    """Routes named as fallbacks. A misspelt target (already E105) counts for the route it was
    most likely meant to name, so one typo does not also report that route unreachable."""
    named = {s.route.value for _r, s in _route_stmts(ctx) if isinstance(s, ast.Fallback)}
    for budget in ctx.symbols.budgets.values():
        if isinstance(budget.breach, ast.BreachFallback):
            named.add(budget.breach.route.value)
    routes = ctx.symbols.routes
    targets = set()
    for name in named:
        meant = name if name in routes else closest(name, routes)
        if meant is not None:
            targets.add(meant)
    return targets


@rule("E403")
def fallback_cycles(ctx: Context) -> Iterator[Diagnostic]:
    edges: dict[str, ast.Fallback] = {}
    for route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.Fallback) and route.name.value not in edges:
            edges[route.name.value] = stmt
    reported: set[frozenset[str]] = set()
    for start in edges:
        chain = [start]
        current = edges[start].route.value
        while current in edges and current not in chain:
            chain.append(current)
            current = edges[current].route.value
        if current in chain:
            cycle = chain[chain.index(current) :]
            key = frozenset(cycle)
            if key in reported:
                continue
            reported.add(key)
            shown = " -> ".join([*cycle, cycle[0]])
            first = ctx.symbols.routes[cycle[0]]
            yield ctx.error(
                "E403",
                f"fallback cycle: {shown}",
                edges[cycle[-1]].span,
                help="end the chain at a route that has no `on exhausted fallback`",
                notes=(f"route '{cycle[0]}' is at line {first.span.line}",),
            )


@rule("E404", "W106")
def assertions(ctx: Context) -> Iterator[Diagnostic]:
    bounds = ctx.bounds
    for route, stmt in _asserts(ctx):
        if stmt.bound.value not in BOUND_NAMES:
            continue
        target = bounds.for_route(route.name.value) if route is not None else None
        calls, time, hops = (
            (target.calls, target.time, target.hops)
            if target is not None
            else (bounds.calls, bounds.time, bounds.hops)
        )
        name = stmt.bound.value
        if name == "max_hops":
            actual: float | None = float(hops)
            why = ""
        else:
            bound = calls if name == "max_calls" else time
            actual, why = bound.value, bound.why
        expected = _assert_value(stmt)
        if expected is None:
            unit = "a duration, like 60s" if name == "max_time" else "a whole number, like 6"
            yield ctx.error(
                "E201",
                f"`{name}` must be compared with {unit}, not `{stmt.value.text}`",
                stmt.value.span,
                help=f"write `assert {name} {stmt.op} {stmt.value.text}s`"
                if name == "max_time"
                and stmt.value.kind in (ast.LiteralKind.INT, ast.LiteralKind.FLOAT)
                else None,
            )
            continue
        where = f"route '{route.name.value}'" if route is not None else "the policy"
        if actual is None:
            if ctx.symbols.providers is None and "cycle" not in why:
                yield ctx.warning(
                    "W106",
                    f"cannot check `assert {name} {stmt.op} {stmt.value.text}` for {where}: {why}",
                    stmt.span,
                    help="run `llmpool-policy check --config config.json`, or cap the request "
                    "with `limits { max attempts N  deadline D }`",
                )
            else:
                yield ctx.error(
                    "E404",
                    f"`assert {name} {stmt.op} {stmt.value.text}` fails for {where}: it is "
                    f"unbounded ({why})",
                    stmt.span,
                    help="cap the request with `limits { max attempts N  deadline D }`",
                )
            continue
        if not _holds(actual, stmt.op, expected):
            shown = _show(name, actual)
            yield ctx.error(
                "E404",
                f"`assert {name} {stmt.op} {stmt.value.text}` fails for {where}: "
                f"the worst case is {shown}",
                stmt.span,
                notes=_explain(target if target is not None else None, bounds, name),
                help="lower attempts or candidates, or add `limits { max attempts N }`"
                if name == "max_calls"
                else "add or lower `limits { deadline D }`"
                if name == "max_time"
                else None,
            )


def _assert_value(stmt: ast.Assert) -> float | None:
    lit = stmt.value
    if stmt.bound.value == "max_time":
        if lit.kind in (ast.LiteralKind.DURATION, ast.LiteralKind.MINUTES_OR_MILLIONS):
            return lit.seconds()
        return None
    if lit.kind is ast.LiteralKind.INT:
        return float(lit.value)
    return None


def _holds(actual: float, op: str, expected: float) -> bool:
    return {
        "<": actual < expected,
        "<=": actual <= expected,
        ">": actual > expected,
        ">=": actual >= expected,
        "==": actual == expected,
        "!=": actual != expected,
    }[op]


def _show(name: str, value: float) -> str:
    if name == "max_time":
        from .render import format_seconds

        return format_seconds(value)
    return f"{value:g}"


def _explain(route: object, bounds: PolicyBounds, name: str) -> tuple[str, ...]:
    from .bounds import RouteBounds

    rows = [route] if isinstance(route, RouteBounds) else list(bounds.routes)
    notes = []
    for r in rows:
        if name == "max_calls" and r.candidates is not None:
            notes.append(
                f"route '{r.route}': {r.candidates} provider(s) x {r.tries_per_provider} "
                f"tries, {r.hops} fallback hop(s) -> {r.calls.value:g} calls"
                if r.calls.value is not None
                else f"route '{r.route}': unbounded"
            )
    return tuple(notes)


# ---- hygiene -----------------------------------------------------------------------------------


@rule("W101")
def unused(ctx: Context) -> Iterator[Diagnostic]:
    used: dict[str, set[str]] = {"group": set(), "retry": {"default"}, "breaker": {"default"}}

    def mark_groups(expr: ast.GroupExpr) -> None:
        if isinstance(expr, ast.GroupRef):
            used["group"].add(expr.name.value)
        elif isinstance(expr, ast.GroupList):
            for item in expr.items:
                if isinstance(item, ast.Path) and len(item.parts) == 1:
                    used["group"].add(item.parts[0])

    for expr, _ in _group_exprs(ctx):
        mark_groups(expr)
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.RetryRef):
            used["retry"].add(stmt.name.value)
        elif isinstance(stmt, ast.BreakerRef):
            used["breaker"].add(stmt.name.value)
    tables: tuple[tuple[str, Mapping[str, ast.GroupDecl | ast.RetryDecl | ast.BreakerDecl]], ...]
    tables = (
        ("group", ctx.symbols.groups),
        ("retry", ctx.symbols.retries),
        ("breaker", ctx.symbols.breakers),
    )
    providers = ctx.symbols.providers or {}
    for kind, table in tables:
        # A misspelt reference (already reported as unknown) uses what it was meant to name.
        for ref in list(used[kind]):
            if ref not in table and ref not in providers and ref != "default":
                meant = closest(ref, table)
                if meant is not None:
                    used[kind].add(meant)
        for name, decl in table.items():
            if name not in used[kind]:
                yield ctx.warning(
                    "W101",
                    f"{kind} '{name}' is declared but never used",
                    decl.name.span,
                    help="use it in a route or delete it"
                    + (
                        f"; a {kind} named 'default' applies to routes naming none"
                        if kind != "group"
                        else ""
                    ),
                )


@rule("W107")
def config_values_overridden(ctx: Context) -> Iterator[Diagnostic]:
    """The policy's own retry, breaker or timeout where the config writes a value out."""
    for found in config_overrides(ctx.policy, ctx.symbols, ctx.defaults):
        yield ctx.warning("W107", found.message, found.span, help=found.help)


@rule("W103")
def header(ctx: Context) -> Iterator[Diagnostic]:
    if ctx.policy.name is None:
        yield ctx.warning(
            "W103",
            "the policy has no name",
            Span.point(1, 1),
            help='start the file with `policy "name"`; decisions and reports carry it',
        )


@rule("W104")
def empty_sets(ctx: Context) -> Iterator[Diagnostic]:
    if ctx.symbols.providers is None:
        return
    for expr, _ in _group_exprs(ctx):
        if isinstance(expr, ast.GroupRef) and expr.name.value in ctx.symbols.groups:
            continue  # an empty group is reported once, where it is declared
        resolved = resolve_group(expr, ctx.symbols)
        if resolved.names is not None and not resolved.names and not resolved.per_request:
            yield ctx.warning(
                "W104",
                "this selects no provider of the config",
                expr.span,
                help="check the selector against the config's provider attributes",
            )


@rule("N101")
def unknown_order(ctx: Context) -> Iterator[Diagnostic]:
    """An order key over a measured metric has no value for a provider without data: say
    where such a provider sorts (the default, first, is the one that explores). A key with
    errors of its own is left to them."""
    for _route, stmt in _route_stmts(ctx):
        if not isinstance(stmt, ast.OrderBy):
            continue
        for key in stmt.keys:
            reads = measured_reads(key.expr)
            if key.unknown is not None or not reads:
                continue
            errors: list[Diagnostic] = []
            ExprChecker(ctx.path, errors.append).type_of(key.expr, ALL_SCOPES)
            if errors:
                continue
            text = format_expr(key.expr) + (f" {key.direction}" if key.direction else "")
            yield ctx.note(
                "N101",
                f"order key `{text}` does not say where a provider with no data for "
                f"{', '.join(reads)} sorts (first, by default)",
                key.span,
                help=f"say which: `{text} unknown first` tries a provider without data (the "
                f"default), `{text} unknown last` only after every measured one",
                notes=(
                    "a provider sorted last while it has no data may never be tried, and so "
                    "never get any",
                ),
            )


@rule("W108")
def split_beside_order(ctx: Context) -> Iterator[Diagnostic]:
    for route in ctx.policy.routes:
        for found in split_overrides_order(route):
            yield ctx.warning("W108", found.message, found.span, found.help, found.notes)


@rule("W109")
def order_keys_equal_for_all(ctx: Context) -> Iterator[Diagnostic]:
    """A key with errors of its own (an unknown name, a scope error) is left to them."""
    for _route, stmt in _route_stmts(ctx):
        if isinstance(stmt, ast.OrderBy):
            for found in constant_order_keys(stmt):
                yield ctx.warning("W109", found.message, found.span, found.help, found.notes)


_TRANSPORT_CLASSES = ("timeout", "connection")


@rule("N102")
def failover_without_transport(ctx: Context) -> Iterator[Diagnostic]:
    """A failover list of statuses reads as "on failure", but a timeout or a dropped connection
    has no status: such a list keeps those requests on the failing provider. Say it is meant."""
    for _route, stmt in _route_stmts(ctx):
        if not isinstance(stmt, ast.Failover) or stmt.items is None:
            continue
        classes = {i.name for i in stmt.items if isinstance(i, ast.ErrorClass)}
        if len(classes) == len(stmt.items) or classes & set(_TRANSPORT_CLASSES):
            continue
        missing = ", ".join(_TRANSPORT_CLASSES)
        yield ctx.note(
            "N102",
            "this failover list names HTTP statuses only: a timeout or a lost connection has "
            "no status, so the request does not fail over on it",
            stmt.span,
            help=f"add `{missing}` to the list to fail over on them too",
        )


@rule("E406")
def provider_budget_breach(ctx: Context) -> Iterator[Diagnostic]:
    """A spent per-provider budget refuses that provider alone, as a `skip when` would; the
    request goes on to the route's other candidates, so there is no request to send elsewhere."""
    for decl in ctx.policy.decls:
        if (
            isinstance(decl, ast.BudgetDecl)
            and decl.per_provider
            and isinstance(decl.breach, ast.BreachFallback)
        ):
            yield ctx.error(
                "E406",
                f"budget '{decl.name.value}' is per provider: its breach cannot fall back to a "
                "route",
                decl.breach.span,
                help="write `on breach deny` (the spent provider is refused and the route's "
                "other candidates serve); for a route to take over when none is left, give "
                f"the route `on exhausted fallback {decl.breach.route.value}`",
            )
