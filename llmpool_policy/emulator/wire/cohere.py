"""Cohere chat v2: ``POST {prefix}/chat`` (prefix ``/v2``) with ``Authorization: Bearer KEY``;
errors are ``{"id": ..., "message": ...}``. Cohere documents no rate-limit headers, so it sends
none; a 429 carries only its message (and ``retry-after`` when the emulator is told one)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from .._http import Request, Response
from ._durations import retry_after_seconds
from .base import (
    Answer,
    Chat,
    ErrorKind,
    ToolCall,
    Usage,
    WireFormat,
    bearer_token,
    content_parts,
    fill,
    json_response,
    stable_id,
    tool_schemas,
)
from .schema import SchemaError, minimal_instance

__all__ = ["CohereWire"]

_ROLES: Final = frozenset({"system", "user", "assistant", "tool"})

_ERRORS: Final[Mapping[str, tuple[int, str]]] = {
    "auth_missing": (401, "no api key supplied"),
    "auth_invalid": (401, "invalid api token"),
    "bad_json": (400, "invalid request: unable to parse the JSON body"),
    "bad_request": (400, "invalid request: {message}"),
    "not_found": (404, "Not Found"),
    "method_not_allowed": (405, "Method Not Allowed"),
    "model_not_found": (
        404,
        "model '{model}' not found, make sure the correct model ID was used and that you have "
        "access to the model.",
    ),
    "rate_limited": (
        429,
        "You are past the per minute request limit ({limit} calls / minute), please wait before "
        "sending more requests.",
    ),
    "overloaded": (503, "service unavailable: the server is overloaded, please try again later"),
    "service_unavailable": (503, "service unavailable"),
    "server_error": (500, "internal server error, this has been reported to our developers"),
    "context_window": (
        400,
        "too many tokens: the prompt has {tokens} tokens, more than the model's limit of "
        "{limit}. Try using shorter or fewer inputs.",
    ),
}


class CohereWire(WireFormat):
    name = "cohere"
    endpoint = "/chat"

    def _body(
        self, status: int, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        body = {"id": stable_id(status, message, length=32), "message": message}
        return json_response(status, body, headers)

    def authenticate(self, request: Request, api_key: str | None) -> Response | None:
        if api_key is None:
            return None
        given = bearer_token(request)
        if given is None:
            return self.error("auth_missing", {}, ())
        if given != api_key:
            return self.error("auth_invalid", {}, ())
        return None

    def _invalid(self, message: str) -> Response:
        return self._body(400, f"invalid request: {message}")

    def parse(self, body: object) -> Chat | Response:
        if not isinstance(body, dict):
            return self._invalid("body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self._invalid("model must be specified")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self._invalid("messages must be a non-empty list")
        chars = images = 0
        last_user = ""
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return self._invalid(f"messages[{i}].role must be one of {sorted(_ROLES)}")
            parts = content_parts(message.get("content"), frozenset({"text"}))
            if parts is None:
                return self._invalid(f"messages[{i}].content has the wrong type")
            texts, count = parts
            chars += sum(map(len, texts))
            images += count
            if message["role"] == "user":
                last_user = " ".join(texts)
        max_tokens = body.get("max_tokens")
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            return self._invalid("max_tokens must be a positive integer")
        temperature = body.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or temperature < 0
        ):
            return self._invalid("temperature must be a non-negative number")
        if body.get("stream") is True:
            return self._invalid("the emulator does not stream; send stream: false")
        stops = body.get("stop_sequences", [])
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            return self._invalid("stop_sequences must be a list of strings")
        if body.get("logprobs") not in (None, False):
            return self._invalid("logprobs is not supported by the emulator")
        structured: object = None
        wants = False
        fmt = body.get("response_format")
        if fmt is not None:
            kind = fmt.get("type") if isinstance(fmt, dict) else None
            if kind not in ("text", "json_object"):
                return self._invalid("response_format.type must be 'text' or 'json_object'")
            if kind == "json_object" and isinstance(fmt, dict):
                try:
                    structured = minimal_instance(fmt.get("json_schema", {"type": "object"}))
                except SchemaError as exc:
                    return self._invalid(f"response_format.json_schema: {exc}")
                wants = True
        tool = self._tool_call(body)
        if isinstance(tool, Response):
            return tool
        return Chat(
            model, chars, images, last_user, max_tokens, len(messages),
            stop=tuple(stops), structured=structured, wants_structured=wants, tool_call=tool,
        )  # fmt: skip

    def _tool_call(self, body: dict[str, object]) -> ToolCall | Response | None:
        """The call ``tool_choice: REQUIRED`` demands (of the first tool); NONE or absent: none."""
        choice = body.get("tool_choice")
        if choice in (None, "NONE"):
            return None
        if choice != "REQUIRED":
            return self._invalid("tool_choice must be one of ['REQUIRED', 'NONE']")
        tools = tool_schemas(body.get("tools"), nested=True, schema_key="parameters")
        if not tools:
            return self._invalid("tool_choice can only be used together with tools")
        name = next(iter(tools))
        try:
            return ToolCall(name, minimal_instance(tools[name]))
        except SchemaError as exc:
            return self._invalid(f"tools: parameters of {name!r}: {exc}")

    def error(
        self, kind: ErrorKind, detail: Mapping[str, object], headers: tuple[tuple[str, str], ...]
    ) -> Response:
        status, template = _ERRORS[kind]
        return self._body(status, fill(template, detail), headers)

    def success(
        self, chat: Chat, rid: str, created: int, answer: Answer, usage: Usage
    ) -> dict[str, object]:
        tokens = {"input_tokens": usage.input_tokens, "output_tokens": usage.output_tokens}
        message: dict[str, object] = {
            "role": "assistant",
            "content": [{"type": "text", "text": answer.text}],
        }
        reason = "MAX_TOKENS" if answer.truncated else "COMPLETE"
        if answer.stop_sequence is not None:
            reason = "STOP_SEQUENCE"
        if answer.tool_call is not None:
            call = answer.tool_call
            message = {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": f"call_{rid}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                ],
            }
            reason = "TOOL_CALL"
        return {
            "id": rid,
            "finish_reason": reason,
            "message": message,
            "usage": {"billed_units": dict(tokens), "tokens": dict(tokens)},
        }

    def strip_required(self, body: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in body.items() if k != "message"}

    def limit_headers(
        self, limit: int, remaining: int, reset_s: float, wall: float
    ) -> tuple[tuple[str, str], ...]:
        return ()

    def retry_headers(self, retry_after_s: float) -> tuple[tuple[str, str], ...]:
        return (("retry-after", str(retry_after_seconds(retry_after_s))),)
