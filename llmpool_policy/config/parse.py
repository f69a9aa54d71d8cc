"""JSON text to data, with the two problems ``json.loads`` hides reported as diagnostics.

A key written twice in one object is silently "last one wins" in JSON parsers, which is how a
corrected limit gets ignored; here it is an error with the pointer of the object.
"""

from __future__ import annotations

import json
from typing import Any

from ..diagnostics import Diagnostic, Span
from ._pointer import pointer
from .secrets import mask_keys
from .shape import deep_nesting_at, too_deep

__all__ = ["parse_json"]


class _Object(dict[str, Any]):
    """A JSON object that remembers keys it saw more than once."""

    duplicates: tuple[str, ...] = ()


_MAX_INT_DIGITS = 400


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _parse_int(text: str) -> int | float:
    # Past Python's int-parsing limit (4300 digits) json.loads raises a bare ValueError; a
    # number that long is an out-of-range value (reported by the schema with its pointer).
    if len(text) > _MAX_INT_DIGITS:
        return float("-inf") if text.startswith("-") else float("inf")
    return int(text)


def parse_json(raw: bytes | str, path: str) -> tuple[object, list[Diagnostic]]:
    """Parse ``raw``; on failure the data is None and the diagnostics say where and why."""
    if isinstance(raw, bytes):
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            return None, [
                Diagnostic(
                    "C001",
                    f"is not UTF-8 text (bad byte at offset {exc.start})",
                    path=path,
                    help="save the file as UTF-8",
                )
            ]
    else:
        text = raw
    seen_duplicates = False

    def build(pairs: list[tuple[str, Any]]) -> _Object:
        nonlocal seen_duplicates
        obj = _Object(pairs)
        if len(obj) != len(pairs):
            seen_duplicates = True
            keys = [k for k, _ in pairs]
            obj.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
        return obj

    try:
        data = json.loads(
            text, object_pairs_hook=build, parse_constant=_reject_constant, parse_int=_parse_int
        )
    except RecursionError:
        return None, [too_deep(path, span=deep_nesting_at(text))]
    except json.JSONDecodeError as exc:
        span = Span.point(exc.lineno, exc.colno, exc.pos)
        return None, [
            Diagnostic(
                "C001",
                f"invalid JSON: {exc.msg.lower()}",
                span=span,
                path=path,
                help="JSON allows no comments and no trailing commas; strings use double quotes",
            )
        ]
    except ValueError as exc:
        return None, [Diagnostic("C001", f"invalid JSON: {exc}", path=path)]
    if not seen_duplicates:
        return data, []
    found: list[Diagnostic] = []

    def walk(node: object, parts: tuple[str | int, ...]) -> None:
        if isinstance(node, _Object):
            for key in node.duplicates:
                found.append(
                    Diagnostic(
                        "C002",
                        f"key '{mask_keys(key)}' appears more than once; only the last value "
                        "would be used",
                        path=path,
                        pointer=pointer((*parts, key)),
                        help="keep one of them",
                    )
                )
            for key, value in node.items():
                walk(value, (*parts, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, (*parts, index))

    walk(data, ())
    return data, found
