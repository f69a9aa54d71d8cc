"""The sizes the policy language accepts, in one place (docs/language.md, "Limits").

Each limit has its own diagnostic code, reported where the text crosses it, so a policy that
`check` accepts can always be parsed, formatted, checked and compiled, quickly and without
deep recursion.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_ATTEMPTS", "MAX_EXPR_DEPTH", "MAX_NUMBER_DIGITS", "MAX_SOURCE_CHARS"]

# E005: a policy's whole text, comments included. About 2 s of parsing on a loaded 2-core
# machine; a generated 1,000-route policy is a third of it.
MAX_SOURCE_CHARS: Final = 1_000_000

# E004: how deep an expression may nest, in AST levels (each `not`, unary minus, comparison,
# arithmetic operator, call and list is one; brackets are none). A chain of `and` or `or` of
# any length is a balanced tree, log2 of its length deep. The stages after the parser recurse
# over expressions, and compiled conditions are Python source, whose parser allows 200 nested
# brackets; at 64 levels the generated code stays well under both.
MAX_EXPR_DEPTH: Final = 64

# E006: digits before a number's point, whatever its unit (below 10^15, where whole numbers stay
# exact in a float and no unit conversion can overflow: a 309-digit duration did).
MAX_NUMBER_DIGITS: Final = 15

# E006: `attempts N` in a retry block. The plan keeps one backoff step per retry, and an
# exponential backoff's steps pass any float's range long before 10,000.
MAX_ATTEMPTS: Final = 1_000
