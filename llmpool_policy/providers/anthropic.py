"""Anthropic messages: ``POST {base_url}/messages``.

Headers: ``x-api-key``, ``anthropic-version: 2023-06-01``. Every system message (wherever it
stands) is joined, in order, with a blank line into the top-level ``system`` field; the seed kept
only the last. Consecutive messages of one role are merged into one turn (tool results become
``tool_result`` blocks in a user turn). Images keep their true media type (base64 source blocks)
and https images are sent as ``url`` source blocks. ``max_tokens`` is required by the API: the
request's, else the provider's configured ``max_tokens``, else :data:`DEFAULT_MAX_TOKENS`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ..config.models import ProviderConfig
from ..messages import ChatMessage, ChatRequest, ChatResponse, ImagePart, TextPart, ToolCall, Usage
from ._common import (
    Failed,
    Invalid,
    JSONAdapter,
    base_headers,
    check_capabilities,
    count,
    effective_max_tokens,
    effective_temperature,
    endpoint,
    field,
    optional,
    response_names,
    timeout_s,
    typed,
)
from .base import UnsupportedRequestError, WireRequest

__all__ = ["ANTHROPIC_VERSION", "DEFAULT_MAX_TOKENS", "AnthropicAdapter"]

ANTHROPIC_VERSION: Final = "2023-06-01"
DEFAULT_MAX_TOKENS: Final = 1024
_FINISH: Final = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
}


class AnthropicAdapter(JSONAdapter):
    """The Anthropic messages wire format."""

    wire_format = "anthropic"

    def build(self, request: ChatRequest, provider: ProviderConfig) -> WireRequest:
        check_capabilities(request, provider)
        temperature = effective_temperature(request, provider)
        if temperature is not None and temperature > 1:
            raise UnsupportedRequestError(
                f"provider {provider.name!r}: Anthropic takes temperature 0..1 (got {temperature})",
                provider=provider.name,
                feature="temperature",
            )
        system = [m.text for m in request.messages if m.role == "system"]
        turns: list[dict[str, Any]] = []
        for message in request.messages:
            if message.role == "system":
                continue
            role = "assistant" if message.role == "assistant" else "user"
            blocks = _blocks(message, provider)
            if turns and turns[-1]["role"] == role:
                turns[-1]["content"].extend(blocks)
            else:
                turns.append({"role": role, "content": blocks})
        if not turns:
            raise UnsupportedRequestError(
                f"provider {provider.name!r}: Anthropic needs at least one user message "
                "besides the system prompt",
                provider=provider.name,
                feature="messages",
            )
        for turn in turns:
            # One plain text block is sent as a string, as Anthropic's own examples do.
            content = turn["content"]
            if len(content) == 1 and content[0]["type"] == "text":
                turn["content"] = content[0]["text"]
        max_tokens = effective_max_tokens(request, provider)
        body: dict[str, Any] = {
            "model": provider.model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        }
        if system:
            body["system"] = "\n\n".join(system)
        body["messages"] = turns
        if temperature is not None:
            body["temperature"] = temperature
        if request.top_p is not None:
            body["top_p"] = request.top_p
        if request.stop:
            body["stop_sequences"] = list(request.stop)
        if request.tools:
            body["tools"] = [
                {
                    "name": tool.name,
                    **({"description": tool.description} if tool.description else {}),
                    "input_schema": dict(tool.parameters),
                }
                for tool in request.tools
            ]
        if request.tool_choice is not None:
            body["tool_choice"] = {
                "auto": {"type": "auto"},
                "required": {"type": "any"},
                "none": {"type": "none"},
            }.get(request.tool_choice, {"type": "tool", "name": request.tool_choice})
        if request.user is not None:
            body["metadata"] = {"user_id": request.user}
        auth = {} if provider.api_key is None else {"x-api-key": provider.api_key.reveal()}
        auth["anthropic-version"] = ANTHROPIC_VERSION
        return WireRequest(
            method="POST",
            url=endpoint(provider.base_url, "/messages"),
            headers=base_headers(provider, auth),
            json=body,
            timeout_s=timeout_s(provider),
        )

    def success(self, data: dict[str, Any], provider: ProviderConfig | None) -> ChatResponse:
        kind = optional(data, "type", str, "body")
        if kind is not None and kind != "message":
            raise Invalid(f"body.type is {kind!r}, expected 'message'")
        stop = optional(data, "stop_reason", str, "body")
        blocks = field(data, "content", list, "body")
        texts: list[str] = []
        calls: list[ToolCall] = []
        for index, raw in enumerate(blocks):
            at = f"body.content[{index}]"
            block = typed(raw, dict, at)
            block_type = field(block, "type", str, at)
            if block_type == "text":
                texts.append(field(block, "text", str, at))
            elif block_type == "tool_use":
                calls.append(
                    ToolCall(
                        id=field(block, "id", str, at),
                        name=field(block, "name", str, at),
                        arguments=json.dumps(field(block, "input", dict, at)),
                    )
                )
            # thinking and other block types carry no answer text
        if stop == "refusal":
            raise Failed(
                "content_policy", "the model declined to answer (stop_reason refusal)", "refusal"
            )
        usage = field(data, "usage", dict, "body")
        fresh = count(usage, "input_tokens", "body.usage")
        output = count(usage, "output_tokens", "body.usage")
        written = count(usage, "cache_creation_input_tokens", "body.usage", required=False)
        read = count(usage, "cache_read_input_tokens", "body.usage", required=False)
        name, model = response_names(provider)
        return ChatResponse(
            content="".join(texts),
            finish_reason="unknown" if stop is None else _FINISH.get(stop, stop.lower()),
            usage=Usage.of(fresh + written + read, output, read),
            model=optional(data, "model", str, "body") or model,
            provider=name,
            raw_id=optional(data, "id", str, "body"),
            tool_calls=tuple(calls),
        )


def _blocks(message: ChatMessage, provider: ProviderConfig) -> list[dict[str, Any]]:
    if message.role == "tool":
        return [
            {
                "type": "tool_result",
                "tool_use_id": message.tool_call_id,
                "content": message.text,
            }
        ]
    blocks = [_block(part) for part in message.parts]
    for call in message.tool_calls:
        try:
            arguments = json.loads(call.arguments) if call.arguments.strip() else {}
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            raise UnsupportedRequestError(
                f"provider {provider.name!r}: tool call {call.id!r} has arguments that are not "
                "a JSON object; Anthropic needs one",
                provider=provider.name,
                feature="tools",
            )
        blocks.append({"type": "tool_use", "id": call.id, "name": call.name, "input": arguments})
    if not blocks:
        blocks.append({"type": "text", "text": ""})
    return blocks


def _block(part: TextPart | ImagePart) -> dict[str, Any]:
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    if part.is_inline:
        source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    else:
        source = {"type": "url", "url": part.url}
    return {"type": "image", "source": source}
