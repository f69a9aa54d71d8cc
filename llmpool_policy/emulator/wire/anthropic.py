"""Anthropic messages: ``POST {prefix}/messages`` with ``x-api-key`` (or ``Authorization:
Bearer``) and ``anthropic-version``; ``max_tokens`` is required; 529 means overloaded; limits in
``anthropic-ratelimit-*`` headers with RFC 3339 resets."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .._http import Request, Response
from ._durations import retry_after_seconds, rfc3339
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
    tool_schemas,
)
from .schema import SchemaError, minimal_instance

__all__ = ["AnthropicWire"]

_TEXT: Final = frozenset({"text"})

# kind -> (status, error type, message template)
_ERRORS: Final[Mapping[str, tuple[int, str, str]]] = {
    "auth_missing": (401, "authentication_error", "x-api-key header is required"),
    "auth_invalid": (401, "authentication_error", "invalid x-api-key"),
    "bad_json": (400, "invalid_request_error", "Invalid JSON in request body"),
    "bad_request": (400, "invalid_request_error", "{message}"),
    "not_found": (404, "not_found_error", "Not Found"),
    "method_not_allowed": (405, "invalid_request_error", "Method Not Allowed"),
    "model_not_found": (404, "not_found_error", "model: {model}"),
    "rate_limited": (
        429,
        "rate_limit_error",
        "This request would exceed your organization's rate limit of {limit} requests per "
        "minute. For details, refer to: https://docs.anthropic.com/en/api/rate-limits; see the "
        "response headers for current usage.",
    ),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "service_unavailable": (503, "api_error", "Service Unavailable"),
    "server_error": (500, "api_error", "Internal server error"),
    "context_window": (
        400,
        "invalid_request_error",
        "prompt is too long: {tokens} tokens > {limit} maximum",
    ),
}


class AnthropicWire(WireFormat):
    name = "anthropic"
    endpoint = "/messages"

    def _body(
        self, status: int, kind: str, message: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> Response:
        body = {"type": "error", "error": {"type": kind, "message": message}}
        return json_response(status, body, headers)

    def authenticate(self, request: Request, api_key: str | None) -> Response | None:
        # The API takes the key as `x-api-key` or as `Authorization: Bearer` (what SDK 2.x
        # sends for an api_key, and for an auth_token); x-api-key wins when both are present.
        if api_key is not None:
            given = request.header("x-api-key") or bearer_token(request)
            if not given:
                return self.error("auth_missing", {}, ())
            if given != api_key:
                return self.error("auth_invalid", {}, ())
        if not request.header("anthropic-version"):
            return self._body(400, "invalid_request_error", "anthropic-version: header is required")
        return None

    def _invalid(self, message: str) -> Response:
        return self._body(400, "invalid_request_error", message)

    def parse(self, body: object) -> Chat | Response:
        if not isinstance(body, dict):
            return self._invalid("Input should be a valid dictionary")
        for field in ("model", "messages", "max_tokens"):
            if field not in body:
                return self._invalid(f"{field}: Field required")
        model = body["model"]
        if not isinstance(model, str) or not model:
            return self._invalid("model: Input should be a valid string")
        max_tokens = body["max_tokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            return self._invalid("max_tokens: Input should be a valid integer")
        if max_tokens < 1:
            return self._invalid("max_tokens: Input should be greater than or equal to 1")
        messages = body["messages"]
        if not isinstance(messages, list):
            return self._invalid("messages: Input should be a valid list")
        if not messages:
            return self._invalid("messages: at least one message is required")
        chars = images = 0
        system = content_parts(body.get("system"), _TEXT)
        if system is None:
            return self._invalid("system: Input should be a valid string")
        chars += sum(map(len, system[0]))
        last_user = ""
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                return self._invalid(f"messages.{i}.role: Input should be 'user' or 'assistant'")
            parts = content_parts(message.get("content"), _TEXT)
            if parts is None or message.get("content") is None:
                return self._invalid(f"messages.{i}.content: Input should be a valid list")
            texts, count = parts
            chars += sum(map(len, texts))
            images += count
            if message["role"] == "user":
                last_user = " ".join(texts)
        temperature = body.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 1
        ):
            return self._invalid("temperature: Input should be less than or equal to 1")
        if body.get("stream") is True:
            return self._invalid("stream: the emulator does not stream; send stream: false")
        stops = body.get("stop_sequences", [])
        if not isinstance(stops, list) or not all(isinstance(s, str) for s in stops):
            return self._invalid("stop_sequences: Input should be a valid list of strings")
        tool = self._tool_call(body)
        if isinstance(tool, Response):
            return tool
        return Chat(
            model, chars, images, last_user, max_tokens, len(messages),
            stop=tuple(stops), tool_call=tool,
        )  # fmt: skip

    def _tool_call(self, body: dict[str, object]) -> ToolCall | Response | None:
        """The call ``tool_choice`` any / tool demands (auto and none never call one)."""
        choice = body.get("tool_choice")
        kind = choice.get("type") if isinstance(choice, dict) else None
        if choice is None or kind in ("auto", "none"):
            return None
        tools = tool_schemas(body.get("tools"), nested=False, schema_key="input_schema")
        if not tools:
            return self._invalid("tool_choice: tool_choice may only be specified with tools")
        name = next(iter(tools)) if kind == "any" else None
        if kind == "tool" and isinstance(choice, dict):
            name = choice.get("name")
        if name not in tools:
            return self._invalid(f"tool_choice: no tool named {name!r} in tools")
        try:
            return ToolCall(str(name), minimal_instance(tools[name]))
        except SchemaError as exc:
            return self._invalid(f"tools: input_schema of {name!r}: {exc}")

    def error(
        self, kind: ErrorKind, detail: Mapping[str, object], headers: tuple[tuple[str, str], ...]
    ) -> Response:
        status, kind_name, template = _ERRORS[kind]
        return self._body(status, kind_name, fill(template, detail), headers)

    def success(
        self, chat: Chat, rid: str, created: int, answer: Answer, usage: Usage
    ) -> dict[str, object]:
        content: list[dict[str, object]] = [{"type": "text", "text": answer.text}]
        reason = "max_tokens" if answer.truncated else "end_turn"
        if answer.stop_sequence is not None:
            reason = "stop_sequence"
        if answer.tool_call is not None:
            call = answer.tool_call
            content = [
                {
                    "type": "tool_use",
                    "id": f"toolu_{rid}",
                    "name": call.name,
                    "input": call.arguments,
                }
            ]
            reason = "tool_use"
        return {
            "id": f"msg_{rid}",
            "type": "message",
            "role": "assistant",
            "model": chat.model,
            "content": content,
            "stop_reason": reason,
            "stop_sequence": answer.stop_sequence,
            "usage": {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
            },
        }

    def strip_required(self, body: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in body.items() if k != "content"}

    def limit_headers(
        self, limit: int, remaining: int, reset_s: float, wall: float
    ) -> tuple[tuple[str, str], ...]:
        return (
            ("anthropic-ratelimit-requests-limit", str(limit)),
            ("anthropic-ratelimit-requests-remaining", str(remaining)),
            ("anthropic-ratelimit-requests-reset", rfc3339(wall + reset_s)),
        )

    def retry_headers(self, retry_after_s: float) -> tuple[tuple[str, str], ...]:
        return (("retry-after", str(retry_after_seconds(retry_after_s))),)

    def request_id_headers(self, rid: str) -> tuple[tuple[str, str], ...]:
        return (("request-id", f"req_{rid}"),)
