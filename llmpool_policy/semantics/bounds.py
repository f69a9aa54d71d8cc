"""Worst-case bounds: how many upstream calls and how much time one request can cost.

Peers multiply retries across layers without anyone noticing; here the product is computed
and shown (`check --bounds`), and `assert` lines turn it into a checked contract.

Per route: calls = tries per provider (the route's retry block; without one, or where a
``from config`` block leaves them out, the pool's ``max_retries + 1``: see :mod:`.defaults`)
x providers tried (1 with `failover off`), plus the calls of the fallback chain; the matched
route's `max attempts` caps the whole request, since a fallback never resets the counters.
Time = each call's timeout plus the longest sleeps the backoff (or an honoured retry-after)
allows, capped by the deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..syntax import ast
from .defaults import DEFAULT_TIMEOUT_SECONDS, PoolDefaults, doubling_steps
from .env import Symbols
from .resolve import resolve_group

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "Bound",
    "PolicyBounds",
    "RetryShape",
    "RouteBounds",
    "compute_bounds",
    "retry_block",
    "retry_shape",
]


@dataclass(frozen=True)
class Bound:
    """A worst case: ``value`` None means unbounded or unknown, ``why`` says which."""

    value: float | None
    why: str = ""

    @property
    def known(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class RouteBounds:
    route: str
    candidates: int | None
    tries_per_provider: int
    calls: Bound
    time: Bound
    hops: int


@dataclass(frozen=True)
class PolicyBounds:
    routes: tuple[RouteBounds, ...]
    calls: Bound
    time: Bound
    hops: int

    def for_route(self, name: str) -> RouteBounds | None:
        for route in self.routes:
            if route.route == name:
                return route
        return None


@dataclass(frozen=True)
class _Own:
    candidates: int | None
    tries: int
    calls: float | None
    time: float | None
    max_sleep: float
    timeout: float
    why: str


def _int(lit: ast.Literal) -> int:
    return int(lit.value) if isinstance(lit.value, int | float) else 0


def retry_block(route: ast.RouteDecl, symbols: Symbols) -> ast.RetryBody | None:
    """The route's retry block (its own, else ``retry default``); None when the policy names
    none for it, so the pool's defaults apply."""
    for stmt in route.body:
        if isinstance(stmt, ast.RetryInline):
            return stmt.body
        if isinstance(stmt, ast.RetryRef):
            decl = symbols.retries.get(stmt.name.value)
            return decl.body if decl is not None else ast.RetryBody(())
    default = symbols.retries.get("default")
    return default.body if default is not None else None


@dataclass(frozen=True)
class RetryShape:
    """How a route retries one provider: tries; ``steps``, the backoff before each retry (what
    the executor sleeps, before jitter); ``sleeps``, the longest sleep before each retry (the
    step, or an honoured retry-after's cap when longer); jitter."""

    tries: int
    steps: tuple[float, ...]
    sleeps: tuple[float, ...]
    jitter: str


def retry_shape(block: ast.RetryBody | None, defaults: PoolDefaults) -> RetryShape:
    """A retry block's shape. Without a block, the pool's defaults (``max_retries + 1`` tries,
    exponential backoff from ``retry_delay``, full jitter); a ``from config`` block takes
    those for the attempts and backoff it leaves out; any other block without ``attempts``
    makes one try and without ``backoff`` does not sleep, as the language says."""
    if block is None:
        steps = defaults.sleeps()
        return RetryShape(defaults.attempts, steps, steps, defaults.jitter)
    settings = block.settings
    attempts = next((s for s in settings if isinstance(s, ast.Attempts)), None)
    backoff = next((s for s in settings if isinstance(s, ast.Backoff)), None)
    honor = next((s for s in settings if isinstance(s, ast.HonorRetryAfter)), None)
    if attempts is not None:
        tries = max(1, _int(attempts.count))
    else:
        tries = defaults.attempts if block.from_config else 1
    if backoff is not None:
        steps, jitter = _steps(backoff, tries), backoff.jitter or "none"
    elif block.from_config:
        steps, jitter = defaults.sleeps(tries), defaults.jitter
    else:
        steps, jitter = (0.0,) * (tries - 1), "none"
    # Without `up to`, a provider's retry-after may hold us for as long as it likes.
    honor_cap = 0.0
    if honor is not None:
        honor_cap = honor.cap.seconds() if honor.cap is not None else float("inf")
    return RetryShape(tries, steps, tuple(max(step, honor_cap) for step in steps), jitter)


def _steps(backoff: ast.Backoff, tries: int) -> tuple[float, ...]:
    """A ``backoff`` line's step before each retry of one provider (tries - 1 of them)."""
    base = backoff.base.seconds()
    cap = backoff.cap.seconds() if backoff.cap is not None else float("inf")
    if backoff.kind == "exponential":
        return doubling_steps(base, cap, tries - 1)
    result = []
    for i in range(max(0, tries - 1)):
        if backoff.kind == "linear":
            result.append(min(cap, base * (i + 1)))
        else:
            result.append(min(cap, base))
    return tuple(result)


def _limits(
    route: ast.RouteDecl, symbols: Symbols
) -> tuple[int | None, float | None, float | None]:
    """(max attempts, deadline, wait when none available) of a request matched by ``route``:
    route's, else policy's."""
    max_attempts: int | None = None
    deadline: float | None = None
    wait: float | None = None
    blocks = [s for s in route.body if isinstance(s, ast.LimitsDecl)]
    if symbols.limits is not None:
        blocks.append(symbols.limits)
    for block in blocks:
        for setting in block.settings:
            if isinstance(setting, ast.MaxAttempts) and max_attempts is None:
                max_attempts = _int(setting.count)
            elif isinstance(setting, ast.Deadline) and deadline is None:
                deadline = setting.duration.seconds()
            elif isinstance(setting, ast.WaitWhenNone) and wait is None:
                wait = setting.duration.seconds()
    return max_attempts, deadline, wait


def _own(route: ast.RouteDecl, symbols: Symbols, defaults: PoolDefaults) -> _Own:
    use = next((s for s in route.body if isinstance(s, ast.Use)), None)
    split = next((s for s in route.body if isinstance(s, ast.Split)), None)
    failover = next((s for s in route.body if isinstance(s, ast.Failover)), None)
    timeout_stmt = next((s for s in route.body if isinstance(s, ast.Timeout)), None)

    names: frozenset[str] | None
    why = ""
    if use is not None:
        names = resolve_group(use.providers, symbols).names
        if names is None:
            why = "the route's providers are unknown without --config"
    elif split is not None:
        names = frozenset(arm.provider.value for arm in split.arms)
    else:
        names = resolve_group(ast.AllProviders(), symbols).names
        if names is None:
            why = "the route uses every provider, unknown without --config"
    candidates = None if names is None else len(names)

    shape = retry_shape(retry_block(route, symbols), defaults)
    tries = shape.tries
    tried = (
        None if candidates is None else (min(1, candidates) if _is_off(failover) else candidates)
    )

    # Each candidate waits up to its own timeout (the route's `timeout` overrides them all);
    # one without a configured timeout gets the pool's. The worst case tries the slowest.
    if timeout_stmt is not None:
        per_try = [timeout_stmt.duration.seconds()]
    else:
        per_try = sorted(
            (_provider_timeout(symbols, n, defaults) for n in names or ()), reverse=True
        )
    per_try = per_try or [defaults.timeout_s]
    timeout = per_try[0]
    per_provider_sleeps = list(shape.sleeps)
    max_sleep = max(per_provider_sleeps, default=0.0)
    if tried is None:
        return _Own(None, tries, None, None, max_sleep, timeout, why)
    calls = float(tried * tries)
    slowest = [per_try[min(i, len(per_try) - 1)] for i in range(tried)]
    time: float | None = tries * sum(slowest) + tried * sum(per_provider_sleeps)
    if time == float("inf"):
        time = None
        uncapped_honor = any(
            sleep > step for step, sleep in zip(shape.steps, shape.sleeps, strict=True)
        )
        why = (
            "`honor retry_after` has no `up to` cap"
            if uncapped_honor
            else "the backoff's sleeps add up past any time: give it a cap (`.. 30s`)"
        )
    return _Own(candidates, tries, calls, time, max_sleep, timeout, why)


def _provider_timeout(symbols: Symbols, name: str, defaults: PoolDefaults) -> float:
    facts = symbols.providers.get(name) if symbols.providers is not None else None
    value = facts.attributes.get("timeout") if facts is not None else None
    return float(value) if isinstance(value, int | float) else defaults.timeout_s


def _is_off(failover: ast.Failover | None) -> bool:
    return failover is not None and failover.items is None


def _fallback(route: ast.RouteDecl) -> str | None:
    for stmt in route.body:
        if isinstance(stmt, ast.Fallback):
            return stmt.route.value
    return None


def compute_bounds(symbols: Symbols, defaults: PoolDefaults | None = None) -> PolicyBounds:
    """Bounds for every route and the policy. Routes in a fallback cycle are unbounded.
    ``defaults``: the pool's (from its config); None means the seed's (:class:`PoolDefaults`)."""
    pool = defaults if defaults is not None else PoolDefaults()
    own = {name: _own(route, symbols, pool) for name, route in symbols.routes.items()}
    results = []
    for name, route in symbols.routes.items():
        chain: list[str] = []
        current: str | None = name
        cyclic = False
        while current is not None and current in symbols.routes:
            if current in chain:
                cyclic = True
                break
            chain.append(current)
            current = _fallback(symbols.routes[current])
        parts = [own[r] for r in chain]
        max_attempts, deadline, wait = _limits(route, symbols)
        calls_value: float | None
        time_value: float | None
        if cyclic:
            why = "the route is in a fallback cycle"
            calls_value = time_value = None
        else:
            unknown = next((p for p in parts if p.calls is None), None)
            slow = next((p for p in parts if p.time is None), None)
            why = unknown.why if unknown is not None else slow.why if slow is not None else ""
            calls_value = None if unknown else sum(p.calls or 0 for p in parts)
            time_value = None if slow else sum(p.time or 0 for p in parts)
        if max_attempts is not None:
            slowest = max(p.timeout for p in parts)
            longest_sleep = max(p.max_sleep for p in parts)
            capped_time = max_attempts * slowest + max(0, max_attempts - 1) * longest_sleep
            calls_value = max_attempts if calls_value is None else min(calls_value, max_attempts)
            if capped_time != float("inf"):
                time_value = capped_time if time_value is None else min(time_value, capped_time)
        if wait is not None and time_value is not None:
            time_value += wait  # waiting for a provider to free up, before the first attempt
        if deadline is not None:
            time_value = deadline if time_value is None else min(time_value, deadline)
        results.append(
            RouteBounds(
                route=name,
                candidates=own[name].candidates,
                tries_per_provider=own[name].tries,
                calls=Bound(calls_value, "" if calls_value is not None else why),
                time=Bound(time_value, "" if time_value is not None else why),
                hops=len(chain) - 1,
            )
        )
    return PolicyBounds(
        routes=tuple(results),
        calls=_worst([r.calls for r in results]),
        time=_worst([r.time for r in results]),
        hops=max((r.hops for r in results), default=0),
    )


def _worst(bounds: list[Bound]) -> Bound:
    for bound in bounds:
        if not bound.known:
            return bound
    return Bound(max((b.value or 0.0 for b in bounds), default=0.0))
