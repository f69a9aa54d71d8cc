"""The canonical layout of a policy, so reviews argue about meaning and never about spacing.

The formatter prints an AST (never the source text), which makes the two promises easy to keep:
the output parses to an equal AST, and formatting the output again changes nothing. Comments are
not in the AST proper; they travel beside it in :attr:`Policy.comments` with their spans, and are
placed back by position:

- a comment inside a statement's text, or on its own line(s), is printed on its own line before
  the statement that follows it, at that statement's indentation;
- a comment after the last token on a line stays at the end of that statement's line;
- a comment before a block's closing ``}`` stays inside the block; one after the last
  declaration stays at the end of the file.

Blank lines: one between top-level declarations, except that consecutive one-line declarations
of the same kind (several ``group`` lines, say) stay together; inside a run of own-line comments,
and between such comments and the statement they precede, one blank line is kept where the source
had at least one. Nowhere else.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import TypeAlias

from ..diagnostics import Span
from . import ast

__all__ = [
    "INDENT",
    "format_expr",
    "format_order_key",
    "format_policy",
    "format_text",
    "quote_string",
]

INDENT = "  "

# Binding strength, loosest first, as the grammar's expression rules nest.
_OR, _AND, _NOT, _COMPARE, _SUM, _PRODUCT, _NEG, _ATOM = range(1, 9)
_BINARY_PREC: dict[str, int] = {
    "or": _OR,
    "and": _AND,
    "==": _COMPARE,
    "!=": _COMPARE,
    "<": _COMPARE,
    "<=": _COMPARE,
    ">": _COMPARE,
    ">=": _COMPARE,
    "in": _COMPARE,
    "not in": _COMPARE,
    "+": _SUM,
    "-": _SUM,
    "*": _PRODUCT,
    "/": _PRODUCT,
}

_STRING_TOKEN = re.compile(r'"([^"\\\n]|\\.)*"')
_ESCAPES = {"n": "\n", "t": "\t"}


def format_text(text: str, path: str = "<policy>") -> str:
    """Parse then format; raises :class:`~llmpool_policy.errors.PolicySyntaxError`."""
    from . import parse

    return format_policy(parse(text, path))


def format_policy(policy: ast.Policy) -> str:
    """The policy in canonical layout, its comments kept, ending in exactly one newline."""
    lines = _Layout().policy(policy)
    eof = _place_comments(lines, policy.comments)
    return _render(lines, eof)


# ---- expressions ------------------------------------------------------------------------------


def quote_string(value: str) -> str:
    """A string literal that reads back as ``value`` (the grammar forbids raw newlines)."""
    body = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{body}"'


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(1)), text[1:-1])


def _literal(lit: ast.Literal) -> str:
    """As written, so `5m`, `1.50` and `32k` keep the author's spelling (and AST equality)."""
    if lit.kind is ast.LiteralKind.STRING:
        text = lit.text
        if _STRING_TOKEN.fullmatch(text) and _unquote(text) == lit.value:
            return text
        return quote_string(str(lit.value))
    return lit.text


def _precedence(expr: ast.Expr) -> int:
    if isinstance(expr, ast.Binary):
        return _BINARY_PREC[expr.op]
    if isinstance(expr, ast.Unary):
        return _NOT if expr.op == "not" else _NEG
    return _ATOM


def format_expr(expr: ast.Expr, min_prec: int = 0) -> str:
    """``expr`` with only the parentheses its position needs to parse back to the same tree."""
    text = _expr_text(expr)
    return f"({text})" if _precedence(expr) < min_prec else text


def _expr_text(expr: ast.Expr) -> str:
    if isinstance(expr, ast.Literal):
        return _literal(expr)
    if isinstance(expr, ast.Path):
        return expr.dotted
    if isinstance(expr, ast.Call):
        args = ", ".join(format_expr(a) for a in expr.args)
        return f"{expr.func.dotted}({args})"
    if isinstance(expr, ast.ListExpr):
        return _list(expr.items)
    if isinstance(expr, ast.Unary):
        if expr.op == "not":
            return "not " + format_expr(expr.operand, _NOT)
        return "-" + format_expr(expr.operand, _NEG)
    prec = _BINARY_PREC[expr.op]
    if expr.op in ("and", "or"):
        # The parser builds a chain as a balanced tree: print it back as the flat chain, with
        # brackets only around a same-operator part the balancing does not account for.
        return f" {expr.op} ".join(format_expr(i, prec + 1) for i in _chain_items(expr))
    # Every binary level is left-associative except comparisons, which do not chain at all:
    # so the left operand may share the operator's level (unless it compares), the right never.
    left_min = prec + 1 if prec == _COMPARE else prec
    left = format_expr(expr.left, left_min)
    right = format_expr(expr.right, prec + 1)
    return f"{left} {expr.op} {right}"


def _chain_items(expr: ast.Binary) -> list[ast.Expr]:
    """The operands of the longest ``x op y op ...`` chain whose balanced tree (as the parser
    builds it: the left half takes the middle item) is ``expr``, so the printed chain parses
    back to the same tree. A part that does not fit is one operand, printed in brackets.
    Recursion is as deep as the tree, which the parser's depth limit bounds."""
    op = expr.op
    left = _same_op_items(expr.left, op)
    right = _same_op_items(expr.right, op)
    if len(left) - len(right) in (0, 1):
        return left + right
    return [expr.left, expr.right]


def _same_op_items(expr: ast.Expr, op: str) -> list[ast.Expr]:
    if isinstance(expr, ast.Binary) and expr.op == op:
        return _chain_items(expr)
    return [expr]


def _list(items: tuple[ast.Expr, ...]) -> str:
    return "[" + ", ".join(format_expr(i) for i in items) + "]"


# ---- statements -------------------------------------------------------------------------------


def _group_expr(value: ast.GroupExpr) -> str:
    if isinstance(value, ast.GroupList):
        return _list(value.items)
    if isinstance(value, ast.Selector):
        return "providers where " + format_expr(value.condition)
    if isinstance(value, ast.AllProviders):
        return "all"
    return value.name.value


def _error_item(item: ast.ErrorItem) -> str:
    if isinstance(item, ast.ErrorClass):
        return item.name
    if isinstance(item, ast.StatusCode):
        return str(item.code)
    if isinstance(item, ast.StatusClass):
        return f"{item.hundreds}xx"
    return f"{item.low}..{item.high}"


def _error_list(items: tuple[ast.ErrorItem, ...]) -> str:
    return ", ".join(_error_item(i) for i in items)


def _retry_setting(s: ast.RetrySetting) -> str:
    if isinstance(s, ast.Attempts):
        return f"attempts {s.count.text}"
    if isinstance(s, ast.Backoff):
        text = f"backoff {s.kind} {s.base.text}"
        if s.cap is not None:
            text += f" .. {s.cap.text}"
        if s.jitter is not None:
            text += f" jitter {s.jitter}"
        return text
    if isinstance(s, ast.RetryOn):
        return "on " + _error_list(s.items)
    cap = f" up to {s.cap.text}" if s.cap is not None else ""
    cool = f", cool down at most {s.cool_down_cap.text}" if s.cool_down_cap is not None else ""
    return "honor retry_after" + cap + cool


def _breaker_setting(s: ast.BreakerSetting) -> str:
    if isinstance(s, ast.OpenAfter):
        return f"open after {s.failures.text} failures within {s.window.text}"
    if isinstance(s, ast.OpenAtRate):
        text = f"open at {s.rate.text} errors within {s.window.text}"
        if s.min_requests is not None:
            text += f" min {s.min_requests.text} requests"
        return text
    if isinstance(s, ast.CoolDown):
        text = f"cool down {s.duration.text}"
        if s.extend:
            text += ", extend on failure"
            if s.extend_cap is not None:
                text += f" up to {s.extend_cap.text}"
        return text
    if isinstance(s, ast.Probe):
        return f"probe {s.count.text}"
    return "count " + _error_list(s.items)


def _limit_setting(s: ast.LimitSetting) -> str:
    if isinstance(s, ast.Deadline):
        return f"deadline {s.duration.text}"
    if isinstance(s, ast.MaxAttempts):
        return f"max attempts {s.count.text}"
    if isinstance(s, ast.WaitWhenNone):
        return f"when none available wait up to {s.duration.text}"
    return f"max cost {s.amount.text} per request"


def _assert(s: ast.Assert) -> str:
    return f"assert {s.bound.value} {s.op} {_literal(s.value)}"


def _budget(d: ast.BudgetDecl) -> str:
    text = f"budget {d.name.value} = {d.amount.text} per {d.period}"
    if d.key is not None:
        text += " per " + format_expr(d.key)
    elif d.per_provider:
        text += " per provider"
    if isinstance(d.breach, ast.BreachDeny):
        text += " on breach deny"
    elif isinstance(d.breach, ast.BreachFallback):
        text += f" on breach fallback {d.breach.route.value}"
    return text


def format_order_key(k: ast.OrderKey) -> str:
    """``latency.p50(5m) desc unknown last``: the key, its direction and unknown place as
    written."""
    text = format_expr(k.expr)
    if k.direction is not None:
        text += f" {k.direction}"
    if k.unknown is not None:
        text += f" unknown {k.unknown}"
    return text


def _route_stmt(s: ast.RouteStmt) -> str:
    """One-line route statements (blocks are laid out by :class:`_Layout`)."""
    if isinstance(s, ast.Use):
        return "use " + _group_expr(s.providers)
    if isinstance(s, ast.Skip):
        return "skip when " + format_expr(s.condition)
    if isinstance(s, ast.Avoid):
        return "avoid when " + format_expr(s.condition)
    if isinstance(s, ast.OrderBy):
        return "order by " + ", ".join(format_order_key(k) for k in s.keys)
    if isinstance(s, ast.Split):
        arms = ", ".join(f"{a.provider.value} {a.weight.text}" for a in s.arms)
        by = f" by {format_expr(s.by)}" if s.by is not None else ""
        return f"split {arms}{by}"
    if isinstance(s, ast.RetryRef):
        return f"retry {s.name.value}"
    if isinstance(s, ast.BreakerRef):
        return f"breaker {s.name.value}"
    if isinstance(s, ast.Failover):
        return "failover off" if s.items is None else "failover on " + _error_list(s.items)
    if isinstance(s, ast.Fallback):
        return f"on exhausted fallback {s.route.value}"
    if isinstance(s, ast.Timeout):
        return f"timeout {s.duration.text}"
    if isinstance(s, ast.Assert):
        return _assert(s)
    raise TypeError(f"not a one-line route statement: {type(s).__name__}")  # pragma: no cover


# ---- layout: output lines that remember where their text came from ----------------------------


@dataclass
class _Line:
    """One output line, with the source region it stands for (to place comments by position)."""

    depth: int
    text: str
    start: int  # source offsets, end exclusive
    end: int
    start_line: int
    end_line: int
    closer: bool = False
    blank_before: bool = False
    leading: list[tuple[ast.Comment, int]] = field(default_factory=list)  # (comment, gap line)
    trailing: ast.Comment | None = None


_FROM_CONFIG = " from config"

# A block's body: one-line statements (text, source span), or nested blocks laid out in turn.
_BodyItem: TypeAlias = tuple[str, Span] | ast.LimitsDecl | ast.RetryInline


class _Layout:
    """Turns declarations into :class:`_Line` values, in source order (comments rely on it)."""

    def __init__(self) -> None:
        self.lines: list[_Line] = []

    def policy(self, policy: ast.Policy) -> list[_Line]:
        previous: ast.Decl | None = None
        for decl in policy.decls:
            first = len(self.lines)
            self.decl(decl)
            if previous is not None:
                self.lines[first].blank_before = not (
                    _one_line(previous) and _one_line(decl) and type(previous) is type(decl)
                )
            previous = decl
        return self.lines

    def line(self, depth: int, text: str, span: Span) -> None:
        self.lines.append(_Line(depth, text, span.start, span.end, span.line, span.end_line))

    def block(
        self,
        depth: int,
        header: str,
        span: Span,
        header_end: Span,
        body: list[_BodyItem],
    ) -> None:
        """``header {``, the body one level in, ``}``; ``header_end`` is the header's last token."""
        self.lines.append(
            _Line(depth, header + " {", span.start, header_end.end, span.line, header_end.end_line)
        )
        for item in body:
            if isinstance(item, ast.LimitsDecl):
                self.limits(depth + 1, item)
            elif isinstance(item, ast.RetryInline):
                self.retry_body(depth + 1, "retry", item.body, item.span)
            else:
                self.line(depth + 1, *item)
        closer = _Line(
            depth, "}", span.end - 1, span.end, span.end_line, span.end_line, closer=True
        )
        self.lines.append(closer)

    def limits(self, depth: int, d: ast.LimitsDecl) -> None:
        keyword = _token_at(d.span, len("limits"))
        items: list[_BodyItem] = [(_limit_setting(s), s.span) for s in d.settings]
        self.block(depth, "limits", d.span, keyword, items)

    def retry_body(self, depth: int, header: str, body: ast.RetryBody, span: Span) -> None:
        items: list[_BodyItem] = [(_retry_setting(s), s.span) for s in body.settings]
        header += _FROM_CONFIG if body.from_config else ""
        self.block(depth, header, span, _token_at(body.span, 1), items)

    def decl(self, d: ast.Decl) -> None:
        if isinstance(d, ast.PolicyHeader):
            self.line(0, "policy " + quote_string(d.name), d.span)
        elif isinstance(d, ast.GroupDecl):
            self.line(0, f"group {d.name.value} = {_group_expr(d.value)}", d.span)
        elif isinstance(d, ast.RetryDecl):
            self.retry_body(0, f"retry {d.name.value}", d.body, d.span)
        elif isinstance(d, ast.BreakerDecl):
            settings: list[_BodyItem] = [(_breaker_setting(s), s.span) for s in d.settings]
            header = f"breaker {d.name.value}" + (_FROM_CONFIG if d.from_config else "")
            self.block(0, header, d.span, d.name.span, settings)
        elif isinstance(d, ast.LimitsDecl):
            self.limits(0, d)
        elif isinstance(d, ast.BudgetDecl):
            self.line(0, _budget(d), d.span)
        elif isinstance(d, ast.RouteDecl):
            self.route(d)
        else:
            self.line(0, _assert(d), d.span)

    def route(self, d: ast.RouteDecl) -> None:
        header = f"route {d.name.value}"
        header_end = d.name.span
        if d.condition is not None:
            header += " when " + format_expr(d.condition)
            header_end = d.condition.span
        body: list[_BodyItem] = [
            s if isinstance(s, ast.LimitsDecl | ast.RetryInline) else (_route_stmt(s), s.span)
            for s in d.body
        ]
        self.block(0, header, d.span, header_end, body)


def _token_at(span: Span, length: int) -> Span:
    """The span of the ``length``-character token ``span`` starts with (a keyword, a brace)."""
    return Span(
        span.line, span.column, span.line, span.column + length, span.start, span.start + length
    )


def _one_line(d: ast.Decl) -> bool:
    return isinstance(d, ast.PolicyHeader | ast.GroupDecl | ast.BudgetDecl | ast.Assert)


# ---- comments ---------------------------------------------------------------------------------


def _place_comments(
    lines: list[_Line], comments: tuple[ast.Comment, ...]
) -> list[tuple[ast.Comment, int]]:
    """Attach each comment to one output line (leading or trailing); return those left at EOF.

    Each comes with the source line used to decide where blank lines are kept around it.
    """
    starts = [line.start for line in lines]
    eof: list[tuple[ast.Comment, int]] = []
    for comment in sorted(comments, key=lambda c: c.span.start):
        offset, at = comment.span.start, comment.span.line
        index = bisect.bisect_left(starts, offset) - 1
        before = lines[index] if index >= 0 else None
        after = lines[index + 1] if index + 1 < len(lines) else None
        if before is not None and not before.closer and before.start < offset < before.end:
            # Inside a statement's text: it moves above the statement, as if written just there.
            before.leading.append((comment, before.start_line))
        elif before is not None and at == before.end_line and before.trailing is None:
            before.trailing = comment
        elif before is not None and at == before.end_line:  # pragma: no cover - one per line
            before.leading.append((comment, before.start_line))
        elif after is not None:
            after.leading.append((comment, at))
        else:
            eof.append((comment, at))
    return eof


def _render(lines: list[_Line], eof: list[tuple[ast.Comment, int]]) -> str:
    out: list[str] = []
    for line in lines:
        if line.blank_before:
            out.append("")
        depth = line.depth + 1 if line.closer else line.depth
        _comment_run(out, line.leading, INDENT * depth)
        if line.leading and not line.closer and line.start_line - line.leading[-1][1] > 1:
            out.append("")
        text = INDENT * line.depth + line.text
        if line.trailing is not None:
            text += "  " + line.trailing.text
        out.append(text)
    if eof:
        if lines and eof[0][1] - lines[-1].end_line > 1:
            out.append("")
        _comment_run(out, eof, "")
    return "\n".join(out) + "\n" if out else ""


def _comment_run(out: list[str], run: list[tuple[ast.Comment, int]], indent: str) -> None:
    previous: int | None = None
    for comment, at in run:
        if previous is not None and at - previous > 1:
            out.append("")
        out.append(indent + comment.text)
        previous = at
