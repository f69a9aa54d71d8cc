"""Windows longer than an hour (issue 11, item 6): `spend(1d)` and `spend(30d)` read what they
say, from rollup tiers that cost nothing per event and keep memory fixed."""

from __future__ import annotations

import math
import tracemalloc

from llmpool_policy.metrics import ManualClock, MetricsRegistry, ProviderMetrics

DAY = 86_400.0


def settle(p: ProviderMetrics, cost: float, outcome: str | None = None) -> None:
    attempt = p.on_dispatch()
    assert attempt
    attempt.complete(outcome, latency_s=0.2, cost=cost)


def test_spend_of_a_day_after_two_hours_reads_all_of_it() -> None:
    # the numbers: $0.00045 every 30 min for 2 h (six calls) is $0.0027, of which
    # the last hour alone (what main read) is $0.0009
    clock = ManualClock(1_000.0)
    registry = MetricsRegistry(clock)
    p = registry.add("p")
    for _ in range(6):
        settle(p, 0.00045)
        clock.advance(1_200.0)
    view = registry.snapshot().provider("p")
    assert math.isclose(view.spend(DAY), 0.0027)
    assert math.isclose(view.spend(3600.0), 0.00045 * 3)  # the hour tier: 10 s buckets
    assert view.requests(DAY) == 6 and view.requests(2 * 3600.0) == 6
    assert view.success_rate(DAY) == 1.0


def test_spend_of_thirty_days_after_several_days() -> None:
    clock = ManualClock(0.0)
    registry = MetricsRegistry(clock)
    p = registry.add("p")
    for day in range(40):  # 40 days, $1 a day in four calls, one failing
        for k in range(4):
            settle(p, 0.25, "server_error" if k == 3 else None)
            clock.advance(DAY / 4)
        if day == 4:  # after five days: all of them
            assert math.isclose(registry.snapshot().provider("p").spend(30 * DAY), 5.0)
    view = registry.snapshot().provider("p")  # at 40 d: the last 30 d (+ one 6 h bucket)
    assert 30.0 <= view.spend(30 * DAY) <= 30.25
    assert 120 <= view.requests(30 * DAY) <= 121
    assert view.error_rate(30 * DAY) == 0.25
    assert math.isclose(view.spend(7 * DAY), 7.0, rel_tol=0.04)
    assert math.isclose(view.spend(DAY), 1.0, rel_tol=0.26)  # 15 min buckets, calls 6 h apart
    assert p.windows.errors(clock.now(), 30 * DAY)["server_error"] in (30, 31)


def test_long_windows_forget_what_is_older_than_they_are() -> None:
    clock = ManualClock(0.0)
    registry = MetricsRegistry(clock)
    p = registry.add("p")
    settle(p, 1.0)
    clock.advance(DAY + 900.0)  # past the day and its one-bucket resolution
    settle(p, 0.5)
    view = registry.snapshot().provider("p")
    assert view.spend(DAY) == 0.5 and view.spend(2 * DAY) == 1.5
    clock.advance(31 * DAY)  # idle for a month: nothing left in any window
    view = registry.snapshot().provider("p")
    assert view.spend(30 * DAY) == 0.0 and view.requests(30 * DAY) == 0
    assert view.error_rate(30 * DAY) is None


def test_memory_per_provider_is_fixed_over_weeks_of_traffic() -> None:
    clock = ManualClock(0.0)
    registry = MetricsRegistry(clock)
    p = registry.add("p")
    buckets = p.windows.buckets_kept()
    assert buckets == 62 + 362 + 98 + 122  # 1 s, 10 s, 15 min and 6 h buckets
    settle(p, 0.001)
    tracemalloc.start()
    try:
        for i in range(20_000):  # 35 days, a call every 150 s
            clock.advance(150.0)
            settle(p, 0.001, None if i % 9 else "timeout")
        first, _ = tracemalloc.get_traced_memory()
        for i in range(20_000):  # 35 more
            clock.advance(150.0)
            settle(p, 0.001, None if i % 9 else "timeout")
        second, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert p.windows.buckets_kept() == buckets
    assert abs(second - first) < 64 * 1024  # no growth with traffic (latency bins come and go)
    assert math.isclose(registry.snapshot().provider("p").spend(30 * DAY), 17.28, rel_tol=0.01)
