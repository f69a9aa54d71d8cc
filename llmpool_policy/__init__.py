"""llmpool-policy: route LLM chat requests across providers by rules in a checked language."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
