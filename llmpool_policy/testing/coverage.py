"""Which parts of a policy its tests never exercised: routes never planned, skip and avoid rules
never true, split arms never drawn.

Read off the decisions' traces, so it counts what the decision actually did: a skip rule counts
when it removed a provider in some case (a rule shadowed by an earlier gate or skip never shows),
a route when some decision planned it (matched by its ``when``, sent there by a budget, or reached
as an ``on exhausted fallback``). Percentages are rounded down, so 99.6% never passes a
``--fail-under 100``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..compile.spec import PolicySpec
from ..decision import Decision

__all__ = ["KINDS", "Coverage", "CoverageItem", "coverage_of", "percent"]

KINDS = ("route", "skip", "avoid", "split")


@dataclass(frozen=True)
class CoverageItem:
    kind: str  # one of KINDS
    route: str
    label: str  # the route name, the rule's condition, or the split arm
    hit: bool

    def describe(self) -> str:
        if self.kind == "route":
            return f"route {self.route} never planned"
        if self.kind == "split":
            return f"split arm {self.label} of route {self.route} never drawn"
        return f"{self.kind} when {self.label} (route {self.route}) never true"


def percent(covered: int, total: int) -> int:
    """Rounded down; nothing to cover is fully covered."""
    return 100 if total == 0 else covered * 100 // total


@dataclass(frozen=True)
class Coverage:
    policy: str
    items: tuple[CoverageItem, ...]

    @property
    def covered(self) -> int:
        return sum(1 for i in self.items if i.hit)

    @property
    def total(self) -> int:
        return len(self.items)

    @property
    def percent(self) -> int:
        return percent(self.covered, self.total)

    def by_kind(self) -> dict[str, tuple[int, int]]:
        """(covered, total) per kind, every kind listed."""
        return {
            k: (sum(1 for i in self.items if i.kind == k and i.hit),
                sum(1 for i in self.items if i.kind == k))
            for k in KINDS
        }  # fmt: skip

    @property
    def missed(self) -> tuple[CoverageItem, ...]:
        return tuple(i for i in self.items if not i.hit)

    def to_json(self) -> dict[str, object]:
        return {
            "policy": self.policy,
            "covered": self.covered,
            "total": self.total,
            "percent": self.percent,
            "by_kind": {k: {"covered": c, "total": t} for k, (c, t) in self.by_kind().items()},
            "missed": [
                {"kind": i.kind, "route": i.route, "label": i.label, "message": i.describe()}
                for i in self.missed
            ],
        }


def coverage_of(spec: PolicySpec, decisions: Iterable[Decision]) -> Coverage:
    """Coverage of ``spec`` by ``decisions`` (each made with ``trace=True``)."""
    planned: set[str] = set()
    removed_by: set[tuple[str, str]] = set()
    avoided_by: set[tuple[str, str]] = set()
    drawn: set[tuple[str, str]] = set()
    for d in decisions:
        planned.update(p.route for p in d.plans)
        if d.route is not None:
            planned.add(d.route)
        if d.trace is None:
            continue
        for c in d.trace.candidates:
            if c.excluded is not None and c.excluded.startswith("skip when "):
                removed_by.add((c.route, c.excluded.removeprefix("skip when ")))
            if c.avoided is not None:
                avoided_by.add((c.route, c.avoided.removeprefix("avoid when ")))
        drawn.update((s.route, s.arm) for s in d.trace.splits)

    items: list[CoverageItem] = []
    for route in spec.routes:
        items.append(CoverageItem("route", route.name, route.name, route.name in planned))
        for kind, rules, hits in (("skip", route.skips, removed_by),
                                  ("avoid", route.avoids, avoided_by)):  # fmt: skip
            seen: set[str] = set()
            for _expr, text in rules:
                if text not in seen:  # the same text twice is one rule to the trace
                    seen.add(text)
                    items.append(CoverageItem(kind, route.name, text, (route.name, text) in hits))
        for arm, _weight in route.split:
            items.append(CoverageItem("split", route.name, arm, (route.name, arm) in drawn))
    return Coverage(spec.name, tuple(items))
