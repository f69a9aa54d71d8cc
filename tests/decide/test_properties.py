"""Properties of `decide` over generated policies, requests and metric states: it raises only
the two typed errors, hard gates hold, splits converge to their weights and stick by key, and
nothing it reads is changed."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmpool_policy.errors import BudgetExceededError, NoProviderAvailableError, PolicyError
from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts

from .strategies import policies, provider_facts, requests, snapshots
from .support import PROVIDERS, compile_policy

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
Case = tuple[Policy, list[RoutingRequest], list[StaticSnapshot]]


@st.composite
def _cases(draw: st.DrawFn, every_route: tuple[str, ...] = ()) -> Case:
    facts: list[ProviderFacts] = draw(provider_facts())
    names = [p.name for p in facts]
    text = draw(policies(names, every_route))
    try:
        policy = Policy.from_text(text, config=facts)
    except PolicyError:
        assume(False)
        raise
    reqs = draw(st.lists(requests(), min_size=1, max_size=4))
    snaps = draw(st.lists(snapshots(names), min_size=1, max_size=3))
    return policy, reqs, snaps


@SETTINGS
@given(_cases())
def test_decide_raises_only_the_typed_errors(case: Case) -> None:
    policy, reqs, snaps = case
    for request in reqs:
        for snapshot in snaps:
            for trace in (False, True):
                try:
                    decision = policy.decide(request, snapshot, trace=trace)
                except NoProviderAvailableError as exc:
                    assert exc.decision.attempts == ()  # type: ignore[attr-defined]
                    assert exc.reasons == dict(exc.decision.excluded)  # type: ignore[attr-defined]
                except BudgetExceededError as exc:
                    assert exc.decision.denied is not None  # type: ignore[attr-defined]
                else:
                    assert decision.ok
                    assert decision.route is not None


HARD = "skip when breaker.open or rpm.remaining == 0"


@SETTINGS
@given(_cases(every_route=(HARD,)))
def test_hard_gates_keep_open_and_exhausted_providers_out_of_every_plan(case: Case) -> None:
    policy, reqs, snaps = case
    for request in reqs:
        for snapshot in snaps:
            decision = policy.decide(request, snapshot, raise_if_unroutable=False)
            for name in decision.providers:
                view = snapshot.provider(name)
                assert view.breaker_state != "open"
                assert view.rpm_remaining != 0
            for name, reason in decision.excluded:
                view = snapshot.provider(name)
                if view.breaker_state == "open" or view.rpm_remaining == 0:
                    assert reason == HARD or not reason.startswith("skip")


@SETTINGS
@given(_cases())
def test_decide_does_not_change_the_snapshot_or_the_request(case: Case) -> None:
    policy, reqs, snaps = case
    for request in reqs:
        for snapshot in snaps:
            before_request = copy.deepcopy(request)
            before_document = copy.deepcopy(snapshot.to_dict())
            first = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
            policy.decide(request, snapshot, raise_if_unroutable=False)
            policy.decide_reference(request, snapshot)
            assert request == before_request
            assert dict(request.metadata) == dict(before_request.metadata)
            assert snapshot.to_dict() == before_document
            # and reading it again gives the same answer
            again = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
            assert again.to_json_text() == first.to_json_text()


# ---- splits -------------------------------------------------------------------------------------

DRAWS = 100_000


@pytest.mark.parametrize(
    ("weights", "by"),
    [
        ({"openai": 30, "anthropic": 50, "groq": 20}, " by request.user"),
        ({"openai": 1, "anthropic": 99}, " by request.user"),
        ({"openai": 10, "anthropic": 15, "groq": 25, "together": 20, "gemini": 30},
         " by request.user"),
        ({"openai": 30, "anthropic": 50, "groq": 20}, ""),  # no key: drawn from the seed
    ],
    ids=["30-50-20", "1-99", "five-arms", "by-seed"],
)  # fmt: skip
def test_splits_converge_to_their_weights(weights: dict[str, int], by: str) -> None:
    arms = ", ".join(f"{name} {w}%" for name, w in weights.items())
    policy = compile_policy(f"route default {{\n  use all\n  split {arms}{by}\n}}")
    if by:
        reqs = (RoutingRequest(id="same", user=f"user-{i}") for i in range(DRAWS))
    else:
        reqs = (RoutingRequest(seed=i) for i in range(DRAWS))
    counts = Counter(policy.decide(r).providers[0] for r in reqs)
    assert set(counts) == set(weights)
    for name, weight in weights.items():
        share = 100 * counts[name] / DRAWS
        assert abs(share - weight) < 1.0, (name, share, weight)


STICKY = compile_policy("""
route default {
  use [openai, anthropic, groq]
  split openai 20%, anthropic 45%, groq 35% by request.metadata.account
  skip when breaker.open
}
""")


@settings(max_examples=200, deadline=None)
@given(
    key=st.one_of(st.text(max_size=12), st.integers()),
    ids=st.lists(st.text(max_size=6), min_size=2, max_size=5),
    seeds=st.lists(st.none() | st.integers(0, 2**40), min_size=2, max_size=5),
)
def test_splits_are_sticky_by_key(key: str | int, ids: list[str], seeds: list[int | None]) -> None:
    arms = {
        STICKY.decide(RoutingRequest(id=i, seed=s, metadata={"account": key})).providers[0]
        for i in ids
        for s in seeds
    }
    assert len(arms) == 1
    # an int key and its string form are the same key
    arm = arms.pop()
    assert STICKY.decide(RoutingRequest(metadata={"account": str(key)})).providers[0] == arm


def test_providers_of_the_pool_are_what_the_split_tests_assume() -> None:
    assert [p.name for p in PROVIDERS] == ["openai", "anthropic", "groq", "together", "gemini"]
