"""`decision.explain()` for every example policy, over a handful of requests and metric states,
snapshot-tested (update with `pytest --snapshot-update` and review the diff)."""

from __future__ import annotations

from typing import Any

import pytest
from syrupy.assertion import SnapshotAssertion

from llmpool_policy.config import load_config
from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest

from ..conftest import POLICIES
from .support import CONFIG

NAMES = [p.name for p in load_config(CONFIG).providers]

REQUESTS: dict[str, dict[str, Any]] = {
    "chat": {"id": "req-chat-1", "model": "gpt-4o", "messages": 4, "input_tokens": 1_800,
             "max_tokens": 600, "metadata": {"team": "search"}, "user": "u-1042"},
    "acme-vision": {"id": "req-vision-7", "messages": 2, "input_tokens": 2_500,
                    "max_tokens": 800, "images": 2, "metadata": {"tenant": "acme", "team": "ads"},
                    "user": "u-77"},
    "long-batch": {"id": "req-long-3", "input_tokens": 150_000, "max_tokens": 4_000,
                   "tags": ["batch"], "metadata": {"team": "research"}},
}  # fmt: skip

HEALTHY = {
    name: {"success_rate": {"5m": 0.99 - i * 0.01}, "error_rate": {"5m": 0.01 + i * 0.01},
           "latency": {"p50": {"5m": 0.6 + i * 0.2}, "p95": {"5m": 1.5 + i * 0.4}},
           "rpm_remaining": 100, "rpd_remaining": 5_000}
    for i, name in enumerate(NAMES)
}  # fmt: skip


def _with(changes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    providers = {name: {**state, **changes.get(name, {})} for name, state in HEALTHY.items()}
    return {"providers": providers}


STATES: dict[str, dict[str, Any]] = {
    "healthy": _with({}),
    "openai-breaker-open": _with({"openai-gpt4o": {"breaker_state": "open"}}),
    "anthropic-rate-limited": _with({"anthropic-sonnet": {"rpm_remaining": 0}}),
    "degraded": _with({
        "openai-gpt4o": {"error_rate": {"5m": 0.3}, "success_rate": {"5m": 0.7}},
        "groq-llama": {"latency": {"p50": {"5m": 3.0}, "p95": {"5m": 6.0}}},
        "gemini-pro": {"error_rate": {"5m": 0.08}, "success_rate": {"5m": 0.92}},
    }),
    "over-budget": {**_with({}), "budgets": {"team_daily": {"day": {"search": 120.0, "*": 5.0}},
                                             "total": {"month": 5_000.0}}},
    "nothing-left": _with({name: {"breaker_state": "open", "rpm_remaining": 0}
                           for name in NAMES}),
}  # fmt: skip


@pytest.fixture(scope="module", params=POLICIES, ids=[p.stem for p in POLICIES])
def policy(request: pytest.FixtureRequest) -> Policy:
    return Policy.from_file(request.param, config=CONFIG)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("request_name", REQUESTS)
def test_explain(
    policy: Policy, request_name: str, state: str, snapshot: SnapshotAssertion
) -> None:
    req = RoutingRequest.from_dict(REQUESTS[request_name])
    metrics = StaticSnapshot.from_dict(STATES[state])
    decision = policy.decide(req, metrics, trace=True, raise_if_unroutable=False)
    assert decision == policy.decide_reference(req, metrics)
    assert decision.trace == policy.decide_reference(req, metrics).trace
    assert decision.explain() == snapshot
