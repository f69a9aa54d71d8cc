"""A checksum of what a configuration says, not how it is written.

sha256 over a canonical JSON form: keys sorted, no whitespace, UTF-8, and integral numbers
written as integers (so ``100``, ``100.0`` and ``1e2`` agree). Reformatting or reordering a file
keeps its checksum; changing any value changes it. The checksum covers the document as written
(``${VAR}`` placeholders, not their values), so rotating a key in the environment keeps a pin valid.
"""

from __future__ import annotations

import hashlib
import json
import re

__all__ = ["canonical_json", "config_checksum", "normalise_checksum"]

_HEX64 = re.compile(r"[0-9a-f]{64}")


def _canonical(node: object) -> object:
    if isinstance(node, float) and node.is_integer():
        return int(node)
    if isinstance(node, dict):
        return {key: _canonical(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_canonical(value) for value in node]
    return node


def canonical_json(data: object) -> bytes:
    return json.dumps(
        _canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def config_checksum(data: object) -> str:
    """The sha256 hex digest of ``data``'s canonical form."""
    return hashlib.sha256(canonical_json(data)).hexdigest()


def normalise_checksum(expected: str) -> str | None:
    """A pin as 64 lowercase hex digits (an optional ``sha256:`` prefix is allowed), or None."""
    text = expected.strip().lower().removeprefix("sha256:")
    return text if _HEX64.fullmatch(text) else None
