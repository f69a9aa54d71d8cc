"""Name tables for a policy: groups, retries, breakers, budgets, routes, and known providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..syntax import ast

__all__ = ["ProviderFacts", "Symbols", "build_symbols"]


@dataclass(frozen=True)
class ProviderFacts:
    """What the checker may know of a configured provider: its name and static attributes.

    ``attributes`` uses the policy's own attribute names (``supports.vision``, ``input_price``
    in USD per 1K tokens, ``timeout`` in seconds). ``explicit``: the config-owned settings its
    config entry writes out, by field name as written (``circuit_breaker_threshold``;
    ``circuit_breaker_timeout`` and ``timeout`` in ms) -- what a policy's own breaker or
    ``timeout`` overrides (W107).
    """

    name: str
    attributes: Mapping[str, object] = field(default_factory=dict)
    explicit: Mapping[str, int] = field(default_factory=dict)


@dataclass
class Symbols:
    groups: dict[str, ast.GroupDecl] = field(default_factory=dict)
    retries: dict[str, ast.RetryDecl] = field(default_factory=dict)
    breakers: dict[str, ast.BreakerDecl] = field(default_factory=dict)
    budgets: dict[str, ast.BudgetDecl] = field(default_factory=dict)
    routes: dict[str, ast.RouteDecl] = field(default_factory=dict)
    limits: ast.LimitsDecl | None = None
    providers: dict[str, ProviderFacts] | None = None  # None: no config given
    duplicates: list[tuple[str, ast.Name, ast.Name]] = field(default_factory=list)


def build_symbols(policy: ast.Policy, providers: Sequence[ProviderFacts] | None) -> Symbols:
    """Index declarations by name; the first of duplicates wins, later ones are recorded."""
    symbols = Symbols()
    if providers is not None:
        symbols.providers = {p.name: p for p in providers}
    tables: dict[type, tuple[str, dict[str, object]]] = {
        ast.GroupDecl: ("group", symbols.groups),  # type: ignore[dict-item]
        ast.RetryDecl: ("retry", symbols.retries),  # type: ignore[dict-item]
        ast.BreakerDecl: ("breaker", symbols.breakers),  # type: ignore[dict-item]
        ast.BudgetDecl: ("budget", symbols.budgets),  # type: ignore[dict-item]
        ast.RouteDecl: ("route", symbols.routes),  # type: ignore[dict-item]
    }
    for decl in policy.decls:
        if isinstance(decl, ast.LimitsDecl):
            if symbols.limits is None:
                symbols.limits = decl
            continue
        entry = tables.get(type(decl))
        if entry is None:
            continue
        kind, table = entry
        name: ast.Name = getattr(decl, "name")  # noqa: B009 - every tabled decl has a name
        if name.value in table:
            first = table[name.value]
            symbols.duplicates.append((kind, first.name, name))  # type: ignore[attr-defined]
            continue
        table[name.value] = decl
    return symbols
