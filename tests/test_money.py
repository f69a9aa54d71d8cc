"""Amounts of money in words: two decimals, more under a cent."""

from __future__ import annotations

import pytest

from llmpool_policy.money import format_money


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (0.0, "$0.00"),
        (50, "$50.00"),
        (2000.0, "$2000.00"),
        (0.25, "$0.25"),
        (0.5, "$0.50"),
        (12.345, "$12.35"),
        (0.015, "$0.015"),
        (0.005, "$0.005"),
        (0.0051, "$0.0051"),
        (0.000123456, "$0.000123"),
        (-0.5, "-$0.50"),
    ],
)
def test_format_money(amount: float, text: str) -> None:
    assert format_money(amount) == text
