"""llmpool-policy: route LLM chat requests across providers by rules in a checked language.

    from llmpool_policy import LLMPool, Policy, text_message, image_message

The heavier parts (the pool and httpx, the policy compiler) load on first use, so importing the
package stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "LLMPool",
    "Policy",
    "PoolResponse",
    "SyncLLMPool",
    "__version__",
    "image_message",
    "text_message",
]

if TYPE_CHECKING:
    from .messages import image_message, text_message
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
}


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'llmpool_policy' has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{target[0]}", __name__)
    return getattr(module, target[1])
