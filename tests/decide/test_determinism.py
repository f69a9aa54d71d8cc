"""Same inputs, same decision byte for byte; and the route index only skips work: a 200-route
policy decides the same with the index as without it and as the reference interpreter."""

from __future__ import annotations

import dataclasses
import json

import pytest

from llmpool_policy.decide import decide as engine_decide
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest

from .support import PROVIDERS, compile_policy, decide, snap

POLICY = """
route default {
  use all
  split openai 40%, anthropic 35%, gemini 25%
  skip when breaker.open
  avoid when error_rate > 10%
  order by priority, cost, latency.p50 desc
  retry {
    attempts 3
    backoff exponential 1s .. 8s jitter full
  }
}
"""
SNAPSHOT = {
    "openai": {"error_rate": 0.2, "latency": {"p50": 1.1}},
    "groq": {"latency": {"p50": 0.2}},
    "together": {"breaker_state": "open"},
}


def test_same_inputs_same_bytes() -> None:
    request = RoutingRequest(id="req-42", input_tokens=1_200, max_tokens=300, tags=("a",),
                             metadata={"team": "search"})  # fmt: skip
    texts = set()
    for _ in range(3):
        policy = compile_policy(POLICY)  # a fresh compile each time
        for _ in range(3):
            decision = policy.decide(request, snap(SNAPSHOT), trace=True)
            texts.add(decision.to_json_text())
            texts.add(policy.decide_reference(request, snap(SNAPSHOT)).to_json_text())
    assert len(texts) == 1
    assert json.loads(texts.pop())["seed"] == request.effective_seed


def test_the_seed_comes_from_the_request_id_or_is_given() -> None:
    policy = compile_policy(POLICY)
    a = policy.decide(RoutingRequest(id="a"))
    assert a.seed == RoutingRequest(id="a").effective_seed
    assert policy.decide(RoutingRequest(id="b")).seed != a.seed
    assert policy.decide(RoutingRequest(id="a", seed=5)).seed == 5
    firsts = {policy.decide(RoutingRequest(id=f"r{i}")).providers[0] for i in range(60)}
    assert firsts == {"openai", "anthropic", "gemini"}


def test_trace_off_builds_no_trace_and_decides_the_same() -> None:
    policy = compile_policy(POLICY)
    request = RoutingRequest(id="x")
    fast = policy.decide(request, snap(SNAPSHOT))
    traced = policy.decide(request, snap(SNAPSHOT), trace=True)
    assert fast.trace is None and traced.trace is not None
    assert fast == traced
    assert "trace" not in fast.to_json() and "trace" in traced.to_json()


# ---- the route index ----------------------------------------------------------------------------


def _big_policy() -> str:
    lines = ['policy "big"']
    for i in range(200):
        if i % 10 == 3:
            cond = f'"tag-{i}" in request.tags'
        elif i % 10 == 7:
            cond = f"request.input_tokens > {i}k"  # not indexable: always tested
        elif i % 10 == 9:
            cond = f'request.model == "model-{i}" or "tag-{i}" in request.tags'
        else:
            cond = f'request.model == "model-{i}" and request.max_tokens < {i + 1}k'
        provider = PROVIDERS[i % len(PROVIDERS)].name
        lines.append(f"route r{i} when {cond} {{\n  use [{provider}, groq]\n  order by cost\n}}")
    lines.append("route default { use all }")
    return "\n".join(lines) + "\n"


BIG = Policy.from_text(_big_policy(), config=list(PROVIDERS))
UNINDEXED = dataclasses.replace(BIG.graph, by_model={}, by_tag={})

REQUESTS = [
    RoutingRequest(id="q", model=f"model-{i}", max_tokens=m, input_tokens=t, tags=tags)
    for i in (0, 1, 8, 9, 12, 99, 150, 198, 199, 500)
    for m, t, tags in ((100, 10, ()), (150_000, 10, ()), (100, 180_000, ()),
                       (100, 10, ("tag-13",)), (100, 10, ("tag-193", "tag-19")))
] + [RoutingRequest(id="q"), RoutingRequest(id="q", tags=("tag-199",))]  # fmt: skip


def test_the_index_is_in_use() -> None:
    graph = BIG.graph
    assert len(graph.by_model) == 160 and len(graph.by_tag) == 40
    assert len(graph.unindexed) == 21  # 20 token routes and the catch-all
    assert len(graph.candidate_routes("model-150", ())) == 22


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: f"{r.model}-{r.tags}")
def test_indexed_decision_equals_unindexed_and_reference(request_: RoutingRequest) -> None:
    snapshot = snap({"groq": {"breaker_state": "open"}})
    indexed = BIG.decide(request_, snapshot, raise_if_unroutable=False)
    unindexed = engine_decide(UNINDEXED, request_, snapshot)
    assert indexed == unindexed
    assert indexed == BIG.decide_reference(request_, snapshot)
    assert indexed.to_json_text() == unindexed.to_json_text()
    decide(BIG, request_, snapshot)  # the traced decision (every route checked) agrees too


def test_indexed_routes_match_as_first_match_says() -> None:
    assert BIG.decide(RoutingRequest(model="model-12", max_tokens=100)).route == "r12"
    # r12 needs max_tokens < 13k; the first route that matches then is the token route r7
    late = RoutingRequest(model="model-12", max_tokens=20_000, input_tokens=8_000)
    assert BIG.decide(late).route == "r7"
    assert BIG.decide(RoutingRequest(model="model-12", max_tokens=20_000)).route == "default"
    assert BIG.decide(RoutingRequest(tags=("tag-193",))).route == "r193"
