"""Where a policy's own numbers override ones the config writes out (warning W107).

The precedence is one rule: the config's numbers are the defaults of the built-in behaviour
(``retry ... from config``, ``breaker ... from config``, routes without a retry block or a
``timeout``); a policy that sets its own retry attempts, backoff, breaker threshold, cool-down
or timeout wins. That is right, but silent: an ops engineer who writes ``"max_retries": 1``
into the config expects it to count. So each place where a policy's own value replaces a value
the config *writes out* (pydantic's ``model_fields_set``; a defaulted field is no one's choice,
and a value equal to the config's replaces nothing) is reported at the policy line, naming the
config field and both values.

Which providers a breaker governs mirrors ``compile/runtime_specs.provider_breakers``: the
first route (in policy order) that names one and can use the provider, else ``breaker
default``; a route's providers are its list, else every provider.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..diagnostics import Span
from ..syntax import ast
from .bounds import retry_block, retry_shape
from .defaults import PoolDefaults
from .env import ProviderFacts, Symbols
from .resolve import resolve_group

__all__ = ["Override", "config_overrides"]

# The seed's breaker, which a breaker block that is not `from config` falls back on.
_SEED_THRESHOLD = 5
_SEED_COOL_DOWN_MS = 60000


@dataclass(frozen=True)
class Override:
    """One policy value replacing written config values: where, what, and what to do."""

    span: Span
    message: str
    help: str


def config_overrides(
    policy: ast.Policy, symbols: Symbols, defaults: PoolDefaults
) -> Iterator[Override]:
    yield from _retry_overrides(policy, symbols, defaults)
    yield from _breaker_overrides(policy, symbols)
    yield from _timeout_overrides(policy, symbols, defaults)


def _keyword(span: Span, length: int) -> Span:
    """The first ``length`` characters of ``span`` (a block's keyword, not its whole body)."""
    return Span(span.line, span.column, span.line, span.column + length, span.start,
                span.start + length)  # fmt: skip


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def _retry_header(route: ast.RouteDecl, symbols: Symbols) -> Span | None:
    """Where the route's retry block is named: its inline `retry`, or the declaration's name."""
    for stmt in route.body:
        if isinstance(stmt, ast.RetryInline):
            return _keyword(stmt.span, len("retry"))
        if isinstance(stmt, ast.RetryRef):
            decl = symbols.retries.get(stmt.name.value)
            return decl.name.span if decl is not None else None
    default = symbols.retries.get("default")
    return default.name.span if default is not None else None


_RETRY_HELP = (
    "to run the config's number, leave the setting out of a `retry NAME from config {{ ... }}` "
    "block; to keep the policy's, drop `{field}` from the config"
)


def _retry_overrides(
    policy: ast.Policy, symbols: Symbols, defaults: PoolDefaults
) -> Iterator[Override]:
    if not defaults.explicit & {"max_retries", "retry_delay"}:
        return
    seen: set[Span] = set()
    for route in policy.routes:
        block = retry_block(route, symbols)
        header = _retry_header(route, symbols)
        if block is None or header is None or header in seen:
            continue  # no block (the config's numbers run), an unknown one, or reported
        seen.add(header)
        shape = retry_shape(block, defaults)
        attempts = next((s for s in block.settings if isinstance(s, ast.Attempts)), None)
        backoff = next((s for s in block.settings if isinstance(s, ast.Backoff)), None)
        retries = defaults.setting("max_retries")
        if "max_retries" in defaults.explicit and shape.tries != defaults.attempts:
            what = (
                f"`attempts {attempts.count.text}`"
                if attempts is not None
                else "this retry block, without `attempts`, makes 1 try per provider and"
            )
            yield Override(
                attempts.span if attempts is not None else header,
                f"{what} overrides the config's `max_retries: {retries}` "
                f"({defaults.attempts} tr{'y' if defaults.attempts == 1 else 'ies'} per provider)",
                _RETRY_HELP.format(field="max_retries"),
            )
        delay = defaults.setting("retry_delay")
        if "retry_delay" not in defaults.explicit or shape.tries < 2:
            continue
        if backoff is not None and _ms(backoff.base.seconds()) != delay:
            yield Override(
                backoff.span,
                f"`backoff {backoff.kind} {backoff.base.text}` overrides the config's "
                f"`retry_delay: {delay}` (ms)",
                _RETRY_HELP.format(field="retry_delay"),
            )
        elif backoff is None and not block.from_config and delay > 0:
            yield Override(
                header,
                f"this retry block retries without a `backoff`, overriding the config's "
                f"`retry_delay: {delay}` (ms)",
                _RETRY_HELP.format(field="retry_delay"),
            )


def _route_names(route: ast.RouteDecl, symbols: Symbols) -> frozenset[str] | None:
    """The providers a route can use (None: unknown, no config)."""
    use = next((s for s in route.body if isinstance(s, ast.Use)), None)
    if use is not None:
        return resolve_group(use.providers, symbols).names
    split = next((s for s in route.body if isinstance(s, ast.Split)), None)
    if split is not None:
        return frozenset(arm.provider.value for arm in split.arms)
    return resolve_group(ast.AllProviders(), symbols).names


def _is_list(expr: ast.GroupExpr, symbols: Symbols, seen: frozenset[str] = frozenset()) -> bool:
    if isinstance(expr, ast.GroupList):
        return True
    if isinstance(expr, ast.GroupRef):
        group = symbols.groups.get(expr.name.value)
        if group is None or expr.name.value in seen:
            return True  # a provider named directly
        return _is_list(group.value, symbols, seen | {expr.name.value})
    return False


def _breaker_users(policy: ast.Policy, symbols: Symbols) -> dict[str, ast.BreakerDecl]:
    """The breaker each known provider runs (see the module docstring)."""
    providers = symbols.providers or {}
    chosen: dict[str, ast.BreakerDecl] = {}
    for route in policy.routes:
        ref = next((s for s in route.body if isinstance(s, ast.BreakerRef)), None)
        decl = symbols.breakers.get(ref.name.value if ref is not None else "default")
        if decl is None:
            continue
        use = next((s for s in route.body if isinstance(s, ast.Use)), None)
        split = next((s for s in route.body if isinstance(s, ast.Split)), None)
        listed = (use is not None and _is_list(use.providers, symbols)) or (
            use is None and split is not None
        )
        names = (_route_names(route, symbols) or frozenset()) if listed else frozenset(providers)
        for name in sorted(names):
            chosen.setdefault(name, decl)
    default = symbols.breakers.get("default")
    if default is not None:
        for name in providers:
            chosen.setdefault(name, default)
    return chosen


def _breaker_overrides(policy: ast.Policy, symbols: Symbols) -> Iterator[Override]:
    providers = symbols.providers
    if not providers:
        return
    users = _breaker_users(policy, symbols)
    for decl in symbols.breakers.values():
        runs = [providers[n] for n in providers if users.get(n) is decl]
        opens = next((s for s in decl.settings if isinstance(s, ast.OpenAfter)), None)
        rate = next((s for s in decl.settings if isinstance(s, ast.OpenAtRate)), None)
        cool = next((s for s in decl.settings if isinstance(s, ast.CoolDown)), None)
        threshold: int | None = _SEED_THRESHOLD
        if opens is not None:
            threshold = int(opens.failures.value)
        elif decl.from_config:
            threshold = None  # each provider's own
        elif rate is not None:
            threshold = 0  # no count trigger at all: every written threshold is overridden
        cool_ms: int | None = _SEED_COOL_DOWN_MS
        if cool is not None:
            cool_ms = _ms(cool.duration.seconds())
        elif decl.from_config:
            cool_ms = None
        where = f"breaker '{decl.name.value}'"
        if threshold is not None:
            hit = _written(runs, "circuit_breaker_threshold", threshold)
            if hit:
                said = (
                    "opens on an error rate only, without a failure count"
                    if not threshold
                    else f"opens after {threshold} failures"
                    if opens is not None
                    else f"opens after the seed's {threshold} failures (it has no `open after`)"
                )
                yield Override(
                    opens.span if opens is not None else decl.name.span,
                    f"{where} {said}, overriding the config's {hit}",
                    "leave `open after` out of a `breaker NAME from config { ... }` to open "
                    "after each provider's threshold, or drop the field from the config",
                )
        if cool_ms is not None:
            hit = _written(runs, "circuit_breaker_timeout", cool_ms, " (ms)")
            if hit:
                said = (
                    f"cools down for {cool.duration.text}"
                    if cool is not None
                    else "cools down for the seed's 60s (it has no `cool down`)"
                )
                yield Override(
                    cool.span if cool is not None else decl.name.span,
                    f"{where} {said}, overriding the config's {hit}",
                    "leave `cool down` out of a `breaker NAME from config { ... }` to take "
                    "each provider's timeout, or drop the field from the config",
                )


def _written(runs: list[ProviderFacts], field: str, policy_value: int, unit: str = "") -> str:
    """``circuit_breaker_threshold: 1`` of provider 'a', ... for each provider whose config
    writes ``field`` with another value; "" when none does."""
    found = [
        f"`{field}: {p.explicit[field]}`{unit} of provider '{p.name}'"
        for p in runs
        if field in p.explicit and p.explicit[field] != policy_value
    ]
    return ", ".join(found)


def _timeout_overrides(
    policy: ast.Policy, symbols: Symbols, defaults: PoolDefaults
) -> Iterator[Override]:
    providers = symbols.providers or {}
    for route in policy.routes:
        stmt = next((s for s in route.body if isinstance(s, ast.Timeout)), None)
        if stmt is None:
            continue
        ms = _ms(stmt.duration.seconds())
        names = _route_names(route, symbols)
        own = [providers[n] for n in sorted(names or ()) if n in providers]
        found = [
            f"`timeout: {p.explicit['timeout']}` (ms) of provider '{p.name}'"
            for p in own
            if "timeout" in p.explicit and p.explicit["timeout"] != ms
        ]
        pool_applies = names is None or any("timeout" not in p.explicit for p in own)
        if pool_applies and "timeout" in defaults.explicit and defaults.setting("timeout") != ms:
            found.insert(0, f"pool `timeout: {defaults.setting('timeout')}` (ms)")
        if found:
            yield Override(
                stmt.span,
                f"route '{route.name.value}': `timeout {stmt.duration.text}` ({ms} ms) "
                f"overrides the config's {', '.join(found)}",
                "drop the route's `timeout` to let the config decide, or drop the field from "
                "the config",
            )
