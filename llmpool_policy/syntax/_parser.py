"""Lark machinery: the cached parser, the tree-to-AST transformer, and syntax-error recovery.

Nothing from Lark leaves this module: callers get :class:`~llmpool_policy.syntax.ast.Policy`
values or :class:`~llmpool_policy.errors.PolicySyntaxError` with plain-word diagnostics.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .._gc import paused_gc
from .._resources import data_path
from ..diagnostics import Diagnostic, Span, sort_diagnostics
from ..suggest import closest
from . import ast
from .limits import MAX_ATTEMPTS, MAX_EXPR_DEPTH, MAX_NUMBER_DIGITS, MAX_SOURCE_CHARS

# Plain words for the grammar's named terminals, so no user ever reads `LSQB` or `__ANON_3`.
_TERMINAL_WORDS: dict[str, str] = {
    "NAME": "a name",
    "STRING": 'a string in double quotes, like "acme"',
    "INT": "a whole number",
    "FLOAT": "a number",
    "DURATION": "a duration, like 500ms or 30s",
    "MINUTES_OR_MILLIONS": "a duration, like 500ms or 30s",
    "TOKENS": "a token count, like 32k",
    "PERCENT": "a percentage, like 5%",
    "MONEY": "an amount of money, like $0.50",
    "STATUS_CLASS": "a status class, like 5xx",
    "COMP_OP": "a comparison (==, !=, <, <=, >, >=)",
    "BACKOFF_KIND": "exponential, linear or constant",
    "JITTER_KIND": "full, equal or none",
    "PERIOD": "minute, hour, day, week or month",
    "DIRECTION": "asc or desc",
    "PLACE": "first or last",
}

# Statements that may start at the top level; recovery resumes at the next one of these.
_TOP_KEYWORDS = ("policy", "group", "retry", "breaker", "limits", "budget", "route", "assert")
_TOP_START = re.compile(r"^([ \t]*)(" + "|".join(_TOP_KEYWORDS) + r")\b")
# Keywords that never start a statement inside a block, so they start a new top-level one even
# when a block before them was left open.
_TOP_ONLY = frozenset({"policy", "group", "budget", "route"})
_MAX_SYNTAX_ERRORS = 20


# Serialised LALR tables ship beside the grammar (committed, copied into the wheel): loading
# them takes a fraction of building them, which every `llmpool-policy check` process paid.
# Their first line is _grammar_key(); a grammar edited since (or another Lark) makes them
# stale, and the parser is then built from the grammar as before. `make tables` rewrites them.
_TABLES = ("grammar", "policy.lark.tables")
_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "contextual",
    "propagate_positions": False,  # spans come from tokens (see _spanned)
    "maybe_placeholders": True,
}


def _grammar_key(grammar: str) -> str:
    """What the tables were built from: the grammar's text, the options and Lark's version."""
    source = f"{grammar}\0{sorted(_OPTIONS.items())!r}\0lark {lark.__version__}"
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def _build(grammar: str) -> lark.Lark:
    # The AST is built inside the LALR parse: no intermediate tree, no position propagation
    # pass (more than twice as fast). Spans come from the tokens themselves.
    return lark.Lark(grammar, cache=False, transformer=_ToAst(), **_OPTIONS)


def load_tables(grammar: str, path: Path) -> lark.Lark | None:
    """The parser from the tables at ``path``, or None when they are missing or were built
    from another grammar (or Lark)."""
    try:
        with path.open("rb") as f:
            if f.readline().rstrip(b"\n") != _grammar_key(grammar).encode("ascii"):
                return None
            # Lark.load() takes no options; its own cache loads through _load with the
            # transformer, as here. The key pins Lark's version, so this runs only against
            # the Lark that wrote the tables; anything unexpected falls back to building.
            parser: lark.Lark = lark.Lark.__new__(lark.Lark)
            parser._load(f, transformer=_ToAst())
    except FileNotFoundError:
        return None
    except Exception:  # unreadable tables are rebuilt, never fatal
        return None
    return parser if isinstance(parser.options.transformer, _ToAst) else None


def write_tables(path: Path | None = None) -> Path:
    """Build the parser from the grammar and save its tables (``make tables``)."""
    grammar = data_path("grammar", "policy.lark")
    target = path if path is not None else grammar.with_name(_TABLES[1])
    text = grammar.read_text(encoding="utf-8")
    with target.open("wb") as f:
        f.write(_grammar_key(text).encode("ascii") + b"\n")
        _build(text).save(f)
    return target


@functools.cache
def _parser() -> lark.Lark:
    """Once per process: from the shipped tables when they match the grammar, else built."""
    global _DROPPED
    grammar = data_path("grammar", "policy.lark").read_text(encoding="utf-8")
    tables = data_path("grammar", "policy.lark").with_name(_TABLES[1])
    parser = load_tables(grammar, tables) or _build(grammar)
    _DROPPED = frozenset(t.name for t in parser.terminals if t.pattern.type == "str")
    return parser


_DROPPED: frozenset[str] = frozenset()


@functools.cache
def _terminal_words() -> dict[str, str]:
    words = dict(_TERMINAL_WORDS)
    for term in _parser().terminals:
        if term.name not in words and term.pattern.type == "str":
            words[term.name] = f"'{term.pattern.value}'"
    return words


def _tok_span(tok: Token) -> Span:
    return Span(
        tok.line or 0,
        tok.column or 0,
        tok.end_line or 0,
        tok.end_column or 0,
        tok.start_pos or 0,
        tok.end_pos or 0,
    )


def _name(tok: Token) -> ast.Name:
    return ast.Name(str(tok), _tok_span(tok))


_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "h": 3600.0, "d": 86400.0}
_TOKEN_UNITS = {"k": 1_000, "K": 1_000, "M": 1_000_000}


def _number(text: str) -> int | float:
    return float(text) if "." in text else int(text)


def _in_range(text: str, tok: Token) -> bool:
    """Whether a number as written has at most MAX_NUMBER_DIGITS digits before its point; one
    with more is E006 (it would overflow a float, or be no amount anyone means)."""
    digits = len(text) - len(text.lstrip("$").lstrip("0123456789")) - text.startswith("$")
    if digits <= MAX_NUMBER_DIGITS:
        return True
    _STATE.get().problems.append(
        Diagnostic(
            "E006",
            f"this number has {digits} digits before its point; a number may have at most "
            f"{MAX_NUMBER_DIGITS}",
            _tok_span(tok),
            help="no setting means a number this large: look for a typo or a pasted value",
        )
    )
    return False


_UNCOUNTED = frozenset({ast.LiteralKind.STRING, ast.LiteralKind.STATUS_CLASS})


def _literal(kind: ast.LiteralKind, tok: Token) -> ast.Literal:
    text = str(tok)
    value: int | float | str | bool
    if kind not in _UNCOUNTED and not _in_range(text, tok):
        value = 0  # never used: E006 fails the parse
    elif kind is ast.LiteralKind.DURATION:
        unit = "ms" if text.endswith("ms") else text[-1]
        value = _number(text[: -len(unit)]) * _DURATION_UNITS[unit]
    elif kind is ast.LiteralKind.MINUTES_OR_MILLIONS:
        value = _number(text[:-1])
    elif kind is ast.LiteralKind.TOKENS:
        value = _number(text[:-1]) * _TOKEN_UNITS[text[-1]]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
    elif kind is ast.LiteralKind.PERCENT:
        value = _number(text[:-1]) / 100.0
    elif kind is ast.LiteralKind.MONEY:
        value = float(text[1:])
    elif kind is ast.LiteralKind.STATUS_CLASS:
        value = int(text[0])
    elif kind is ast.LiteralKind.STRING:
        value = _unquote(text)
    elif kind is ast.LiteralKind.FLOAT:
        value = float(text)
    else:
        value = int(text)
    return ast.Literal(kind, value, text, _tok_span(tok))


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _lit(kind: ast.LiteralKind) -> Callable[[Any, Span, Token], ast.Literal]:
    def handler(self: Any, span: Span, tok: Token) -> ast.Literal:
        return _literal(kind, tok)

    return handler


class _Seq(tuple):  # type: ignore[type-arg]
    """A rule's tuple result (a block body, an error list) that remembers its span."""

    span: Span


_NOWHERE = Span(0, 0, 0, 0)


def _spanned(f: Callable[..., Any], _data: str, children: list[Any], _meta: object) -> Any:
    """Call a rule handler with the node's span; keyword and bracket tokens dropped.

    On the parser's hot path (once per node): tokens are read directly, no Span per token.
    """
    first: tuple[Any, Any, Any] | None = None
    last: tuple[Any, Any, Any] | None = None
    for child in children:
        if type(child) is Token:
            first = (child.line, child.column, child.start_pos)
            break
        span = getattr(child, "span", None)
        if span is not None:
            first = (span.line, span.column, span.start)
            break
    for child in reversed(children):
        if type(child) is Token:
            last = (child.end_line, child.end_column, child.end_pos)
            break
        span = getattr(child, "span", None)
        if span is not None:
            last = (span.end_line, span.end_column, span.end)
            break
    if first is not None and last is not None:
        node_span = Span(first[0], first[1], last[0], last[1], first[2], last[2])
    else:
        node_span = _NOWHERE
    dropped = _DROPPED
    args = [
        tuple(c) if type(c) is _Seq else c
        for c in children
        if type(c) is not Token or c.type not in dropped
    ]
    result = f(node_span, *args)
    if type(result) is tuple:
        seq = _Seq(result)
        seq.span = node_span
        return seq
    return result


class _ParseState:
    """What one parse attempt learns besides its AST: each expression node's height (kept with
    the node, so no id is reused while the parse runs) and the nodes over the depth limit whose
    parents are not built yet -- the outermost ones once the parse ends."""

    def __init__(self) -> None:
        self.heights: dict[int, tuple[ast.Expr, int]] = {}
        self.too_deep: dict[int, tuple[ast.Expr, int]] = {}
        self.problems: list[Diagnostic] = []  # numbers out of range (E006), without a path


_STATE: ContextVar[_ParseState] = ContextVar("llmpool_policy_parse_state")

_E = TypeVar("_E", bound=ast.Expr)


def _nested(node: _E, *children: ast.Expr) -> _E:
    """Record ``node``'s height (1 + its tallest child's); one over the limit is reported by
    the parse as E004 and never reaches a recursive stage."""
    state = _STATE.get()
    heights = state.heights
    height = 2 if children else 1  # a leaf (literal, path) is 1
    for child in children:
        known = heights.get(id(child))
        if known is not None and known[1] >= height:
            height = known[1] + 1
    heights[id(node)] = (node, height)
    if height > MAX_EXPR_DEPTH:
        too_deep = state.too_deep
        for child in children:
            too_deep.pop(id(child), None)
        too_deep[id(node)] = (node, height)
    return node


def _balanced(op: str, items: tuple[ast.Expr, ...]) -> ast.Expr:
    """``a or b or c ...`` as a balanced tree (depth log2 n, the left half the larger), so a
    chain of any length nests no deeper than a few levels. The operators are associative and
    the tree is still read left to right, so the meaning is the chain's; the formatter prints
    it back as the flat chain (formatter._chain_items)."""
    if len(items) == 1:
        return items[0]
    middle = (len(items) + 1) // 2
    left, right = _balanced(op, items[:middle]), _balanced(op, items[middle:])
    return _nested(ast.Binary(op, left, right, left.span.to(right.span)), left, right)


@v_args(wrapper=_spanned)
class _ToAst(Transformer[Token, ast.Policy]):
    """Parse events -> AST, inside the LALR parse. Method names are grammar rule names."""

    # -- literals
    int_lit = _lit(ast.LiteralKind.INT)
    float_lit = _lit(ast.LiteralKind.FLOAT)
    string = _lit(ast.LiteralKind.STRING)
    duration = _lit(ast.LiteralKind.DURATION)
    minutes_or_millions = _lit(ast.LiteralKind.MINUTES_OR_MILLIONS)
    money = _lit(ast.LiteralKind.MONEY)
    percent = _lit(ast.LiteralKind.PERCENT)
    tokens = _lit(ast.LiteralKind.TOKENS)
    status_class_lit = _lit(ast.LiteralKind.STATUS_CLASS)

    def atom(self, span: Span, expr: ast.Expr) -> ast.Expr:
        return expr  # a parenthesised expression

    def true(self, span: Span) -> ast.Literal:
        return ast.Literal(ast.LiteralKind.BOOL, True, "true", span)

    def false(self, span: Span) -> ast.Literal:
        return ast.Literal(ast.LiteralKind.BOOL, False, "false", span)

    # -- expressions
    def path(self, span: Span, *parts: Token) -> ast.Path:
        return ast.Path(tuple(str(p) for p in parts), span)

    def call(self, span: Span, func: ast.Path, *args: ast.Expr | None) -> ast.Call:
        found = tuple(a for a in args if a is not None)
        return _nested(ast.Call(func, found, span), *found)

    def list(self, span: Span, *items: ast.Expr | None) -> ast.ListExpr:
        found = tuple(i for i in items if i is not None)
        return _nested(ast.ListExpr(found, span), *found)

    def expr(self, span: Span, *items: ast.Expr) -> ast.Expr:
        return _balanced("or", items)

    def and_expr(self, span: Span, *items: ast.Expr) -> ast.Expr:
        return _balanced("and", items)

    def not_op(self, span: Span, operand: ast.Expr) -> ast.Unary:
        return _nested(ast.Unary("not", operand, span), operand)

    def neg(self, span: Span, operand: ast.Expr) -> ast.Unary:
        return _nested(ast.Unary("-", operand, span), operand)

    def compare(self, span: Span, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary(str(op), left, right, span), left, right)

    def in_op(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("in", left, right, span), left, right)

    def not_in_op(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("not in", left, right, span), left, right)

    def add(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("+", left, right, span), left, right)

    def sub(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("-", left, right, span), left, right)

    def mul(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("*", left, right, span), left, right)

    def div(self, span: Span, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return _nested(ast.Binary("/", left, right, span), left, right)

    # -- provider sets
    def all_providers(self, span: Span) -> ast.AllProviders:
        return ast.AllProviders(span)

    def selector(self, span: Span, condition: ast.Expr) -> ast.Selector:
        return ast.Selector(condition, span)

    def name_ref(self, span: Span, name: Token) -> ast.GroupRef:
        return ast.GroupRef(_name(name), span)

    # -- error lists
    def error_list(self, span: Span, *items: ast.ErrorItem) -> tuple[ast.ErrorItem, ...]:
        return items

    def error_class(self, span: Span, name: Token) -> ast.ErrorClass:
        return ast.ErrorClass(str(name), span)

    def status_code(self, span: Span, code: Token) -> ast.StatusCode:
        return ast.StatusCode(int(code) if _in_range(str(code), code) else 0, span)

    def status_class(self, span: Span, tok: Token) -> ast.StatusClass:
        return ast.StatusClass(int(str(tok)[0]), span)

    def status_range(self, span: Span, low: Token, high: Token) -> ast.StatusRange:
        ends = [int(end) if _in_range(str(end), end) else 0 for end in (low, high)]
        return ast.StatusRange(ends[0], ends[1], span)

    # -- declarations
    def start(self, span: Span, *decls: ast.Decl) -> tuple[ast.Decl, ...]:
        return decls

    def policy_decl(self, span: Span, name: Token) -> ast.PolicyHeader:
        return ast.PolicyHeader(_unquote(str(name)), span)

    def group_decl(
        self, span: Span, name: Token, value: ast.GroupExpr | ast.ListExpr
    ) -> ast.GroupDecl:
        return ast.GroupDecl(_name(name), _group(value), span)

    def retry_decl(self, span: Span, name: Token, body: ast.RetryBody) -> ast.RetryDecl:
        return ast.RetryDecl(_name(name), body, span)

    def retry_body(
        self, span: Span, from_config: bool | None, *settings: ast.RetrySetting
    ) -> ast.RetryBody:
        return ast.RetryBody(settings, from_config is not None, span)

    def from_config(self, span: Span) -> bool:
        return True

    def retry_attempts(self, span: Span, count: ast.Literal) -> ast.Attempts:
        if isinstance(count.value, int | float) and count.value > MAX_ATTEMPTS:
            _STATE.get().problems.append(
                Diagnostic(
                    "E006",
                    f"a retry block makes at most {MAX_ATTEMPTS} attempts per provider "
                    f"(got {count.text})",
                    count.span,
                    help="bound the retries by time instead: `limits { deadline 10m }`",
                )
            )
        return ast.Attempts(count, span)

    def retry_backoff(
        self,
        span: Span,
        kind: Token,
        base: ast.Literal,
        cap: ast.Literal | None,
        jitter: Token | None,
    ) -> ast.Backoff:
        return ast.Backoff(str(kind), base, cap, None if jitter is None else str(jitter), span)

    def jitter(self, span: Span, kind: Token) -> Token:
        return kind  # a token, so the backoff's span reaches the end of the line

    def retry_on(self, span: Span, items: tuple[ast.ErrorItem, ...]) -> ast.RetryOn:
        return ast.RetryOn(items, span)

    def retry_honor(
        self, span: Span, cap: ast.Literal | None, cool: ast.Literal | None
    ) -> ast.HonorRetryAfter:
        return ast.HonorRetryAfter(cap, span, cool)

    def cool_down_cap(self, span: Span, duration: ast.Literal) -> ast.Literal:
        return duration

    def breaker_decl(
        self,
        span: Span,
        name: Token,
        from_config: bool | None,
        settings: tuple[ast.BreakerSetting, ...],
    ) -> ast.BreakerDecl:
        return ast.BreakerDecl(_name(name), settings, from_config is not None, span)

    def breaker_body(
        self, span: Span, *settings: ast.BreakerSetting
    ) -> tuple[ast.BreakerSetting, ...]:
        return settings

    def breaker_open_count(
        self, span: Span, failures: ast.Literal, window: ast.Literal
    ) -> ast.OpenAfter:
        return ast.OpenAfter(failures, window, span)

    def breaker_open_rate(
        self, span: Span, rate: Token, window: ast.Literal, minimum: ast.Literal | None
    ) -> ast.OpenAtRate:
        return ast.OpenAtRate(_literal(ast.LiteralKind.PERCENT, rate), window, minimum, span)

    def breaker_cool(
        self, span: Span, duration: ast.Literal, extend: tuple[bool, ast.Literal | None] | None
    ) -> ast.CoolDown:
        if extend is None:
            return ast.CoolDown(duration, False, None, span)
        return ast.CoolDown(duration, True, extend[1], span)

    def extend_on_failure(
        self, span: Span, cap: ast.Literal | None
    ) -> tuple[bool, ast.Literal | None]:
        return (True, cap)

    def breaker_probe(self, span: Span, count: ast.Literal) -> ast.Probe:
        return ast.Probe(count, span)

    def breaker_count_on(self, span: Span, items: tuple[ast.ErrorItem, ...]) -> ast.CountOn:
        return ast.CountOn(items, span)

    def limits_decl(self, span: Span, settings: tuple[ast.LimitSetting, ...]) -> ast.LimitsDecl:
        return ast.LimitsDecl(settings, span)

    def limits_body(self, span: Span, *settings: ast.LimitSetting) -> tuple[ast.LimitSetting, ...]:
        return settings

    def limit_deadline(self, span: Span, duration: ast.Literal) -> ast.Deadline:
        return ast.Deadline(duration, span)

    def limit_attempts(self, span: Span, count: ast.Literal) -> ast.MaxAttempts:
        return ast.MaxAttempts(count, span)

    def limit_cost(self, span: Span, amount: Token) -> ast.MaxCost:
        return ast.MaxCost(_literal(ast.LiteralKind.MONEY, amount), span)

    def limit_wait(self, span: Span, duration: ast.Literal) -> ast.WaitWhenNone:
        return ast.WaitWhenNone(duration, span)

    def budget_decl(
        self,
        span: Span,
        name: Token,
        amount: Token,
        period: Token,
        key: ast.Expr | None,
        breach: ast.BreachDeny | ast.BreachFallback | None,
    ) -> ast.BudgetDecl:
        # `per provider` is written like a key, but `provider` alone is no signal: it keys the
        # budget by the provider that serves.
        per_provider = key == ast.Path(("provider",))
        return ast.BudgetDecl(
            _name(name),
            _literal(ast.LiteralKind.MONEY, amount),
            str(period),
            None if per_provider else key,
            breach,
            span,
            per_provider,
        )

    def breach_deny(self, span: Span) -> ast.BreachDeny:
        return ast.BreachDeny(span)

    def breach_fallback(self, span: Span, route: Token) -> ast.BreachFallback:
        return ast.BreachFallback(_name(route), span)

    # -- routes
    def route_decl(
        self,
        span: Span,
        name: Token,
        condition: ast.Expr | None,
        body: tuple[ast.RouteStmt, ...],
    ) -> ast.RouteDecl:
        return ast.RouteDecl(_name(name), condition, body, span)

    def route_body(self, span: Span, *stmts: ast.RouteStmt) -> tuple[ast.RouteStmt, ...]:
        return stmts

    def use_stmt(self, span: Span, value: ast.GroupExpr | ast.ListExpr) -> ast.Use:
        return ast.Use(_group(value), span)

    def skip_stmt(self, span: Span, condition: ast.Expr) -> ast.Skip:
        return ast.Skip(condition, span)

    def avoid_stmt(self, span: Span, condition: ast.Expr) -> ast.Avoid:
        return ast.Avoid(condition, span)

    def order_stmt(self, span: Span, *keys: ast.OrderKey) -> ast.OrderBy:
        return ast.OrderBy(keys, span)

    def order_key(
        self, span: Span, expr: ast.Expr, direction: Token | None, unknown: ast.Name | None
    ) -> ast.OrderKey:
        return ast.OrderKey(
            expr,
            None if direction is None else str(direction),
            span,
            None if unknown is None else unknown.value,
        )

    def unknown_place(self, span: Span, place: Token) -> ast.Name:
        return ast.Name(str(place), span)

    def split_stmt(self, span: Span, *parts: ast.SplitArm | ast.Expr | None) -> ast.Split:
        arms = tuple(p for p in parts if isinstance(p, ast.SplitArm))
        by = parts[-1] if parts and not isinstance(parts[-1], ast.SplitArm) else None
        return ast.Split(arms, by, span)

    def split_arm(self, span: Span, name: Token, weight: Token) -> ast.SplitArm:
        return ast.SplitArm(_name(name), _literal(ast.LiteralKind.PERCENT, weight), span)

    def retry_ref(self, span: Span, name: Token) -> ast.RetryRef:
        return ast.RetryRef(_name(name), span)

    def retry_inline(self, span: Span, body: ast.RetryBody) -> ast.RetryInline:
        return ast.RetryInline(body, span)

    def breaker_ref(self, span: Span, name: Token) -> ast.BreakerRef:
        return ast.BreakerRef(_name(name), span)

    def failover_stmt(self, span: Span, items: tuple[ast.ErrorItem, ...]) -> ast.Failover:
        return ast.Failover(items, span)

    def failover_off(self, span: Span) -> ast.Failover:
        return ast.Failover(None, span)

    def fallback_stmt(self, span: Span, route: Token) -> ast.Fallback:
        return ast.Fallback(_name(route), span)

    def timeout_stmt(self, span: Span, duration: ast.Literal) -> ast.Timeout:
        return ast.Timeout(duration, span)

    def assert_stmt(self, span: Span, bound: Token, op: Token, value: ast.Literal) -> ast.Assert:
        return ast.Assert(_name(bound), str(op), value, span)


def _group(value: ast.GroupExpr | ast.ListExpr) -> ast.GroupExpr:
    if isinstance(value, ast.ListExpr):
        return ast.GroupList(value.items, value.span)
    return value


# ---- syntax errors ------------------------------------------------------------------------------


_OPERATORS = frozenset(
    {"COMP_OP", "PLUS", "MINUS", "STAR", "SLASH", "AND", "OR", "IN", "NOT", "DOT", "LPAR"}
)


def _describe_expected(expected: set[str] | frozenset[str]) -> str:
    words = _terminal_words()
    names = set()
    for name in expected:
        if name in _OPERATORS:
            names.add("an operator")
        else:
            names.add(words.get(name, name.lower()))
    ordered = sorted(names, key=lambda w: (w == "an operator", w.startswith("'"), w))
    if not ordered:
        return "something else"
    if len(ordered) > 6:
        return ""
    if len(ordered) == 1:
        return ordered[0]
    return ", ".join(ordered[:-1]) + " or " + ordered[-1]


def _expected_suffix(expected: set[str] | frozenset[str]) -> str:
    described = _describe_expected(expected)
    return f": expected {described}" if described else ""


def _token_words(tok: Token) -> str:
    if tok.type == "$END":
        return "the end of the file"
    kind = _terminal_words().get(tok.type)
    if tok.type == "NAME":
        return f"name '{tok}'"
    if kind is not None and kind.startswith("'"):
        return f"'{tok}'"
    return f"'{tok}'"


def _syntax_diagnostic(err: UnexpectedInput, text: str, path: str) -> Diagnostic:
    if isinstance(err, UnexpectedToken):
        tok = err.token
        if tok.type == "$END":
            return _end_of_file(text, path, _expected_suffix(err.expected))
        unnamed = _unnamed_route(text, tok)
        if unnamed is not None:
            return Diagnostic(
                "E001",
                "this route has no name",
                unnamed,
                path,
                help="name it before `when`: `route NAME when ...`, e.g. `route vision when ...`",
            )
        expected = _describe_expected(err.expected)
        help = _hint_for(tok, err.expected)
        before = text[max(0, (tok.start_pos or 0) - 1) : tok.start_pos or 0]
        if tok.type == "NAME" and before.isdigit() and str(tok).lower() == "xx":
            help = f"status classes are written in lower case: {before}xx"
        elif help is None and tok.type == "NAME":
            help = _keyword_hint(str(tok), err.expected)
        after = text[tok.end_pos or 0 : (tok.end_pos or 0) + 1]
        if str(tok) == "=" and after in ("<", ">"):
            help = f"write {after}= (the comparison comes first, then =)"
        _, still_open = _brace_depths(text[: tok.start_pos or 0])
        if help is not None and help.startswith("the block before") and still_open:
            opened = text.count("\n", 0, still_open[-1]) + 1
            help = f"the block opened with '{{' on line {opened} is missing its closing '}}'"
        return Diagnostic(
            "E001",
            f"unexpected {_token_words(tok)}" + (f": expected {expected}" if expected else " here"),
            _tok_span(tok),
            path,
            help=help,
        )
    if isinstance(err, UnexpectedCharacters):
        pos = err.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        span = Span(err.line, err.column, err.line, err.column + 1, pos, pos + 1)
        if char == '"':
            return Diagnostic(
                "E003",
                "this string is never closed",
                span,
                path,
                help='close it with " on the same line',
            )
        described = _describe_expected(err.allowed or set())
        expected = f": expected {described}" if described else ""
        return Diagnostic(
            "E003", f"unexpected character {char!r}{expected}", span, path, help=_char_hint(char)
        )
    if isinstance(err, UnexpectedEOF):
        return _end_of_file(text, path, _expected_suffix(set(err.expected)))
    return Diagnostic("E001", str(err).splitlines()[0], None, path)  # pragma: no cover


def _unnamed_route(text: str, tok: Token) -> Span | None:
    """`route when ...`: the lexer took `when` for the route's name; the span of `when`."""
    start = tok.start_pos or 0
    line_start = text.rfind("\n", 0, start) + 1
    m = re.fullmatch(r"(\s*route\s+)when\s+", text[line_start:start])
    if m is None:
        return None
    begin = line_start + m.end(1)
    line = tok.line or 1
    column = begin - line_start + 1
    return Span(line, column, line, column + 4, begin, begin + 4)


@functools.cache
def _keywords() -> dict[str, str]:
    """Terminal name -> keyword, for the grammar's word terminals (`retry`, `when`, ...)."""
    return {
        t.name: t.pattern.value
        for t in _parser().terminals
        if t.pattern.type == "str" and str(t.pattern.value).isidentifier()
    }


def _keyword_hint(word: str, expected: set[str] | frozenset[str]) -> str | None:
    """Did-you-mean for a misspelt keyword (`retyr`, `failvoer`), among those that fit here."""
    keywords = _keywords()
    match = closest(word, [keywords[n] for n in expected if n in keywords])
    return None if match is None or match == word else f"did you mean '{match}'?"


def _hint_for(tok: Token, expected: set[str] | frozenset[str]) -> str | None:
    if str(tok) == "=" and "COMP_OP" in expected:
        return "compare with == (two equals signs)"
    if tok.type == "NAME" and "COMP_OP" in expected and str(tok) in {"is", "equals"}:
        return "compare with == or !="
    if tok.type == "NAME" and str(tok) in {"and", "or"}:
        return None
    if tok.type in {"INT", "FLOAT"} and (
        "DURATION" in expected or "MINUTES_OR_MILLIONS" in expected
    ):
        return f"durations need a unit: {tok}ms, {tok}s, {tok}m, {tok}h or {tok}d"
    if tok.type in {"INT", "FLOAT"} and "MONEY" in expected:
        return f"amounts of money start with $: ${tok}"
    if tok.type in {"INT", "FLOAT"} and "PERCENT" in expected:
        if tok.type == "FLOAT" and float(tok) < 1:
            return f"write a percentage: the fraction {tok} is {float(tok) * 100:g}%"
        return f"write a percentage: {tok}%"
    if "RBRACE" in expected and tok.type in {"POLICY", "GROUP", "ROUTE", "BUDGET", "LIMITS"}:
        return "the block before this line may be missing its closing '}'"
    return None


def _char_hint(char: str) -> str | None:
    if char == "'":
        return 'strings use double quotes: "like this"'
    if char == "=":
        return "compare with == (two equals signs)"
    if char == "&" or char == "|":
        return "write 'and' / 'or'"
    if char == "!":
        return "negate with 'not', or compare with !="
    return None


def _blank(text: str, start: int, end: int) -> str:
    """Replace text[start:end] with spaces, keeping newlines so positions stay the same."""
    return text[:start] + re.sub(r"[^\n]", " ", text[start:end]) + text[end:]


def _brace_depths(text: str) -> tuple[list[int], list[int]]:
    """The block depth at the start of each line, and the offsets of the '{' left open at the
    end. Braces inside strings and comments do not count; a stray '}' never goes below zero."""
    depths = [0]
    open_at: list[int] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            depths.append(len(open_at))
        elif ch == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        elif ch == '"':
            i += 1
            while i < n and text[i] not in '"\n':
                i += 2 if text[i] == "\\" else 1
            if i < n and text[i] == "\n":
                continue
        elif ch == "{":
            open_at.append(i)
        elif ch == "}" and open_at:
            open_at.pop()
        i += 1
    return depths, open_at


def _statement_starts(text: str, lines: list[str]) -> list[int]:
    """Indices of lines that start a top-level statement.

    A keyword line outside any block starts one; so does a line whose keyword cannot stand in a
    block (`route`, `group`, ...) or that is not indented, which is how a block left open shows.
    An indented `retry standard` inside a route is not one.
    """
    depths, _ = _brace_depths(text)
    starts = []
    for i, line in enumerate(lines):
        m = _TOP_START.match(line)
        if m is None:
            continue
        depth = depths[i] if i < len(depths) else 0
        if depth == 0 or m.group(2) in _TOP_ONLY or not m.group(1):
            starts.append(i)
    return starts


def _end_of_file(text: str, path: str, expected: str) -> Diagnostic:
    """E002 at the end of the last text, naming the block left open (or the unfinished line)."""
    body = text.rstrip()
    line = body.count("\n") + 1
    col = len(body.rsplit("\n", 1)[-1]) + 1
    _, open_at = _brace_depths(text)
    if open_at:
        opened = text.count("\n", 0, open_at[-1]) + 1
        help = f"the block opened with '{{' on line {opened} is missing its closing '}}'"
    else:
        lines = text.splitlines(keepends=True)
        starts = _statement_starts(text, lines)
        last = starts[-1] + 1 if starts else line
        help = f"the statement that starts on line {last} is not finished"
    return Diagnostic(
        "E002",
        "the file ends too early" + expected,
        Span.point(line, col, len(body)),
        path,
        help=help,
    )


def _statement_bounds(text: str, error_offset: int) -> tuple[int, int]:
    """The top-level statement to drop so parsing can resume after an error.

    Normally the statement the error is in. When the error sits on the first token of a line that
    starts a new statement, the statement before it is the broken one (an unclosed block).
    """
    lines = text.splitlines(keepends=True)
    offsets = []
    pos = 0
    for line in lines:
        offsets.append(pos)
        pos += len(line)
    if not offsets:
        return 0, 0
    starts = _statement_starts(text, lines)
    err_line = max(0, sum(1 for o in offsets if o <= error_offset) - 1)
    at_statement_start = err_line in starts and text[offsets[err_line] : error_offset].strip() == ""
    if at_statement_start:
        before = [i for i in starts if i < err_line]
        if before:
            return offsets[before[-1]], offsets[err_line]
    begin = max((i for i in starts if i <= err_line), default=0)
    after = [i for i in starts if i > err_line]
    end = offsets[after[0]] if after else len(text)
    return offsets[begin], end


def parse_text(
    text: str, path: str
) -> tuple[tuple[ast.Decl, ...], tuple[ast.Comment, ...], list[Diagnostic]]:
    """Parse, recovering at top-level statements so independent syntax errors all show."""
    decls, comments, diagnostics, _skipped = parse_recovering(text, path)
    return ((), (), diagnostics) if diagnostics else (decls, comments, diagnostics)


def parse_recovering(
    text: str, path: str
) -> tuple[
    tuple[ast.Decl, ...], tuple[ast.Comment, ...], list[Diagnostic], tuple[ast.Skipped, ...]
]:
    """Parse as :func:`parse_text`, but after syntax errors also return the declarations that
    did parse and the statements left out, so the rest of the file can still be checked.
    Nothing parsed (the error limit, or a recovery that found no statement to drop): no decls."""
    if len(text) > MAX_SOURCE_CHARS:
        return (), (), [_too_large(text, path)], ()
    with paused_gc():  # see _gc.py: the parse allocates many small acyclic objects
        return _parse_text(text, path)


def _parse_text(
    text: str, path: str
) -> tuple[
    tuple[ast.Decl, ...], tuple[ast.Comment, ...], list[Diagnostic], tuple[ast.Skipped, ...]
]:
    diagnostics: list[Diagnostic] = []
    skipped: list[ast.Skipped] = []
    current = text
    while True:
        state = _ParseState()
        token = _STATE.set(state)
        try:
            tree = _parser().parse(current)
        except UnexpectedInput as err:
            diagnostics.append(_syntax_diagnostic(err, text, path))
            if len(diagnostics) >= _MAX_SYNTAX_ERRORS:
                return (), (), diagnostics, ()
            offset = getattr(err, "pos_in_stream", None)
            if isinstance(err, UnexpectedToken):
                offset = err.token.start_pos if err.token.type != "$END" else len(current)
            if offset is None:
                return (), (), diagnostics, ()
            begin, end = _statement_bounds(current, offset)
            if begin >= end or not current[begin:end].strip():
                return (), (), diagnostics, ()
            skipped.append(_skipped(text, begin, end))
            current = _blank(current, begin, end)
            continue
        finally:
            _STATE.reset(token)
        # The statements that parsed may still be over a limit: those findings join the syntax
        # errors, in the order of the text, and nothing is checked (a tree over a limit is
        # what the limits keep from the checker).
        limits = _limit_diagnostics(state, path)
        if limits:
            return (), (), sort_diagnostics([*diagnostics, *limits]), ()
        decls: tuple[ast.Decl, ...] = tuple(tree)  # type: ignore[arg-type]
        return decls, _scan_comments(text), diagnostics, tuple(skipped)


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
_DECLARES = re.compile(r"\s*(\w+)\s+(?!when\b)([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*)")


def _skipped(text: str, begin: int, end: int) -> ast.Skipped:
    """What the statement text[begin:end], left out after a syntax error, declares and uses."""
    region = _COMMENT_OR_STRING.sub(
        lambda m: " " if m.group().startswith("#") else "", text[begin:end]
    )
    words = frozenset(_WORD.findall(region))
    found = _DECLARES.match(region)
    keyword = found.group(1) if found else (region.split() or [""])[0]
    declares = found is not None and keyword in ("group", "retry", "breaker", "budget", "route")
    line = text.count("\n", 0, begin) + 1
    end_line = text.count("\n", 0, end) + 1
    span = Span(line, 1, end_line, 1, begin, end)
    return ast.Skipped(keyword, found.group(2) if declares and found else None, words, span)


def _limit_diagnostics(state: _ParseState, path: str) -> list[Diagnostic]:
    """E006 for each number out of range; E004 for each outermost expression nested deeper
    than the limit, at its first token."""
    found = [replace(d, path=path) for d in state.problems]
    for node, height in state.too_deep.values():
        span = node.span
        found.append(
            Diagnostic(
                "E004",
                f"this expression nests {height} levels deep; an expression may nest at most "
                f"{MAX_EXPR_DEPTH}",
                Span.point(span.line, span.column, span.start),
                path,
                help="each `not`, unary minus, comparison and arithmetic operator is a level; "
                "write it more simply (`not not x` is `x`, `- - 1` is `1`)",
            )
        )
    return found


def _too_large(text: str, path: str) -> Diagnostic:
    """E005 at the first character past the limit: refused before any parsing, so a policy of
    any size is answered at once."""
    line = text.count("\n", 0, MAX_SOURCE_CHARS) + 1
    column = MAX_SOURCE_CHARS - (text.rfind("\n", 0, MAX_SOURCE_CHARS) + 1) + 1
    return Diagnostic(
        "E005",
        f"this policy is {len(text):,} characters long; a policy may have at most "
        f"{MAX_SOURCE_CHARS:,}",
        Span.point(line, column, MAX_SOURCE_CHARS),
        path,
        help="share conditions through groups and named retry blocks instead of repeating them",
    )


_COMMENT_OR_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*')


def _scan_comments(text: str) -> tuple[ast.Comment, ...]:
    """Comments, found by the lexer's rules (a # inside a string is not one), for `fmt`.

    One pass: the line number and line start are carried forward from the previous match, so
    the newlines before each comment are counted once, not again from the top of the file.
    """
    found: list[ast.Comment] = []
    line, line_start, counted_to = 1, 0, 0
    for m in _COMMENT_OR_STRING.finditer(text):
        body = m.group().rstrip()
        if not body.startswith("#"):
            continue
        start = m.start()
        newlines = text.count("\n", counted_to, start)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", counted_to, start) + 1
        counted_to = start
        col = start - line_start + 1
        span = Span(line, col, line, col + len(body), start, start + len(body))
        found.append(ast.Comment(body, span))
    return tuple(found)
