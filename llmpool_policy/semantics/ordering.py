"""`order by` lines that order nothing (warnings W108 and W109).

Both pass every other rule and route traffic, just not as written, which is why they are
worth a warning (LiteLLM #18444 is the first incident: an order silently replaced by weights):

* W108: a route with both ``split`` and ``order by``. The split draws an arm per request and
  moves it to the front (compile/reference.py, step 5), so the order never picks the first
  provider; it only ranks the failover after the drawn arm.
* W109: an order key that reads only the request (or nothing: a constant). It has the same
  value for every candidate, so the stable sort keeps the candidates as they were.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from ..diagnostics import Span
from ..syntax import ast
from ..syntax.formatter import format_expr
from .signals import Scope, Signal, lookup, names_in_scope

__all__ = ["OrderFinding", "constant_order_keys", "split_overrides_order"]


@dataclass(frozen=True)
class OrderFinding:
    """One order that orders nothing: where, what, and what to do."""

    span: Span
    message: str
    help: str
    notes: tuple[str, ...] = ()


def key_text(key: ast.OrderKey) -> str:
    return format_expr(key.expr) + (f" {key.direction}" if key.direction else "")


def split_overrides_order(route: ast.RouteDecl) -> Iterator[OrderFinding]:
    """W108: the route's ``split`` decides the first provider, whatever its ``order by`` says."""
    split = next((s for s in route.body if isinstance(s, ast.Split)), None)
    order = next((s for s in route.body if isinstance(s, ast.OrderBy)), None)
    if split is None or order is None:
        return
    keys = ", ".join(key_text(k) for k in order.keys)
    arms = ", ".join(f"{a.provider.value} {a.weight.text}" for a in split.arms)
    yield OrderFinding(
        order.span,
        f"`split` in route '{route.name.value}' overrides `order by {keys}`: the drawn arm is "
        "tried first whatever the order says",
        f"to divide traffic by weight, delete `order by {keys}`; to send it by "
        f"{keys}, delete `split {arms}`",
        notes=(
            f"the split is at line {split.span.line}; the order only ranks the providers tried "
            "after the drawn arm fails",
        ),
    )


def constant_order_keys(order: ast.OrderBy) -> Iterator[OrderFinding]:
    """W109: each key of ``order`` that has the same value for every candidate."""
    for key in order.keys:
        signals = _signals(key.expr)
        if signals is None or any(s.scope is not Scope.REQUEST for s in signals):
            continue
        text = key_text(key)
        what = "it reads only the request" if signals else "it is a constant"
        yield OrderFinding(
            key.span,
            f"order key `{text}` is the same for every provider: {what}, so it orders nothing",
            _constant_key_help(key.expr, signals),
        )


def _signals(expr: ast.Expr) -> list[Signal] | None:
    """The signals ``expr`` reads, each once; None when it names something unknown (an error
    of its own)."""
    found: list[Signal] = []
    for node in ast.walk_expr(expr):
        if isinstance(node, ast.Path | ast.Call):
            path = node if isinstance(node, ast.Path) else node.func
            signal = lookup(path.dotted)
            if signal is None:
                return None
            if signal not in found:
                found.append(signal)
    return found


_PROVIDER_SIDE = frozenset(
    n for n in names_in_scope() if (s := lookup(n)) is not None and s.scope is not Scope.REQUEST
)


def _constant_key_help(expr: ast.Expr, signals: list[Signal]) -> str:
    for signal in signals:
        meant = signal.name.removeprefix("request.")
        if meant in _PROVIDER_SIDE:
            return (
                f"did you mean the provider's `{meant}`? `{signal.name}` is the request's, "
                "equal for every candidate"
            )
    fix = "order by what differs between providers: an attribute (priority, cost, "
    fix += "context_window) or a metric (latency.p95(5m), error_rate(5m))"
    if signals:
        fix += (
            f"; to treat requests differently by `{format_expr(expr)}`, test it in a "
            "route's `when` and give those requests a route of their own"
        )
    return fix
