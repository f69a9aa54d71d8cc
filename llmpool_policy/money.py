"""Amounts of money in words: one rendering for reasons, explanations, errors and graphs."""

from __future__ import annotations

import math

__all__ = ["format_money"]

_MAX_DECIMALS = 8


def format_money(amount: float) -> str:
    """``$50.00``, ``$0.25``, and under a cent enough digits to tell amounts apart (three
    significant, to 8 decimals: ``$0.005``, ``$0.000123``), so a small budget is not "$0.00"."""
    if amount == 0 or not math.isfinite(amount):
        return f"${amount:.2f}"
    decimals = min(_MAX_DECIMALS, max(2, 2 - math.floor(math.log10(abs(amount)))))
    text = f"{amount:.{decimals}f}"
    if decimals > 2:
        whole, frac = text.split(".")
        text = f"{whole}.{frac.rstrip('0').ljust(2, '0')}"
    return "-$" + text[1:] if text.startswith("-") else "$" + text
