"""llmpool-policy: route LLM chat requests across providers by rules in a checked language.

    from llmpool_policy import LLMPool, Policy, text_message, image_message
    from llmpool_policy import ProviderError, RateLimitError, NoProviderAvailableError

Every typed error a caller may catch is importable from here too. The heavier parts (the pool
and httpx, the policy compiler) load on first use, so importing the package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# The errors a caller catches: what chat() raises, what a bad config or policy raises, and what
# a message or image that cannot be sent raises (text_message, image_message).
_ERRORS = (
    "BudgetExceededError",
    "ConfigurationError",
    "DeadlineExceededError",
    "LLMPoolError",
    "NoProviderAvailableError",
    "PolicyError",
    "PolicySyntaxError",
    "ProviderError",
    "RateLimitError",
)

__all__ = [
    "BudgetExceededError",
    "ConfigurationError",
    "DeadlineExceededError",
    "ImageError",
    "LLMPool",
    "LLMPoolError",
    "MessageError",
    "NoProviderAvailableError",
    "Policy",
    "PolicyError",
    "PolicySyntaxError",
    "PoolResponse",
    "ProviderError",
    "RateLimitError",
    "SyncLLMPool",
    "__version__",
    "image_message",
    "text_message",
]

if TYPE_CHECKING:
    from .errors import (
        BudgetExceededError,
        ConfigurationError,
        DeadlineExceededError,
        LLMPoolError,
        NoProviderAvailableError,
        PolicyError,
        PolicySyntaxError,
        ProviderError,
        RateLimitError,
    )
    from .messages import ImageError, MessageError, image_message, text_message
    from .policy import Policy
    from .pool import LLMPool, PoolResponse
    from .sync import SyncLLMPool

_LAZY = {
    "LLMPool": ("pool", "LLMPool"),
    "PoolResponse": ("pool", "PoolResponse"),
    "SyncLLMPool": ("sync", "SyncLLMPool"),
    "Policy": ("policy", "Policy"),
    "text_message": ("messages", "text_message"),
    "image_message": ("messages", "image_message"),
    "MessageError": ("messages", "MessageError"),
    "ImageError": ("messages", "ImageError"),
    **{name: ("errors", name) for name in _ERRORS},
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'llmpool_policy' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{target[0]}", __name__)
    return getattr(module, target[1])


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
