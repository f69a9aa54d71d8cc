"""Evaluate expressions over provider attributes, when the policy is checked or compiled.

Used to resolve ``providers where ...`` selectors against a provider config. An expression
that reads anything beyond literals and static attributes is request-dependent: evaluation
raises :class:`NotStatic`, and callers fall back to an upper bound.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from ..syntax import ast
from .signals import Scope, lookup

__all__ = ["NotStatic", "evaluate", "literal_value"]


class NotStatic(Exception):
    """The expression reads something only a request (or live metrics) can tell."""


def literal_value(lit: ast.Literal) -> object:
    if lit.kind is ast.LiteralKind.MINUTES_OR_MILLIONS:
        raise NotStatic("ambiguous unit")
    return lit.value


COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
}


def evaluate(expr: ast.Expr, attributes: Mapping[str, object]) -> object:
    """The value of ``expr`` for a provider with these static attributes.

    A missing attribute (None) makes comparisons false, as SQL's NULL would, so a selector
    never picks a provider on the strength of a value nobody configured.
    """
    if isinstance(expr, ast.Literal):
        return literal_value(expr)
    if isinstance(expr, ast.Path):
        signal = lookup(expr.dotted)
        if signal is None or signal.scope is not Scope.STATIC:
            raise NotStatic(expr.dotted)
        return attributes.get(signal.name)
    if isinstance(expr, ast.Call):
        raise NotStatic(expr.func.dotted)
    if isinstance(expr, ast.ListExpr):
        return [evaluate(item, attributes) for item in expr.items]
    if isinstance(expr, ast.Unary):
        value = evaluate(expr.operand, attributes)
        if expr.op == "not":
            return not bool(value)
        return None if value is None else -value  # type: ignore[operator]
    op = expr.op
    if op == "and":
        return bool(evaluate(expr.left, attributes)) and bool(evaluate(expr.right, attributes))
    if op == "or":
        return bool(evaluate(expr.left, attributes)) or bool(evaluate(expr.right, attributes))
    left = evaluate(expr.left, attributes)
    right = evaluate(expr.right, attributes)
    if op in ("in", "not in"):
        if right is None or left is None:
            return False
        found = left in right  # type: ignore[operator]
        return found if op == "in" else not found
    if left is None or right is None:
        return False if op in COMPARE else None
    if op in COMPARE:
        try:
            return bool(COMPARE[op](left, right))
        except TypeError:
            return False
    try:
        return ARITH[op](left, right)  # type: ignore[arg-type]
    except (TypeError, ZeroDivisionError):
        return None
