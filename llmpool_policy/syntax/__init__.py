"""Policy text -> AST. Lark types never leave this package."""

from __future__ import annotations

from pathlib import Path as _FsPath

from ..diagnostics import Diagnostic, Source
from ..errors import PolicySyntaxError
from . import ast
from ._parser import parse_recovering, parse_text
from .limits import MAX_EXPR_DEPTH, MAX_SOURCE_CHARS

__all__ = [
    "MAX_EXPR_DEPTH",
    "MAX_SOURCE_CHARS",
    "ast",
    "parse",
    "parse_file",
    "parse_partial",
    "try_parse",
]


def try_parse(text: str, path: str = "<policy>") -> tuple[ast.Policy | None, list[Diagnostic]]:
    """Parse without raising: the AST, or None and every syntax error found."""
    decls, comments, diagnostics = parse_text(text, path)
    if diagnostics:
        return None, diagnostics
    return ast.Policy(decls, comments, path), []


def parse_partial(text: str, path: str = "<policy>") -> tuple[ast.Policy | None, list[Diagnostic]]:
    """Parse, and after syntax errors keep what parsed: every syntax error, and the policy of
    the statements that parsed with the ones left out in ``.skipped`` (None when nothing could
    be recovered). For `check`, so syntax errors do not hide the other findings."""
    decls, comments, diagnostics, skipped = parse_recovering(text, path)
    if diagnostics and not decls and not skipped:
        return None, diagnostics
    return ast.Policy(decls, comments, path, skipped), diagnostics


def parse(text: str, path: str = "<policy>") -> ast.Policy:
    """Parse policy text; raise :class:`PolicySyntaxError` with every syntax error found."""
    policy, diagnostics = try_parse(text, path)
    if policy is None:
        raise PolicySyntaxError(diagnostics)
    return policy


def parse_file(path: str | _FsPath) -> tuple[ast.Policy, Source]:
    text = _FsPath(path).read_text(encoding="utf-8")
    return parse(text, str(path)), Source(str(path), text)
