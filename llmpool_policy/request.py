"""What a routing decision knows of a request: its features, never its message bodies."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RoutingRequest"]

_FIELDS = (
    "id", "model", "messages", "input_tokens", "max_tokens", "images", "tools", "stream",
    "temperature", "tags", "metadata", "user", "seed",
)  # fmt: skip


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


# Each field's check and its description, for requests read from JSON (explain, tests, replay).
_KINDS: dict[str, tuple[Any, str]] = {
    "id": (lambda v: isinstance(v, str), "a string"),
    "model": (_text_or_none, "a string or null"),
    "messages": (_count, "a whole number >= 0"),
    "input_tokens": (_count, "a whole number >= 0"),
    "max_tokens": (_count, "a whole number >= 0"),
    "images": (_count, "a whole number >= 0"),
    "tools": (_count, "a whole number >= 0"),
    "stream": (lambda v: isinstance(v, bool), "true or false"),
    "temperature": (
        lambda v: v is None or (isinstance(v, int | float) and not isinstance(v, bool)),
        "a number or null",
    ),
    "tags": (
        lambda v: isinstance(v, list | tuple) and all(isinstance(t, str) for t in v),
        "a list of strings",
    ),
    "metadata": (lambda v: isinstance(v, Mapping), "an object"),
    "user": (_text_or_none, "a string or null"),
    "seed": (lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)), "an integer"),
}


@dataclass(frozen=True)
class RoutingRequest:
    """The request features a policy can read (``request.*``).

    ``seed`` fixes every random draw of the decision (splits, jitter); without it the seed is
    derived from ``id``, so the same request always gets the same decision.
    """

    id: str = ""
    model: str | None = None
    messages: int = 0
    input_tokens: int = 0
    max_tokens: int = 0
    images: int = 0
    tools: int = 0
    stream: bool = False
    temperature: float | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    user: str | None = None
    seed: int | None = None

    @property
    def effective_seed(self) -> int:
        if self.seed is not None:
            return self.seed
        digest = hashlib.blake2b(self.id.encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoutingRequest:
        """Build from a JSON object; unknown keys are an error, so typos never pass silently."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown request field(s): {', '.join(unknown)}; known: {', '.join(_FIELDS)}"
            )
        problems = [
            f"{name} must be {_KINDS[name][1]} (got {type(value).__name__})"
            for name, value in data.items()
            if not _KINDS[name][0](value)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        values = dict(data)
        if "tags" in values:
            values["tags"] = tuple(values["tags"])
        if "metadata" in values:
            values["metadata"] = dict(values["metadata"])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name in _FIELDS:
            value = getattr(self, name)
            data[name] = list(value) if isinstance(value, tuple) else value
        data["metadata"] = dict(self.metadata)
        return data
