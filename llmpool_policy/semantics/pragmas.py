"""`# allow CODE` comments: a warning or note accepted where it is deliberate.

One convention: the comment names codes (`# allow W105` or `# allow W105, N102: why`). On the
first or last line of a top-level statement (a route's `route NAME ... {` line or its closing
`}`) it applies to the whole statement; anywhere else, to its own line. Errors cannot be allowed,
and an allow that allows nothing is itself a warning (W110), so stale ones do not pile up.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..codes import CODES
from ..diagnostics import Diagnostic, Severity
from ..suggest import did_you_mean
from ..syntax import ast

__all__ = ["apply_allows"]

_ALLOW = re.compile(r"#\s*allow\s+([A-Za-z]\d{3}(?:\s*,\s*[A-Za-z]\d{3})*)(?![\w])")


@dataclass
class _Allow:
    comment: ast.Comment
    codes: tuple[str, ...]
    first: int  # the lines it covers, inclusive
    last: int
    used: set[str] = field(default_factory=set)


def _allows(policy: ast.Policy) -> list[_Allow]:
    # A statement's first and last lines: `fmt` keeps a comment trailing a one-line route at
    # the end of the line, which becomes the closing `}` line once the route is laid out.
    whole: dict[int, tuple[int, int]] = {}
    for decl in reversed(policy.decls):
        whole[decl.span.end_line] = (decl.span.line, decl.span.end_line)
    for decl in reversed(policy.decls):
        whole[decl.span.line] = (decl.span.line, decl.span.end_line)
    found = []
    for comment in policy.comments:
        m = _ALLOW.match(comment.text)
        if m is None:
            continue
        codes = tuple(c.strip().upper() for c in m.group(1).split(","))
        line = comment.span.line
        first, last = whole.get(line, (line, line))
        found.append(_Allow(comment, codes, first, last))
    return found


def apply_allows(policy: ast.Policy, diagnostics: Sequence[Diagnostic]) -> list[Diagnostic]:
    """``diagnostics`` without the warnings and notes an allow covers, plus W110 for each code
    an allow names that allows nothing."""
    allows = _allows(policy)
    if not allows:
        return list(diagnostics)
    kept: list[Diagnostic] = []
    for d in diagnostics:
        cover = None
        if d.severity is not Severity.ERROR and d.span is not None:
            cover = next(
                (a for a in allows if d.code in a.codes and a.first <= d.span.line <= a.last),
                None,
            )
        if cover is None:
            kept.append(d)
        else:
            cover.used.add(d.code)
    for allow in allows:
        for code in allow.codes:
            if code not in allow.used:
                kept.append(_unused(policy.path, allow, code))
    return kept


def _unused(path: str, allow: _Allow, code: str) -> Diagnostic:
    where = (
        f"lines {allow.first}-{allow.last}" if allow.last > allow.first else f"line {allow.first}"
    )
    if code not in CODES:
        message = f"`allow {code}` names no diagnostic code"
        help = did_you_mean(code, CODES) or "see docs/diagnostics.md for the codes"
    elif code.startswith("E"):
        message = f"`allow {code}` cannot allow an error: only warnings and notes can be allowed"
        help = "fix the error instead; delete the allow"
    else:
        message = f"`allow {code}` allows nothing: no {code} is reported on {where}"
        help = (
            "delete it; an allow applies to its own line, or, on a statement's first line "
            "(`route NAME ... {`) or closing `}`, to the whole statement"
        )
    return Diagnostic("W110", message, allow.comment.span, path, Severity.WARNING, help=help)
