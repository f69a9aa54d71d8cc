"""How a signal's value is read for one request and one provider.

One definition, used by the compiled graph and the reference interpreter alike: they differ in
how they walk conditions, plans and gates, never in what a signal means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..metrics.snapshot import ProviderView
from ..request import RoutingRequest
from ..semantics.signals import DEFAULT_WINDOW_SECONDS

__all__ = ["estimated_cost", "live_value", "request_value"]

_LATENCY = {
    "latency.p50": "p50",
    "latency.p95": "p95",
    "latency.p99": "p99",
    "latency.mean": "mean",
}


def request_value(request: RoutingRequest, dotted: str) -> Any:
    """``request.metadata.team`` -> the metadata value (None when absent)."""
    parts = dotted.split(".")
    if parts[1] == "metadata":
        return request.metadata.get(".".join(parts[2:]))
    return getattr(request, parts[1])


def estimated_cost(request: RoutingRequest, attributes: Mapping[str, object]) -> float | None:
    """Worst-case cost of this request at this provider: prompt and max completion, priced per
    1K tokens; None when the provider has no prices."""
    inp = attributes.get("input_price")
    out = attributes.get("output_price")
    if not isinstance(inp, int | float) and not isinstance(out, int | float):
        return None
    cost = 0.0
    if isinstance(inp, int | float):
        cost += request.input_tokens / 1000.0 * float(inp)
    if isinstance(out, int | float):
        cost += request.max_tokens / 1000.0 * float(out)
    return cost


def live_value(name: str, window: float | None, view: ProviderView, cost: float | None) -> Any:
    """A live signal; ``window`` in seconds (None: the default window)."""
    w = DEFAULT_WINDOW_SECONDS if window is None else window
    if name == "error_rate":
        return view.error_rate(w)
    if name == "success_rate":
        return view.success_rate(w)
    if name in _LATENCY:
        return view.latency(_LATENCY[name], w)
    if name == "requests":
        return view.requests(w)
    if name == "spend":
        return view.spend(w)
    if name in ("cost", "estimated_cost"):
        return cost
    if name == "breaker.state":
        return view.breaker_state
    if name == "breaker.open":
        return view.breaker_state == "open"
    if name == "breaker.half_open":
        return view.breaker_state == "half_open"
    return getattr(view, name.replace(".", "_"))  # in_flight, rpm_used, rpm_remaining, ...
