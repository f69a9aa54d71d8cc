"""What the live state needs from a policy: the breaker to run per provider, and the latency
windows to summarise on the write path (so reads of them are O(1))."""

from __future__ import annotations

from ..metrics.breaker import DEFAULT_COUNTED, BreakerSpec
from ..semantics import CheckedPolicy
from ..semantics.signals import DEFAULT_WINDOW_SECONDS
from ..syntax import ast
from .spec import PolicySpec

__all__ = ["latency_windows", "policy_breaker"]


def policy_breaker(checked: CheckedPolicy) -> BreakerSpec | None:
    """The policy's `breaker default { ... }` as a spec, or None when the policy declares none
    (the pool then uses each provider's config: circuit_breaker_threshold / _timeout)."""
    decl = checked.symbols.breakers.get("default")
    if decl is None:
        return None
    base = BreakerSpec()
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
            counted = frozenset(i.name for i in s.items if isinstance(i, ast.ErrorClass))
    if failures is None and error_rate is None:
        failures = base.failures
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


def latency_windows(spec: PolicySpec) -> frozenset[float]:
    """Every latency window the policy reads (bare `latency.p95` reads the default window)."""
    found: set[float] = set()

    def walk(expr: ast.Expr | None) -> None:
        if expr is None:
            return
        if isinstance(expr, ast.Call):
            if expr.func.dotted.startswith("latency."):
                arg = expr.args[0]
                if isinstance(arg, ast.Literal):
                    found.add(arg.seconds())
        elif isinstance(expr, ast.Path):
            if expr.dotted.startswith("latency."):
                found.add(DEFAULT_WINDOW_SECONDS)
        elif isinstance(expr, ast.ListExpr):
            for item in expr.items:
                walk(item)
        elif isinstance(expr, ast.Unary):
            walk(expr.operand)
        elif isinstance(expr, ast.Binary):
            walk(expr.left)
            walk(expr.right)

    for route in spec.routes:
        walk(route.condition)
        walk(route.selector)
        for cond, _ in (*route.skips, *route.avoids):
            walk(cond)
        for key, _d, _t in route.order:
            walk(key)
    return frozenset(found)
