"""What the live state needs from a policy: the breaker to run per provider, and the latency
windows to summarise on the write path (so reads of them are O(1))."""

from __future__ import annotations

from collections.abc import Mapping

from ..config.models import ProviderConfig
from ..metrics.breaker import DEFAULT_COUNTED, BreakerSpec
from ..metrics.limits import LimitSpec
from ..semantics import CheckedPolicy
from ..semantics.signals import DEFAULT_WINDOW_SECONDS
from ..syntax import ast
from .spec import PolicySpec

__all__ = [
    "breaker_spec",
    "latency_windows",
    "policy_breaker",
    "provider_breakers",
    "provider_limits",
]


def policy_breaker(checked: CheckedPolicy) -> BreakerSpec | None:
    """The policy's `breaker default { ... }` as a spec, or None when the policy declares none
    (the pool then uses each provider's config: circuit_breaker_threshold / _timeout)."""
    return breaker_spec(checked, "default")


def breaker_spec(
    checked: CheckedPolicy, name: str, provider: ProviderConfig | None = None
) -> BreakerSpec | None:
    """The policy's breaker ``name`` as a spec (None when there is no such breaker). A
    ``from config`` breaker takes the threshold and cool-down it leaves out from
    ``provider``'s config (the seed's 5 failures and 60 s without one)."""
    decl = checked.symbols.breakers.get(name)
    if decl is None:
        return None
    base = BreakerSpec()
    if decl.from_config and provider is not None:
        base = BreakerSpec.from_seed(provider.circuit_breaker_threshold,
                                     provider.circuit_breaker_timeout)  # fmt: skip
    failures: int | None = None
    failure_window = base.failure_window_s
    error_rate: float | None = None
    rate_window = base.rate_window_s
    min_requests = base.min_requests
    cool_down = base.cool_down_s
    extend = False
    extend_cap: float | None = None
    probes = base.probes
    counted = DEFAULT_COUNTED
    for s in decl.settings:
        if isinstance(s, ast.OpenAfter):
            failures = int(s.failures.value)
            failure_window = s.window.seconds()
        elif isinstance(s, ast.OpenAtRate):
            error_rate = float(s.rate.value)
            rate_window = s.window.seconds()
            if s.min_requests is not None:
                min_requests = int(s.min_requests.value)
        elif isinstance(s, ast.CoolDown):
            cool_down = s.duration.seconds()
            extend = s.extend
            extend_cap = s.extend_cap.seconds() if s.extend_cap is not None else None
        elif isinstance(s, ast.Probe):
            probes = int(s.count.value)
        else:
            counted = _counted_classes(s.items)
    if failures is None and (error_rate is None or decl.from_config):
        failures = base.failures  # `from config` keeps the config's count beside a rate
    return BreakerSpec(
        failures=failures,
        failure_window_s=failure_window,
        error_rate=error_rate,
        rate_window_s=rate_window,
        min_requests=min_requests,
        cool_down_s=cool_down,
        extend_on_failure=extend,
        extend_cap_s=extend_cap,
        probes=probes,
        counted=counted,
    )


def _counted_classes(items: tuple[ast.ErrorItem, ...]) -> frozenset[str]:
    """`count` takes error classes and statuses; a status counts as the class it is classified
    as (503 overloaded, 500 server_error, ...), so nothing written there is ignored."""
    from ..providers.base import classify_status

    classes: set[str] = set()
    for item in items:
        if isinstance(item, ast.ErrorClass):
            classes.add(item.name)
            continue
        if isinstance(item, ast.StatusCode):
            low = high = item.code
        elif isinstance(item, ast.StatusClass):
            low, high = item.hundreds * 100, item.hundreds * 100 + 99
        else:
            low, high = item.low, item.high
        classes.update(classify_status(code) for code in range(max(low, 100), min(high, 599) + 1))
    return frozenset(classes)


def latency_windows(spec: PolicySpec) -> frozenset[float]:
    """Every latency window the policy reads (bare `latency.p95` reads the default window)."""
    found: set[float] = set()

    def walk(top: ast.Expr | None) -> None:
        if top is None:
            return
        for expr in ast.walk_expr(top):
            if isinstance(expr, ast.Call):
                if expr.func.dotted.startswith("latency."):
                    arg = expr.args[0]
                    if isinstance(arg, ast.Literal):
                        found.add(arg.seconds())
            elif isinstance(expr, ast.Path) and expr.dotted.startswith("latency."):
                # (a call's own name is its `func`, never walked as a Path)
                found.add(DEFAULT_WINDOW_SECONDS)

    for route in spec.routes:
        walk(route.condition)
        walk(route.selector)
        for cond, _ in (*route.skips, *route.avoids):
            walk(cond)
        for key, *_ in route.order:
            walk(key)
    return frozenset(found)


def provider_breakers(
    checked: CheckedPolicy, spec: PolicySpec, providers: Mapping[str, ProviderConfig]
) -> dict[str, BreakerSpec]:
    """Each provider's breaker. Breaker state is per provider, so a provider runs the breaker
    named by the first route (in policy order) that can use it — `breaker NAME`, else the
    policy's `breaker default` — and, where no route names one, its config's seed fields
    (circuit_breaker_threshold, circuit_breaker_timeout); a `from config` breaker reads those
    fields of each provider it runs for."""
    chosen: dict[str, str] = {}
    for route in spec.routes:
        if route.breaker is None or route.breaker not in checked.symbols.breakers:
            continue
        names = route.use_names if route.use_kind == "list" else tuple(providers)
        for name in names:
            chosen.setdefault(name, route.breaker)
    if "default" in checked.symbols.breakers:
        for name in providers:
            chosen.setdefault(name, "default")
    result: dict[str, BreakerSpec] = {}
    for name, p in providers.items():
        found = breaker_spec(checked, chosen[name], p) if name in chosen else None
        result[name] = found or BreakerSpec.from_seed(
            p.circuit_breaker_threshold, p.circuit_breaker_timeout
        )
    return result


def provider_limits(providers: Mapping[str, ProviderConfig]) -> dict[str, LimitSpec]:
    """Each provider's configured rate limits (None: unlimited; 0 is a limit)."""
    return {
        name: LimitSpec(rpm=p.requests_per_minute, rpd=p.requests_per_day, tpm=p.tokens_per_minute)
        for name, p in providers.items()
    }
