"""Cohere chat v2: ``POST {v2 base}/chat``.

The seed's configured base URL is ``https://api.cohere.ai/v1``; chat v2 lives beside it, so a
base URL ending in ``/v1`` has that replaced by ``/v2``, one ending in ``/v2`` is used as is and
any other gets ``/v2`` appended. The key goes in ``authorization: Bearer ...``. System messages
are kept as ``system`` messages (the seed dropped them); images are ``image_url`` content parts
for providers configured with ``supports.vision`` (vision models such as Command A Vision) and
refused otherwise. A specific ``tool_choice`` naming one tool has no v2 equivalent and is refused.
"""

from __future__ import annotations

from typing import Any, Final

from ..config.models import ProviderConfig
from ..messages import ChatMessage, ChatRequest, ChatResponse, ToolCall, Usage
from ._common import (
    Failed,
    Invalid,
    JSONAdapter,
    base_headers,
    bearer_auth,
    check_capabilities,
    content_part,
    count,
    effective_max_tokens,
    effective_temperature,
    field,
    function_tool_calls,
    function_tools,
    optional,
    response_names,
    timeout_s,
    typed,
)
from .base import UnsupportedRequestError, WireRequest

__all__ = ["CohereAdapter", "chat_url"]

_FINISH: Final = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
}


def chat_url(base_url: str) -> str:
    """The chat v2 endpoint for a configured base URL (see the module docstring)."""
    base = base_url.rstrip("/")
    if base.endswith("/v1"):
        base = base[: -len("/v1")] + "/v2"
    elif not base.endswith("/v2"):
        base += "/v2"
    return base + "/chat"


class CohereAdapter(JSONAdapter):
    """The Cohere chat v2 wire format."""

    wire_format = "cohere"

    def build(self, request: ChatRequest, provider: ProviderConfig) -> WireRequest:
        check_capabilities(request, provider)
        body: dict[str, Any] = {
            "model": provider.model,
            "messages": [_message(m) for m in request.messages],
            "stream": False,
        }
        max_tokens = effective_max_tokens(request, provider)
        if max_tokens is not None:
            body["max_tokens"] = max_tokens
        temperature = effective_temperature(request, provider)
        if temperature is not None:
            body["temperature"] = temperature
        if request.top_p is not None:
            body["p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.tools:
            body["tools"] = function_tools(request.tools)
        if request.tool_choice in ("required", "none"):
            body["tool_choice"] = request.tool_choice.upper()
        elif request.tool_choice not in (None, "auto"):
            raise UnsupportedRequestError(
                f"provider {provider.name!r}: Cohere cannot force one named tool "
                f"(tool_choice {request.tool_choice!r}); use 'required' or 'auto'",
                provider=provider.name,
                feature="tool_choice",
            )
        return WireRequest(
            method="POST",
            url=chat_url(provider.base_url),
            headers=base_headers(provider, bearer_auth(provider)),
            json=body,
            timeout_s=timeout_s(provider),
        )

    def success(self, data: dict[str, Any], provider: ProviderConfig | None) -> ChatResponse:
        finish = field(data, "finish_reason", str, "body")
        if finish in ("ERROR_TOXIC", "ERROR_CONTENT_FILTER"):
            raise Failed("content_policy", f"the provider stopped the answer ({finish})", finish)
        if finish == "ERROR":
            raise Failed(
                "server_error", "the provider reported an error (finish_reason ERROR)", finish
            )
        if finish == "TIMEOUT":
            raise Failed("timeout", "the provider timed out (finish_reason TIMEOUT)", finish)
        message = field(data, "message", dict, "body")
        texts: list[str] = []
        for index, raw in enumerate(optional(message, "content", list, "body.message") or []):
            at = f"body.message.content[{index}]"
            part = typed(raw, dict, at)
            if field(part, "type", str, at) == "text":
                texts.append(field(part, "text", str, at))
        calls = []
        for index, raw in enumerate(optional(message, "tool_calls", list, "body.message") or []):
            at = f"body.message.tool_calls[{index}]"
            call = typed(raw, dict, at)
            function = field(call, "function", dict, at)
            calls.append(
                ToolCall(
                    id=field(call, "id", str, at),
                    name=field(function, "name", str, f"{at}.function"),
                    arguments=optional(function, "arguments", str, f"{at}.function") or "{}",
                )
            )
        name, model = response_names(provider)
        return ChatResponse(
            content="".join(texts),
            finish_reason=_FINISH.get(finish, finish.lower()),
            usage=self._usage(data),
            model=model,  # v2 answers do not name the model
            provider=name,
            raw_id=optional(data, "id", str, "body"),
            tool_calls=tuple(calls),
        )

    def _usage(self, data: dict[str, Any]) -> Usage:
        raw = data.get("usage")
        if raw is None:
            if self.require_usage:
                raise Invalid("body.usage is missing")
            return Usage()
        usage = typed(raw, dict, "body.usage")
        # `tokens` is what the model processed; `billed_units` what was charged (fallback).
        tokens = optional(usage, "tokens", dict, "body.usage")
        where = "body.usage.tokens"
        if tokens is None:
            tokens = field(usage, "billed_units", dict, "body.usage")
            where = "body.usage.billed_units"
        fresh = count(tokens, "input_tokens", where)
        output = count(tokens, "output_tokens", where)
        cached = count(usage, "cached_tokens", "body.usage", required=False)
        return Usage.of(fresh, output, cached)


def _message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    if message.role == "user" and isinstance(message.content, tuple) and message.images:
        out["content"] = [content_part(part) for part in message.content]
    else:
        out["content"] = message.text
    if message.tool_calls:
        out["tool_calls"] = function_tool_calls(message.tool_calls)
        if not message.text:
            del out["content"]
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out
