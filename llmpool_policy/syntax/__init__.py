"""Policy text -> AST. Lark types never leave this package."""

from __future__ import annotations

from pathlib import Path as _FsPath

from ..diagnostics import Diagnostic, Source
from ..errors import PolicySyntaxError
from . import ast
from ._parser import parse_text
from .limits import MAX_EXPR_DEPTH, MAX_SOURCE_CHARS

__all__ = ["MAX_EXPR_DEPTH", "MAX_SOURCE_CHARS", "ast", "parse", "parse_file", "try_parse"]


def try_parse(text: str, path: str = "<policy>") -> tuple[ast.Policy | None, list[Diagnostic]]:
    """Parse without raising: the AST, or None and every syntax error found."""
    decls, comments, diagnostics = parse_text(text, path)
    if diagnostics:
        return None, diagnostics
    return ast.Policy(decls, comments, path), []


def parse(text: str, path: str = "<policy>") -> ast.Policy:
    """Parse policy text; raise :class:`PolicySyntaxError` with every syntax error found."""
    policy, diagnostics = try_parse(text, path)
    if policy is None:
        raise PolicySyntaxError(diagnostics)
    return policy


def parse_file(path: str | _FsPath) -> tuple[ast.Policy, Source]:
    text = _FsPath(path).read_text(encoding="utf-8")
    return parse(text, str(path)), Source(str(path), text)
