"""Machinery shared by the JSON adapters: the parse flow, shape checks, capability refusals."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from ..config.models import ProviderConfig
from ..messages import ChatRequest, ChatResponse, ImagePart, TextPart, Tool, ToolCall
from .base import (
    ErrorClass,
    ProviderFailure,
    UnsupportedRequestError,
    classify_status,
    make_failure,
)
from .headers import RateLimitInfo, parse_rate_limit_headers
from .sanitize import provider_secrets

__all__ = ["Failed", "Invalid", "JSONAdapter"]


class Invalid(Exception):
    """A 2xx body that is not the documented shape (becomes ``invalid_response``)."""


class Failed(Exception):
    """A 2xx body that reports a failure (a refusal, an error finish reason)."""

    def __init__(self, error_class: ErrorClass, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.error_class: ErrorClass = error_class
        self.code = code


def field(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]``, which must exist and be of ``kind``."""
    if key not in obj:
        raise Invalid(f"{where}.{key} is missing")
    return typed(obj[key], kind, f"{where}.{key}")


def optional(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``obj[key]`` if present and not null (then it must be of ``kind``), else ``None``."""
    value = obj.get(key)
    return None if value is None else typed(value, kind, f"{where}.{key}")


def typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if isinstance(value, bool) and kind is int:
        raise Invalid(f"{where} must be an integer (got a boolean)")
    if not isinstance(value, kind):
        kinds = (kind,) if isinstance(kind, type) else kind
        names = " or ".join(_JSON_NAMES.get(k.__name__, k.__name__) for k in kinds)
        raise Invalid(f"{where} must be {names} (got {_json_type(value)})")
    return value


def count(obj: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> int:
    """A non-negative integer token count (absent or null is 0 when not required)."""
    if key not in obj or (obj[key] is None and not required):
        if required:
            raise Invalid(f"{where}.{key} is missing")
        return 0
    value = typed(obj[key], int, f"{where}.{key}")
    if value < 0:
        raise Invalid(f"{where}.{key} must not be negative")
    return int(value)


_JSON_NAMES = {
    "dict": "an object",
    "list": "an array",
    "str": "a string",
    "int": "an integer",
    "float": "a number",
}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return _JSON_NAMES.get(type(value).__name__, type(value).__name__)


def error_details(body: bytes) -> tuple[str, str | None, str | None]:
    """``(message, code, type)`` from an error body of any of the families, or its raw text."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return body.decode("utf-8", "replace").strip(), None, None
    if not isinstance(data, dict):
        return body.decode("utf-8", "replace").strip(), None, None
    message: str | None = None
    code: str | None = None
    kind: str | None = None
    error = data.get("error")
    if isinstance(error, dict):
        if isinstance(error.get("message"), str):
            message = error["message"]
        if isinstance(error.get("code"), str | int) and not isinstance(error.get("code"), bool):
            code = str(error["code"])
        if isinstance(error.get("type"), str):
            kind = error["type"]
    elif isinstance(error, str):
        message = error
    for key in ("message", "detail"):
        if message is None and isinstance(data.get(key), str):
            message = data[key]
    if message is None:
        message = body.decode("utf-8", "replace").strip()
    return message, code, kind


class JSONAdapter:
    """The parse flow every JSON wire format shares; subclasses map the bodies."""

    wire_format: ClassVar[str] = ""

    def __init__(self, *, require_usage: bool = True) -> None:
        # openai-compatible servers may omit usage; the documented providers always send it.
        self.require_usage = require_usage

    def __repr__(self) -> str:
        return f"{type(self).__name__}(require_usage={self.require_usage})"

    def build(self, request: ChatRequest, provider: ProviderConfig) -> Any:
        raise NotImplementedError

    def success(self, data: dict[str, Any], provider: ProviderConfig | None) -> ChatResponse:
        raise NotImplementedError

    def parse(
        self,
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        *,
        provider: ProviderConfig | None = None,
        now: float | None = None,
    ) -> ChatResponse | ProviderFailure:
        secrets = provider_secrets(provider)
        if 200 <= status <= 299:
            try:
                data = json.loads(body)
            except (ValueError, RecursionError):
                preview = body[:200].decode("utf-8", "replace")
                what = f"is not JSON: {preview!r}" if body.strip() else "is empty"
                return make_failure(
                    "invalid_response", status, f"response body {what}", secrets=secrets
                )
            try:
                if not isinstance(data, dict):
                    raise Invalid(f"response body must be a JSON object (got {_json_type(data)})")
                if data.get("error") is not None:
                    message, _code, _kind = error_details(body)
                    raise Invalid(f"a {status} answer carrying an error: {message}")
                return self.success(data, provider)
            except Invalid as exc:
                return make_failure(
                    "invalid_response", status, f"malformed response: {exc}", secrets=secrets
                )
            except Failed as exc:
                return make_failure(
                    exc.error_class, status, str(exc), secrets=secrets, code=exc.code
                )
        limits = parse_rate_limit_headers(headers, now=now)
        message, code, kind = error_details(body)
        error_class = classify_status(status, message, code, kind)
        retry_after = limits.retry_after_s
        if retry_after is None and error_class in ("rate_limited", "overloaded"):
            retry_after = limits.exhausted_reset_s()
        return make_failure(
            error_class,
            status,
            message or f"HTTP {status}",
            secrets=secrets,
            retry_after_s=retry_after,
            code=code or kind,
        )

    def limits_from_headers(
        self, headers: Mapping[str, str], *, now: float | None = None
    ) -> RateLimitInfo:
        return parse_rate_limit_headers(headers, now=now)


def check_capabilities(
    request: ChatRequest, provider: ProviderConfig, *, stream_supported: bool = False
) -> None:
    """Refuse what the provider, as configured, cannot take (never drop part of a request)."""
    images = request.image_count
    if images and not provider.supports.vision:
        raise UnsupportedRequestError(
            f"provider {provider.name!r} (model {provider.model!r}) does not take images "
            f"(supports.vision is false) but the request has {images} image(s); route it to "
            "a vision provider (`use providers where supports.vision`) or set supports.vision",
            provider=provider.name,
            feature="vision",
        )
    if request.tools and not provider.supports.tools:
        raise UnsupportedRequestError(
            f"provider {provider.name!r} (model {provider.model!r}) does not take tools "
            f"(supports.tools is false) but the request has {len(request.tools)} tool(s)",
            provider=provider.name,
            feature="tools",
        )
    if request.stream and not stream_supported:
        raise UnsupportedRequestError(
            f"provider {provider.name!r}: streaming responses are not supported yet; "
            "send the request with stream=False",
            provider=provider.name,
            feature="stream",
        )


def base_headers(provider: ProviderConfig, auth: Mapping[str, str]) -> dict[str, str]:
    """Content type, the auth header(s), then the provider's configured extra headers."""
    headers = {"content-type": "application/json", "accept": "application/json", **auth}
    for name, value in provider.headers.items():
        headers[name.lower()] = value.reveal()
    return headers


def bearer_auth(provider: ProviderConfig) -> dict[str, str]:
    """``authorization: Bearer <key>`` (OpenAI-compatible and Cohere), none without a key."""
    if provider.api_key is None:
        return {}
    return {"authorization": f"Bearer {provider.api_key.reveal()}"}


def endpoint(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def timeout_s(provider: ProviderConfig) -> float | None:
    return None if provider.timeout is None else provider.timeout / 1000.0


def effective_max_tokens(request: ChatRequest, provider: ProviderConfig) -> int | None:
    return request.max_tokens if request.max_tokens is not None else provider.max_tokens


def effective_temperature(request: ChatRequest, provider: ProviderConfig) -> float | None:
    return request.temperature if request.temperature is not None else provider.temperature


def response_names(provider: ProviderConfig | None) -> tuple[str, str]:
    """``(provider name, configured model)`` to fill a response ("" when not given)."""
    if provider is None:
        return "", ""
    return provider.name, provider.model


# ---- the OpenAI-style shapes Cohere chat v2 shares ------------------------------------------


def function_tools(tools: tuple[Tool, ...]) -> list[dict[str, Any]]:
    """Tool definitions as ``{"type": "function", "function": {...}}`` entries."""
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                **({"description": tool.description} if tool.description else {}),
                "parameters": dict(tool.parameters),
            },
        }
        for tool in tools
    ]


def function_tool_calls(calls: tuple[ToolCall, ...]) -> list[dict[str, Any]]:
    """An assistant turn's tool calls, as sent back in the conversation."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments},
        }
        for call in calls
    ]


def content_part(part: TextPart | ImagePart) -> dict[str, Any]:
    """A text or ``image_url`` content part (data URLs keep their real media type)."""
    if isinstance(part, TextPart):
        return {"type": "text", "text": part.text}
    image: dict[str, Any] = {"url": part.as_url()}
    if part.detail is not None:
        image["detail"] = part.detail
    return {"type": "image_url", "image_url": image}
