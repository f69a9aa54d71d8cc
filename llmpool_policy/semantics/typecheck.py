"""Types and scopes of expressions.

An expression is checked against the scopes visible where it stands: a route's ``when`` sees
only the request, a group declaration only provider attributes, a ``skip when`` everything.
Errors are appended to a list; an erroneous sub-expression gets the UNKNOWN type so one slip
yields one diagnostic, not a cascade.
"""

from __future__ import annotations

from collections.abc import Callable, Set

from ..diagnostics import Diagnostic, Span
from ..metrics.windows import LATENCY_WINDOW_LIMIT_S, WINDOW_LIMIT_S, window_name
from ..suggest import did_you_mean
from ..syntax import ast
from . import types as t
from .signals import Scope, Signal, lookup, names_in_scope

__all__ = ["ExprChecker", "literal_type"]

_LONGEST_WINDOWS = (
    f"the live metrics keep counts, rates and spend for {window_name(WINDOW_LIMIT_S)}, latency"
    f" samples for {window_name(LATENCY_WINDOW_LIMIT_S)}",
)

_WHY = {
    frozenset({Scope.STATIC}): "a group is resolved when the policy is compiled: only provider "
    "attributes are known then",
    frozenset({Scope.REQUEST}): "only request fields are known here: it is evaluated before any "
    "provider is picked",
    frozenset({Scope.STATIC, Scope.REQUEST}): "a `use` selector sees provider attributes and the "
    "request, but no live metrics",
}

_VERBS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide"}

_SCOPE_WORDS = {
    Scope.REQUEST: "a request field",
    Scope.STATIC: "a provider attribute",
    Scope.LIVE: "a live provider metric",
}


def literal_type(lit: ast.Literal) -> t.Type:
    kind = lit.kind
    if kind in (ast.LiteralKind.INT, ast.LiteralKind.FLOAT):
        return t.NUMBER
    return {
        ast.LiteralKind.STRING: t.STRING,
        ast.LiteralKind.BOOL: t.BOOL,
        ast.LiteralKind.DURATION: t.DURATION,
        ast.LiteralKind.MONEY: t.MONEY,
        ast.LiteralKind.PERCENT: t.PERCENT,
        ast.LiteralKind.TOKENS: t.TOKENS,
        ast.LiteralKind.MINUTES_OR_MILLIONS: t.MOM,
        ast.LiteralKind.STATUS_CLASS: t.STATUS,
    }[kind]


class ExprChecker:
    """Checks expressions of one policy file; ``emit`` receives every diagnostic."""

    def __init__(self, path: str, emit: Callable[[Diagnostic], None]) -> None:
        self.path = path
        self.emit = emit
        self._place: str | None = None  # where the expression being checked stands, in words
        self._compared = False  # checking an operand of ==, != or in (a bare word may be text)

    def _error(
        self,
        code: str,
        message: str,
        span: Span,
        help: str | None = None,
        notes: tuple[str, ...] = (),
    ) -> t.Type:
        self.emit(Diagnostic(code, message, span, self.path, help=help, notes=notes))
        return t.UNKNOWN

    def value(self, expr: ast.Expr, scopes: Set[Scope], where: str) -> t.Type:
        """The type of ``expr`` standing at ``where`` (e.g. "a budget key"), for messages."""
        outer, self._place = self._place, where
        try:
            return self.type_of(expr, scopes)
        finally:
            self._place = outer

    def condition(self, expr: ast.Expr, scopes: Set[Scope], what: str) -> None:
        """An expression that must be true/false, e.g. a ``when`` or ``skip when``."""
        got = self.value(expr, scopes, what)
        if got.kind not in (t.Kind.BOOL, t.Kind.UNKNOWN, t.Kind.ANY):
            self._error(
                "E202",
                f"{what} must be true or false, but this is {t.describe(got)}",
                expr.span,
                help='compare it with something, e.g. `... > 0` or `... == "x"`',
            )

    def type_of(self, expr: ast.Expr, scopes: Set[Scope]) -> t.Type:
        if isinstance(expr, ast.Literal):
            if expr.kind is ast.LiteralKind.PERCENT and not 0 <= float(expr.value) <= 1:
                return self._error("E305", f"{expr.text} is not between 0% and 100%", expr.span)
            return literal_type(expr)
        if isinstance(expr, ast.Path):
            return self._path(expr, scopes)
        if isinstance(expr, ast.Call):
            return self._call(expr, scopes)
        if isinstance(expr, ast.ListExpr):
            item: t.Type | None = None
            for element in expr.items:
                got = self.type_of(element, scopes)
                if item is None or item.kind is t.Kind.UNKNOWN:
                    item = got
                elif not t.comparable(item, got, ordering=False):
                    self._error(
                        "E201",
                        f"a list mixes {t.describe(item)} and {t.describe(got)}",
                        element.span,
                    )
            return t.list_of(item)
        if isinstance(expr, ast.Unary):
            return self._unary(expr, scopes)
        return self._binary(expr, scopes)

    # -- names -----------------------------------------------------------------------------------

    def _signal(self, path: ast.Path, scopes: Set[Scope]) -> Signal | None:
        dotted = path.dotted
        signal = lookup(dotted)
        if signal is None:
            if dotted == "request.metadata":
                self._error(
                    "E106",
                    "`request.metadata` needs a key",
                    path.span,
                    help="name the key, e.g. request.metadata.team",
                )
                return None
            self._error(
                "E106",
                f"unknown attribute '{dotted}'",
                path.span,
                help=did_you_mean(dotted, names_in_scope()) or self._bare_word_hint(path),
            )
            return None
        if signal.scope not in scopes:
            why = _WHY.get(frozenset(scopes))
            where = self._place or "here"
            self._error(
                "E204",
                f"'{dotted}' is {_SCOPE_WORDS[signal.scope]} and cannot be used in {where}",
                path.span,
                help=_scope_help(signal.scope, scopes),
                notes=(why,) if why is not None else (),
            )
            return None
        return signal

    def _bare_word_hint(self, path: ast.Path) -> str:
        """An unknown single word is most often meant as text (`== search`), or, as a budget
        key (`per team`), as the request's metadata field of that name."""
        if len(path.parts) == 1:
            word = path.parts[0]
            if self._place == "a budget key":
                return f"to keep the budget per {word}, write `per request.metadata.{word}`"
            if self._compared:
                return f'to compare with the text {word}, put it in double quotes: "{word}"'
        return "see docs/language.md#signals for what a policy can read"

    def _path(self, path: ast.Path, scopes: Set[Scope]) -> t.Type:
        signal = self._signal(path, scopes)
        if signal is None:
            return t.UNKNOWN
        return signal.type

    def _call(self, call: ast.Call, scopes: Set[Scope]) -> t.Type:
        dotted = call.func.dotted
        signal = lookup(dotted)
        if signal is None:
            return self._error(
                "E107",
                f"unknown metric '{dotted}'",
                call.func.span,
                help=did_you_mean(dotted, _windowed())
                or "metrics with a window: " + ", ".join(sorted(_windowed())),
            )
        if not signal.windowed:
            return self._error(
                "E203",
                f"'{dotted}' takes no window",
                call.span,
                help=f"write `{dotted}` without parentheses",
            )
        if len(call.args) != 1:
            return self._error(
                "E203",
                f"'{dotted}' takes exactly one window, like {dotted}(5m)",
                call.span,
            )
        arg = call.args[0]
        if not (
            isinstance(arg, ast.Literal)
            and arg.kind in (ast.LiteralKind.DURATION, ast.LiteralKind.MINUTES_OR_MILLIONS)
        ):
            bare = isinstance(arg, ast.Literal) and arg.kind in (
                ast.LiteralKind.INT,
                ast.LiteralKind.FLOAT,
            )
            return self._error(
                "E203",
                f"the window of '{dotted}' must be a duration literal, like 5m",
                arg.span,
                help=f"give the window a unit: {dotted}({arg.text}m) or {dotted}({arg.text}s)"
                if bare and isinstance(arg, ast.Literal)
                else None,
            )
        if arg.seconds() <= 0:
            return self._error("E301", "a window must be longer than zero", arg.span)
        if arg.seconds() > signal.max_window_s:
            limit = window_name(signal.max_window_s)
            return self._error(
                "E207",
                f"the window of '{dotted}' can be at most {limit} (what the live metrics keep),"
                f" not {arg.text}",
                arg.span,
                help=f"use a window up to {limit}, e.g. {dotted}({limit})",
                notes=_LONGEST_WINDOWS,
            )
        return self._path(call.func, scopes)

    # -- operators --------------------------------------------------------------------------------

    def _unary(self, expr: ast.Unary, scopes: Set[Scope]) -> t.Type:
        got = self.type_of(expr.operand, scopes)
        if expr.op == "not":
            if got.kind not in (t.Kind.BOOL, t.Kind.UNKNOWN, t.Kind.ANY):
                return self._error(
                    "E202", f"`not` needs true/false, but this is {t.describe(got)}", expr.span
                )
            return t.BOOL
        if t.arithmetic_result("*", got, t.NUMBER) is None:
            return self._error("E201", f"cannot negate {t.describe(got)}", expr.span)
        return got

    def _binary(self, expr: ast.Binary, scopes: Set[Scope]) -> t.Type:
        op = expr.op
        outer, self._compared = self._compared, op in ("==", "!=", "in", "not in")
        try:
            left = self.type_of(expr.left, scopes)
            right = self.type_of(expr.right, scopes)
        finally:
            self._compared = outer
        if op in ("and", "or"):
            for side, got in ((expr.left, left), (expr.right, right)):
                if got.kind not in (t.Kind.BOOL, t.Kind.UNKNOWN, t.Kind.ANY):
                    self._error(
                        "E202",
                        f"`{op}` needs true/false on both sides, but this is {t.describe(got)}",
                        side.span,
                    )
            return t.BOOL
        if op in ("in", "not in"):
            if right.kind in (t.Kind.UNKNOWN, t.Kind.ANY):
                return t.BOOL
            if right.kind is t.Kind.LIST:
                if right.item is not None and not t.comparable(left, right.item, ordering=False):
                    self._error(
                        "E201",
                        f"cannot look for {t.describe(left)} in a list of {right.item}",
                        expr.span,
                    )
                return t.BOOL
            if right.kind is t.Kind.STRING and left.kind in (t.Kind.STRING, t.Kind.ANY):
                return t.BOOL
            self._error(
                "E206",
                f"`{op}` needs a list or a string on its right, not {t.describe(right)}",
                expr.right.span,
                help='e.g. `"batch" in request.tags` or `type in ["groq", "together"]`',
            )
            return t.BOOL
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if not t.comparable(left, right, ordering=op not in ("==", "!=")):
                if t.comparable(left, right, ordering=False):
                    message = f"{t.describe(left)} has no order; `{op}` cannot compare it"
                else:
                    message = f"cannot compare {t.describe(left)} with {t.describe(right)}"
                self._error("E201", message, expr.span, help=t.unit_hint(left, right))
            return t.BOOL
        result = t.arithmetic_result(op, left, right)
        if result is None:
            return self._error(
                "E201",
                f"cannot {_VERBS.get(op, 'combine')} {t.describe(left)} and {t.describe(right)}",
                expr.span,
                help=t.unit_hint(left, right),
            )
        return result


def _windowed() -> dict[str, Signal]:
    from .signals import CATALOG

    return {name: s for name, s in CATALOG.items() if s.windowed}


def _scope_help(scope: Scope, scopes: Set[Scope]) -> str:
    if scope is Scope.LIVE:
        return "filter on live metrics with `skip when` or `avoid when` inside a route"
    if scope is Scope.STATIC:
        return "select providers with `use providers where ...` or filter with `skip when`"
    return "request fields can be read in a route's `when`, `use providers where` or `skip when`"
