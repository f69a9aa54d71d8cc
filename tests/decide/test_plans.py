"""Decision tables: what a plan carries — fallback chains, budgets, limits, retry settings on
each attempt, per-try timeouts."""

from __future__ import annotations

import math

import pytest

from llmpool_policy.errors import BudgetExceededError, NoProviderAvailableError
from llmpool_policy.request import RoutingRequest

from .support import compile_policy, decide, snap

R = RoutingRequest(id="r1", input_tokens=1_000, max_tokens=500)

# ---- on exhausted fallback ----------------------------------------------------------------------

CHAIN = compile_policy("""
limits {
  deadline 60s
  max attempts 6
}
route primary when request.metadata.tier == "premium" {
  use [openai, anthropic]
  skip when breaker.open
  on exhausted fallback secondary
  limits { deadline 2m }
}
route default {
  use [groq]
  on exhausted fallback secondary
}
route secondary {
  use [gemini, anthropic]
  failover off
  on exhausted fallback last
  limits { deadline 5s }
}
route last {
  use [together]
}
""")


def test_fallback_chain_plans_in_order() -> None:
    decision = decide(CHAIN, RoutingRequest(metadata={"tier": "premium"}))
    assert decision.route == "primary"
    assert [p.route for p in decision.plans] == ["primary", "secondary", "last"]
    assert [[a.provider for a in p.attempts] for p in decision.plans] == [
        ["openai", "anthropic"], ["gemini"], ["together"],
    ]  # fmt: skip
    assert decision.providers == ("openai", "anthropic", "gemini", "together")
    # the matched route's limits cover the whole chain (route-level over policy-level)
    assert (decision.deadline_s, decision.max_attempts) == (120.0, 6)
    assert decision.plans[1].failover_on is None


def test_fallback_chain_when_the_matched_route_has_nobody_left() -> None:
    snapshot = snap({"openai": {"breaker_state": "open"}, "anthropic": {"breaker_state": "open"}})
    decision = decide(CHAIN, RoutingRequest(metadata={"tier": "premium"}), snapshot)
    assert [len(p.attempts) for p in decision.plans] == [0, 1, 1]
    assert decision.providers == ("gemini", "together")
    assert decision.ok  # the chain still has providers
    assert dict(decision.excluded) == {"openai": "skip when breaker.open",
                                       "anthropic": "skip when breaker.open"}  # fmt: skip


def test_policy_limits_apply_where_the_route_sets_none() -> None:
    decision = decide(CHAIN, R)
    assert decision.route == "default"
    assert [p.route for p in decision.plans] == ["default", "secondary", "last"]
    assert (decision.deadline_s, decision.max_attempts, decision.max_cost) == (60.0, 6, None)


def test_route_limits_override_the_policy_setting_by_setting() -> None:
    policy = compile_policy("""
limits {
  deadline 60s
  max attempts 6
  max cost $0.50 per request
}
route premium when request.metadata.tier == "premium" {
  use all
  limits {
    deadline 2m
    max cost $2 per request
  }
}
route bare when request.stream { use all }
route default { use all }
""")
    premium = decide(policy, RoutingRequest(metadata={"tier": "premium"}))
    assert (premium.deadline_s, premium.max_attempts, premium.max_cost) == (120.0, 6, 2.0)
    plain = decide(policy, R)
    assert (plain.deadline_s, plain.max_attempts, plain.max_cost) == (60.0, 6, 0.5)
    no_limits = compile_policy("route default { use all }")
    bare = decide(no_limits, R)
    assert (bare.deadline_s, bare.max_attempts, bare.max_cost) == (None, None, None)


# ---- budgets ------------------------------------------------------------------------------------

BUDGETS = compile_policy("""
budget total = $2000 per month on breach deny
budget team_daily = $100 per day per request.metadata.team on breach fallback economy
route batch when "batch" in request.tags {
  use [together]
}
route default {
  use [openai, anthropic]
}
route economy {
  use [groq, together]
}
""")


@pytest.mark.parametrize(
    ("request_", "budgets", "route", "providers"),
    [
        (RoutingRequest(metadata={"team": "search"}), {}, "default", ("openai", "anthropic")),
        (RoutingRequest(metadata={"team": "search"}),
         {"team_daily": {"day": {"search": 100.0, "ads": 3.0}}}, "economy", ("groq", "together")),
        (RoutingRequest(metadata={"team": "search"}),
         {"team_daily": {"day": {"search": 99.99}}}, "default", ("openai", "anthropic")),
        (RoutingRequest(metadata={"team": "ads"}),
         {"team_daily": {"day": {"search": 150.0, "ads": 3.0}}}, "default",
         ("openai", "anthropic")),
        # a team with no entry reads the "*" figure; no team at all is keyed None -> "*"
        (RoutingRequest(metadata={"team": "infra"}),
         {"team_daily": {"day": {"search": 150.0, "*": 120.0}}}, "economy", ("groq", "together")),
        (RoutingRequest(), {"team_daily": {"day": {"*": 120.0}}}, "economy", ("groq", "together")),
        # the breach only counts in its own period
        (RoutingRequest(metadata={"team": "search"}),
         {"team_daily": {"month": {"search": 1e6}}}, "default", ("openai", "anthropic")),
        # a budget applies to every route, the matched one included
        (RoutingRequest(tags=("batch",), metadata={"team": "search"}),
         {"team_daily": {"day": 500.0}}, "economy", ("groq", "together")),
    ],
)  # fmt: skip
def test_budget_fallback(
    request_: RoutingRequest, budgets: dict[str, object], route: str, providers: tuple[str, ...]
) -> None:
    decision = decide(BUDGETS, request_, snap(budgets=budgets))  # type: ignore[arg-type]
    assert decision.route == route
    assert decision.providers == providers


def test_budget_keyed_by_team_is_in_the_trace() -> None:
    decision = decide(BUDGETS, RoutingRequest(metadata={"team": "search"}),
                      snap(budgets={"team_daily": {"day": {"search": 150.0}}}))  # fmt: skip
    assert decision.trace is not None
    checks = [(b.budget, b.key, b.spent, b.breached, b.action) for b in decision.trace.budgets]
    assert checks == [
        ("total", None, 0.0, False, "deny"),
        ("team_daily", "search", 150.0, True, "fallback economy"),
    ]


def test_budget_deny_raises_budget_exceeded() -> None:
    snapshot = snap(budgets={"total": {"month": 2000.0}, "team_daily": {"day": 500.0}})
    decision = decide(BUDGETS, R, snapshot)
    assert decision.denied == "budget total is spent: $2000.00 of $2000.00 per month"
    assert decision.plans == ()
    assert not decision.ok
    with pytest.raises(BudgetExceededError, match="budget total is spent"):
        BUDGETS.decide(R, snapshot)


def test_budget_does_not_apply_on_its_own_fallback_route() -> None:
    policy = compile_policy("""
budget team_daily = $100 per day per request.metadata.team on breach fallback economy
route cheap when request.metadata.cheap == true { use [together] on exhausted fallback economy }
route economy when request.stream { use [groq] }
route default { use [openai] }
""")
    snapshot = snap(budgets={"team_daily": {"day": 1000.0}})
    # matched `economy` directly: the budget that falls back to it does not apply
    direct = decide(policy, RoutingRequest(stream=True, metadata={"team": "a"}), snapshot)
    assert (direct.route, direct.providers) == ("economy", ("groq",))
    assert direct.trace is not None and direct.trace.budgets == ()
    # elsewhere it does
    assert decide(policy, RoutingRequest(metadata={"team": "a"}), snapshot).route == "economy"
    cheap = decide(policy, RoutingRequest(metadata={"team": "a", "cheap": True}), snapshot)
    assert cheap.route == "economy"


def test_first_breached_budget_acts() -> None:
    policy = compile_policy("""
budget a = $10 per hour on breach fallback spare
budget b = $10 per hour on breach deny
route default { use [openai] }
route spare { use [groq] }
""")
    both = snap(budgets={"a": {"hour": 10.0}, "b": {"hour": 10.0}})
    assert decide(policy, R, both).route == "spare"
    only_b = snap(budgets={"b": {"hour": 10.0}})
    assert decide(policy, R, only_b).denied is not None


# ---- retry settings and timeouts ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("retry", "tries", "backoff", "jitter", "retry_on", "statuses", "cap"),
    [
        # no retry block: the pool's defaults (seed: max_retries 3, retry_delay 1 s, doubling)
        ("", 4, (1.0, 2.0, 4.0), "full",
         ("rate_limited", "overloaded", "server_error", "timeout", "connection"), (), None),
        ("retry {\n attempts 3\n backoff exponential 1s .. 4s jitter full\n"
         " on rate_limited, 429, 5xx, 500..504\n honor retry_after up to 20s\n }",
         3, (1.0, 2.0), "full", ("rate_limited",), ((429, 429), (500, 599), (500, 504)), 20.0),
        ("retry {\n attempts 5\n backoff exponential 500ms .. 2s jitter equal\n }",
         5, (0.5, 1.0, 2.0, 2.0), "equal",
         ("rate_limited", "overloaded", "server_error", "timeout", "connection"), (), None),
        ("retry {\n attempts 4\n backoff linear 250ms\n on timeout\n honor retry_after\n }",
         4, (0.25, 0.5, 0.75), "none", ("timeout",), (), math.inf),
        ("retry {\n attempts 3\n backoff constant 2s jitter none\n on connection, 503\n }",
         3, (2.0, 2.0), "none", ("connection",), ((503, 503),), None),
        ("retry quick", 2, (0.1,), "full", ("overloaded",), (), 5.0),
    ],
)  # fmt: skip
def test_retry_settings_on_each_attempt(
    retry: str,
    tries: int,
    backoff: tuple[float, ...],
    jitter: str,
    retry_on: tuple[str, ...],
    statuses: tuple[tuple[int, int], ...],
    cap: float | None,
) -> None:
    policy = compile_policy(f"""
retry quick {{
  attempts 2
  backoff exponential 100ms .. 1s jitter full
  on overloaded
  honor retry_after up to 5s
}}
route default {{
  use [openai, groq]
  {retry}
}}
""")
    decision = decide(policy, R)
    assert len(decision.attempts) == 2
    for attempt in decision.attempts:
        assert attempt.tries == tries
        assert attempt.backoff_s == backoff
        assert attempt.jitter == jitter
        assert attempt.retry_on == retry_on
        assert attempt.retry_statuses == statuses
        assert attempt.retry_after_cap_s == cap


def test_retry_default_applies_to_routes_naming_none() -> None:
    policy = compile_policy("""
retry default {
  attempts 3
  backoff constant 1s
}
retry once {
  attempts 1
}
route a when request.stream {
  use [openai]
  retry once
}
route default { use [openai] }
""")
    assert decide(policy, R).attempts[0].tries == 3
    assert decide(policy, R).attempts[0].backoff_s == (1.0, 1.0)
    assert decide(policy, RoutingRequest(stream=True)).attempts[0].tries == 1


def test_each_route_of_a_chain_keeps_its_own_retry_and_timeout() -> None:
    policy = compile_policy("""
route default {
  use [openai, groq, anthropic]
  retry { attempts 3 }
  on exhausted fallback spare
}
route spare {
  use [together, groq]
  timeout 5s
}
""")
    decision = decide(policy, R)
    got = [(a.provider, a.tries, a.timeout_s) for a in decision.attempts]
    # openai has a 60 s timeout, groq 10 s, anthropic none (30 s default); `timeout` overrides;
    # spare names no retry block: the pool's max_retries 3 -> 4 tries
    assert got == [
        ("openai", 3, 60.0), ("groq", 3, 10.0), ("anthropic", 3, 30.0),
        ("together", 4, 5.0), ("groq", 4, 5.0),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("timeout", "expected"),
    [("", (60.0, 30.0, 10.0)), ("timeout 20s", (20.0, 20.0, 20.0)),
     ("timeout 1m", (60.0, 60.0, 60.0)), ("timeout 500ms", (0.5, 0.5, 0.5))],
)  # fmt: skip
def test_per_try_timeout(timeout: str, expected: tuple[float, ...]) -> None:
    policy = compile_policy(f"route default {{\n  use [openai, anthropic, groq]\n  {timeout}\n}}")
    assert tuple(a.timeout_s for a in decide(policy, R).attempts) == expected


# ---- budgets per provider ------------------------------------------------------------------------

PER_PROVIDER = compile_policy("""
budget vendor_daily = $50 per day per provider on breach deny
budget vendor_hourly = $5 per hour per provider
route default {
  use [openai, anthropic, groq]
  order by priority
}
""")


@pytest.mark.parametrize(
    ("budgets", "providers", "excluded"),
    [
        ({}, ("openai", "anthropic", "groq"), {}),
        # a provider's own spend refuses it alone; the others serve
        ({"vendor_daily": {"day": {"openai": 50.0, "groq": 10.0}}}, ("anthropic", "groq"),
         {"openai": "budget vendor_daily for openai is spent: $50.00 of $50.00 per day"}),
        ({"vendor_daily": {"day": {"openai": 49.99}}}, ("openai", "anthropic", "groq"), {}),
        # the first spent budget in policy order is the reason
        ({"vendor_daily": {"day": {"anthropic": 60.0}},
          "vendor_hourly": {"hour": {"anthropic": 6.0, "groq": 5.0}}}, ("openai",),
         {"anthropic": "budget vendor_daily for anthropic is spent: $60.00 of $50.00 per day",
          "groq": "budget vendor_hourly for groq is spent: $5.00 of $5.00 per hour"}),
        # spend in another period does not count
        ({"vendor_hourly": {"day": {"openai": 500.0}}}, ("openai", "anthropic", "groq"), {}),
        # "*" is every provider without an entry of its own
        ({"vendor_daily": {"day": {"*": 50.0, "groq": 1.0}}}, ("groq",),
         {"openai": "budget vendor_daily for openai is spent: $50.00 of $50.00 per day",
          "anthropic": "budget vendor_daily for anthropic is spent: $50.00 of $50.00 per day"}),
    ],
)  # fmt: skip
def test_budget_per_provider_refuses_the_spent_provider(
    budgets: dict[str, object], providers: tuple[str, ...], excluded: dict[str, str]
) -> None:
    decision = decide(PER_PROVIDER, R, snap(budgets=budgets))
    assert decision.route == "default" and decision.denied is None
    assert decision.providers == providers
    assert dict(decision.excluded) == excluded
    assert decision.trace is not None
    assert decision.trace.budgets == ()  # checked per candidate, not per request


def test_every_provider_spent_is_no_provider_available() -> None:
    snapshot = snap(budgets={"vendor_daily": {"day": 50.0}})
    decision = decide(PER_PROVIDER, R, snapshot)
    assert decision.plans[0].attempts == () and decision.denied is None
    with pytest.raises(NoProviderAvailableError, match="budget vendor_daily for groq is spent"):
        PER_PROVIDER.decide(R, snapshot)


def test_budget_per_provider_is_read_afresh_by_the_memoised_planner() -> None:
    """Spend is not under a provider's stamp: the memoised planner (live registry, a route
    reading the provider alone) must see a budget spent between two decisions."""
    from llmpool_policy.metrics import ManualClock, MetricsRegistry

    registry = MetricsRegistry(clock=ManualClock(1_000.0))
    registry.reconcile(["openai", "anthropic", "groq"])
    first = PER_PROVIDER.decide(R, registry.snapshot())
    assert first.providers == ("openai", "anthropic", "groq")
    registry.record_budget("vendor_daily", "openai", "day", 50.0)
    second = PER_PROVIDER.decide(R, registry.snapshot())
    assert second.providers == ("anthropic", "groq")
    assert second == PER_PROVIDER.decide_reference(R, registry.snapshot())


def test_budgets_under_a_cent_render_with_enough_digits() -> None:
    """A $0.005 budget said "$0.00 of $0.00"; every place a budget prints renders it alike."""
    policy = compile_policy("budget tiny = $0.005 per day on breach deny\nroute d { use [openai] }")
    snapshot = snap(budgets={"tiny": {"day": 0.0051}})
    decision = decide(policy, R, snapshot)
    assert decision.denied == "budget tiny is spent: $0.0051 of $0.005 per day"
    assert "  budget tiny: $0.0051 of $0.005 (BREACHED) -> deny" in decision.explain()
    with pytest.raises(BudgetExceededError, match=r"\$0\.0051 of \$0\.005 per day"):
        policy.decide(R, snapshot)
    assert "  budget tiny: $0.005 per day -> deny" in policy.graph.describe()
    big = decide(compile_policy("budget b = $50 per day\nroute d { use [openai] }"), R, snap())
    assert "  budget b: $0.00 of $50.00 (within)" in big.explain()
