"""Recording live traffic: ``LLMPool(..., record=PATH_OR_FILE)`` writes one traffic record per
request (``schemas/traffic-record.schema.json``), the format the simulator replays.

A record holds the request's routing features (id, arrival time, tenant/user/tags/metadata,
model, estimated input tokens, max_tokens, counts of messages, images and tools, stream,
temperature, seed), the answer's output tokens, and the attempts that were sent (provider,
status, error class, latency; usage on the success). Attempts the live gate refused were never
sent and are left out. Message bodies are written only with ``record_bodies=True`` (role and
text; an image as ``{"image": MEDIA_TYPE_OR_URL_HOST}``, never its bytes). Nothing else of a
request or a response is written: no error message, no header, no key — a provider's key is in
none of these fields.

Records are written in arrival order even when requests overlap: a finished request waits in a
small buffer until every request that arrived before it has finished too. A request that ends
without an answer or a typed failure (cancelled, the pool closed under it) is not written.
This module imports neither the simulator nor the policy compiler.
"""

from __future__ import annotations

import itertools
import json
import math
import urllib.parse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from .messages import ChatRequest, ImagePart, TextPart
from .providers import estimate_request_tokens
from .runtime import AttemptRecord

__all__ = ["TrafficRecorder"]


def _jsonable(value: Any) -> Any:
    """Metadata as JSON: containers kept, anything else that JSON cannot hold as its str."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _bodies(request: ChatRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for message in request.messages:
        if isinstance(message.content, str):
            content: Any = message.content
        else:
            content = []
            for part in message.content:
                if isinstance(part, TextPart):
                    content.append({"text": part.text})
                elif isinstance(part, ImagePart):
                    where = part.media_type
                    if where is None and part.url is not None:
                        where = urllib.parse.urlsplit(part.url).hostname or "url"
                    content.append({"image": where or "image"})
        entry: dict[str, Any] = {"role": message.role, "content": content}
        if message.name:
            entry["name"] = message.name
        out.append(entry)
    return out


class _Entry:
    __slots__ = ("data", "seq", "ts")

    def __init__(self, seq: int, ts: float, data: dict[str, Any]) -> None:
        self.seq = seq
        self.ts = ts
        self.data = data


class TrafficRecorder:
    """Writes traffic records to ``target`` (a path, opened for appending, or a text stream)."""

    def __init__(self, target: str | Path | IO[str], *, bodies: bool = False) -> None:
        if isinstance(target, str | Path):
            self._out: IO[str] = open(target, "a", encoding="utf-8")  # noqa: SIM115
            self._owned = True
        else:
            self._out = target
            self._owned = False
        self._bodies = bodies
        self._seq = itertools.count()
        self._open: dict[int, _Entry] = {}  # begun, not finished (by seq)
        self._done: dict[int, _Entry | None] = {}  # finished (None: not to be written)
        self.written = 0

    def begin(
        self,
        ts: float,
        request: ChatRequest,
        *,
        request_id: str | None,
        tags: Sequence[str],
        metadata: Mapping[str, Any],
        model: str | None,
        seed: int | None,
    ) -> int:
        """A request arrived at wall time ``ts``; returns its handle for :meth:`end`."""
        data: dict[str, Any] = {
            "ts": round(ts, 6),
            "input_tokens": estimate_request_tokens(request),
            "messages": len(request.messages),
        }
        if request_id is not None:
            data["id"] = request_id
        if request.max_tokens:
            data["max_tokens"] = request.max_tokens
        if model is not None:
            data["model"] = model
        if request.user is not None:
            data["user"] = request.user
        if tags:
            data["tags"] = list(tags)
        if metadata:
            data["metadata"] = _jsonable(metadata)
            tenant = metadata.get("tenant")
            if isinstance(tenant, str):
                data["tenant"] = tenant
        if request.image_count:
            data["images"] = request.image_count
        if request.tools:
            data["tools"] = len(request.tools)
        if request.stream:
            data["stream"] = True
        if request.temperature is not None:
            data["temperature"] = request.temperature
        if seed is not None:
            data["seed"] = seed
        if self._bodies:
            data["bodies"] = _bodies(request)
        seq = next(self._seq)
        self._open[seq] = _Entry(seq, data["ts"], data)
        return seq

    def end(
        self,
        handle: int,
        *,
        request_id: str | None = None,
        attempts: Sequence[AttemptRecord] = (),
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """The request ended: with its attempts (the last one's usage when it succeeded)."""
        entry = self._open.pop(handle, None)
        if entry is None:
            return
        data = entry.data
        if request_id is not None:
            data["id"] = request_id
        data.setdefault("id", f"request-{handle}")
        sent = [a for a in attempts if not a.skipped]
        if output_tokens is not None:
            data["output_tokens"] = output_tokens
        if sent:
            out = []
            for i, a in enumerate(sent):
                item: dict[str, Any] = {
                    "provider": a.provider,
                    "error_class": a.error_class,
                    "latency_s": round(max(0.0, a.latency_s), 6),
                }
                if a.status is not None:
                    item["status"] = a.status
                if i == len(sent) - 1 and a.error_class is None:
                    if input_tokens is not None:
                        item["input_tokens"] = input_tokens
                    if output_tokens is not None:
                        item["output_tokens"] = output_tokens
                out.append(item)
            data["attempts"] = out
        self._done[handle] = entry
        self._flush()

    def abandon(self, handle: int) -> None:
        """The request ended without a record (cancelled); stop waiting for it."""
        if self._open.pop(handle, None) is not None:
            self._done[handle] = None
            self._flush()

    def _flush(self) -> None:
        """Write every finished record that no earlier arrival still waits in front of."""
        first_open = min(self._open, default=None)
        ready = sorted(s for s in self._done if first_open is None or s < first_open)
        if not ready:
            return
        for seq in ready:
            entry = self._done.pop(seq)
            if entry is None:
                continue
            self._out.write(json.dumps(entry.data, separators=(",", ":"), sort_keys=True))
            self._out.write("\n")
            self.written += 1
        self._out.flush()

    def close(self) -> None:
        """Write what is finished (requests still open are dropped) and close an owned file."""
        for handle in list(self._open):
            self.abandon(handle)
        self._flush()
        if self._owned:
            self._out.close()
