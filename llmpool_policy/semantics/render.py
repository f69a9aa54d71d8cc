"""Human-readable forms of bounds, for `check --bounds` and assertion messages."""

from __future__ import annotations

from .bounds import Bound, PolicyBounds

__all__ = ["format_bounds", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``90`` -> ``1m30s``; ``0.5`` -> ``500ms``; exact, never rounded up or down silently."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    if seconds >= 1e12:  # beyond 30,000 years the digits say nothing; inf never reaches int()
        return "unbounded" if seconds == float("inf") else f"{seconds / 86400:.4g}d"
    whole = int(seconds)
    rest = seconds - whole
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            parts.append(f"{whole // size}{unit}")
            whole %= size
    if whole or rest or not parts:
        parts.append(f"{whole + rest:g}s")
    return "".join(parts)


def _calls(bound: Bound) -> str:
    return f"{bound.value:g}" if bound.value is not None else "unbounded"


def _time(bound: Bound) -> str:
    return format_seconds(bound.value) if bound.value is not None else "unbounded"


def format_bounds(name: str, bounds: PolicyBounds) -> str:
    """A small table: worst-case upstream calls, time and fallback hops per route."""
    rows = [("route", "providers", "tries", "max calls", "max time", "hops")]
    for r in bounds.routes:
        rows.append(
            (
                r.route,
                str(r.candidates) if r.candidates is not None else "?",
                str(r.tries_per_provider),
                _calls(r.calls),
                _time(r.time),
                str(r.hops),
            )
        )
    rows.append(("(policy)", "", "", _calls(bounds.calls), _time(bounds.time), str(bounds.hops)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"bounds for {name}:"]
    for row in rows:
        lines.append(
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        )
    reasons = sorted({b.why for r in bounds.routes for b in (r.calls, r.time) if b.why})
    lines.extend(f"  note: {why}" for why in reasons)
    return "\n".join(lines)
