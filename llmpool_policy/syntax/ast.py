"""The policy AST: immutable dataclasses, a source span on every node.

Spans are excluded from equality, so two ASTs compare equal when they mean the same thing,
wherever their text sits (the formatter's meaning-preservation test relies on this).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

from ..diagnostics import Span

__all__ = [
    "AllProviders",
    "Assert",
    "Attempts",
    "Avoid",
    "Backoff",
    "Binary",
    "BreachDeny",
    "BreachFallback",
    "BreakerDecl",
    "BreakerRef",
    "BreakerSetting",
    "Call",
    "Comment",
    "CoolDown",
    "CountOn",
    "Deadline",
    "Decl",
    "ErrorClass",
    "ErrorItem",
    "Expr",
    "Failover",
    "Fallback",
    "GroupDecl",
    "GroupExpr",
    "GroupList",
    "GroupRef",
    "HonorRetryAfter",
    "LimitSetting",
    "LimitsDecl",
    "ListExpr",
    "Literal",
    "LiteralKind",
    "MaxAttempts",
    "MaxCost",
    "Name",
    "OpenAfter",
    "OpenAtRate",
    "OrderBy",
    "OrderKey",
    "Path",
    "Policy",
    "PolicyHeader",
    "Probe",
    "RetryBody",
    "RetryDecl",
    "RetryInline",
    "RetryOn",
    "RetryRef",
    "RetrySetting",
    "RouteDecl",
    "RouteStmt",
    "Selector",
    "Skip",
    "Split",
    "SplitArm",
    "StatusClass",
    "StatusCode",
    "StatusRange",
    "Timeout",
    "Unary",
    "Use",
    "WaitWhenNone",
    "walk_expr",
]

_NOSPAN = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=_NOSPAN, compare=False, repr=False)


@dataclass(frozen=True)
class Name:
    """An identifier as written, with where it was written."""

    value: str
    span: Span = _span()


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span = _span()


# ---- expressions ------------------------------------------------------------------------------


class LiteralKind(StrEnum):
    INT = "int"
    FLOAT = "float"
    STRING = "string"
    BOOL = "bool"
    DURATION = "duration"  # value: seconds
    MONEY = "money"  # value: US dollars
    PERCENT = "percent"  # value: a fraction, 5% -> 0.05
    TOKENS = "tokens"  # value: a token count
    MINUTES_OR_MILLIONS = "minutes_or_millions"  # `5m`: value 5, unit decided by context
    STATUS_CLASS = "status_class"  # `5xx`: value 5


@dataclass(frozen=True)
class Literal:
    kind: LiteralKind
    value: int | float | str | bool
    text: str
    span: Span = _span()

    def seconds(self) -> float:
        """This literal as a duration in seconds (`5m` read as minutes)."""
        if self.kind is LiteralKind.MINUTES_OR_MILLIONS:
            return float(self.value) * 60.0
        return float(self.value)

    def tokens(self) -> float:
        """This literal as a token count (`5m` read as millions)."""
        if self.kind is LiteralKind.MINUTES_OR_MILLIONS:
            return float(self.value) * 1_000_000
        return float(self.value)


@dataclass(frozen=True)
class Path:
    """A dotted name such as ``request.metadata.team`` or ``latency.p95``."""

    parts: tuple[str, ...]
    span: Span = _span()

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Call:
    """A metric read with arguments, e.g. ``error_rate(5m)``."""

    func: Path
    args: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class ListExpr:
    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Unary:
    op: str  # "not" | "-"
    operand: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Binary:
    """``op`` is one of: or and == != < <= > >= in "not in" + - * /."""

    op: str
    left: Expr
    right: Expr
    span: Span = _span()


Expr: TypeAlias = Literal | Path | Call | ListExpr | Unary | Binary


def walk_expr(expr: Expr) -> Iterator[Expr]:
    """Every node of ``expr``, itself first, then its parts left to right (a call's arguments
    included). Iterative, so a condition of thousands of terms cannot overflow the stack."""
    stack: list[Expr] = [expr]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, Binary):
            stack.append(node.right)
            stack.append(node.left)
        elif isinstance(node, Unary):
            stack.append(node.operand)
        elif isinstance(node, ListExpr):
            stack.extend(reversed(node.items))
        elif isinstance(node, Call):
            stack.extend(reversed(node.args))


# ---- provider sets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupList:
    """``[openai-gpt4o, anthropic-sonnet]``: items must be provider or group names."""

    items: tuple[Expr, ...]
    span: Span = _span()


@dataclass(frozen=True)
class Selector:
    """``providers where <condition>`` over provider attributes."""

    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class AllProviders:
    span: Span = _span()


@dataclass(frozen=True)
class GroupRef:
    name: Name
    span: Span = _span()


GroupExpr: TypeAlias = GroupList | Selector | AllProviders | GroupRef


# ---- error classes and status codes -----------------------------------------------------------


@dataclass(frozen=True)
class ErrorClass:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class StatusCode:
    code: int
    span: Span = _span()


@dataclass(frozen=True)
class StatusClass:
    """``5xx``: every status from 500 to 599."""

    hundreds: int
    span: Span = _span()


@dataclass(frozen=True)
class StatusRange:
    low: int
    high: int
    span: Span = _span()


ErrorItem: TypeAlias = ErrorClass | StatusCode | StatusClass | StatusRange


# ---- declarations -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyHeader:
    name: str
    span: Span = _span()


@dataclass(frozen=True)
class GroupDecl:
    name: Name
    value: GroupExpr
    span: Span = _span()


@dataclass(frozen=True)
class Attempts:
    count: Literal
    span: Span = _span()


@dataclass(frozen=True)
class Backoff:
    kind: str  # exponential | linear | constant
    base: Literal
    cap: Literal | None
    jitter: str | None  # full | equal | none
    span: Span = _span()


@dataclass(frozen=True)
class RetryOn:
    items: tuple[ErrorItem, ...]
    span: Span = _span()


@dataclass(frozen=True)
class HonorRetryAfter:
    """``honor retry_after [up to CAP] [, cool down at most COOL]``: ``cap`` bounds the sleep
    before a retry; ``cool_down_cap`` the time a retry-after keeps the provider out of rotation
    (None: the default, :data:`~llmpool_policy.decision.DEFAULT_COOL_DOWN_CAP_S`)."""

    cap: Literal | None
    span: Span = _span()
    cool_down_cap: Literal | None = None


RetrySetting: TypeAlias = Attempts | Backoff | RetryOn | HonorRetryAfter


@dataclass(frozen=True)
class RetryBody:
    """``from_config``: ``retry NAME from config { ... }`` -- the attempts and backoff the block
    leaves out are the pool config's (``max_retries + 1``, exponential from ``retry_delay``)."""

    settings: tuple[RetrySetting, ...]
    from_config: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class RetryDecl:
    name: Name
    body: RetryBody
    span: Span = _span()


@dataclass(frozen=True)
class OpenAfter:
    failures: Literal
    window: Literal
    span: Span = _span()


@dataclass(frozen=True)
class OpenAtRate:
    rate: Literal
    window: Literal
    min_requests: Literal | None
    span: Span = _span()


@dataclass(frozen=True)
class CoolDown:
    duration: Literal
    extend: bool
    extend_cap: Literal | None
    span: Span = _span()


@dataclass(frozen=True)
class Probe:
    count: Literal
    span: Span = _span()


@dataclass(frozen=True)
class CountOn:
    items: tuple[ErrorItem, ...]
    span: Span = _span()


BreakerSetting: TypeAlias = OpenAfter | OpenAtRate | CoolDown | Probe | CountOn


@dataclass(frozen=True)
class BreakerDecl:
    """``from_config``: ``breaker NAME from config { ... }`` -- without ``open after`` it opens
    after each provider's ``circuit_breaker_threshold`` failures, without ``cool down`` it
    stays open for its ``circuit_breaker_timeout``."""

    name: Name
    settings: tuple[BreakerSetting, ...]
    from_config: bool = False
    span: Span = _span()


@dataclass(frozen=True)
class Deadline:
    duration: Literal
    span: Span = _span()


@dataclass(frozen=True)
class MaxAttempts:
    count: Literal
    span: Span = _span()


@dataclass(frozen=True)
class MaxCost:
    amount: Literal
    span: Span = _span()


@dataclass(frozen=True)
class WaitWhenNone:
    """`when none available wait up to D`: a request that finds every provider held by the
    live gate waits (up to D, within the deadline) for the first one to free up."""

    duration: Literal
    span: Span = _span()


LimitSetting: TypeAlias = Deadline | MaxAttempts | MaxCost | WaitWhenNone


@dataclass(frozen=True)
class LimitsDecl:
    settings: tuple[LimitSetting, ...]
    span: Span = _span()


@dataclass(frozen=True)
class BreachDeny:
    span: Span = _span()


@dataclass(frozen=True)
class BreachFallback:
    route: Name
    span: Span = _span()


@dataclass(frozen=True)
class BudgetDecl:
    """``budget NAME = $X per PERIOD [per KEY | per provider] [on breach ...]``: ``key`` a
    request expression (one budget per value); ``per_provider``: one budget per provider, charged
    by the provider that served and checked per candidate."""

    name: Name
    amount: Literal
    period: str  # minute | hour | day | week | month
    key: Expr | None
    breach: BreachDeny | BreachFallback | None
    span: Span = _span()
    per_provider: bool = False


# ---- routes -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Use:
    providers: GroupExpr
    span: Span = _span()


@dataclass(frozen=True)
class Skip:
    """A hard gate: matching candidates are removed."""

    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class Avoid:
    """A soft gate: matching candidates are used only when nothing else is left."""

    condition: Expr
    span: Span = _span()


@dataclass(frozen=True)
class OrderKey:
    """One ``order by`` key; ``unknown`` says where a provider without a value sorts
    (``unknown first`` / ``unknown last``); None: the key's default (see
    :func:`~llmpool_policy.semantics.signals.unknown_first_by_default`)."""

    expr: Expr
    direction: str | None  # asc | desc | None (ascending)
    span: Span = _span()
    unknown: str | None = None  # first | last | None (not written)


@dataclass(frozen=True)
class OrderBy:
    keys: tuple[OrderKey, ...]
    span: Span = _span()


@dataclass(frozen=True)
class SplitArm:
    provider: Name
    weight: Literal
    span: Span = _span()


@dataclass(frozen=True)
class Split:
    arms: tuple[SplitArm, ...]
    by: Expr | None
    span: Span = _span()


@dataclass(frozen=True)
class RetryRef:
    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class RetryInline:
    body: RetryBody
    span: Span = _span()


@dataclass(frozen=True)
class BreakerRef:
    name: Name
    span: Span = _span()


@dataclass(frozen=True)
class Failover:
    """``failover on ...``; ``items`` is None for ``failover off``."""

    items: tuple[ErrorItem, ...] | None
    span: Span = _span()


@dataclass(frozen=True)
class Fallback:
    route: Name
    span: Span = _span()


@dataclass(frozen=True)
class Timeout:
    duration: Literal
    span: Span = _span()


@dataclass(frozen=True)
class Assert:
    """``assert max_calls <= 12``: a bound the checker must prove."""

    bound: Name
    op: str
    value: Literal
    span: Span = _span()


RouteStmt: TypeAlias = (
    Use
    | Skip
    | Avoid
    | OrderBy
    | Split
    | RetryRef
    | RetryInline
    | BreakerRef
    | Failover
    | Fallback
    | Timeout
    | LimitsDecl
    | Assert
)


@dataclass(frozen=True)
class RouteDecl:
    name: Name
    condition: Expr | None
    body: tuple[RouteStmt, ...]
    span: Span = _span()


Decl: TypeAlias = (
    PolicyHeader
    | GroupDecl
    | RetryDecl
    | BreakerDecl
    | LimitsDecl
    | BudgetDecl
    | RouteDecl
    | Assert
)


@dataclass(frozen=True)
class Skipped:
    """A top-level statement left out after a syntax error, so the rest can still be checked:
    its keyword (``route``, ``retry``, ...), the name it declares if one could be read, and
    every word in it (what it may have used)."""

    keyword: str
    name: str | None
    words: frozenset[str]
    span: Span = _span()


@dataclass(frozen=True)
class Policy:
    """A parsed policy file: its declarations in order, and its comments (for the formatter).
    ``skipped``: statements a syntax error left out (only in :func:`parse_partial`'s result)."""

    decls: tuple[Decl, ...]
    comments: tuple[Comment, ...] = field(default=(), compare=False)
    path: str = field(default="<policy>", compare=False)
    skipped: tuple[Skipped, ...] = field(default=(), compare=False)

    @property
    def name(self) -> str | None:
        for decl in self.decls:
            if isinstance(decl, PolicyHeader):
                return decl.name
        return None

    @property
    def routes(self) -> tuple[RouteDecl, ...]:
        return tuple(d for d in self.decls if isinstance(d, RouteDecl))
