"""Conditions and order keys as generated Python: no tree walking per request.

Each expression becomes Python source over four names — ``r`` the request, ``a`` the provider's
static attributes, ``v`` its live view, ``c`` its estimated cost — plus ``R``, a list that
collects the values read when a trace is wanted. Request-only sub-expressions inside
per-provider code are hoisted into ``q0, q1, ...``, computed once per request.

The value rules are the reference interpreter's (missing values make comparisons false and
arithmetic missing); the helpers below are those rules, once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..semantics import types as t
from ..semantics.render import format_seconds
from ..semantics.signals import DEFAULT_WINDOW_SECONDS, Scope, lookup
from ..semantics.typecheck import ExprChecker
from ..syntax import ast

__all__ = ["HELPERS", "ExprCompiler", "is_request_only", "reads_untyped"]


def _t(x: Any) -> bool:
    return x is not None and bool(x)


def _eq(x: Any, y: Any) -> bool:
    return x is not None and y is not None and bool(x == y)


def _ne(x: Any, y: Any) -> bool:
    return x is not None and y is not None and bool(x != y)


def _lt(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return bool(x < y)
    except TypeError:
        return False


def _le(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return bool(x <= y)
    except TypeError:
        return False


def _gt(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return bool(x > y)
    except TypeError:
        return False


def _ge(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return bool(x >= y)
    except TypeError:
        return False


def _in(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return x in y
    except TypeError:
        return False


def _nin(x: Any, y: Any) -> bool:
    if x is None or y is None:
        return False
    try:
        return x not in y
    except TypeError:
        return False


def _arith(op: str) -> Any:
    import operator

    fn = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}[op]

    def apply(x: Any, y: Any) -> Any:
        if x is None or y is None:
            return None
        try:
            return fn(x, y)
        except (TypeError, ZeroDivisionError):
            return None

    return apply


def _neg(x: Any) -> Any:
    if x is None:
        return None
    try:
        return -x
    except TypeError:  # an untyped metadata value that is not a number: missing
        return None


def _rd(record: list[tuple[str, Any]], label: str, value: Any) -> Any:
    for existing, _ in record:
        if existing == label:
            return value
    record.append((label, value))
    return value


HELPERS: dict[str, Any] = {
    "_t": _t, "_eq": _eq, "_ne": _ne, "_lt": _lt, "_le": _le, "_gt": _gt, "_ge": _ge,
    "_in": _in, "_nin": _nin, "_add": _arith("+"), "_sub": _arith("-"), "_mul": _arith("*"),
    "_div": _arith("/"), "_neg": _neg, "_rd": _rd,
}  # fmt: skip

_CMP = {
    "==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge", "in": "_in",
    "not in": "_nin", "+": "_add", "-": "_sub", "*": "_mul", "/": "_div",
}  # fmt: skip
_LATENCY = {
    "latency.p50": "p50",
    "latency.p95": "p95",
    "latency.p99": "p99",
    "latency.mean": "mean",
}


def reads_only(expr: ast.Expr, scope: Scope) -> bool:
    """Whether ``expr`` reads nothing but literals and signals of ``scope`` (metric calls are
    live, so never): request-only parts are hoisted per request, static-only parts are fixed
    per provider at compile time."""
    if isinstance(expr, ast.Literal):
        return True
    if isinstance(expr, ast.Path):
        signal = lookup(expr.dotted)
        return signal is not None and signal.scope is scope
    if isinstance(expr, ast.Call):
        return False
    if isinstance(expr, ast.ListExpr):
        return all(reads_only(i, scope) for i in expr.items)
    if isinstance(expr, ast.Unary):
        return reads_only(expr.operand, scope)
    return reads_only(expr.left, scope) and reads_only(expr.right, scope)


def reads_request(expr: ast.Expr) -> bool:
    """Whether ``expr`` reads anything of the request: a ``request.*`` field, or the estimated
    cost (a live signal, but computed from the request's tokens)."""
    if isinstance(expr, ast.Literal | ast.Call):
        return False
    if isinstance(expr, ast.Path):
        signal = lookup(expr.dotted)
        return signal is not None and (
            signal.scope is Scope.REQUEST or signal.name in ("cost", "estimated_cost")
        )
    if isinstance(expr, ast.ListExpr):
        return any(reads_request(i) for i in expr.items)
    if isinstance(expr, ast.Unary):
        return reads_request(expr.operand)
    return reads_request(expr.left) or reads_request(expr.right)


def windows_read(expr: ast.Expr) -> set[float]:
    """The windows (seconds) of every windowed metric ``expr`` reads (a bare ``error_rate``
    reads the default window)."""
    if isinstance(expr, ast.Literal):
        return set()
    if isinstance(expr, ast.Path):
        signal = lookup(expr.dotted)
        return {DEFAULT_WINDOW_SECONDS} if signal is not None and signal.windowed else set()
    if isinstance(expr, ast.Call):
        arg = expr.args[0]
        return {arg.seconds()} if isinstance(arg, ast.Literal) else set()
    if isinstance(expr, ast.ListExpr):
        return set().union(*(windows_read(i) for i in expr.items))
    if isinstance(expr, ast.Unary):
        return windows_read(expr.operand)
    return windows_read(expr.left) | windows_read(expr.right)


def is_request_only(expr: ast.Expr) -> bool:
    return reads_only(expr, Scope.REQUEST)


def _live(name: str, window: float | None) -> str:
    w = repr(DEFAULT_WINDOW_SECONDS if window is None else window)
    if name in ("error_rate", "success_rate", "requests", "spend"):
        return f"v.{name}({w})"
    if name in _LATENCY:
        return f"v.latency({_LATENCY[name]!r}, {w})"
    if name in ("cost", "estimated_cost"):
        return "c"
    if name == "breaker.state":
        return "v.breaker_state"
    if name == "breaker.open":
        return "(v.breaker_state == 'open')"
    if name == "breaker.half_open":
        return "(v.breaker_state == 'half_open')"
    return "v." + name.replace(".", "_")


@dataclass
class ExprCompiler:
    """Compiles expressions of one generated function; ``hoisted`` holds the per-request prelude
    (only used when ``hoist`` is on, i.e. for per-provider code)."""

    traced: bool
    hoist: bool = False
    hoisted: list[str] = field(default_factory=list)
    walrus: int = 0

    def _read(self, label: str, code: str) -> str:
        return f"_rd(R, {label!r}, {code})" if self.traced else code

    def expr(self, e: ast.Expr) -> str:
        if (
            self.hoist
            and not self.traced
            and not isinstance(e, ast.Literal | ast.Path)
            and is_request_only(e)
        ):
            name = f"q{len(self.hoisted)}"
            plain = ExprCompiler(traced=False)
            self.hoisted.append(f"{name} = {plain.expr(e)}")
            return name
        if isinstance(e, ast.Literal):
            return repr(e.value)
        if isinstance(e, ast.ListExpr):
            return "[" + ", ".join(self.expr(i) for i in e.items) + "]"
        if isinstance(e, ast.Path):
            dotted = e.dotted
            signal = lookup(dotted)
            assert signal is not None, dotted
            if signal.scope is Scope.REQUEST:
                parts = dotted.split(".")
                if parts[1] == "metadata":
                    code = f"r.metadata.get({'.'.join(parts[2:])!r})"
                else:
                    code = f"r.{parts[1]}"
                return self._read(dotted, code)
            if signal.scope is Scope.STATIC:
                return self._read(signal.name, f"a.get({signal.name!r})")
            return self._read(signal.name, _live(signal.name, None))
        if isinstance(e, ast.Call):
            signal = lookup(e.func.dotted)
            assert signal is not None
            arg = e.args[0]
            assert isinstance(arg, ast.Literal)
            seconds = arg.seconds()
            return self._read(
                f"{signal.name}({format_seconds(seconds)})", _live(signal.name, seconds)
            )
        if isinstance(e, ast.Unary):
            inner = self.expr(e.operand)
            return f"(not {self.truth(e.operand, inner)})" if e.op == "not" else f"_neg({inner})"
        if e.op == "and":
            left, right = self.expr(e.left), self.expr(e.right)
            return f"({self.truth(e.left, left)} and {self.truth(e.right, right)})"
        if e.op == "or":
            left, right = self.expr(e.left), self.expr(e.right)
            return f"({self.truth(e.left, left)} or {self.truth(e.right, right)})"
        inline = self._inline_compare(e)
        if inline is not None:
            return inline
        return f"{_CMP[e.op]}({self.expr(e.left)}, {self.expr(e.right)})"

    def truth(self, e: ast.Expr, code: str) -> str:
        """``code`` as a real bool; ``_t`` only where the value may be missing or non-bool."""
        return code if _is_bool(e) else f"_t({code})"

    def _inline_compare(self, e: ast.Binary) -> str | None:
        """``x > 5%`` as ``(w is not None and w > 0.05)`` when x is a number: the helper's rule
        (missing compares false) without its call."""
        right = e.right
        if e.op not in ("==", "!=", "<", "<=", ">", ">="):
            return None
        if not (isinstance(right, ast.Literal) and right.kind in _NUMERIC_LITERALS):
            return None
        if _kind(e.left) not in _NUMERIC_KINDS or reads_untyped(e.left):
            return None
        left = self.expr(e.left)
        if e.op == "==":
            return f"({left} == {right.value!r})"  # a missing value never equals a number
        self.walrus += 1
        w = f"_w{self.walrus}"
        return f"(({w} := {left}) is not None and {w} {e.op} {right.value!r})"


_NUMERIC_LITERALS = frozenset(
    {
        ast.LiteralKind.INT,
        ast.LiteralKind.FLOAT,
        ast.LiteralKind.DURATION,
        ast.LiteralKind.MONEY,
        ast.LiteralKind.PERCENT,
        ast.LiteralKind.TOKENS,
    }
)
_NUMERIC_KINDS = frozenset(
    {t.Kind.NUMBER, t.Kind.DURATION, t.Kind.MONEY, t.Kind.PERCENT, t.Kind.TOKENS}
)
_BOOL_PATHS = frozenset({"breaker.open", "breaker.half_open", "request.stream"})


def reads_untyped(e: ast.Expr) -> bool:
    """Whether ``e`` reads ``request.metadata``: its static type (a number, say) is only a
    guess, so at run time the value may be a string."""
    if isinstance(e, ast.Path):
        return e.dotted.startswith("request.metadata.")
    if isinstance(e, ast.Literal | ast.Call):
        return False
    if isinstance(e, ast.ListExpr):
        return any(reads_untyped(i) for i in e.items)
    if isinstance(e, ast.Unary):
        return reads_untyped(e.operand)
    return reads_untyped(e.left) or reads_untyped(e.right)


def _kind(e: ast.Expr) -> t.Kind:
    scopes = frozenset({Scope.REQUEST, Scope.STATIC, Scope.LIVE})
    return ExprChecker("<codegen>", lambda _d: None).type_of(e, scopes).kind


def _is_bool(e: ast.Expr) -> bool:
    """Whether the generated code for ``e`` always yields True or False (never None)."""
    if isinstance(e, ast.Binary):
        return e.op not in ("+", "-", "*", "/")
    if isinstance(e, ast.Unary):
        return e.op == "not"
    if isinstance(e, ast.Path):
        return e.dotted in _BOOL_PATHS
    return isinstance(e, ast.Literal) and e.kind is ast.LiteralKind.BOOL
