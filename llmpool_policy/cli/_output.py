"""Printing diagnostics in the three formats every subcommand offers."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from ..diagnostics import (
    Diagnostic,
    Severity,
    Source,
    render_json,
    render_short,
    render_text,
    sort_diagnostics,
)

FORMATS = ("text", "short", "json")


def print_diagnostics(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, Source],
    fmt: str,
    stream: TextIO | None = None,
) -> None:
    out = stream if stream is not None else sys.stdout
    ordered = sort_diagnostics(diagnostics)
    if fmt == "json":
        out.write(render_json(ordered) + "\n")
        return
    for diagnostic in ordered:
        if fmt == "short":
            out.write(render_short(diagnostic) + "\n")
        else:
            out.write(render_text(diagnostic, sources.get(diagnostic.path)) + "\n\n")


def summary(diagnostics: Sequence[Diagnostic]) -> str:
    errors = sum(1 for d in diagnostics if d.is_error)
    notes = sum(1 for d in diagnostics if d.severity is Severity.NOTE)
    warnings = len(diagnostics) - errors - notes
    text = f"{errors} error{'s'[: errors != 1]}, {warnings} warning{'s'[: warnings != 1]}"
    return text + (f", {notes} note{'s'[: notes != 1]}" if notes else "")
