"""Policy bytes to text: a file that is not UTF-8 is a syntax error at the bad byte.

``read_text(encoding="utf-8")`` raises a bare ``UnicodeDecodeError``, which escaped the pool's
reload as an exception instead of a ``reload_failed`` event; this says where, like any other
syntax error.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, Span
from ..errors import PolicySyntaxError

__all__ = ["decode_policy"]


def decode_policy(content: bytes, path: str) -> str:
    """``content`` as text (UTF-8, a leading BOM dropped); raises :class:`PolicySyntaxError`
    (E003) with the line and column of the first byte that is not UTF-8."""
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = exc.start
        line_start = content.rfind(b"\n", 0, start) + 1
        prefix = content[:start].decode("utf-8-sig", errors="replace")
        line = content.count(b"\n", 0, start) + 1
        column = len(content[line_start:start].decode("utf-8", errors="replace")) + 1
        span = Span.point(line, column, len(prefix))
        raise PolicySyntaxError(
            [
                Diagnostic(
                    "E003",
                    f"the file is not UTF-8 text: byte 0x{content[start]:02x} cannot be decoded",
                    span=span,
                    path=path,
                    help="save the policy as UTF-8",
                )
            ]
        ) from None
