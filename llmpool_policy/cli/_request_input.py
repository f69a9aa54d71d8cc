"""The request ``explain --request`` reads, in whichever form the operator has it.

Three forms, told apart by their keys:

- an OpenAI chat-completions request body, as an SDK sends it (``messages`` is a list): its
  features are computed as the pool computes them for that request (input tokens estimated from
  the messages, images and tools, with the config's ``token_counting``);
- a recorded traffic record, one line of the JSON lines ``simulate`` reads (it has ``ts``, or
  keys only a record has: ``tenant``, ``attempts``, ``output_tokens``...);
- the request features themselves (``RoutingRequest``'s fields, docs/decisions.md).

Anything else is refused with what each form needs. Problems inside a body say where, as a JSON
pointer (``/messages/2/content/0/image_url/url``).
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..messages import (
    ChatMessage,
    ChatRequest,
    ContentPart,
    ImagePart,
    MessageError,
    TextPart,
    Tool,
    ToolCall,
)
from ..providers.tokens import estimate_request_tokens
from ..request import RoutingRequest
from ..simulate.traffic import TrafficError, TrafficRecord, record_from_json

__all__ = ["FEATURES", "OPENAI", "RECORD", "ReadRequest", "RequestInputError", "read_request"]

OPENAI: Final = "an OpenAI chat-completions request body"
RECORD: Final = "a recorded traffic record"
FEATURES: Final = "request features"

# Message roles of the chat-completions API, as ours ("developer" is the newer "system").
_ROLES: Final = {"system": "system", "developer": "system", "user": "user",
                 "assistant": "assistant", "tool": "tool"}  # fmt: skip
FEATURE_FIELDS: Final = tuple(f.name for f in dataclasses.fields(RoutingRequest))
_RECORD_KEYS: Final = frozenset(f.name for f in dataclasses.fields(TrafficRecord))
_RECORD_ONLY: Final = _RECORD_KEYS - set(FEATURE_FIELDS)  # keys that say "a traffic record"


class RequestInputError(ValueError):
    """A request document explain cannot read (says which form it was read as, and where)."""


@dataclass(frozen=True)
class ReadRequest:
    request: RoutingRequest
    form: str  # OPENAI, RECORD or FEATURES
    notes: tuple[str, ...] = ()  # what was estimated or left out

    def describe(self, path: str) -> str:
        """One line for stderr: which form was read, and what it came to."""
        r = self.request
        text = f"read {path} as {self.form}"
        if self.form != FEATURES:
            text += (
                f": messages {r.messages}, input_tokens {r.input_tokens}, "
                f"max_tokens {r.max_tokens}, images {r.images}, tools {r.tools}"
            )
        return text + "".join(f"; {note}" for note in self.notes)


def parse_documents(text: str) -> Any:
    """One JSON document; a JSON-lines file of several records is refused with what to do."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        lines = [line for line in text.splitlines() if line.strip()]
        if len(lines) > 1 and exc.msg == "Extra data":
            raise RequestInputError(
                f"it holds {len(lines)} JSON lines (recorded traffic?); explain reads one "
                "request: pass one line, e.g. `sed -n 1p FILE > one.json`"
            ) from None
        raise RequestInputError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None


def read_request(data: object, *, exact_tokens: bool = True) -> ReadRequest:
    """Detect the form of ``data`` and read the request features from it."""
    if not isinstance(data, Mapping):
        raise RequestInputError(f"a request is a JSON object (got {type(data).__name__})")
    keys = set(data)
    if isinstance(data.get("messages"), list):
        return _from_openai(data, exact_tokens)
    if "ts" in keys or (keys & _RECORD_ONLY and keys <= _RECORD_KEYS):
        try:
            record = record_from_json(dict(data), where="the record")
        except TrafficError as exc:
            raise RequestInputError(f"read as {RECORD}: {exc}") from None
        return ReadRequest(record.routing_request(), RECORD)
    unknown = sorted(keys - set(FEATURE_FIELDS))
    if not unknown:
        try:
            return ReadRequest(RoutingRequest.from_dict(data), FEATURES)
        except ValueError as exc:
            raise RequestInputError(f"read as {FEATURES}: {exc}") from None
    hints = [
        f"{name!r} (did you mean {close[0]!r}?)" if close else repr(name)
        for name in unknown
        for close in [difflib.get_close_matches(name, sorted(_RECORD_KEYS), n=1)]
    ]
    raise RequestInputError(
        "not a request explain reads: "
        f"{OPENAI} has a `messages` list; {RECORD} (a line of simulate's traffic) has `id` and "
        f"`ts`; {FEATURES} have only {', '.join(FEATURE_FIELDS)}. This one has unknown "
        f"key(s): {', '.join(hints)}"
    )


# ---- the OpenAI chat-completions body -------------------------------------------------------


def _fail(pointer: str, message: str) -> RequestInputError:
    return RequestInputError(f"read as {OPENAI}: {pointer}: {message}")


def _string(value: object, pointer: str) -> str:
    if not isinstance(value, str):
        raise _fail(pointer, f"must be a string (got {json.dumps(value)[:40]})")
    return value


def _content(
    content: object, pointer: str, skipped: dict[str, int]
) -> str | tuple[ContentPart, ...]:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise _fail(pointer, "must be a string, a list of parts or null")
    parts: list[ContentPart] = []
    for i, part in enumerate(content):
        where = f"{pointer}/{i}"
        if not isinstance(part, Mapping):
            raise _fail(where, "a content part is an object with a `type`")
        kind = part.get("type")
        if kind in ("text", "input_text"):
            parts.append(TextPart(_string(part.get("text"), f"{where}/text")))
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            detail = image.get("detail") if isinstance(image, Mapping) else None
            if detail not in (None, "auto", "low", "high"):
                raise _fail(f"{where}/image_url/detail", "must be auto, low or high")
            try:
                parts.append(ImagePart.from_url(_string(url, f"{where}/image_url/url"),
                                                detail=detail))  # fmt: skip
            except MessageError as exc:
                raise _fail(f"{where}/image_url/url", str(exc)) from None
        else:
            skipped[str(kind)] = skipped.get(str(kind), 0) + 1
    return tuple(parts)


def _message(raw: object, pointer: str, skipped: dict[str, int]) -> ChatMessage:
    if not isinstance(raw, Mapping):
        raise _fail(pointer, "a message is an object with `role` and `content`")
    role = _ROLES.get(str(raw.get("role")))
    if role is None:
        raise _fail(f"{pointer}/role", f"must be one of {', '.join(_ROLES)}")
    calls: list[ToolCall] = []
    for j, call in enumerate(raw.get("tool_calls") or ()):
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping):
            raise _fail(f"{pointer}/tool_calls/{j}", "a tool call has a `function` object")
        calls.append(ToolCall(str(call.get("id") or f"call_{j}"),
                              _string(function.get("name"), f"{pointer}/tool_calls/{j}/name"),
                              _string(function.get("arguments", "{}"),
                                      f"{pointer}/tool_calls/{j}/arguments")))  # fmt: skip
    content = _content(raw.get("content"), f"{pointer}/content", skipped)
    if role == "tool" and isinstance(content, tuple):
        content = "\n".join(p.text for p in content if isinstance(p, TextPart))
    try:
        return ChatMessage(
            role=role,  # type: ignore[arg-type]
            content=content,
            name=raw.get("name") if isinstance(raw.get("name"), str) else None,
            tool_call_id=raw.get("tool_call_id") if role == "tool" else None,
            tool_calls=tuple(calls),
        )
    except MessageError as exc:
        raise _fail(pointer, str(exc)) from None


def _tool(raw: object, pointer: str) -> Tool:
    function = raw.get("function") if isinstance(raw, Mapping) else None
    if not isinstance(function, Mapping):
        raise _fail(pointer, 'a tool is {"type": "function", "function": {"name": ...}}')
    try:
        return Tool(
            name=_string(function.get("name"), f"{pointer}/function/name"),
            description=str(function.get("description") or ""),
            parameters=function.get("parameters") or {"type": "object", "properties": {}},
        )
    except MessageError as exc:
        raise _fail(pointer, str(exc)) from None


def _count(data: Mapping[str, Any], key: str) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(f"/{key}", f"must be a whole number >= 0 (got {json.dumps(value)[:40]})")
    return value


def _from_openai(body: Mapping[str, Any], exact_tokens: bool) -> ReadRequest:
    skipped: dict[str, int] = {}
    messages = [_message(m, f"/messages/{i}", skipped) for i, m in enumerate(body["messages"])]
    if not messages:
        raise _fail("/messages", "a request needs at least one message")
    tools = [_tool(t, f"/tools/{i}") for i, t in enumerate(body.get("tools") or ())]
    max_tokens = _count(body, "max_completion_tokens")
    if max_tokens is None:
        max_tokens = _count(body, "max_tokens")
    chat = ChatRequest(messages=tuple(messages), tools=tuple(tools))
    tokens = estimate_request_tokens(chat, exact=exact_tokens)
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise _fail("/temperature", "must be a number")
    metadata = body.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise _fail("/metadata", "must be an object")
    model, user, seed = body.get("model"), body.get("user"), body.get("seed")
    request = RoutingRequest(
        model=model if isinstance(model, str) else None,
        messages=len(messages),
        input_tokens=tokens,
        max_tokens=max_tokens or 0,
        images=chat.image_count,
        tools=len(tools),
        stream=body.get("stream") is True,
        temperature=temperature,
        metadata=dict(metadata),
        user=user if isinstance(user, str) else None,
        seed=seed if isinstance(seed, int) and not isinstance(seed, bool) else None,
    )
    notes = ["input_tokens estimated from the messages as the pool does"]
    if skipped:
        left = ", ".join(f"{n} {kind}" for kind, n in sorted(skipped.items()))
        notes.append(f"left out of the estimate: {left} content part(s)")
    return ReadRequest(request, OPENAI, tuple(notes))
