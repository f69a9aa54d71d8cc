"""The sizes the policy language accepts, in one place (docs/language.md, "Limits").

Each limit has its own diagnostic code, reported where the text crosses it, so a policy that
`check` accepts can always be parsed, formatted, checked and compiled, quickly and without
deep recursion.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_SOURCE_CHARS"]

# E005: a policy's whole text, comments included. About 2 s of parsing on a loaded 2-core
# machine; a generated 1,000-route policy is a third of it.
MAX_SOURCE_CHARS: Final = 1_000_000
