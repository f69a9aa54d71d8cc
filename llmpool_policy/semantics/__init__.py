"""Checked policies: names resolved, types and units checked, structure and bounds analysed."""

from __future__ import annotations

from .bounds import Bound, PolicyBounds, RouteBounds, compute_bounds
from .checker import BOUND_NAMES, RULES, CheckedPolicy, check
from .defaults import PoolDefaults
from .env import ProviderFacts, Symbols
from .render import format_bounds, format_seconds

__all__ = [
    "BOUND_NAMES",
    "RULES",
    "Bound",
    "CheckedPolicy",
    "PolicyBounds",
    "PoolDefaults",
    "ProviderFacts",
    "RouteBounds",
    "Symbols",
    "check",
    "compute_bounds",
    "format_bounds",
    "format_seconds",
]
