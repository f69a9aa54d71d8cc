"""Decision tables: which route a request matches (first match wins), for every kind of
`when` condition — model, tags, metadata, token counts (`100k`, `1m` = a million tokens)."""

from __future__ import annotations

import pytest

from llmpool_policy.request import RoutingRequest

from .support import compile_policy, decide

ROUTES = compile_policy("""
route pinned when request.model == "gpt-4o" { use [openai] }
route batch when "batch" in request.tags { use [groq] }
route search when request.metadata.team == "search" { use [anthropic] }
route huge when request.input_tokens > 1m { use [gemini] }
route long when request.input_tokens > 100k { use [anthropic, gemini] }
route default { use [together] }
""")


@pytest.mark.parametrize(
    ("request_", "route"),
    [
        (RoutingRequest(model="gpt-4o"), "pinned"),
        (RoutingRequest(model="gpt-4o", tags=("batch",)), "pinned"),  # first match wins
        (RoutingRequest(model="claude", tags=("batch",)), "batch"),
        (RoutingRequest(tags=("chat", "batch")), "batch"),
        (RoutingRequest(tags=("chat",)), "default"),
        (RoutingRequest(metadata={"team": "search"}), "search"),
        (RoutingRequest(metadata={"team": "ads"}), "default"),
        (RoutingRequest(metadata={"tenant": "search"}), "default"),  # absent key: no match
        (RoutingRequest(tags=("batch",), metadata={"team": "search"}), "batch"),
        (RoutingRequest(input_tokens=100_000), "default"),
        (RoutingRequest(input_tokens=100_001), "long"),
        (RoutingRequest(input_tokens=999_999), "long"),
        (RoutingRequest(input_tokens=1_000_000), "long"),  # 1m is a million tokens, not 60
        (RoutingRequest(input_tokens=1_000_001), "huge"),
        (RoutingRequest(input_tokens=61), "default"),
        (RoutingRequest(model="gpt-4o", input_tokens=5_000_000), "pinned"),
    ],
)
def test_first_matching_route_wins(request_: RoutingRequest, route: str) -> None:
    decision = decide(ROUTES, request_)
    assert decision.route == route
    assert decision.trace is not None
    checks = [(c.route, c.matched) for c in decision.trace.routes]
    assert checks[-1] == (route, True)
    assert all(not matched for _r, matched in checks[:-1])


def test_trace_records_each_condition_and_the_values_it_read() -> None:
    decision = decide(ROUTES, RoutingRequest(model="llama", tags=(), input_tokens=150_000))
    assert decision.trace is not None
    values = {c.route: dict(c.values) for c in decision.trace.routes}
    assert values["pinned"] == {"request.model": "llama"}
    assert values["batch"] == {"request.tags": ()}
    assert values["search"] == {"request.metadata.team": None}
    assert values["long"] == {"request.input_tokens": 150_000}
    assert decision.route == "long"


@pytest.mark.parametrize(
    ("condition", "matching", "not_matching"),
    [
        ("request.input_tokens >= 1M", {"input_tokens": 1_000_000}, {"input_tokens": 999_999}),
        ("request.input_tokens > 32k", {"input_tokens": 32_001}, {"input_tokens": 32_000}),
        ("request.input_tokens + request.max_tokens > 8k",
         {"input_tokens": 7_000, "max_tokens": 1_001},
         {"input_tokens": 7_000, "max_tokens": 1_000}),
        ('request.model in ["gpt-4o", "o1"]', {"model": "o1"}, {"model": "o3"}),
        ('"gpt" in request.model', {"model": "gpt-4o"}, {"model": "claude"}),
        ('"gpt" in request.model', {"model": "gpt-4o"}, {}),  # no model: false, not an error
        ('"eval" not in request.tags', {"tags": ("chat",)}, {"tags": ("eval",)}),
        ("request.images > 0 and request.tools == 0", {"images": 1}, {"images": 1, "tools": 2}),
        ("request.stream or request.messages >= 10", {"messages": 12}, {"messages": 9}),
        ("not (request.temperature > 0.5)", {"temperature": 0.2}, {"temperature": 0.9}),
        ("request.temperature > 0.5", {"temperature": 0.7}, {}),  # missing compares false
        ('request.user == "u1"', {"user": "u1"}, {"user": "u2"}),
        ("request.metadata.priority >= 3", {"metadata": {"priority": 4}},
         {"metadata": {"priority": "high"}}),  # an untyped value of the wrong kind: false
        ('request.metadata.tier == "premium" and request.metadata.region != "eu"',
         {"metadata": {"tier": "premium", "region": "us"}},
         {"metadata": {"tier": "premium", "region": "eu"}}),
        ("-request.metadata.n < 0", {"metadata": {"n": 2}}, {"metadata": {"n": "two"}}),
    ],
)  # fmt: skip
def test_when_conditions(
    condition: str, matching: dict[str, object], not_matching: dict[str, object]
) -> None:
    policy = compile_policy(f"route special when {condition} {{ use [openai] }}\n"
                            "route default { use [groq] }")  # fmt: skip
    assert decide(policy, RoutingRequest.from_dict(matching)).route == "special"
    assert decide(policy, RoutingRequest.from_dict(not_matching)).route == "default"


def test_when_true_is_a_catch_all() -> None:
    policy = compile_policy("route a when false or request.stream { use [openai] }\n"
                            "route b when true { use [groq] }")  # fmt: skip
    assert decide(policy, RoutingRequest(stream=True)).route == "a"
    assert decide(policy, RoutingRequest()).route == "b"
