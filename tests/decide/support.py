"""Shared pieces of the decision tables: a small provider pool, snapshots, and `decide`, which
runs every decision through the compiled graph (trace on and off) and the reference
interpreter and insists they agree before handing back the compiled one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from llmpool_policy.decision import Decision
from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts

__all__ = ["CONFIG", "PROVIDERS", "compile_policy", "decide", "snap"]

CONFIG = Path(__file__).parent / "data" / "config.json"


def _facts(name: str, **attrs: Any) -> ProviderFacts:
    base: dict[str, object] = {
        "name": name,
        "type": "openai",
        "model": name,
        "priority": 1,
        "weight": 1.0,
        "context_window": None,
        "supports.vision": False,
        "supports.tools": False,
        "supports.json": False,
        "input_price": None,
        "output_price": None,
        "region": None,
        "tags": (),
        "timeout": None,
    }
    base.update({k.replace("__", "."): v for k, v in attrs.items()})
    return ProviderFacts(name, base)


# Five providers, in config order. Prices are USD per 1K tokens; timeouts in seconds.
PROVIDERS = (
    _facts("openai", type="openai", priority=1, context_window=128_000, supports__vision=True,
           supports__tools=True, input_price=0.005, output_price=0.015, region="us",
           tags=("frontier",), timeout=60.0),
    _facts("anthropic", type="anthropic", priority=2, context_window=200_000,
           supports__vision=True, supports__tools=True, input_price=0.003, output_price=0.015,
           region="us", tags=("frontier",)),
    _facts("groq", type="groq", priority=3, context_window=32_000, supports__tools=True,
           input_price=0.0005, output_price=0.0008, region="us", tags=("fast", "cheap"),
           timeout=10.0),
    _facts("together", type="together", priority=3, context_window=8_000, input_price=0.0002,
           output_price=0.0002, region="eu", tags=("cheap",)),
    _facts("gemini", type="openai-compatible", priority=2, context_window=2_000_000,
           supports__vision=True, region="eu"),
)  # fmt: skip
NAMES = tuple(p.name for p in PROVIDERS)


def compile_policy(body: str, providers: tuple[ProviderFacts, ...] = PROVIDERS) -> Policy:
    """A policy from its declarations (a `policy` line is added when missing)."""
    text = body if body.lstrip().startswith("policy") else f'policy "t"\n{body}'
    return Policy.from_text(text, config=list(providers))


def snap(
    providers: dict[str, Any] | None = None, budgets: dict[str, Any] | None = None
) -> StaticSnapshot:
    return StaticSnapshot.from_dict({"providers": providers or {}, "budgets": budgets or {}})


def decide(
    policy: Policy, request: RoutingRequest | None = None, snapshot: StaticSnapshot | None = None
) -> Decision:
    """The compiled decision (with its trace), after checking that the trace-off decision and
    the reference interpreter's agree with it."""
    request = request if request is not None else RoutingRequest(id="r")
    snapshot = snapshot if snapshot is not None else snap()
    traced = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
    fast = policy.decide(request, snapshot, raise_if_unroutable=False)
    reference = policy.decide_reference(request, snapshot)
    assert traced == reference
    assert traced.trace == reference.trace
    assert fast == reference
    return traced
