"""The breaker against a tiny model state machine, and its promises one by one."""

from __future__ import annotations

import threading

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from llmpool_policy.metrics import (
    Breaker,
    BreakerSpec,
    LimitSpec,
    ManualClock,
    MetricsRegistry,
    Refused,
    Transition,
)

SPEC = BreakerSpec(
    failures=3,
    failure_window_s=10.0,
    cool_down_s=5.0,
    extend_on_failure=True,
    extend_cap_s=8.0,
    probes=2,
)
OUTCOMES = (None, "server_error", "timeout", "bad_request", "auth", "cancelled", "rate_limited")


class Model:
    """The breaker as plainly as it can be said."""

    def __init__(self) -> None:
        self.state = "closed"
        self.until = 0.0
        self.cool = SPEC.cool_down_s
        self.out = 0
        self.failure_times: list[float] = []

    def state_at(self, now: float) -> str:
        return "half_open" if self.state == "open" and now >= self.until else self.state

    def record(self, now: float, outcome: str | None) -> None:
        if self.state != "closed" or outcome not in SPEC.counted:
            return
        self.failure_times.append(now)
        last = self.failure_times[-3:]
        if len(last) == 3 and last[0] > now - 10.0:
            self.state, self.until = "open", now + self.cool

    def acquire(self, now: float) -> bool:
        if self.state_at(now) != "half_open":
            return False
        self.state = "half_open"
        if self.out >= SPEC.probes:
            return False
        self.out += 1
        return True

    def record_probe(self, now: float, outcome: str | None) -> None:
        self.out = max(0, self.out - 1)
        if self.state != "half_open":
            return
        if outcome is None:
            self.state, self.failure_times, self.cool = "closed", [], SPEC.cool_down_s
        elif outcome in SPEC.counted:
            self.cool = min(self.cool * 2, 8.0)
            self.state, self.until = "open", now + self.cool


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 0.0
        self.breaker = Breaker(SPEC)
        self.model = Model()
        self.held = 0
        self.transitions: list[Transition] = []
        self.breaker.listeners.append(self.transitions.append)

    @rule(dt=st.sampled_from([0.0, 0.5, 1.0, 3.0, 5.0, 9.9, 10.0, 25.0]))
    def advance(self, dt: float) -> None:
        self.now += dt

    @rule(outcome=st.sampled_from(OUTCOMES))
    def finish_call(self, outcome: str | None) -> None:
        self.breaker.record(self.now, outcome)
        self.model.record(self.now, outcome)

    @rule()
    def acquire_probe(self) -> None:
        got = self.breaker.try_acquire_probe(self.now)
        assert got == self.model.acquire(self.now)
        self.held += got

    @precondition(lambda self: self.held > 0)
    @rule(outcome=st.sampled_from(OUTCOMES))
    def finish_probe(self, outcome: str | None) -> None:
        self.held -= 1
        self.breaker.record(self.now, outcome, probe=True)
        self.model.record_probe(self.now, outcome)

    @invariant()
    def agrees(self) -> None:
        assert self.breaker.state(self.now) == self.model.state_at(self.now)
        assert self.breaker.probes_in_flight == self.model.out <= SPEC.probes
        assert self.breaker.current_cool_down_s == self.model.cool
        expected_allows = {
            "closed": True,
            "open": False,
            "half_open": self.model.out < SPEC.probes,
        }[self.model.state_at(self.now)]
        assert self.breaker.allows(self.now) == expected_allows
        for before, after in zip(self.transitions, self.transitions[1:], strict=False):
            assert before.to_state == after.from_state


TestBreakerModel = BreakerMachine.TestCase
TestBreakerModel.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)


def _trip(b: Breaker, now: float, n: int = 5, outcome: str = "server_error") -> None:
    for _ in range(n):
        b.record(now, outcome)


def test_defaults_follow_the_seed() -> None:
    spec = BreakerSpec()
    assert (spec.failures, spec.failure_window_s, spec.cool_down_s, spec.probes) == (5, 60, 60, 1)
    assert "bad_request" not in spec.counted and "auth" not in spec.counted
    assert BreakerSpec.from_seed(3, 30000) == BreakerSpec(failures=3, cool_down_s=30.0)
    with pytest.raises(ValueError, match="probes"):
        BreakerSpec(probes=0)
    with pytest.raises(ValueError, match="error_rate"):
        BreakerSpec(error_rate=1.5)
    with pytest.raises(ValueError, match="cool_down_s"):
        BreakerSpec(cool_down_s=-1.0)


def test_a_seed_timeout_of_zero_admits_a_probe_at_once() -> None:
    # `circuit_breaker_timeout: 0` is a valid seed value (>= 0); it used to raise ValueError
    b = Breaker(BreakerSpec.from_seed(1, 0))
    b.record(10.0, "server_error")
    assert b.state(10.0) == "half_open" and b.try_acquire_probe(10.0)
    assert b.allows(10.0) is False  # the one probe is out: nothing else passes


def test_client_errors_never_trip() -> None:
    b = Breaker()
    for outcome in ("bad_request", "auth", "not_found", "content_policy", "cancelled"):
        _trip(b, 0.0, 50, outcome)
    assert b.state(0.0) == "closed"
    _trip(b, 0.0, 5)
    assert b.state(0.0) == "open"


def test_failures_outside_the_window_do_not_add_up() -> None:
    b = Breaker()
    for i in range(20):
        b.record(i * 15.0, "timeout")  # four in any 60 s, never five
    assert b.state(300.0) == "closed"


def test_error_rate_mode_waits_for_volume() -> None:
    b = Breaker(BreakerSpec(failures=None, error_rate=0.5, min_requests=10))
    for _ in range(4):
        b.record(0.0, "overloaded")
    assert b.state(0.0) == "closed"  # 100% errors but only 4 requests
    for _ in range(5):
        b.record(1.0, None)
    assert b.state(1.0) == "closed"  # 4 of 9
    t = b.record(2.0, "overloaded")  # 5 of 10
    assert t is not None and t.to_state == "open" and b.state(2.0) == "open"


def test_cool_down_extends_on_probe_failure_up_to_the_cap() -> None:
    b = Breaker(BreakerSpec(cool_down_s=10.0, extend_on_failure=True, extend_cap_s=35.0))
    _trip(b, 0.0)
    now, cools = 0.0, []
    for _ in range(4):
        until = b.open_until
        assert until is not None
        cools.append(until - now)
        now = until
        assert b.state(now - 0.001) == "open" and b.state(now) == "half_open"
        assert b.try_acquire_probe(now)
        t = b.record(now, "timeout", probe=True)
        assert t is not None and t.to_state == "open"
    assert cools == [10.0, 20.0, 35.0, 35.0]
    now = b.open_until or 0.0
    assert b.try_acquire_probe(now)
    t = b.record(now, None, probe=True)
    assert t is not None and t.to_state == "closed" and b.current_cool_down_s == 10.0


def test_transitions_reach_registry_listeners() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"], breakers={"p": BreakerSpec(failures=2, cool_down_s=5.0)})
    seen: list[tuple[str, str, str]] = []
    registry.on_transition(lambda name, t: seen.append((name, t.from_state, t.to_state)))
    p = registry.provider("p")
    for _ in range(2):
        attempt = p.on_dispatch()
        assert attempt
        attempt.complete("connection")
    assert isinstance(p.on_dispatch(), Refused)
    clock.advance(5.0)
    probe = p.on_dispatch()
    assert probe and probe.probe
    probe.complete(None)
    assert seen == [
        ("p", "closed", "open"),
        ("p", "open", "half_open"),
        ("p", "half_open", "closed"),
    ]


def test_half_open_admits_only_the_probes_under_concurrency() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"], breakers={"p": BreakerSpec(failures=1, probes=2)})
    p = registry.provider("p")
    first = p.on_dispatch()
    assert first
    first.complete("timeout")
    clock.advance(60.0)
    results: list[object] = []
    barrier = threading.Barrier(20)

    def call() -> None:
        barrier.wait()
        results.append(p.on_dispatch())

    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted = [r for r in results if not isinstance(r, Refused)]
    assert len(admitted) == 2
    assert {r.reason for r in results if isinstance(r, Refused)} == {"probes_busy"}


def test_a_refused_rate_limit_does_not_hold_a_probe_slot() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(
        ["p"], breakers={"p": BreakerSpec(failures=1)}, limits={"p": LimitSpec(rpm=1)}
    )
    p = registry.provider("p")
    a = p.on_dispatch()
    assert a
    a.complete("timeout")
    clock.advance(30.0)
    p.cool_down(60.0)
    clock.advance(30.0)
    refused = p.on_dispatch()
    assert isinstance(refused, Refused) and refused.reason == "cool_down"
    assert p.breaker.probes_in_flight == 0


def test_closing_forgets_the_failures_that_opened_it() -> None:
    b = Breaker(BreakerSpec(failures=3, cool_down_s=1.0))
    _trip(b, 0.0, 3)
    assert b.try_acquire_probe(1.0)
    b.record(1.0, None, probe=True)
    b.record(1.5, "timeout")
    b.record(1.5, "timeout")
    assert b.state(1.5) == "closed"  # two new failures, not five old and new
    b.record(1.5, "timeout")
    assert b.state(1.5) == "open"


def test_on_complete_rejects_unknown_outcomes_and_foreign_attempts() -> None:
    registry = MetricsRegistry(ManualClock())
    registry.reconcile(["p", "q"])
    attempt = registry.provider("p").on_dispatch()
    assert attempt
    with pytest.raises(ValueError, match="unknown error class 'teapot'"):
        attempt.complete("teapot")
    with pytest.raises(ValueError, match="dispatched to 'p'"):
        registry.provider("q").on_complete(attempt, None)
    assert registry.provider("p").in_flight == 1
    attempt.complete(None)
    with pytest.raises(RuntimeError, match="already completed"):
        attempt.complete(None)
