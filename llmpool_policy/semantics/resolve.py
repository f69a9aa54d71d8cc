"""Which providers a group expression stands for, when a provider config is known."""

from __future__ import annotations

from dataclasses import dataclass

from ..syntax import ast
from .env import Symbols
from .static_eval import NotStatic, evaluate

__all__ = ["ProviderSet", "resolve_group"]


@dataclass(frozen=True)
class ProviderSet:
    """``names`` is the exact set, or an upper bound when ``per_request`` (request-dependent
    selector); None when nothing can be said (no provider config)."""

    names: frozenset[str] | None
    per_request: bool = False


def resolve_group(
    expr: ast.GroupExpr, symbols: Symbols, _seen: frozenset[str] = frozenset()
) -> ProviderSet:
    providers = symbols.providers
    if isinstance(expr, ast.AllProviders):
        return ProviderSet(None if providers is None else frozenset(providers))
    if isinstance(expr, ast.GroupRef):
        name = expr.name.value
        group = symbols.groups.get(name)
        if group is not None and name not in _seen:
            return resolve_group(group.value, symbols, _seen | {name})
        if providers is not None and name in providers:
            return ProviderSet(frozenset({name}))
        return ProviderSet(None)
    if isinstance(expr, ast.GroupList):
        names: set[str] = set()
        unknown = False
        for item in expr.items:
            if not (isinstance(item, ast.Path) and len(item.parts) == 1):
                continue
            item_name = item.parts[0]
            group = symbols.groups.get(item_name)
            if group is not None and item_name not in _seen:
                inner = resolve_group(group.value, symbols, _seen | {item_name})
                if inner.names is None:
                    unknown = True
                else:
                    names |= inner.names
            else:
                names.add(item_name)
        return ProviderSet(None if unknown else frozenset(names))
    # selector
    if providers is None:
        return ProviderSet(None)
    chosen: set[str] = set()
    per_request = False
    for name, facts in providers.items():
        try:
            if evaluate(expr.condition, facts.attributes):
                chosen.add(name)
        except NotStatic:
            per_request = True
            chosen.add(name)
    return ProviderSet(frozenset(chosen), per_request)
