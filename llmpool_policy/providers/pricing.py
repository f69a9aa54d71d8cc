"""What an answer cost: its usage priced per 1K tokens, as configured."""

from __future__ import annotations

from ..config.models import ProviderConfig

__all__ = ["response_cost"]


def response_cost(provider: ProviderConfig, input_tokens: int, output_tokens: int) -> float:
    """USD for ``input_tokens`` in and ``output_tokens`` out; an unpriced direction costs 0."""
    cost = 0.0
    if provider.input_token_price is not None:
        cost += input_tokens / 1000.0 * provider.input_token_price
    if provider.output_token_price is not None:
        cost += output_tokens / 1000.0 * provider.output_token_price
    return cost
