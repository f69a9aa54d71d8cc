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
