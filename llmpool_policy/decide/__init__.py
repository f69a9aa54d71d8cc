"""Decision graph + request + metrics snapshot -> Decision. Pure: no clock, no I/O."""

from __future__ import annotations

from .engine import decide

__all__ = ["decide"]
