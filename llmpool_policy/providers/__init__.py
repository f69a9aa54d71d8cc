"""Wire adapters: our requests in each provider's format, their answers back in ours.

Pure code, no sockets: :meth:`Adapter.build` gives a :class:`WireRequest` to send,
:meth:`Adapter.parse` turns what came back into a :class:`~llmpool_policy.messages.ChatResponse`
or a classified :class:`ProviderFailure`, and :meth:`Adapter.limits_from_headers` reads the
provider's rate-limit headers. :func:`adapter_for` picks the adapter for a provider type.
"""

from __future__ import annotations

from .anthropic import AnthropicAdapter
from .base import (
    ERROR_CLASSES,
    RETRYABLE_CLASSES,
    Adapter,
    ErrorClass,
    ProviderFailure,
    UnsupportedRequestError,
    WireRequest,
    classify_status,
    transport_failure,
)
from .cohere import CohereAdapter
from .headers import (
    RateLimitInfo,
    parse_duration,
    parse_rate_limit_headers,
    parse_retry_after,
    parse_timestamp,
)
from .openai import OpenAIAdapter
from .registry import ADAPTERS, adapter_for
from .sanitize import provider_secrets, sanitize
from .tokens import estimate_request_tokens, estimate_text_tokens

__all__ = [
    "ADAPTERS",
    "ERROR_CLASSES",
    "RETRYABLE_CLASSES",
    "Adapter",
    "AnthropicAdapter",
    "CohereAdapter",
    "ErrorClass",
    "OpenAIAdapter",
    "ProviderFailure",
    "RateLimitInfo",
    "UnsupportedRequestError",
    "WireRequest",
    "adapter_for",
    "classify_status",
    "estimate_request_tokens",
    "estimate_text_tokens",
    "parse_duration",
    "parse_rate_limit_headers",
    "parse_retry_after",
    "parse_timestamp",
    "provider_secrets",
    "sanitize",
    "transport_failure",
]
