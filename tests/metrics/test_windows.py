"""Windows match a brute-force count of the same events, within the stated resolution."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpool_policy.metrics import (
    DEFAULT_TIERS,
    ERROR_CLASSES,
    LATENCY_WINDOW_LIMIT_S,
    WINDOW_LIMIT_S,
    EventWindows,
    ManualClock,
    MetricsRegistry,
    SlidingCounter,
    Tier,
)
from llmpool_policy.semantics.signals import ERROR_CLASSES as LANGUAGE_CLASSES

OUTCOMES = (-1, *range(len(ERROR_CLASSES)))
CANCELLED = ERROR_CLASSES.index("cancelled")

# Event streams: gaps between events (seconds, with long idle stretches), outcome, cost.
events = st.lists(
    st.tuples(
        st.one_of(
            st.floats(0, 3),
            st.floats(0, 400),
            st.sampled_from([0.0, 1.0, 10.0, 900.0, 21_600.0]),
            st.floats(0, 40_000),
        ),
        st.sampled_from(OUTCOMES),
        st.sampled_from([0.0, 0.25, 1.0]),
    ),
    max_size=120,
)
windows = st.one_of(
    st.sampled_from([1.0, 5.0, 30.0, 60.0, 300.0, 900.0, 3600.0]),
    st.floats(0.5, 3600.0),
    st.sampled_from([7200.0, 86_400.0, 7 * 86_400.0, 30 * 86_400.0]),
    st.floats(3600.0, 30 * 86_400.0),
)


def test_error_classes_are_the_languages() -> None:
    assert ERROR_CLASSES == LANGUAGE_CLASSES


def _tier_for(window: float) -> Tier:
    return next(t for t in DEFAULT_TIERS if window <= t.span_s)


@settings(max_examples=150, deadline=None)
@given(events, windows, st.one_of(st.floats(0, 200), st.floats(0, 3e6)), st.floats(0, 1e6))
def test_counts_match_brute_force(
    stream: list[tuple[float, int, float]], window: float, tail: float, start: float
) -> None:
    w = EventWindows()
    t = start
    seen: list[tuple[float, int, float]] = []
    for gap, outcome, cost in stream:
        t += gap
        w.record(t, outcome, cost)
        seen.append((t, outcome, cost))
    now = t + tail
    got = w.counts(now, window)

    # Exact, by the documented bucket rule.
    width = _tier_for(window).width_s
    lo, hi = math.floor((now - window) / width), math.floor(now / width)
    inside = [e for e in seen if lo <= math.floor(e[0] / width) <= hi]
    assert got.attempts == len(inside)
    assert got.successes == sum(1 for e in inside if e[1] == -1)
    assert got.cancelled == sum(1 for e in inside if e[1] == CANCELLED)
    assert got.failures == got.attempts - got.successes - got.cancelled
    assert math.isclose(got.spend, sum(e[2] for e in inside), abs_tol=1e-9)
    # The rates' fast path reads the very same figures (twice: the ring memo is filled).
    assert w.outcomes(now, window) == (got.successes, got.failures)
    assert w.outcomes(now, window) == (got.successes, got.failures)

    # The stated resolution: true(w) <= read(w) <= true(w + width).
    strict = sum(1 for e in seen if now - window < e[0] <= now)
    loose = sum(1 for e in seen if now - window - width <= e[0] <= now)
    assert strict <= got.attempts <= loose

    by_class = w.errors(now, window)
    for name, count in by_class.items():
        index = ERROR_CLASSES.index(name)
        assert count == sum(1 for e in inside if e[1] == index)


def test_a_window_longer_than_an_hour_reads_all_of_it() -> None:
    w = EventWindows()
    w.record(0.0, -1, 0.001)
    w.record(3000.0, 4, 0.002)
    assert w.counts(3500.0, 7200.0).attempts == 2
    assert w.counts(7000.0, 7200.0).attempts == 2  # an hour ago: no longer cut off
    # 15 min rollup buckets: the event at 0 counts until its bucket [0, 900) leaves the read
    assert w.counts(8099.0, 7200.0).attempts == 2
    assert w.counts(8100.0, 7200.0).attempts == 1
    assert w.errors(7000.0, 7200.0) == {ERROR_CLASSES[4]: 1}
    assert w.outcomes(7000.0, 7200.0) == (1, 1)
    assert math.isclose(w.counts(7000.0, 86_400.0).spend, 0.003)


def test_a_window_longer_than_what_is_kept_is_refused_not_read_short() -> None:
    w = EventWindows()
    w.record(0.0, -1)
    assert WINDOW_LIMIT_S == 30 * 86_400.0 and LATENCY_WINDOW_LIMIT_S == 3600.0
    assert w.counts(10.0, WINDOW_LIMIT_S).attempts == 1
    for read in (w.counts, w.outcomes, w.errors):
        with pytest.raises(ValueError, match="window of 2592001s is longer than the 30d these"):
            read(10.0, WINDOW_LIMIT_S + 1)
    registry = MetricsRegistry(ManualClock())
    registry.reconcile(["p"])
    view = registry.snapshot().provider("p")
    assert view.latency("p95", 3600.0) is None
    with pytest.raises(ValueError, match="latency window of 2h is longer than the 1h these"):
        view.latency("p95", 7200.0)


def test_reads_are_exact_to_one_second_within_a_minute() -> None:
    w = EventWindows()
    w.record(100.2, -1)
    w.record(130.7, 3)
    # at 160.5 a 30 s window covers buckets 130..160: the 130.7 event only
    c = w.counts(160.5, 30.0)
    assert (c.attempts, c.successes, c.failures) == (1, 0, 1)
    assert w.errors(160.5, 30.0) == {"timeout": 1}
    assert w.counts(160.5, 61.0).attempts == 2


def test_memory_stays_bounded_over_hours_of_events() -> None:
    clock = ManualClock()
    registry = MetricsRegistry(clock)
    registry.reconcile(["p"])
    p = registry.provider("p")
    buckets = p.windows.buckets_kept()
    for i in range(100_000):
        clock.advance(0.18)  # 100k events over five hours
        attempt = p.on_dispatch(tokens=10)
        assert attempt
        attempt.complete(None if i % 7 else "bad_request", latency_s=0.05 + (i % 1000) / 100.0)
    assert p.windows.buckets_kept() == buckets == 62 + 362 + 98 + 122
    # at most one histogram bin per 2% step of the values seen (0.05 s .. 10 s) per bucket
    per_bucket_cap = math.ceil(math.log(10.05 / 0.05) / math.log(1.01 / 0.99)) + 1
    assert p.latency.bins_kept() <= (61 + 361) * per_bucket_cap
    assert p.latency.bins_kept() < 20_000
    assert registry.snapshot().provider("p").requests(3600.0) > 19_000


counter_ops = st.lists(st.tuples(st.floats(0, 30), st.integers(0, 5)), max_size=80)


@settings(max_examples=150, deadline=None)
@given(counter_ops, st.floats(0, 200))
def test_sliding_counter_never_frees_early_nor_late(
    ops: list[tuple[float, int]], tail: float
) -> None:
    counter = SlidingCounter(60.0, 1.0)
    t = 0.0
    added: list[tuple[float, int]] = []
    for gap, amount in ops:
        t += gap
        counter.add(t, amount)
        added.append((t, amount))
    now = t + tail
    got = counter.value(now)
    assert sum(a for at, a in added if now - at < 60.0) <= got
    assert got <= sum(a for at, a in added if now - at < 61.0)
    release = counter.next_release(now)
    if got == 0:
        assert release is None
    else:
        assert release is not None
        assert counter.value(now + release) < got
        if release > 0:
            assert counter.value(now + release - 1e-6) == got
