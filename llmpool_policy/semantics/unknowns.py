"""Which order keys can be unknown for lack of data, and where such a provider sorts.

A measured metric (error and success rates, latencies) has no value until the provider has
finished an attempt in the window. Sorting those providers last would starve them: never tried,
they never get data. So a key that reads a measured metric puts unknown values *first* unless
it says ``unknown last``: a cold provider is tried, and once measured it sorts by its figure.
Every other missing value (an unpriced provider's cost, an attribute a config leaves out) can
never be learnt by trying, and sorts last unless the key says ``unknown first``.
"""

from __future__ import annotations

from ..syntax import ast
from .render import format_seconds
from .signals import DEFAULT_WINDOW_SECONDS, lookup

__all__ = ["measured_reads", "unknown_first"]


def measured_reads(expr: ast.Expr) -> list[str]:
    """The measured metrics ``expr`` reads, as written with their windows
    (``latency.p50(5m)``; a bare ``error_rate`` reads the default window), each once."""
    found: list[str] = []
    for e in ast.walk_expr(expr):
        if not isinstance(e, ast.Path | ast.Call):
            continue
        path = e if isinstance(e, ast.Path) else e.func
        signal = lookup(path.dotted)
        if signal is None or not signal.measured:
            continue
        seconds = DEFAULT_WINDOW_SECONDS
        if isinstance(e, ast.Call) and e.args and isinstance(e.args[0], ast.Literal):
            seconds = e.args[0].seconds()
        label = f"{signal.name}({format_seconds(seconds)})"
        if label not in found:
            found.append(label)
    return found


def unknown_first(key: ast.OrderKey) -> bool:
    """Whether a provider whose value of ``key`` is unknown sorts before those with one: as
    the key says, else first exactly when it reads a measured metric (see the module)."""
    if key.unknown is not None:
        return key.unknown == "first"
    return bool(measured_reads(key.expr))
