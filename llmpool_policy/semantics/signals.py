"""What a policy may read: request fields, provider attributes and live provider metrics.

Each signal has a type, a scope (which decides where it may be used) and, for windowed metrics,
a default window. The catalog is data so the docs, the checker and the compiler agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ..errors import ERROR_CLASSES
from ..metrics.windows import LATENCY_WINDOW_LIMIT_S, WINDOW_LIMIT_S
from . import types as t

__all__ = ["DEFAULT_WINDOW_SECONDS", "ERROR_CLASSES", "Scope", "Signal", "lookup", "names_in_scope"]


class Scope(StrEnum):
    REQUEST = "request"  # known when the request arrives
    STATIC = "provider"  # a provider's configured attributes: known when the policy is compiled
    LIVE = "live"  # a provider's live metrics: known per request, from the metrics snapshot


@dataclass(frozen=True)
class Signal:
    name: str
    type: t.Type
    scope: Scope
    windowed: bool = False
    doc: str = ""
    # the longest window the live metrics keep for it (windowed signals): longer is refused
    max_window_s: float = WINDOW_LIMIT_S
    # None until the provider has finished an attempt in the window: unknown for lack of data.
    measured: bool = False


DEFAULT_WINDOW_SECONDS = 300.0


# Errors caused by the request itself: retrying or failing over cannot fix them.
CLIENT_ERROR_CLASSES: frozenset[str] = frozenset(
    {"bad_request", "auth", "not_found", "content_policy"}
)

_REQUEST = [
    Signal("request.model", t.STRING, Scope.REQUEST, doc="the model the caller asked for"),
    Signal("request.messages", t.NUMBER, Scope.REQUEST, doc="number of messages"),
    Signal("request.input_tokens", t.TOKENS, Scope.REQUEST, doc="estimated prompt tokens"),
    Signal("request.max_tokens", t.TOKENS, Scope.REQUEST, doc="requested completion tokens"),
    Signal("request.images", t.NUMBER, Scope.REQUEST, doc="number of images"),
    Signal("request.tools", t.NUMBER, Scope.REQUEST, doc="number of tools offered"),
    Signal("request.stream", t.BOOL, Scope.REQUEST, doc="whether the caller streams"),
    Signal("request.temperature", t.NUMBER, Scope.REQUEST, doc="sampling temperature"),
    Signal("request.tags", t.list_of(t.STRING), Scope.REQUEST, doc="caller's tags"),
    Signal("request.user", t.STRING, Scope.REQUEST, doc="end-user id"),
    Signal("request.id", t.STRING, Scope.REQUEST, doc="request id (seeds random draws)"),
]

_STATIC = [
    Signal("name", t.STRING, Scope.STATIC, doc="provider name"),
    Signal("type", t.STRING, Scope.STATIC, doc="openai, anthropic, groq, together, cohere, ..."),
    Signal("model", t.STRING, Scope.STATIC, doc="the provider's model"),
    Signal("priority", t.NUMBER, Scope.STATIC, doc="lower is preferred"),
    Signal("weight", t.NUMBER, Scope.STATIC, doc="relative weight"),
    Signal("context_window", t.TOKENS, Scope.STATIC, doc="model context window"),
    Signal("supports.vision", t.BOOL, Scope.STATIC, doc="accepts images"),
    Signal("supports.tools", t.BOOL, Scope.STATIC, doc="accepts tool definitions"),
    Signal("supports.json", t.BOOL, Scope.STATIC, doc="has a JSON output mode"),
    Signal("input_price", t.MONEY, Scope.STATIC, doc="USD per 1K input tokens"),
    Signal("output_price", t.MONEY, Scope.STATIC, doc="USD per 1K output tokens"),
    Signal("region", t.STRING, Scope.STATIC, doc="provider region"),
    Signal("tags", t.list_of(t.STRING), Scope.STATIC, doc="provider tags"),
    Signal("timeout", t.DURATION, Scope.STATIC, doc="per-request timeout"),
]


def _measured(name: str, type_: t.Type, doc: str, max_window_s: float = WINDOW_LIMIT_S) -> Signal:
    """A metric with no value until the provider has finished an attempt in the window."""
    return Signal(name, type_, Scope.LIVE, True, doc, max_window_s, measured=True)


def _latency(name: str, doc: str) -> Signal:
    return _measured(name, t.DURATION, doc, LATENCY_WINDOW_LIMIT_S)


_LIVE = [
    _measured("error_rate", t.PERCENT, "failed share of attempts"),
    _measured("success_rate", t.PERCENT, "successful share"),
    _latency("latency.p50", "median latency"),
    _latency("latency.p95", "95th percentile latency"),
    _latency("latency.p99", "99th percentile latency"),
    _latency("latency.mean", "mean latency"),
    Signal("requests", t.NUMBER, Scope.LIVE, windowed=True, doc="attempts in the window"),
    Signal("spend", t.MONEY, Scope.LIVE, windowed=True, doc="spend in the window"),
    Signal("in_flight", t.NUMBER, Scope.LIVE, doc="attempts under way"),
    Signal("rpm.used", t.NUMBER, Scope.LIVE, doc="requests this minute (reserved at dispatch)"),
    Signal("rpm.remaining", t.NUMBER, Scope.LIVE, doc="requests left this minute"),
    Signal("rpd.used", t.NUMBER, Scope.LIVE, doc="requests today"),
    Signal("rpd.remaining", t.NUMBER, Scope.LIVE, doc="requests left today"),
    Signal("tpm.used", t.TOKENS, Scope.LIVE, doc="tokens this minute"),
    Signal("tpm.remaining", t.TOKENS, Scope.LIVE, doc="tokens left this minute"),
    Signal("breaker.state", t.STRING, Scope.LIVE, doc='"closed", "open" or "half_open"'),
    Signal("breaker.open", t.BOOL, Scope.LIVE, doc="the breaker refuses calls"),
    Signal("breaker.half_open", t.BOOL, Scope.LIVE, doc="the breaker admits probes only"),
    Signal("estimated_cost", t.MONEY, Scope.LIVE, doc="estimated cost of this request here"),
    Signal("cost", t.MONEY, Scope.LIVE, doc="same as estimated_cost"),
]

CATALOG: dict[str, Signal] = {s.name: s for s in (*_REQUEST, *_STATIC, *_LIVE)}


def lookup(dotted: str) -> Signal | None:
    """The signal named ``dotted``; ``provider.x`` is ``x``; any ``request.metadata.KEY``."""
    if dotted.startswith("provider."):
        dotted = dotted[len("provider.") :]
    if dotted.startswith("request.metadata.") and dotted.count(".") >= 2:
        return Signal(dotted, t.ANY, Scope.REQUEST, doc="caller-supplied metadata")
    return CATALOG.get(dotted)


def names_in_scope() -> list[str]:
    return [*CATALOG, "request.metadata.KEY"]
