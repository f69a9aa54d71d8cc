"""Percentiles are within the stated relative error of a brute-force sort."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpool_policy.metrics import DEFAULT_ALPHA, MIN_LATENCY_S, Ewma, LatencyWindows
from llmpool_policy.metrics.latency import rank_of

latencies = st.one_of(
    st.floats(1e-6, 120.0),
    st.floats(0.01, 2.0),
    st.sampled_from([0.0, 1e-7, 0.1, 0.25, 1.0, 30.0]),
)
QS = (0.5, 0.95, 0.99, 0.0, 1.0)


def _close(estimate: float, exact: float) -> bool:
    if exact < MIN_LATENCY_S:
        return estimate == 0.0
    return abs(estimate - exact) <= DEFAULT_ALPHA * exact * (1 + 1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 5), latencies), min_size=1, max_size=300))
def test_quantiles_within_error_bound(stream: list[tuple[float, float]]) -> None:
    lat = LatencyWindows()
    t = 0.0
    values: list[float] = []
    for gap, x in stream:
        t += gap
        lat.record(t, x)
        values.append(x)
    window = 3600.0 if t > 55 else 60.0  # every sample is in the window
    estimates = lat.quantiles(t, window, QS)
    ordered = sorted(values)
    for q, estimate in zip(QS, estimates, strict=True):
        exact = ordered[rank_of(q, len(ordered))]
        assert estimate is not None
        assert _close(estimate, exact), (q, estimate, exact)
    mean = lat.mean(t, window)
    assert mean is not None and math.isclose(mean, sum(values) / len(values), rel_tol=1e-9)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 20), latencies), min_size=1, max_size=200))
def test_quantiles_over_a_window_use_only_its_samples(stream: list[tuple[float, float]]) -> None:
    lat = LatencyWindows()
    t = 0.0
    seen: list[tuple[float, float]] = []
    for gap, x in stream:
        t += gap
        lat.record(t, x)
        seen.append((t, x))
    window = 30.0
    lo = math.floor((t - window) / 1.0)
    inside = sorted(x for at, x in seen if math.floor(at) >= lo)
    got = lat.quantile(t, window, 0.95)
    assert got is not None
    assert _close(got, inside[rank_of(0.95, len(inside))])


def test_empty_window_has_no_data() -> None:
    lat = LatencyWindows()
    assert lat.quantile(0.0, 60.0, 0.5) is None
    assert lat.mean(0.0, 60.0) is None
    lat.record(0.0, 1.0)
    assert lat.quantile(200.0, 60.0, 0.5) is None
    assert lat.quantile(200.0, 300.0, 0.5) == pytest.approx(1.0, rel=DEFAULT_ALPHA)


def test_ewma() -> None:
    e = Ewma(0.5)
    assert e.value is None
    e.update(1.0)
    e.update(3.0)
    assert e.value == 2.0
    with pytest.raises(ValueError):
        Ewma(0.0)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 15), latencies), min_size=1, max_size=150),
    st.sampled_from([30.0, 60.0, 300.0, 125.0]),
    st.floats(0, 400),
)
def test_settled_summary_covers_whole_buckets_and_tracking_changes_nothing(
    stream: list[tuple[float, float]], window: float, tail: float
) -> None:
    tracked = LatencyWindows(track=(window,))
    plain = LatencyWindows()
    t = 1000.0
    seen: list[tuple[float, float]] = []
    for gap, x in stream:
        t += gap
        tracked.record(t, x)
        plain.record(t, x)
        seen.append((t, x))
    now = t + tail
    got = tracked.settled(now, window)
    assert got == plain.settled(now, window)
    width = 1.0 if window <= 60 else 10.0
    cur = math.floor(now / width)
    k = math.ceil(window / width)
    inside = sorted(x for at, x in seen if cur - k <= math.floor(at / width) <= cur - 1)
    if not inside:
        assert got == (None, None, None, None)
        return
    for q, estimate in zip((0.5, 0.95, 0.99), got[:3], strict=True):
        assert estimate is not None and _close(estimate, inside[rank_of(q, len(inside))])
    assert got[3] is not None and math.isclose(got[3], sum(inside) / len(inside), rel_tol=1e-9)


def test_settled_reads_of_a_tracked_window_do_not_merge() -> None:
    lat = LatencyWindows(track=(300.0,))
    for i in range(3000):
        lat.record(i * 0.1, 0.5 + (i % 10) / 10)
    summary = lat._tracked[300.0]
    assert summary.at == int(299.9 // 10)
    assert lat.settled(299.95, 300.0) is summary.value
    assert summary.value[0] == pytest.approx(0.9, rel=DEFAULT_ALPHA)
