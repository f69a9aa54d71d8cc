"""JSON pointers (RFC 6901) and "did you mean" suggestions, shared by every validation step."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence

from .secrets import mask_keys

__all__ = ["pointer", "suggest"]

_CAMEL = re.compile(r"(?<=[a-z0-9])([A-Z])")


def pointer(parts: Iterable[str | int]) -> str:
    """The pointer for a path: ``("providers", 2, "name")`` -> ``/providers/2/name``. A key
    shaped like an API key (pasted as an object key) is masked: pointers are printed."""
    return "".join("/" + mask_keys(str(p)).replace("~", "~0").replace("/", "~1") for p in parts)


def _normalise(word: str) -> str:
    return _CAMEL.sub(r"_\1", word).replace("-", "_").replace(" ", "_").lower()


def suggest(word: str, choices: Sequence[str]) -> str | None:
    """The closest choice to a misspelled word, matching camelCase and case slips too."""
    by_normal = {_normalise(c): c for c in choices}
    normal = _normalise(word)
    if normal in by_normal:
        return by_normal[normal]
    close = difflib.get_close_matches(normal, list(by_normal), n=1, cutoff=0.6)
    return by_normal[close[0]] if close else None
