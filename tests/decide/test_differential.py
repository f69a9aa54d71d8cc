"""The compiled decision graph against the reference interpreter, on generated policies.

The reference (``compile/reference.py``) defines what a decision is; the compiled graph must
agree with it on the decision, on the trace, and with the trace off — byte for byte.
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmpool_policy.errors import PolicyError
from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import PoolDefaults, ProviderFacts

from .strategies import policies, provider_facts, requests, snapshots


def _compiled(text: str, facts: list[ProviderFacts]) -> Policy:
    try:
        return Policy.from_text(text, config=facts)
    except PolicyError:
        assume(False)
        raise


def assert_agree(policy: Policy, request: RoutingRequest, snapshot: StaticSnapshot) -> None:
    expected = policy.decide_reference(request, snapshot)
    traced = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
    fast = policy.decide(request, snapshot, raise_if_unroutable=False)
    assert traced == expected
    assert traced.trace == expected.trace
    assert fast == expected
    assert fast.trace is None
    assert traced.to_json_text() == expected.to_json_text()


@st.composite
def _cases(
    draw: st.DrawFn,
) -> tuple[str, list[ProviderFacts], list[RoutingRequest], list[StaticSnapshot]]:
    facts = draw(provider_facts())
    names = [p.name for p in facts]
    text = draw(policies(names))
    reqs = draw(st.lists(requests(), min_size=1, max_size=4))
    snaps = draw(st.lists(snapshots(names), min_size=1, max_size=3))
    return text, facts, reqs, snaps


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_cases())
def test_compiled_equals_reference(
    case: tuple[str, list[ProviderFacts], list[RoutingRequest], list[StaticSnapshot]],
) -> None:
    text, facts, reqs, snaps = case
    policy = _compiled(text, facts)
    for request in reqs:
        for snapshot in snaps:
            assert_agree(policy, request, snapshot)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(
    _cases(),
    st.builds(
        PoolDefaults,
        attempts=st.integers(1, 6),
        backoff_base_s=st.sampled_from([0.0, 0.25, 1.0, 45.0]),
        timeout_s=st.sampled_from([0.5, 30.0, 120.0]),
    ),
)
def test_compiled_equals_reference_under_any_pool_defaults(
    case: tuple[str, list[ProviderFacts], list[RoutingRequest], list[StaticSnapshot]],
    defaults: PoolDefaults,
) -> None:
    """The pool's max_retries / retry_delay / timeout reach both through the shared spec."""
    text, facts, reqs, snaps = case
    try:
        policy = Policy.from_text(text, config=facts, defaults=defaults)
    except PolicyError:
        assume(False)
        raise
    assert policy.graph.spec.defaults == defaults
    for request in reqs:
        for snapshot in snaps:
            assert_agree(policy, request, snapshot)
