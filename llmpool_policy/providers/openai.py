"""OpenAI chat completions: ``POST {base_url}/chat/completions``.

Used for the ``openai``, ``groq``, ``together`` and ``openai-compatible`` provider types (each
with its configured base URL). The key goes in ``authorization: Bearer ...`` (left out when an
``openai-compatible`` provider has no key). For ``openai`` itself the length cap is sent as
``max_completion_tokens`` (what its newer models require); every other type gets ``max_tokens``.
"""

from __future__ import annotations

from typing import Any

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
    endpoint,
    field,
    function_tool_calls,
    function_tools,
    optional,
    response_names,
    timeout_s,
    typed,
)
from .base import WireRequest

__all__ = ["OpenAIAdapter", "normalise_finish_reason"]

_FINISH = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
}


def normalise_finish_reason(reason: str | None) -> str:
    if reason is None:
        return "unknown"
    return _FINISH.get(reason, reason.lower())


class OpenAIAdapter(JSONAdapter):
    """The OpenAI chat completions wire format."""

    wire_format = "openai"

    def build(self, request: ChatRequest, provider: ProviderConfig) -> WireRequest:
        check_capabilities(request, provider)
        body: dict[str, Any] = {
            "model": provider.model,
            "messages": [_message(m) for m in request.messages],
        }
        max_tokens = effective_max_tokens(request, provider)
        if max_tokens is not None:
            key = "max_completion_tokens" if provider.type == "openai" else "max_tokens"
            body[key] = max_tokens
        temperature = effective_temperature(request, provider)
        if temperature is not None:
            body["temperature"] = temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop"] = list(request.stop)
        if request.tools:
            body["tools"] = function_tools(request.tools)
        if request.tool_choice is not None:
            body["tool_choice"] = (
                request.tool_choice
                if request.tool_choice in ("auto", "none", "required")
                else {"type": "function", "function": {"name": request.tool_choice}}
            )
        if request.user is not None:
            body["user"] = request.user
        return WireRequest(
            method="POST",
            url=endpoint(provider.base_url, "/chat/completions"),
            headers=base_headers(provider, bearer_auth(provider)),
            json=body,
            timeout_s=timeout_s(provider),
        )

    def success(self, data: dict[str, Any], provider: ProviderConfig | None) -> ChatResponse:
        choices = field(data, "choices", list, "body")
        if not choices:
            raise Invalid("body.choices is empty")
        choice = typed(choices[0], dict, "body.choices[0]")
        message = field(choice, "message", dict, "body.choices[0]")
        where = "body.choices[0].message"
        finish = optional(choice, "finish_reason", str, "body.choices[0]")
        if finish == "content_filter":
            raise Failed(
                "content_policy",
                "the provider's content filter stopped the answer",
                "content_filter",
            )
        refusal = optional(message, "refusal", str, where)
        if refusal:
            raise Failed("content_policy", f"the model refused: {refusal}", "refusal")
        content = _content(message.get("content"), f"{where}.content")
        tool_calls = _tool_calls(optional(message, "tool_calls", list, where), where)
        if content is None:
            if not tool_calls and finish != "length":
                raise Invalid(f"{where}.content is null and there are no tool calls")
            content = ""
        usage = self._usage(data)
        name, model = response_names(provider)
        return ChatResponse(
            content=content,
            finish_reason=normalise_finish_reason(finish),
            usage=usage,
            model=optional(data, "model", str, "body") or model,
            provider=name,
            raw_id=optional(data, "id", str, "body"),
            tool_calls=tool_calls,
        )

    def _usage(self, data: dict[str, Any]) -> Usage:
        raw = data.get("usage")
        if raw is None:
            if self.require_usage:
                raise Invalid("body.usage is missing")
            return Usage()
        usage = typed(raw, dict, "body.usage")
        prompt = count(usage, "prompt_tokens", "body.usage")
        completion = count(usage, "completion_tokens", "body.usage")
        details = optional(usage, "prompt_tokens_details", dict, "body.usage")
        cached = 0
        if details is not None:
            cached = count(
                details, "cached_tokens", "body.usage.prompt_tokens_details", required=False
            )
        count(usage, "total_tokens", "body.usage", required=False)  # checked, recomputed
        return Usage(prompt, completion, cached, prompt + completion)


def _message(message: ChatMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role}
    if message.role == "user" and isinstance(message.content, tuple):
        out["content"] = [content_part(part) for part in message.content]
    elif message.role == "assistant" and message.tool_calls and not message.text:
        out["content"] = None
    else:
        out["content"] = message.text
    if message.name is not None and message.role != "tool":
        out["name"] = message.name
    if message.tool_calls:
        out["tool_calls"] = function_tool_calls(message.tool_calls)
    if message.tool_call_id is not None:
        out["tool_call_id"] = message.tool_call_id
    return out


def _content(value: Any, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    # Some compatible servers answer with content parts.
    parts = typed(value, (str, list), where)
    texts = []
    for index, part in enumerate(parts):
        item = typed(part, dict, f"{where}[{index}]")
        if item.get("type") == "text":
            texts.append(field(item, "text", str, f"{where}[{index}]"))
    return "".join(texts)


def _tool_calls(value: list[Any] | None, where: str) -> tuple[ToolCall, ...]:
    if not value:
        return ()
    calls = []
    for index, raw in enumerate(value):
        at = f"{where}.tool_calls[{index}]"
        call = typed(raw, dict, at)
        function = field(call, "function", dict, at)
        arguments = optional(function, "arguments", str, f"{at}.function") or "{}"
        calls.append(
            ToolCall(
                id=field(call, "id", str, at),
                name=field(function, "name", str, f"{at}.function"),
                arguments=arguments,
            )
        )
    return tuple(calls)
