"""Recorded traffic: one :class:`TrafficRecord` per request, read and written as JSON lines.

The format is ``schemas/traffic-record.schema.json``. Reading is streaming (a generator), so a
million-line file never sits in memory; :func:`read_traffic` checks each line with a fast
hand-written check that mirrors the schema (the schema itself is used by the tests and by
``validate=True``), and says which line is wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..request import RoutingRequest

__all__ = [
    "DEFAULT_OUTPUT_TOKENS",
    "ObservedAttempt",
    "TrafficError",
    "TrafficRecord",
    "read_traffic",
    "record_from_json",
    "write_traffic",
]

# Usage of a simulated answer when a record gives neither output_tokens nor max_tokens.
DEFAULT_OUTPUT_TOKENS = 256

_RECORD_KEYS = frozenset(
    {
        "id",
        "ts",
        "tenant",
        "user",
        "tags",
        "metadata",
        "model",
        "input_tokens",
        "output_tokens",
        "max_tokens",
        "messages",
        "images",
        "tools",
        "stream",
        "temperature",
        "seed",
        "attempts",
        "ts_synthesised",
        "input_tokens_estimated",
        "bodies",
    }
)
_ATTEMPT_KEYS = frozenset(
    {
        "provider",
        "status",
        "error_class",
        "latency_s",
        "ttft_s",
        "input_tokens",
        "output_tokens",
        "retry_after_s",
        "rate_limit",
    }
)


class TrafficError(ValueError):
    """A traffic record that does not follow the schema (with where it is)."""


@dataclass(frozen=True, slots=True)
class ObservedAttempt:
    provider: str
    error_class: str | None = None
    status: int | None = None
    latency_s: float | None = None
    ttft_s: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    retry_after_s: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"provider": self.provider, "error_class": self.error_class}
        for name in (
            "status",
            "latency_s",
            "ttft_s",
            "input_tokens",
            "output_tokens",
            "retry_after_s",
        ):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        return data


@dataclass(frozen=True, slots=True)
class TrafficRecord:
    """One recorded request: when it arrived, its routing features, and what was observed."""

    id: str
    ts: float
    input_tokens: int = 0
    output_tokens: int | None = None
    max_tokens: int | None = None
    model: str | None = None
    tenant: str | None = None
    user: str | None = None
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    messages: int = 1
    images: int = 0
    tools: int = 0
    stream: bool = False
    temperature: float | None = None
    seed: int | None = None
    attempts: tuple[ObservedAttempt, ...] = ()
    ts_synthesised: bool = False  # the source had no arrival times; an importer made them up
    # the source reported no prompt usage (a failed call); an importer estimated input_tokens
    # from the messages
    input_tokens_estimated: bool = False
    # The messages as sent (role, content), only when a pool records with record_bodies=True;
    # never read by the simulator.
    bodies: tuple[Mapping[str, Any], ...] = ()

    @property
    def answer_tokens(self) -> int:
        """The output tokens a simulated success reports."""
        if self.output_tokens is not None:
            return self.output_tokens
        if self.max_tokens:
            return self.max_tokens
        return DEFAULT_OUTPUT_TOKENS

    def routing_request(self) -> RoutingRequest:
        """The features a policy reads; ``tenant`` shows as ``request.metadata.tenant``."""
        metadata: Mapping[str, Any] = self.metadata
        if self.tenant is not None and "tenant" not in metadata:
            metadata = {**metadata, "tenant": self.tenant}
        return RoutingRequest(
            id=self.id,
            model=self.model,
            messages=self.messages,
            input_tokens=self.input_tokens,
            max_tokens=self.max_tokens or 0,
            images=self.images,
            tools=self.tools,
            stream=self.stream,
            temperature=self.temperature,
            tags=self.tags,
            metadata=metadata,
            user=self.user,
            seed=self.seed,
        )

    def to_json(self) -> dict[str, Any]:
        """The record as a schema-valid JSON object (defaults left out)."""
        data: dict[str, Any] = {"id": self.id, "ts": self.ts, "input_tokens": self.input_tokens}
        if self.output_tokens is not None:
            data["output_tokens"] = self.output_tokens
        if self.max_tokens is not None:
            data["max_tokens"] = self.max_tokens
        for name in ("model", "tenant", "user", "temperature", "seed"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.tags:
            data["tags"] = list(self.tags)
        if self.metadata:
            data["metadata"] = dict(self.metadata)
        if self.messages != 1:
            data["messages"] = self.messages
        if self.images:
            data["images"] = self.images
        if self.tools:
            data["tools"] = self.tools
        if self.stream:
            data["stream"] = True
        if self.attempts:
            data["attempts"] = [a.to_json() for a in self.attempts]
        if self.ts_synthesised:
            data["ts_synthesised"] = True
        if self.input_tokens_estimated:
            data["input_tokens_estimated"] = True
        if self.bodies:
            data["bodies"] = [dict(b) for b in self.bodies]
        return data


def _int(data: Mapping[str, Any], key: str, where: str, *, nullable: bool = False) -> int | None:
    value = data.get(key)
    if value is None:
        if key in data and not nullable:
            raise TrafficError(f"{where}: {key} must be an integer, not null")
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TrafficError(f"{where}: {key} must be a non-negative integer (got {value!r})")
    return value


def _num(data: Mapping[str, Any], key: str, where: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TrafficError(f"{where}: {key} must be a number (got {value!r})")
    return float(value)


def _str(data: Mapping[str, Any], key: str, where: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise TrafficError(f"{where}: {key} must be a string (got {value!r})")
    return value


def _attempt(data: Any, where: str) -> ObservedAttempt:
    if not isinstance(data, dict):
        raise TrafficError(f"{where}: an attempt is a JSON object")
    unknown = sorted(set(data) - _ATTEMPT_KEYS)
    if unknown:
        raise TrafficError(f"{where}: unknown attempt field(s): {', '.join(unknown)}")
    provider = _str(data, "provider", where)
    if not provider:
        raise TrafficError(f"{where}: an attempt needs a provider")
    return ObservedAttempt(
        provider=provider,
        error_class=_str(data, "error_class", where),
        status=_int(data, "status", where, nullable=True),
        latency_s=_num(data, "latency_s", where),
        ttft_s=_num(data, "ttft_s", where),
        input_tokens=_int(data, "input_tokens", where, nullable=True),
        output_tokens=_int(data, "output_tokens", where, nullable=True),
        retry_after_s=_num(data, "retry_after_s", where),
    )


def record_from_json(data: Any, where: str = "record") -> TrafficRecord:
    """A record from its JSON object; raises :class:`TrafficError` saying what is wrong."""
    if not isinstance(data, dict):
        raise TrafficError(f"{where}: a record is a JSON object")
    unknown = sorted(set(data) - _RECORD_KEYS)
    if unknown:
        raise TrafficError(
            f"{where}: unknown field(s): {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_RECORD_KEYS))}"
        )
    rid = data.get("id")
    if not isinstance(rid, str) or not rid:
        raise TrafficError(f"{where}: id must be a non-empty string")
    ts = _num(data, "ts", where)
    if ts is None:
        raise TrafficError(f"{where}: ts (arrival time, seconds) is required")
    if "input_tokens" not in data and "output_tokens" not in data:
        raise TrafficError(f"{where}: a size is required (input_tokens or output_tokens)")
    tags = data.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise TrafficError(f"{where}: tags must be a list of strings")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise TrafficError(f"{where}: metadata must be an object")
    attempts = data.get("attempts", [])
    if not isinstance(attempts, list):
        raise TrafficError(f"{where}: attempts must be a list")
    stream = data.get("stream", False)
    if not isinstance(stream, bool):
        raise TrafficError(f"{where}: stream must be true or false")
    seed = data.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
        raise TrafficError(f"{where}: seed must be an integer")
    synthesised = data.get("ts_synthesised", False)
    if not isinstance(synthesised, bool):
        raise TrafficError(f"{where}: ts_synthesised must be true or false")
    estimated = data.get("input_tokens_estimated", False)
    if not isinstance(estimated, bool):
        raise TrafficError(f"{where}: input_tokens_estimated must be true or false")
    bodies = data.get("bodies", [])
    if not isinstance(bodies, list) or not all(isinstance(b, dict) for b in bodies):
        raise TrafficError(f"{where}: bodies must be a list of message objects")
    return TrafficRecord(
        id=rid,
        ts=ts,
        input_tokens=_int(data, "input_tokens", where) or 0,
        output_tokens=_int(data, "output_tokens", where, nullable=True),
        max_tokens=_int(data, "max_tokens", where, nullable=True),
        model=_str(data, "model", where),
        tenant=_str(data, "tenant", where),
        user=_str(data, "user", where),
        tags=tuple(tags),
        metadata=metadata,
        messages=_int(data, "messages", where) if "messages" in data else 1,  # type: ignore[arg-type]
        images=_int(data, "images", where) or 0,
        tools=_int(data, "tools", where) or 0,
        stream=stream,
        temperature=_num(data, "temperature", where),
        seed=seed,
        attempts=tuple(_attempt(a, f"{where}: attempts[{i}]") for i, a in enumerate(attempts)),
        ts_synthesised=synthesised,
        input_tokens_estimated=estimated,
        bodies=tuple(bodies),
    )


def read_traffic(
    source: str | Path | IO[str], *, validate: bool = False
) -> Iterator[TrafficRecord]:
    """Records from a JSON-lines file, lazily, checking each line and that ``ts`` never goes
    backwards. ``validate=True`` also runs the JSON Schema on each line (slow; for tests)."""
    validator = None
    if validate:
        from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

        from .._resources import data_path

        schema = json.loads(data_path("schemas", "traffic-record.schema.json").read_text())
        validator = Draft202012Validator(schema)
    if isinstance(source, str | Path):
        name = str(source)
        with open(source, encoding="utf-8") as stream:
            yield from _read(stream, name, validator)
    else:
        yield from _read(source, getattr(source, "name", "<traffic>"), validator)


def _read(stream: IO[str], name: str, validator: Any) -> Iterator[TrafficRecord]:
    last = float("-inf")
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise TrafficError(f"{where}: not JSON: {exc.msg}") from exc
        if validator is not None:
            errors = sorted(validator.iter_errors(data), key=lambda e: list(e.absolute_path))
            if errors:
                path = "/".join(str(p) for p in errors[0].absolute_path)
                raise TrafficError(f"{where}: /{path}: {errors[0].message}")
        record = record_from_json(data, where)
        if record.ts < last:
            raise TrafficError(
                f"{where}: ts {record.ts} is before the previous record's {last}; "
                "records must be in arrival order"
            )
        last = record.ts
        yield record


def write_traffic(records: Iterable[TrafficRecord], out: IO[str]) -> int:
    """Write records as JSON lines; returns how many."""
    n = 0
    for record in records:
        out.write(json.dumps(record.to_json(), separators=(",", ":"), sort_keys=True))
        out.write("\n")
        n += 1
    return n
