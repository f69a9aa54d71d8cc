"""Decisions kept across requests: the per-provider rows and whole plans the compiled graph keeps
under the providers' stamps must never change a decision.

The oracle is the same graph reading every provider afresh (a snapshot without ``stamps``) and
the reference interpreter; the live registry is driven through random traffic, cool-downs,
learned limits and clock moves across bucket and window edges between decisions.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from llmpool_policy import metrics as m
from llmpool_policy.decision import Decision
from llmpool_policy.errors import ERROR_CLASSES, PolicyError
from llmpool_policy.metrics.snapshot import MetricsSnapshot, ProviderView, Stamp
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts

from .strategies import policies, provider_facts, requests


class Unstamped:
    """A snapshot without ``stamps``: the graph reads every provider afresh."""

    def __init__(self, inner: MetricsSnapshot) -> None:
        self._inner = inner

    @property
    def now(self) -> float:
        return self._inner.now

    def provider(self, name: str) -> ProviderView:
        return self._inner.provider(name)

    def budget_spent(self, budget_name: str, key: str | None, period: str) -> float:
        return self._inner.budget_spent(budget_name, key, period)


class Counting(Unstamped):
    """A stamped snapshot that counts which providers' views were asked for."""

    def __init__(self, inner: m.LiveSnapshot, reads: list[str]) -> None:
        super().__init__(inner)
        self._live = inner
        self.reads = reads

    def provider(self, name: str) -> ProviderView:
        self.reads.append(name)
        return self._live.provider(name)

    def stamps(self, names: tuple[str, ...], windows: tuple[float, ...]) -> tuple[Stamp, ...]:
        return self._live.stamps(names, windows)


def assert_same(policy: Policy, request: RoutingRequest, snapshot: MetricsSnapshot) -> None:
    fresh = Unstamped(snapshot)
    for trace in (False, True):
        kept = policy.decide(request, snapshot, trace=trace, raise_if_unroutable=False)
        again = policy.decide(request, fresh, trace=trace, raise_if_unroutable=False)
        assert kept == again
        assert kept.trace == again.trace
        assert kept.to_json_text() == again.to_json_text()
    expected = policy.decide_reference(request, snapshot)
    assert kept == expected
    assert kept.trace == expected.trace


# ---- a live registry under random traffic -------------------------------------------------------

# windows whose bucket ranges move off the whole-second grid, next to the usual ones
UNALIGNED = (
    "skip when error_rate(95s) > 40%",
    "avoid when requests(7s) > 3",
    "avoid when latency.p50(65s) > 900ms",
    "skip when success_rate(1500ms) < 50%",
)

_STEP = st.one_of(
    st.tuples(st.just("advance"), st.sampled_from([0.0005, 0.001, 0.25, 0.999, 1.0, 2.5, 5.0,
                                                   9.999, 10.0, 30.0, 61.0, 95.0])),
    st.tuples(st.just("finish"), st.integers(0, 9), st.sampled_from([None, *ERROR_CLASSES]),
              st.sampled_from([0.05, 0.4, 1.2, 6.0])),
    st.tuples(st.just("dispatch"), st.integers(0, 9)),
    st.tuples(st.just("cancel"), st.integers(0, 9)),
    st.tuples(st.just("headers"), st.integers(0, 9), st.sampled_from(["rpm", "rpd", "tpm"]),
              st.integers(0, 3), st.sampled_from([0.5, 3.0, 60.0])),
    st.tuples(st.just("cool_down"), st.integers(0, 9), st.sampled_from([0.3, 2.0, 20.0])),
    st.tuples(st.just("decide"), st.integers(0, 3)),
)  # fmt: skip


class Traffic:
    """A registry on a manual clock, moved by steps; attempts left open can finish later."""

    def __init__(self, names: list[str]) -> None:
        self.clock = m.ManualClock(1000.0)
        self.registry = m.MetricsRegistry(self.clock)
        self.names = names
        self.registry.reconcile(
            names,
            limits={n: m.LimitSpec(rpm=6, rpd=40, tpm=4000) for n in names},
            breakers={
                n: m.BreakerSpec(failures=2, failure_window_s=30.0, cool_down_s=3.0,
                                 extend_on_failure=True, extend_cap_s=20.0)
                for n in names
            },
        )  # fmt: skip
        self.open: list[m.Attempt] = []

    def step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "advance":
            self.clock.advance(step[1])
            return
        p = self.registry.provider(self.names[step[1] % len(self.names)])
        if kind == "finish":
            attempt = p.on_dispatch(300)
            if isinstance(attempt, m.Attempt):
                attempt.complete(step[2], step[3], 280, 0.001)
        elif kind == "dispatch":
            attempt = p.on_dispatch(100, enforce=False)
            assert isinstance(attempt, m.Attempt)
            self.open.append(attempt)
        elif kind == "cancel" and self.open:
            self.open.pop().cancel()
        elif kind == "headers":
            p.update_from_headers(kind=step[2], remaining=step[3], reset_in_s=step[4])
        elif kind == "cool_down":
            p.cool_down(step[2])


Case = tuple[str, list[ProviderFacts], list[Any], list[RoutingRequest]]


@st.composite
def _live_cases(draw: st.DrawFn) -> Case:
    facts = draw(provider_facts(min_size=2, max_size=5))
    names = [p.name for p in facts]
    extra = tuple(draw(st.lists(st.sampled_from(UNALIGNED), max_size=2, unique=True)))
    text = draw(policies(names, every_route=extra))
    steps = draw(st.lists(_STEP, min_size=5, max_size=40))
    reqs = draw(st.lists(requests(), min_size=1, max_size=4))
    return text, facts, steps, reqs


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(_live_cases())
def test_kept_rows_never_change_a_live_decision(case: Case) -> None:
    text, facts, steps, reqs = case
    try:
        policy = Policy.from_text(text, config=facts)
    except PolicyError:
        assume(False)
        raise
    traffic = Traffic([p.name for p in facts])
    for step in steps:
        if step[0] == "decide":
            snapshot = traffic.registry.snapshot()
            assert_same(policy, reqs[step[1] % len(reqs)], snapshot)
        else:
            traffic.step(step)
    for request in reqs:  # and at the end, every request on the final state
        assert_same(policy, request, traffic.registry.snapshot())


# ---- the memo is used, and only where it may be -------------------------------------------------

FACTS = [
    ProviderFacts(f"p{i}", {"name": f"p{i}", "type": "openai", "priority": i % 3,
                            "supports.vision": i != 2, "supports.tools": True,
                            "context_window": 64_000})
    for i in range(5)
]  # fmt: skip
DEFAULT_LIKE = """policy "p"
route main {
  use all
  skip when breaker.open or rpm.remaining == 0
  avoid when error_rate(1m) > 30%
  order by priority, success_rate(5m) desc, latency.p50(5m)
}
"""


@pytest.fixture
def traffic() -> Iterator[Traffic]:
    t = Traffic([p.name for p in FACTS])
    for i in range(5):  # some history everywhere
        for _ in range(3):
            t.step(("finish", i, None, 0.3 + i / 10))
    yield t


def _decide(
    policy: Policy, traffic: Traffic, request: RoutingRequest
) -> tuple[Decision, list[str]]:
    reads: list[str] = []
    snapshot = Counting(traffic.registry.snapshot(), reads)
    decision = policy.decide(request, snapshot, raise_if_unroutable=False)
    assert decision == policy.decide(request, Unstamped(traffic.registry.snapshot()),
                                     raise_if_unroutable=False)  # fmt: skip
    return decision, reads


def test_an_unchanged_pool_is_not_read_again(traffic: Traffic) -> None:
    policy = Policy.from_text(DEFAULT_LIKE, config=FACTS)
    request = RoutingRequest(id="a", input_tokens=100)
    _, first = _decide(policy, traffic, request)
    assert sorted(first) == ["p0", "p1", "p2", "p3", "p4"]
    _, second = _decide(policy, traffic, RoutingRequest(id="b", input_tokens=200))
    assert second == []


def test_only_the_provider_that_changed_is_read_again(traffic: Traffic) -> None:
    policy = Policy.from_text(DEFAULT_LIKE, config=FACTS)
    _decide(policy, traffic, RoutingRequest(id="a"))
    traffic.step(("finish", 3, "server_error", 0.5))
    _, reads = _decide(policy, traffic, RoutingRequest(id="b"))
    assert reads == ["p3"]
    # the same with a request a capability gate refuses somewhere (images: p2 has no vision)
    traffic.step(("finish", 1, None, 0.5))
    decision, reads = _decide(policy, traffic, RoutingRequest(id="c", images=1))
    assert reads == ["p1"]
    assert ("p2", "cannot take images") in decision.excluded


def test_time_alone_ends_a_stamp_at_the_next_bucket_edge(traffic: Traffic) -> None:
    policy = Policy.from_text(DEFAULT_LIKE, config=FACTS)
    _decide(policy, traffic, RoutingRequest(id="a"))
    traffic.clock.set(traffic.clock.now() // 1.0 + 0.999)  # same second: nothing moved
    assert _decide(policy, traffic, RoutingRequest(id="b"))[1] == []
    traffic.clock.advance(0.002)  # the next second: per-second counters may have moved
    assert sorted(_decide(policy, traffic, RoutingRequest(id="c"))[1]) == [
        "p0", "p1", "p2", "p3", "p4",
    ]  # fmt: skip


def test_an_open_breaker_reads_half_open_when_its_cool_down_ends(traffic: Traffic) -> None:
    policy = Policy.from_text(
        'policy "p"\nroute main {\n  use all\n  skip when breaker.open\n}\n', config=FACTS
    )
    traffic.step(("finish", 0, "server_error", 0.5))
    traffic.step(("finish", 0, "server_error", 0.5))  # two failures: p0's breaker opens for 3 s
    request = RoutingRequest(id="a")
    first, _ = _decide(policy, traffic, request)
    assert "p0" not in first.providers
    traffic.clock.advance(2.999 - (traffic.clock.now() % 1.0))  # well inside the cool-down
    traffic.clock.advance(3.0)  # past it: half-open admits a probe, so p0 is a candidate again
    later, _ = _decide(policy, traffic, request)
    assert "p0" in later.providers


def test_a_route_that_reads_the_request_reads_afresh(traffic: Traffic) -> None:
    policy = Policy.from_text(
        'policy "p"\nroute main {\n  use all\n  skip when tpm.remaining < request.input_tokens\n'
        "  order by cost\n}\n",
        config=FACTS,
    )
    _decide(policy, traffic, RoutingRequest(id="a", input_tokens=10))
    _, reads = _decide(policy, traffic, RoutingRequest(id="b", input_tokens=5000))
    assert sorted(reads) == ["p0", "p1", "p2", "p3", "p4"]


def test_static_snapshots_keep_rows_per_snapshot() -> None:
    policy = Policy.from_text(DEFAULT_LIKE, config=FACTS)
    calm = m.StaticSnapshot.from_dict({"providers": {"p0": {"breaker_state": "closed"}}})
    storm = m.StaticSnapshot.from_dict({"providers": {"p0": {"breaker_state": "open"}}})
    request = RoutingRequest(id="a")
    for _ in range(2):  # alternating snapshots never see each other's rows
        assert "p0" in policy.decide(request, calm).providers
        assert "p0" not in policy.decide(request, storm).providers


def test_a_kept_order_is_checked_against_its_neighbours(traffic: Traffic) -> None:
    """The lean path keeps the last order when a changed provider's key stays between its
    neighbours', and re-sorts when it does not (ties fall to policy order)."""
    policy = Policy.from_text(
        'policy "p"\nroute main {\n  use all\n  order by in_flight\n}\n', config=FACTS
    )
    first, _ = _decide(policy, traffic, RoutingRequest(id="a"))
    assert first.providers == ("p0", "p1", "p2", "p3", "p4")
    traffic.step(("dispatch", 4))  # p4 is last already: the order stands
    same, reads = _decide(policy, traffic, RoutingRequest(id="b"))
    assert reads == ["p4"]
    assert same.providers == ("p0", "p1", "p2", "p3", "p4")
    traffic.step(("dispatch", 0))  # p0 now has one in flight: it moves behind p1..p3, before p4
    moved, reads = _decide(policy, traffic, RoutingRequest(id="c"))
    assert reads == ["p0"]
    assert moved.providers == ("p1", "p2", "p3", "p0", "p4")
    traffic.step(("dispatch", 2))
    traffic.step(("dispatch", 3))  # two changed at once
    again, reads = _decide(policy, traffic, RoutingRequest(id="d"))
    assert sorted(reads) == ["p2", "p3"]
    assert again.providers == ("p1", "p0", "p2", "p3", "p4")
    traffic.step(("cancel", 0))  # p3's attempt given back: it moves ahead again
    back, _ = _decide(policy, traffic, RoutingRequest(id="e"))
    assert back.providers == ("p1", "p3", "p0", "p2", "p4")


_ORDER_KEYS = ("in_flight", "rpm.remaining", "requests(1m)", "error_rate(1m)",
               "success_rate(5m) desc", "tpm.used", "spend(1h) desc", "priority")  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.sampled_from(_ORDER_KEYS), min_size=1, max_size=3, unique=True),
    st.booleans(),
    st.lists(
        st.lists(_STEP.filter(lambda s: s[0] != "decide"), min_size=0, max_size=3),
        min_size=3,
        max_size=25,
    ),
)
def test_a_kept_order_never_differs_from_a_full_sort(
    keys: list[str], skip: bool, rounds: list[list[tuple[Any, ...]]]
) -> None:
    """The lean path's neighbour check, under plain requests and a few changes between
    decisions (where it is taken), against the graph reading afresh."""
    gate = "  skip when breaker.open or rpm.remaining == 0\n" if skip else ""
    policy = Policy.from_text(
        f'policy "p"\nroute main {{\n  use all\n{gate}  order by {", ".join(keys)}\n}}\n',
        config=FACTS,
    )
    traffic = Traffic([p.name for p in FACTS])
    for n, steps in enumerate(rounds):
        for step in steps:
            traffic.step(step)
        request = RoutingRequest(id=f"r{n}", input_tokens=100)
        assert_same(policy, request, traffic.registry.snapshot())
