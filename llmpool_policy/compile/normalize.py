"""Resolve context-dependent literals before evaluation: `5m` is minutes or millions of tokens.

The checker decided what each `5m` means from the other operand's type; this pass rewrites the
literal so both evaluators (compiled and reference) read plain durations and token counts.
"""

from __future__ import annotations

from dataclasses import replace

from ..semantics import types as t
from ..semantics.signals import Scope
from ..semantics.typecheck import ExprChecker
from ..syntax import ast

__all__ = ["normalize"]

_ALL = frozenset({Scope.REQUEST, Scope.STATIC, Scope.LIVE})


def _type(expr: ast.Expr) -> t.Type:
    return ExprChecker("<normalize>", lambda _d: None).type_of(expr, _ALL)


def _as(lit: ast.Literal, other: t.Type) -> ast.Literal:
    if lit.kind is not ast.LiteralKind.MINUTES_OR_MILLIONS:
        return lit
    if other.kind is t.Kind.TOKENS:
        return replace(lit, kind=ast.LiteralKind.TOKENS, value=lit.tokens())
    return replace(lit, kind=ast.LiteralKind.DURATION, value=lit.seconds())


def normalize(expr: ast.Expr) -> ast.Expr:
    if isinstance(expr, ast.Literal):
        return _as(expr, t.DURATION)
    if isinstance(expr, ast.Path):
        return expr
    if isinstance(expr, ast.Call):
        return replace(expr, args=tuple(normalize(a) for a in expr.args))
    if isinstance(expr, ast.ListExpr):
        return replace(expr, items=tuple(normalize(i) for i in expr.items))
    if isinstance(expr, ast.Unary):
        return replace(expr, operand=normalize(expr.operand))
    left, right = expr.left, expr.right
    if isinstance(left, ast.Literal) and left.kind is ast.LiteralKind.MINUTES_OR_MILLIONS:
        left = _as(left, _type(right))
    if isinstance(right, ast.Literal) and right.kind is ast.LiteralKind.MINUTES_OR_MILLIONS:
        right = _as(right, _type(left))
    return replace(expr, left=normalize(left), right=normalize(right))
