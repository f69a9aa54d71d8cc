"""Rate limits reserve at dispatch, so concurrency cannot overshoot them."""

from __future__ import annotations

import asyncio
import math
import threading

import pytest

from llmpool_policy.metrics import (
    LimitSpec,
    ManualClock,
    MetricsRegistry,
    RateLimits,
    Refused,
    Reservation,
)


def test_rpm_2_with_10_concurrent_threads_admits_exactly_2() -> None:
    limits = RateLimits(LimitSpec(rpm=2))
    barrier = threading.Barrier(10)
    results: list[Reservation | Refused] = []

    def call() -> None:
        barrier.wait()
        results.append(limits.reserve(100.0))

    threads = [threading.Thread(target=call) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    granted = [r for r in results if isinstance(r, Reservation)]
    assert len(granted) == 2
    assert all(r.reason == "rpm" for r in results if isinstance(r, Refused))
    assert limits.used("rpm", 100.0) == 2 and limits.remaining("rpm", 100.0) == 0


def test_rpm_2_with_10_concurrent_tasks_through_the_registry() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"], limits={"p": LimitSpec(rpm=2)})
    p = registry.provider("p")

    async def attempt() -> bool:
        got = p.on_dispatch()
        if not got:
            return False
        await asyncio.sleep(0)  # the call is in flight while the others try
        got.complete(None, latency_s=0.1)
        return True

    async def main() -> list[bool]:
        return await asyncio.gather(*(attempt() for _ in range(10)))

    assert sum(asyncio.run(main())) == 2
    assert p.in_flight == 0
    snapshot = registry.snapshot().provider("p")
    assert (snapshot.rpm_used, snapshot.rpm_remaining, snapshot.requests(60.0)) == (2, 0, 2)


def test_zero_is_a_limit_and_none_is_unlimited() -> None:
    assert isinstance(RateLimits(LimitSpec(rpm=0)).reserve(0.0), Refused)
    unlimited = RateLimits(LimitSpec())
    for _ in range(1000):
        assert unlimited.reserve(0.0)
    assert unlimited.remaining("rpm", 0.0) is None and unlimited.used("rpm", 0.0) == 1000
    with pytest.raises(ValueError):
        LimitSpec(rpm=-1)


def test_slots_free_after_a_minute_never_before() -> None:
    limits = RateLimits(LimitSpec(rpm=1))
    assert limits.reserve(10.5)
    refused = limits.reserve(11.0)
    assert isinstance(refused, Refused) and refused.retry_in_s is not None
    assert 59.0 <= refused.retry_in_s <= 61.0
    assert isinstance(limits.reserve(10.5 + 60.0 - 1e-6), Refused)
    assert limits.reserve(11.0 + refused.retry_in_s)


def test_rpd_counts_the_day() -> None:
    limits = RateLimits(LimitSpec(rpd=3))
    for t in (0.0, 3600.0, 7200.0):
        assert limits.reserve(t)
    assert isinstance(limits.reserve(80000.0), Refused)
    assert limits.reserve(86400.0 + 60.0)  # the first has left the day


def test_tokens_reserve_then_settle_to_actual_usage() -> None:
    limits = RateLimits(LimitSpec(tpm=1000))
    first = limits.reserve(0.0, tokens=600)
    assert isinstance(first, Reservation)
    assert isinstance(limits.reserve(0.0, tokens=500), Refused)  # 600 + 500 > 1000
    first.settle(200)
    assert limits.used("tpm", 0.0) == 200 and limits.remaining("tpm", 0.0) == 800
    assert limits.reserve(0.0, tokens=500)
    with pytest.raises(RuntimeError, match="already settled"):
        first.settle(100)


def test_cancel_gives_everything_back() -> None:
    limits = RateLimits(LimitSpec(rpm=1, tpm=100))
    r = limits.reserve(0.0, tokens=100)
    assert isinstance(r, Reservation)
    r.cancel()
    assert limits.used("rpm", 0.0) == 0 and limits.used("tpm", 0.0) == 0
    assert limits.reserve(0.0, tokens=100)
    with pytest.raises(RuntimeError, match="already cancelled"):
        r.cancel()


def test_header_learned_limit_lowers_remaining_until_the_reset() -> None:
    limits = RateLimits(LimitSpec(rpm=100))
    limits.update_from_headers(0.0, kind="rpm", remaining=2, reset_in_s=20.0)
    assert limits.remaining("rpm", 0.0) == 2
    assert limits.reserve(1.0) and limits.reserve(1.0)
    refused = limits.reserve(2.0)
    assert isinstance(refused, Refused) and refused.reason == "rpm"
    assert refused.retry_in_s == pytest.approx(18.0)
    assert limits.reserve(20.0)  # reset passed: the configured 100 (minus 2 used) governs
    assert limits.remaining("rpm", 20.0) == 97


def test_header_learned_limit_applies_without_a_configured_one() -> None:
    limits = RateLimits()
    assert limits.remaining("tpm", 0.0) is None
    limits.update_from_headers(0.0, kind="tpm", remaining=1000, reset_in_s=6.0)
    r = limits.reserve(0.0, tokens=400)
    assert isinstance(r, Reservation) and limits.remaining("tpm", 0.0) == 600
    r.settle(900)
    assert limits.remaining("tpm", 1.0) == 100
    assert isinstance(limits.reserve(1.0, tokens=200), Refused)
    assert limits.remaining("tpm", 6.0) is None
    with pytest.raises(ValueError):
        limits.update_from_headers(0.0, kind="rps", remaining=1, reset_in_s=1.0)  # type: ignore[arg-type]


def test_retry_after_cool_down() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"])
    p = registry.provider("p")
    p.cool_down(30.0)
    assert registry.snapshot().provider("p").cooling_down
    refused = p.on_dispatch()
    assert isinstance(refused, Refused) and refused.reason == "cool_down"
    assert refused.retry_in_s == 30.0
    p.cool_down_until(10.0)  # never shortens
    clock.advance(29.9)
    assert not p.on_dispatch()
    clock.advance(0.1)
    assert p.on_dispatch()
    assert not registry.snapshot().provider("p").cooling_down


def test_soft_gate_counts_without_refusing() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"], limits={"p": LimitSpec(rpm=0)})
    p = registry.provider("p")
    assert isinstance(p.on_dispatch(), Refused)
    forced = p.on_dispatch(enforce=False)
    assert forced and p.in_flight == 1
    assert registry.snapshot().provider("p").rpm_used == 1


def test_available_in_names_when_on_dispatch_would_admit() -> None:
    """The executor's gate answer: read-only, and equal to what on_dispatch then does."""
    from llmpool_policy.metrics import BreakerSpec

    clock = ManualClock()
    registry = MetricsRegistry(clock)
    breaker = BreakerSpec(failures=1, cool_down_s=30.0, probes=1)
    registry.reconcile(["p"], limits={"p": LimitSpec(rpm=1)}, breakers={"p": breaker})
    p = registry.provider("p")
    assert p.available_in() == 0.0
    attempt = p.on_dispatch()
    assert attempt
    release = p.available_in()
    assert 60.0 <= release <= 61.0  # rpm 1 spent: its bucket's release (1 s buckets)
    attempt.complete("server_error", 0.1)  # opens the breaker for 30 s
    assert p.available_in() == release  # the later of the two
    clock.advance(release)
    assert p.available_in() == 0.0 and p.on_dispatch()  # half-open, the probe slot taken
    assert p.available_in() == math.inf  # no time can be named until the probe ends
    p.cool_down(45.0)
    assert p.available_in() == math.inf
    assert not p.on_dispatch()
