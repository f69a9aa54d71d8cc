"""Decision tables: who is a candidate (`use` lists, groups, selectors, `all`), the built-in
gates (images, tools, context window, max cost), hard `skip` and soft `avoid`, and the error
that lists every provider's reason when nothing is left."""

from __future__ import annotations

import pytest

from llmpool_policy.errors import NoProviderAvailableError
from llmpool_policy.request import RoutingRequest

from .support import NAMES, compile_policy, decide, snap

R = RoutingRequest(id="r1", input_tokens=1_000, max_tokens=500)


@pytest.mark.parametrize(
    ("use", "providers"),
    [
        ("use [groq, openai, anthropic]", ("groq", "openai", "anthropic")),  # list order kept
        ("use [gemini, together]", ("gemini", "together")),
        ("use all", NAMES),  # config order
        ("", NAMES),  # no `use`: every provider
        ("use cheap", ("together", "groq")),
        ("use [cheap, openai, groq]", ("together", "groq", "openai")),  # flattened, no repeats
        ("use frontier", ("openai", "anthropic")),
        ("use [eu, groq]", ("together", "gemini", "groq")),
        ("use everyone", NAMES),
        ("use providers where supports.vision", ("openai", "anthropic", "gemini")),
        ('use providers where region == "eu" or priority == 1', ("openai", "together", "gemini")),
        ("use providers where input_price < $0.001", ("groq", "together")),  # gemini: no price
    ],
)
def test_use(use: str, providers: tuple[str, ...]) -> None:
    policy = compile_policy(f"""
group cheap = [together, groq]
group frontier = providers where "frontier" in tags
group eu = providers where region == "eu"
group everyone = all
route default {{
  {use}
}}
""")
    decision = decide(policy, R)
    assert decision.providers == providers
    assert decision.excluded == ()


@pytest.mark.parametrize(
    ("input_tokens", "max_tokens", "providers"),
    [
        (1_000, 500, ("openai", "anthropic", "groq", "together", "gemini")),
        (7_000, 1_000, ("openai", "anthropic", "groq", "together", "gemini")),  # 8000: fits
        (7_000, 1_001, ("openai", "anthropic", "groq", "gemini")),
        (120_000, 8_000, ("openai", "anthropic", "gemini")),
        (150_000, 4_000, ("anthropic", "gemini")),
        (1_500_000, 4_000, ("gemini",)),
        (2_500_000, 0, ()),
    ],
)
def test_request_dependent_selector(
    input_tokens: int, max_tokens: int, providers: tuple[str, ...]
) -> None:
    policy = compile_policy("""
route default {
  use providers where context_window >= request.input_tokens + request.max_tokens
}
""")
    decision = decide(policy, RoutingRequest(input_tokens=input_tokens, max_tokens=max_tokens))
    assert decision.providers == providers
    assert decision.excluded == ()  # not selected is not a candidate, so not "excluded"


ALL = compile_policy("route default { use all }")


@pytest.mark.parametrize(
    ("request_", "providers", "excluded"),
    [
        (RoutingRequest(images=1), ("openai", "anthropic", "gemini"),
         {"groq": "cannot take images", "together": "cannot take images"}),
        (RoutingRequest(tools=3), ("openai", "anthropic", "groq"),
         {"together": "cannot take tools", "gemini": "cannot take tools"}),
        (RoutingRequest(images=2, tools=1), ("openai", "anthropic"),
         {"groq": "cannot take images", "together": "cannot take images",
          "gemini": "cannot take tools"}),
        (RoutingRequest(input_tokens=30_000, max_tokens=4_000),
         ("openai", "anthropic", "gemini"),
         {"groq": "context window 32000 < 34000 tokens",
          "together": "context window 8000 < 34000 tokens"}),
        (RoutingRequest(input_tokens=300_000), ("gemini",),
         {"openai": "context window 128000 < 300000 tokens",
          "anthropic": "context window 200000 < 300000 tokens",
          "groq": "context window 32000 < 300000 tokens",
          "together": "context window 8000 < 300000 tokens"}),
    ],
)  # fmt: skip
def test_built_in_gates(
    request_: RoutingRequest, providers: tuple[str, ...], excluded: dict[str, str]
) -> None:
    decision = decide(ALL, request_)
    assert decision.providers == providers
    assert dict(decision.excluded) == excluded


def test_max_cost_gate_uses_the_estimated_worst_case_cost() -> None:
    policy = compile_policy("""
route default {
  use all
  limits { max cost $0.01 per request }
}
""")
    # 5K tokens in, 1K out: openai $0.04, anthropic $0.03, groq $0.0033, together $0.0012;
    # gemini has no prices, so no estimate and no gate.
    decision = decide(policy, RoutingRequest(input_tokens=5_000, max_tokens=1_000))
    assert decision.providers == ("groq", "together", "gemini")
    assert dict(decision.excluded) == {
        "openai": "estimated cost $0.0400 over max cost $0.01",
        "anthropic": "estimated cost $0.0300 over max cost $0.01",
    }
    assert decision.max_cost == 0.01


SKIP_AVOID = compile_policy("""
route default {
  use all
  skip when breaker.open or rpm.remaining == 0
  avoid when error_rate(5m) > 5% or latency.p95 > 4s
}
""")


@pytest.mark.parametrize(
    ("providers", "plan", "excluded", "avoided"),
    [
        ({}, NAMES, {}, set()),
        ({"openai": {"breaker_state": "open"}}, NAMES[1:],
         {"openai": "skip when breaker.open or rpm.remaining == 0"}, set()),
        ({"openai": {"breaker_state": "half_open"}}, NAMES, {}, set()),  # probes allowed
        ({"groq": {"rpm_remaining": 0}}, ("openai", "anthropic", "together", "gemini"),
         {"groq": "skip when breaker.open or rpm.remaining == 0"}, set()),
        ({"groq": {"rpm_remaining": 1}}, NAMES, {}, set()),
        # avoided providers go last, after every other candidate, in their own order
        ({"openai": {"error_rate": 0.3}, "anthropic": {"latency": {"p95": 5.0}}},
         ("groq", "together", "gemini", "openai", "anthropic"), {}, {"openai", "anthropic"}),
        # a window that is not the one asked for reads as no data: not avoided
        ({"openai": {"error_rate": {"1m": 0.9}}}, NAMES, {}, set()),
        ({"openai": {"error_rate": 0.05}}, NAMES, {}, set()),  # 5% is not above 5%
        # skip beats avoid
        ({"openai": {"error_rate": 0.3, "breaker_state": "open"}}, NAMES[1:],
         {"openai": "skip when breaker.open or rpm.remaining == 0"}, set()),
        # soft: when everyone is avoided, everyone is still tried
        ({n: {"error_rate": 0.5} for n in NAMES}, NAMES, {}, set(NAMES)),
    ],
)  # fmt: skip
def test_skip_is_hard_avoid_is_soft(
    providers: dict[str, object],
    plan: tuple[str, ...],
    excluded: dict[str, str],
    avoided: set[str],
) -> None:
    decision = decide(SKIP_AVOID, R, snap(providers))  # type: ignore[arg-type]
    assert decision.providers == plan
    assert dict(decision.excluded) == excluded
    assert decision.trace is not None
    assert {c.provider for c in decision.trace.candidates if c.avoided} == avoided


def test_skip_records_the_metric_values_that_triggered_it() -> None:
    decision = decide(SKIP_AVOID, R, snap({"groq": {"rpm_remaining": 0}}))
    assert decision.trace is not None
    groq = next(c for c in decision.trace.candidates if c.provider == "groq")
    assert dict(groq.values) == {"breaker.open": False, "rpm.remaining": 0}
    assert "rpm.remaining=0" in decision.explain()


def test_skip_on_static_attributes_and_request_fields() -> None:
    policy = compile_policy("""
route default {
  use all
  skip when region == "eu" and request.metadata.residency == "us"
  skip when tpm.remaining < request.input_tokens
}
""")
    request = RoutingRequest(input_tokens=5_000, metadata={"residency": "us"})
    decision = decide(policy, request, snap({"groq": {"tpm_remaining": 4_999}}))
    assert decision.providers == ("openai", "anthropic")
    assert dict(decision.excluded) == {
        "groq": "skip when tpm.remaining < request.input_tokens",
        "together": 'skip when region == "eu" and request.metadata.residency == "us"',
        "gemini": 'skip when region == "eu" and request.metadata.residency == "us"',
    }
    # no residency rule for this request; no tpm figure means no limit
    assert decide(policy, RoutingRequest(input_tokens=5_000)).providers == NAMES


def test_nothing_available_lists_every_providers_reason() -> None:
    policy = compile_policy("""
route default {
  use all
  skip when breaker.open
  skip when rpm.remaining == 0
}
""")
    snapshot = snap({
        "openai": {"breaker_state": "open"},
        "anthropic": {"rpm_remaining": 0},
        "groq": {"breaker_state": "open", "rpm_remaining": 0},
    })  # fmt: skip
    request = RoutingRequest(tools=1)
    decision = decide(policy, request, snapshot)
    assert decision.providers == ()
    assert not decision.ok
    with pytest.raises(NoProviderAvailableError) as info:
        policy.decide(request, snapshot)
    assert info.value.reasons == {
        "openai": "skip when breaker.open",
        "anthropic": "skip when rpm.remaining == 0",
        "groq": "skip when breaker.open",
        "together": "cannot take tools",
        "gemini": "cannot take tools",
    }
    message = str(info.value)
    for name in NAMES:
        assert f"{name}: " in message
    assert info.value.decision == decision  # type: ignore[attr-defined]
