"""Source spans and diagnostics, shared by every stage.

Every stage (syntax, semantics, configuration) reports problems as :class:`Diagnostic` values
instead of raising on the first one, so a user sees all independent problems at once. Rendering
lives here too, so the CLI, the pool and editors show the same words.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

__all__ = [
    "Diagnostic",
    "Severity",
    "Source",
    "Span",
    "render_json",
    "render_short",
    "render_text",
    "sort_diagnostics",
]


class Span(NamedTuple):
    """A region of source text: 1-based line/column, 0-based character offsets, end exclusive.

    A named tuple (immutable, ordered by position) rather than a dataclass: the parser makes
    one per node and per token, and a tuple is several times cheaper to build.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    start: int = 0
    end: int = 0

    @staticmethod
    def point(line: int, column: int, offset: int = 0) -> Span:
        return Span(line, column, line, column + 1, offset, offset + 1)

    def to(self, other: Span) -> Span:
        """The span covering ``self`` through ``other``."""
        return Span(self.line, self.column, other.end_line, other.end_column, self.start, other.end)


@dataclass(frozen=True)
class Source:
    """A named text; diagnostics render snippets from it."""

    path: str
    text: str

    def line(self, number: int) -> str:
        lines = self.text.splitlines()
        if 1 <= number <= len(lines):
            return lines[number - 1]
        return ""


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"  # a choice the reader should see made; never fails a check, even --strict


@dataclass(frozen=True)
class Diagnostic:
    """One finding: a stable code, a message, where, and what to do about it."""

    code: str
    message: str
    span: Span | None = None
    path: str = "<policy>"
    severity: Severity = Severity.ERROR
    help: str | None = None
    notes: tuple[str, ...] = field(default=())
    pointer: str | None = None  # a JSON pointer, for findings in JSON documents

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def location(self) -> str:
        if self.span is not None:
            return f"{self.path}:{self.span.line}:{self.span.column}"
        if self.pointer is not None:
            return f"{self.path}: {self.pointer or '/'}"
        return self.path

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "path": self.path,
        }
        if self.span is not None:
            data["line"] = self.span.line
            data["column"] = self.span.column
            data["end_line"] = self.span.end_line
            data["end_column"] = self.span.end_column
        if self.pointer is not None:
            data["pointer"] = self.pointer
        if self.help is not None:
            data["help"] = self.help
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sort by file, then position; findings without a position come last in their file."""

    def key(d: Diagnostic) -> tuple[str, int, int, str, str]:
        if d.span is None:
            return (d.path, 1 << 30, 0, d.pointer or "", d.code)
        return (d.path, d.span.line, d.span.column, "", d.code)

    return sorted(diagnostics, key=key)


def render_short(diagnostic: Diagnostic) -> str:
    """One line, as compilers print for editors: ``path:line:col: error[E012]: message``."""
    d = diagnostic
    return f"{d.location()}: {d.severity.value}[{d.code}]: {d.message}"


def render_text(diagnostic: Diagnostic, source: Source | None = None) -> str:
    """The terminal form: header, location arrow, source line with a caret underline, help."""
    lines = [f"{diagnostic.severity.value}[{diagnostic.code}]: {diagnostic.message}"]
    lines.append(f"  --> {diagnostic.location()}")
    span = diagnostic.span
    if span is not None and source is not None:
        text = source.line(span.line)
        gutter = str(span.line)
        pad = " " * len(gutter)
        if span.end_line == span.line:
            width = max(1, span.end_column - span.column)
        else:
            width = max(1, len(text) - span.column + 1)
        lines.append(f"{pad} |")
        lines.append(f"{gutter} | {text.expandtabs(1)}")
        lines.append(f"{pad} | {' ' * (span.column - 1)}{'^' * width}")
    for note in diagnostic.notes:
        lines.append(f"  = note: {note}")
    if diagnostic.help is not None:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A stable JSON document for editors and CI."""
    return json.dumps([d.to_dict() for d in diagnostics], indent=2, sort_keys=True)
