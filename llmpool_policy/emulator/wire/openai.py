"""OpenAI chat completions (also Groq, Together and OpenAI-compatible servers):
``POST {prefix}/chat/completions`` with ``Authorization: Bearer KEY``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Final

from .._http import Request, Response
from ._durations import go_duration, retry_after_seconds
from .base import (
    Answer,
    Chat,
    ErrorKind,
    ToolCall,
    Usage,
    WireFormat,
    bearer_token,
    content_parts,
    json_response,
    tool_schemas,
)
from .schema import SchemaError, minimal_instance

__all__ = ["OpenAIWire"]

_ROLES: Final = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
_NO_KEY: Final = (
    "You didn't provide an API key. You need to provide your API key in an Authorization header "
    "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with "
    "blank username) if you're accessing the API from your browser and are prompted for a "
    "username and password. You can obtain an API key from "
    "https://platform.openai.com/account/api-keys."
)
_BAD_JSON: Final = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't "
    "using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was "
    "sent was not valid JSON. If you have trouble figuring out how to fix this, please contact "
    "us through our help center at help.openai.com.)"
)


def _mask(key: str) -> str:
    return key[:3] + "*" * 8 if len(key) > 6 else "*" * 8


class OpenAIWire(WireFormat):
    name = "openai"
    endpoint = "/chat/completions"

    def _body(
        self,
        status: int,
        message: str,
        kind: str,
        *,
        param: str | None = None,
        code: str | None = None,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Response:
        error = {"message": message, "type": kind, "param": param, "code": code}
        return json_response(status, {"error": error}, headers)

    def authenticate(self, request: Request, api_key: str | None) -> Response | None:
        if api_key is None:
            return None
        given = bearer_token(request)
        if given is None:
            return self.error("auth_missing", {}, ())
        if given != api_key:
            return self.error("auth_invalid", {"key": given}, ())
        return None

    def _invalid(self, message: str, param: str, code: str | None = None) -> Response:
        return self._body(400, message, "invalid_request_error", param=param, code=code)

    def parse(self, body: object) -> Chat | Response:
        if not isinstance(body, dict):
            return self._invalid(f"{body!r} is not of type 'object'", "body")
        model = body.get("model")
        if model is None:
            return self._body(400, "you must provide a model parameter", "invalid_request_error")
        if not isinstance(model, str) or not model:
            return self._invalid(
                "Invalid type for 'model': expected a string.", "model", "invalid_type"
            )
        messages = body.get("messages")
        if messages is None:
            return self._invalid(
                "Missing required parameter: 'messages'.", "messages", "missing_required_parameter"
            )
        if not isinstance(messages, list):
            return self._invalid(
                "Invalid type for 'messages': expected an array.", "messages", "invalid_type"
            )
        if not messages:
            return self._invalid(
                "Invalid 'messages': empty array. Expected an array with minimum length 1, but "
                "got an empty array instead.",
                "messages",
                "empty_array",
            )
        chars = images = 0
        last_user = ""
        for i, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return self._invalid(
                    f"Invalid value for 'messages[{i}].role'.", f"messages[{i}].role"
                )
            parts = content_parts(message.get("content"), frozenset({"text"}))
            if parts is None:
                return self._invalid(
                    f"Invalid type for 'messages[{i}].content'.",
                    f"messages[{i}].content",
                    "invalid_type",
                )
            texts, count = parts
            chars += sum(map(len, texts))
            images += count
            if message["role"] == "user":
                last_user = " ".join(texts)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if max_tokens is not None and (
            isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1
        ):
            return self._invalid(
                "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1.",
                "max_tokens",
                "integer_below_min_value",
            )
        temperature = body.get("temperature")
        if temperature is not None and (
            isinstance(temperature, bool)
            or not isinstance(temperature, int | float)
            or not 0 <= temperature <= 2
        ):
            return self._invalid(
                "Invalid 'temperature': expected a number between 0 and 2.",
                "temperature",
                "decimal_above_max_value",
            )
        if body.get("stream") is True:
            return self._invalid("The emulator does not stream; send stream: false.", "stream")
        n = body.get("n")
        if n is None:
            n = 1
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128:
            return self._invalid(
                "Invalid 'n': expected an integer between 1 and 128.", "n", "invalid_value"
            )
        stop = body.get("stop")
        stops = [stop] if isinstance(stop, str) else [] if stop is None else stop
        if (
            not isinstance(stops, list)
            or len(stops) > 4
            or not all(isinstance(s, str) for s in stops)
        ):
            return self._invalid(
                "Invalid 'stop': expected a string or an array of at most 4 strings.",
                "stop",
                "invalid_type",
            )
        for param in ("logprobs", "top_logprobs"):
            if body.get(param) not in (None, False):
                return self._invalid(
                    f"Unsupported parameter: '{param}' is not supported by the emulator.",
                    param,
                    "unsupported_parameter",
                )
        output = self._output(body)
        if isinstance(output, Response):
            return output
        structured, wants, tool = output
        return Chat(
            model, chars, images, last_user, max_tokens, len(messages),
            choices=n, stop=tuple(stops), structured=structured, wants_structured=wants,
            tool_call=tool,
        )  # fmt: skip

    def _output(self, body: dict[str, object]) -> tuple[object, bool, ToolCall | None] | Response:
        """What the reply must be: (JSON value, demanded?, tool call) from ``response_format``
        and ``tool_choice``; the 400 for a form the emulator cannot honour."""
        fmt = body.get("response_format")
        structured: object = None
        wants = False
        if fmt is not None:
            kind = fmt.get("type") if isinstance(fmt, dict) else None
            if kind == "json_object":
                structured, wants = {}, True
            elif kind == "json_schema":
                spec = fmt.get("json_schema") if isinstance(fmt, dict) else None
                schema = spec.get("schema", {}) if isinstance(spec, dict) else None
                try:
                    structured, wants = minimal_instance(schema), True
                except SchemaError as exc:
                    return self._invalid(
                        f"Invalid schema for response_format: {exc} (the emulator's limits: "
                        "docs/emulator.md).",
                        "response_format",
                        "invalid_json_schema",
                    )
            elif kind != "text":
                return self._invalid(
                    "Invalid value for 'response_format.type': expected 'text', 'json_object' "
                    "or 'json_schema'.",
                    "response_format.type",
                    "invalid_value",
                )
        choice = body.get("tool_choice")
        if choice in (None, "auto", "none"):
            return structured, wants, None
        tools = tool_schemas(body.get("tools"), nested=True, schema_key="parameters")
        if not tools:
            return self._invalid(
                "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' "
                "are specified.",
                "tool_choice",
            )
        if choice == "required":
            name = next(iter(tools))
        elif isinstance(choice, dict) and isinstance(choice.get("function"), dict):
            name = choice["function"].get("name")
        else:
            name = None
        if name not in tools:
            return self._invalid("Invalid value for 'tool_choice'.", "tool_choice", "invalid_value")
        try:
            arguments = minimal_instance(tools[name])
        except SchemaError as exc:
            return self._invalid(
                f"Invalid schema for function '{name}': {exc}.",
                "tools",
                "invalid_function_parameters",
            )
        return structured, wants, ToolCall(str(name), arguments)

    def error(
        self, kind: ErrorKind, detail: Mapping[str, object], headers: tuple[tuple[str, str], ...]
    ) -> Response:
        match kind:
            case "auth_missing":
                return self._body(401, _NO_KEY, "invalid_request_error", headers=headers)
            case "auth_invalid":
                key = _mask(str(detail.get("key", "")))
                return self._body(
                    401,
                    f"Incorrect API key provided: {key}. You can find your API key at "
                    "https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    code="invalid_api_key",
                    headers=headers,
                )
            case "bad_json":
                return self._body(400, _BAD_JSON, "invalid_request_error", headers=headers)
            case "bad_request":
                return self._body(
                    400, str(detail.get("message")), "invalid_request_error", headers=headers
                )
            case "not_found" | "method_not_allowed":
                status = 404 if kind == "not_found" else 405
                what = "URL" if kind == "not_found" else "method for URL"
                return self._body(
                    status,
                    f"Invalid {what} ({detail.get('method')} {detail.get('path')})",
                    "invalid_request_error",
                    headers=headers,
                )
            case "model_not_found":
                return self._body(
                    404,
                    f"The model `{detail.get('model')}` does not exist or you do not have "
                    "access to it.",
                    "invalid_request_error",
                    code="model_not_found",
                    headers=headers,
                )
            case "rate_limited":
                return self._body(
                    429,
                    f"Rate limit reached for {detail.get('model')} in organization "
                    f"org-emulator on requests per min (RPM): Limit {detail.get('limit')}, "
                    f"Used {detail.get('limit')}, Requested 1. Please try again in "
                    f"{go_duration(float(str(detail.get('retry_after', 1))))}. Visit "
                    "https://platform.openai.com/account/rate-limits to learn more.",
                    "requests",
                    code="rate_limit_exceeded",
                    headers=headers,
                )
            case "overloaded" | "service_unavailable":
                return self._body(
                    503,
                    "The server is overloaded or not ready yet.",
                    "server_error",
                    headers=headers,
                )
            case "server_error":
                return self._body(
                    500,
                    "The server had an error while processing your request. Sorry about that!",
                    "server_error",
                    headers=headers,
                )
            case "context_window":
                return self._body(
                    400,
                    f"This model's maximum context length is {detail.get('limit')} tokens. "
                    f"However, your messages resulted in {detail.get('tokens')} tokens. Please "
                    "reduce the length of the messages.",
                    "invalid_request_error",
                    param="messages",
                    code="context_length_exceeded",
                    headers=headers,
                )

    def success(
        self, chat: Chat, rid: str, created: int, answer: Answer, usage: Usage
    ) -> dict[str, object]:
        message: dict[str, object] = {"role": "assistant", "content": answer.text, "refusal": None}
        finish = "length" if answer.truncated else "stop"
        if answer.tool_call is not None:
            call = answer.tool_call
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{rid[:24]}",
                    "type": "function",
                    "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                }
            ]
            finish = "tool_calls"
        choices = [
            {"index": i, "message": message, "logprobs": None, "finish_reason": finish}
            for i in range(chat.choices)
        ]
        return {
            "id": f"chatcmpl-{rid}",
            "object": "chat.completion",
            "created": created,
            "model": chat.model,
            "system_fingerprint": "fp_emulator",
            "choices": choices,
            "usage": {
                "prompt_tokens": usage.input_tokens,
                "completion_tokens": usage.output_tokens,
                "total_tokens": usage.input_tokens + usage.output_tokens,
                "prompt_tokens_details": {"cached_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0},
            },
        }

    def strip_required(self, body: dict[str, object]) -> dict[str, object]:
        return {k: v for k, v in body.items() if k != "choices"}

    def limit_headers(
        self, limit: int, remaining: int, reset_s: float, wall: float
    ) -> tuple[tuple[str, str], ...]:
        return (
            ("x-ratelimit-limit-requests", str(limit)),
            ("x-ratelimit-remaining-requests", str(remaining)),
            ("x-ratelimit-reset-requests", go_duration(reset_s)),
        )

    def retry_headers(self, retry_after_s: float) -> tuple[tuple[str, str], ...]:
        return (
            ("retry-after", str(retry_after_seconds(retry_after_s))),
            ("retry-after-ms", str(max(0, round(retry_after_s * 1000)))),
        )
