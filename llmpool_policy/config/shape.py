"""Is a document JSON data every later step can walk? Depth, text and types, checked first.

The later steps (checksum, ``${VAR}`` expansion, the JSON Schema, the models) recurse over the
document and encode its strings as UTF-8. A document nested thousands of levels deep, a string
holding a lone surrogate (``"\\ud800"`` is valid JSON escape syntax, but not Unicode text), or
Python data that is not JSON (a set, a non-string key) would make them raise something other
than a :class:`ConfigurationError`. This walk is iterative, so it has no depth limit of its own.
"""

from __future__ import annotations

import re
from typing import Final

from ..diagnostics import Diagnostic, Span
from ._pointer import pointer

__all__ = ["MAX_DEPTH", "deep_nesting_at", "shape_diagnostics", "too_deep"]

# Far beyond any configuration (the deepest field, providers/N/supports/vision, is depth 4),
# far below what the recursive steps and Python's stack can take.
MAX_DEPTH: Final = 64

_SURROGATE = re.compile("[\ud800-\udfff]")
_Parts = tuple[str | int, ...]


def too_deep(path: str, where: _Parts | None = None, span: Span | None = None) -> Diagnostic:
    return Diagnostic(
        "C020",
        f"is nested more than {MAX_DEPTH} levels deep",
        path=path,
        pointer=None if where is None else pointer(where),
        span=span,
        help="a configuration is a few levels deep (providers, then each provider's fields); "
        "check for a generated or corrupted file",
    )


def _bad_text(path: str, where: _Parts, what: str) -> Diagnostic:
    return Diagnostic(
        "C021",
        f"{what} holds a lone surrogate (an escape such as \\ud800 that is not a character)",
        path=path,
        pointer=pointer(where),
        help="write the character itself, or a surrogate pair (\\ud83d\\ude00) for one "
        "beyond U+FFFF",
    )


def _bad_type(path: str, where: _Parts, value: object) -> Diagnostic:
    return Diagnostic(
        "C003",
        f"is not a JSON value (got a Python {type(value).__name__})",
        path=path,
        pointer=pointer(where),
        help="give strings, numbers, true/false, null, lists and objects with string keys",
    )


def shape_diagnostics(data: object, path: str) -> list[Diagnostic]:
    """Every place where ``data`` is too deep, holds a lone surrogate or is not JSON data."""
    found: list[Diagnostic] = []
    stack: list[tuple[object, _Parts]] = [(data, ())]
    while stack:
        node, parts = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _SURROGATE.search(node):
                found.append(_bad_text(path, parts, "the string"))
        elif isinstance(node, dict | list):
            if len(parts) >= MAX_DEPTH:
                found.append(too_deep(path, parts))
                continue
            if isinstance(node, list):
                stack.extend((value, (*parts, i)) for i, value in enumerate(node))
                continue
            for key, value in node.items():
                if not isinstance(key, str):
                    found.append(_bad_type(path, (*parts, str(key)), key))
                elif not key.isascii() and _SURROGATE.search(key):
                    found.append(_bad_text(path, parts, "a key"))
                else:
                    stack.append((value, (*parts, key)))
        elif not (node is None or isinstance(node, bool | int | float)):
            found.append(_bad_type(path, parts, node))
    return found


# A JSON string token, or a bracket: what a depth count over raw text must tell apart.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def deep_nesting_at(text: str) -> Span | None:
    """Where raw JSON ``text`` first opens a container deeper than :data:`MAX_DEPTH`, for
    a document too deep for the JSON parser itself (which recurses)."""
    depth = 0
    for match in _TOKENS.finditer(text):
        token = match.group(0)
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                offset = match.start()
                line = text.count("\n", 0, offset) + 1
                column = offset - (text.rfind("\n", 0, offset) + 1) + 1
                return Span.point(line, column, offset)
        elif token in ("]", "}"):
            depth -= 1
    return None
