"""Decision tables: `order by` (asc, desc, several keys, unknown values first or last), `split`
(weights, stickiness by key, an arm that did not survive) and `failover off`."""

from __future__ import annotations

import pytest

from llmpool_policy.compile.reference import draw
from llmpool_policy.request import RoutingRequest

from .support import compile_policy, decide, snap

R = RoutingRequest(id="r1", input_tokens=2_000, max_tokens=1_000)

LATENCY = {
    "openai": {"latency": {"p50": {"5m": 1.2}}, "success_rate": 0.97},
    "anthropic": {"latency": {"p50": {"5m": 0.8}}, "success_rate": 0.99},
    "groq": {"latency": {"p50": {"5m": 0.3}}},  # no success figures
    "together": {"latency": {"p50": {"1m": 0.1}}, "success_rate": 0.90},  # no 5m latency
    # gemini: no data at all
}


@pytest.mark.parametrize(
    ("order", "plan"),
    [
        ("priority", ("openai", "anthropic", "gemini", "groq", "together")),  # stable on ties
        ("priority desc", ("groq", "together", "anthropic", "gemini", "openai")),
        ("priority asc, cost", ("openai", "anthropic", "gemini", "together", "groq")),
        # cost: 2K in, 1K out -> openai .025, anthropic .021, groq .0018, together .0006;
        # gemini has no prices: missing, so last either way
        ("cost", ("together", "groq", "anthropic", "openai", "gemini")),
        ("cost desc", ("openai", "anthropic", "groq", "together", "gemini")),
        ("cost unknown first", ("gemini", "together", "groq", "anthropic", "openai")),
        ("cost desc unknown last", ("openai", "anthropic", "groq", "together", "gemini")),
        # a measured metric without data (together has no 5m latency, gemini no data at all)
        # sorts first unless the key says otherwise: a cold provider gets tried
        ("latency.p50(5m)", ("together", "gemini", "groq", "anthropic", "openai")),
        ("latency.p50(5m) unknown first",
         ("together", "gemini", "groq", "anthropic", "openai")),
        ("latency.p50(5m) desc", ("together", "gemini", "openai", "anthropic", "groq")),
        ("latency.p50(1m)", ("openai", "anthropic", "groq", "gemini", "together")),
        ("success_rate desc", ("groq", "gemini", "anthropic", "openai", "together")),
        ("success_rate desc, latency.p50(5m)",
         ("gemini", "groq", "anthropic", "openai", "together")),
        ("latency.p50(5m) unknown last",
         ("groq", "anthropic", "openai", "together", "gemini")),
        ("latency.p50(5m) desc unknown last",
         ("openai", "anthropic", "groq", "together", "gemini")),
        ("latency.p50(1m) unknown last",
         ("together", "openai", "anthropic", "groq", "gemini")),
        ("success_rate desc unknown last",
         ("anthropic", "openai", "together", "groq", "gemini")),
        ("success_rate desc unknown last, latency.p50(5m) unknown last",
         ("anthropic", "openai", "together", "groq", "gemini")),
        ("latency.p50(5m) * 2 + 1s", ("together", "gemini", "groq", "anthropic", "openai")),
        ("context_window desc", ("gemini", "anthropic", "openai", "groq", "together")),
        ("name desc", ("together", "openai", "groq", "gemini", "anthropic")),
        ("region, priority desc", ("together", "gemini", "groq", "anthropic", "openai")),
        ("-priority", ("groq", "together", "anthropic", "gemini", "openai")),
        ("cost * 2 desc", ("openai", "anthropic", "groq", "together", "gemini")),
    ],
)  # fmt: skip
def test_order_by(order: str, plan: tuple[str, ...]) -> None:
    policy = compile_policy(f"route default {{\n  use all\n  order by {order}\n}}")
    assert decide(policy, R, snap(LATENCY)).providers == plan  # type: ignore[arg-type]


def test_order_keys_are_in_the_trace() -> None:
    policy = compile_policy("route default {\n  use all\n  order by priority, cost\n}")
    decision = decide(policy, R)
    assert decision.trace is not None
    keys = {c.provider: c.order_keys for c in decision.trace.candidates}
    assert keys["groq"] == (3, pytest.approx(0.0018))
    assert keys["gemini"] == (2, None)


def test_avoided_providers_are_ordered_among_themselves_after_the_rest() -> None:
    policy = compile_policy("""
route default {
  use all
  avoid when error_rate > 10%
  order by priority desc
}
""")
    snapshot = snap({"openai": {"error_rate": 0.5}, "groq": {"error_rate": 0.5}})
    assert decide(policy, R, snapshot).providers == (
        "together", "anthropic", "gemini", "groq", "openai"
    )  # fmt: skip


SPLIT = compile_policy("""
route default {
  use [openai, anthropic, groq]
  split openai 30%, anthropic 70% by request.user
  skip when breaker.open
  order by priority desc
}
""")


def _arm(route: str, key: str, arms: list[tuple[str, float]]) -> str:
    u = draw(route, key)
    total = 0.0
    for name, weight in arms:
        total += weight
        if u < total:
            return name
    return arms[-1][0]


@pytest.mark.parametrize("user", [f"user-{i}" for i in range(12)])
def test_split_puts_the_drawn_arm_first_and_keeps_the_rest(user: str) -> None:
    arm = _arm("default", user, [("openai", 0.3), ("anthropic", 0.7)])
    decision = decide(SPLIT, RoutingRequest(id="x", user=user))
    ordered = ["groq", "anthropic", "openai"]  # priority desc
    ordered.remove(arm)
    assert decision.providers == (arm, *ordered)
    assert decision.trace is not None
    (split,) = decision.trace.splits
    assert (split.route, split.key, split.arm) == ("default", user, arm)
    assert split.draw == draw("default", user)


def test_split_is_sticky_by_key_and_both_arms_are_drawn() -> None:
    arms = set()
    for user in (f"u{i}" for i in range(40)):
        firsts = {decide(SPLIT, RoutingRequest(id=f"{user}-{n}", user=user)).providers[0]
                  for n in range(5)}  # fmt: skip
        assert len(firsts) == 1  # same user, same arm, whatever the request id
        arms |= firsts
    assert arms == {"openai", "anthropic"}


def test_split_without_key_draws_from_the_seed() -> None:
    policy = compile_policy("route default {\n  split groq 50%, together 50%\n}")
    seen = set()
    for seed in range(30):
        decision = decide(policy, RoutingRequest(seed=seed))
        assert decision.trace is not None
        assert decision.trace.splits[0].key == str(seed)
        seen.add(decision.providers[0])
        assert set(decision.providers) == {"groq", "together"}  # split arms are the candidates
    assert seen == {"groq", "together"}
    # an absent `by` value also falls back to the seed
    decision = decide(SPLIT, RoutingRequest(seed=7))
    assert decision.trace is not None and decision.trace.splits[0].key == "7"


def test_split_arm_that_did_not_survive_is_not_brought_back() -> None:
    user = next(u for u in (f"u{i}" for i in range(100)) if _arm("default", u, [
        ("openai", 0.3), ("anthropic", 0.7)]) == "openai")  # fmt: skip
    decision = decide(SPLIT, RoutingRequest(user=user), snap({"openai": {"breaker_state": "open"}}))
    assert decision.providers == ("groq", "anthropic")
    assert decision.trace is not None and decision.trace.splits[0].arm == "openai"


@pytest.mark.parametrize(
    ("providers", "plan"),
    [
        ({}, ("openai",)),
        ({"openai": {"breaker_state": "open"}}, ("anthropic",)),
        ({"openai": {"breaker_state": "open"}, "anthropic": {"breaker_state": "open"}},
         ("groq",)),
    ],
)  # fmt: skip
def test_failover_off_keeps_only_the_first_survivor(
    providers: dict[str, object], plan: tuple[str, ...]
) -> None:
    policy = compile_policy("""
route default {
  use [openai, anthropic, groq]
  skip when breaker.open
  failover off
}
""")
    decision = decide(policy, R, snap(providers))  # type: ignore[arg-type]
    assert decision.providers == plan
    assert decision.plans[0].failover_on is None


def test_failover_lists_and_the_default() -> None:
    policy = compile_policy("""
route a when request.stream {
  use all
  failover on rate_limited, timeout, 429, 5xx, 500..504
}
route default { use all }
""")
    on = decide(policy, RoutingRequest(stream=True)).plans[0]
    assert on.failover_on == ("rate_limited", "timeout")
    assert on.failover_statuses == ((429, 429), (500, 599), (500, 504))
    default = decide(policy, RoutingRequest()).plans[0]
    assert default.failover_on == (
        "rate_limited", "overloaded", "server_error", "timeout", "connection",
        "invalid_response", "context_window",
    )  # fmt: skip
    assert default.attempts[0].retry_on == (
        "rate_limited", "overloaded", "server_error", "timeout", "connection"
    )  # fmt: skip
