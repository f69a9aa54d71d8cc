"""The types of policy values, and which operations their units allow.

Units are types: a duration is never compared with money, and a bare number is never taken for
a percentage. Token counts are counts, so they mix with plain numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "Kind",
    "Type",
    "arithmetic_result",
    "comparable",
    "describe",
    "unit_hint",
]


class Kind(StrEnum):
    BOOL = "true/false"
    NUMBER = "number"
    STRING = "string"
    DURATION = "duration"
    MONEY = "money"
    PERCENT = "percentage"
    TOKENS = "token count"
    STATUS = "status class"
    LIST = "list"
    MINUTES_OR_MILLIONS = "duration or token count"  # the literal `5m` before context decides
    ANY = "value"  # request.metadata.*: known only per request
    UNKNOWN = "unknown"  # after an error: suppresses follow-on errors


@dataclass(frozen=True)
class Type:
    kind: Kind
    item: Type | None = None  # for lists

    def __str__(self) -> str:
        if self.kind is Kind.LIST:
            return f"list of {self.item}" if self.item is not None else "list"
        return str(self.kind.value)


BOOL = Type(Kind.BOOL)
NUMBER = Type(Kind.NUMBER)
STRING = Type(Kind.STRING)
DURATION = Type(Kind.DURATION)
MONEY = Type(Kind.MONEY)
PERCENT = Type(Kind.PERCENT)
TOKENS = Type(Kind.TOKENS)
STATUS = Type(Kind.STATUS)
MOM = Type(Kind.MINUTES_OR_MILLIONS)
ANY = Type(Kind.ANY)
UNKNOWN = Type(Kind.UNKNOWN)


def list_of(item: Type | None) -> Type:
    return Type(Kind.LIST, item)


_FREE = {Kind.ANY, Kind.UNKNOWN}
_NUMERIC = {
    Kind.NUMBER,
    Kind.DURATION,
    Kind.MONEY,
    Kind.PERCENT,
    Kind.TOKENS,
    Kind.MINUTES_OR_MILLIONS,
}


def _scalar_unify(a: Type, b: Type) -> Type | None:
    """The common type of two operands, or None when their units do not mix."""
    if a.kind in _FREE:
        return b
    if b.kind in _FREE:
        return a
    if a == b:
        return DURATION if a.kind is Kind.MINUTES_OR_MILLIONS else a
    pair = {a.kind, b.kind}
    if pair == {Kind.NUMBER, Kind.TOKENS}:
        return TOKENS
    if pair == {Kind.MINUTES_OR_MILLIONS, Kind.DURATION}:
        return DURATION
    if pair == {Kind.MINUTES_OR_MILLIONS, Kind.TOKENS}:
        return TOKENS
    if a.kind is Kind.LIST and b.kind is Kind.LIST:
        if a.item is None or b.item is None:
            return a if a.item is not None else b
        item = _scalar_unify(a.item, b.item)
        return list_of(item) if item is not None else None
    return None


def comparable(a: Type, b: Type, ordering: bool) -> bool:
    """Whether ``a <op> b`` makes sense; ``ordering`` for < <= > >= (not for lists or bools)."""
    common = _scalar_unify(a, b)
    if common is None:
        return False
    return not (ordering and common.kind in {Kind.LIST, Kind.BOOL})


def arithmetic_result(op: str, a: Type, b: Type) -> Type | None:
    """The unit of ``a <op> b``, or None when the units do not allow it."""
    if a.kind in _FREE or b.kind in _FREE:
        other = b if a.kind in _FREE else a
        return other if other.kind in _NUMERIC else ANY if other.kind in _FREE else None
    if a.kind not in _NUMERIC or b.kind not in _NUMERIC:
        return None
    if op in {"+", "-"}:
        return _scalar_unify(a, b)
    if op == "*":
        if a.kind is Kind.NUMBER:
            return b
        if b.kind is Kind.NUMBER:
            return a
        if a.kind is Kind.PERCENT:
            return b
        if b.kind is Kind.PERCENT:
            return a
        return None
    # division
    if b.kind is Kind.NUMBER:
        return a
    if _scalar_unify(a, b) is not None:
        return NUMBER
    return None


def describe(t: Type) -> str:
    if t.kind is Kind.MONEY:
        return "an amount of money"
    article = "an" if str(t)[0] in "aeiou" else "a"
    return f"{article} {t}"


_EXAMPLES = {
    Kind.DURATION: "30s",
    Kind.MONEY: "$0.50",
    Kind.PERCENT: "5%",
    Kind.TOKENS: "32k",
}


def unit_hint(expected: Type, got: Type) -> str | None:
    """A concrete fix for the common unit slips."""
    if got.kind is Kind.NUMBER and expected.kind in _EXAMPLES:
        return f"write {describe(expected)} with its unit, like {_EXAMPLES[expected.kind]}"
    if expected.kind is Kind.NUMBER and got.kind in _EXAMPLES:
        return f"compare with {describe(got)}, like {_EXAMPLES[got.kind]}"
    if got.kind is Kind.MINUTES_OR_MILLIONS:
        return "`m` means minutes or millions of tokens by context; write 1M for a million tokens"
    if expected.kind in _EXAMPLES and got.kind in _EXAMPLES:
        return (
            f"the left side is {describe(expected)}, so the right side must be one too, "
            f"like {_EXAMPLES[expected.kind]}"
        )
    return None
