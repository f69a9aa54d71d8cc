"""Stamps: under one stamp object, every read of that provider's view gives the same value.

The property test drives a registry through random events, membership changes and clock moves
(tiny ones, and ones landing on or a hair around bucket edges and window-offset edges) and
checks the contract from both sides: whenever a stamp object comes back, every read equals what
was read when it was first handed out; every instant inside ``[since, until)`` gets that same
object back, and ``until`` itself does not; after any event the next stamp is a new object. Each
part's ``next_change`` is checked on its own as well. The unit tests pin each bound one by one.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpool_policy.errors import ERROR_CLASSES
from llmpool_policy.metrics import (
    DEFAULT_TIERS,
    EMPTY_STAMP,
    EMPTY_VIEW,
    LATENCY_STATS,
    LATENCY_WINDOW_LIMIT_S,
    LIMIT_KINDS,
    Attempt,
    BreakerSpec,
    LimitSpec,
    LiveSnapshot,
    ManualClock,
    MetricsRegistry,
    ProviderMetrics,
    ProviderView,
    Stamp,
    StampedSnapshot,
    StaticSnapshot,
)
from llmpool_policy.metrics.snapshot import stable_edge

# Unaligned windows on purpose: 0.3, 0.5, 1.5, 65.3, 95.5 put their old edge off the whole
# second (where the rate-limit counters' 1 s edges would hide it), 0.3 and 65.3 where floating
# point rounds it; 7200, 86400, 90000.5 and 30 days are read from the rollup tiers (counts and
# spend only: latency stops at an hour).
WINDOWS = (0.3, 0.5, 1.5, 7.0, 60.0, 65.0, 65.3, 95.0, 95.5, 300.0, 3600.0)
LONG_WINDOWS = (7200.0, 86_400.0, 90_000.5, 30 * 86_400.0)
ALL_WINDOWS = WINDOWS + LONG_WINDOWS
OUTCOMES: tuple[str | None, ...] = (None, *ERROR_CLASSES)
NAMES = ("a", "b")
EXTRA = "c"  # added and removed by the membership steps

Reads = list[tuple[str, Any]]


def read_view(view: ProviderView, windows: tuple[float, ...]) -> Reads:
    """Every read the contract covers, labelled."""
    out: Reads = []
    for w in windows:
        out.append((f"error_rate({w})", view.error_rate(w)))
        out.append((f"success_rate({w})", view.success_rate(w)))
        if w <= LATENCY_WINDOW_LIMIT_S:
            out.extend((f"latency({stat}, {w})", view.latency(stat, w)) for stat in LATENCY_STATS)
        out.append((f"requests({w})", view.requests(w)))
        out.append((f"spend({w})", view.spend(w)))
    out += [
        ("in_flight", view.in_flight),
        ("rpm_used", view.rpm_used),
        ("rpm_remaining", view.rpm_remaining),
        ("rpd_used", view.rpd_used),
        ("rpd_remaining", view.rpd_remaining),
        ("tpm_used", view.tpm_used),
        ("tpm_remaining", view.tpm_remaining),
        ("breaker_state", view.breaker_state),
        ("cooling_down", view.cooling_down),
    ]
    return out


def assert_same(want: Reads, got: Reads, context: str) -> None:
    """Exact equality, read by read (a float equal to the bit, None still None, same type)."""
    assert [label for label, _ in want] == [label for label, _ in got]
    for (label, a), (_, b) in zip(want, got, strict=True):
        assert type(a) is type(b) and a == b, f"{label}: {a!r} then {b!r} ({context})"


def matches_nothing(stamp: Stamp) -> bool:
    """A stamp whose interval is empty: never handed out again, so nothing read under it is
    ever reused (ending early is allowed). The live snapshot gives one to a provider it cannot
    vouch for; ``stable_edge`` makes one within its margin (1e-14 relative) before an edge."""
    now = stamp.since
    return stamp.until <= now and now - stamp.until <= 2e-12 * max(1.0, abs(now))


def parts_next_change(metrics: ProviderMetrics, now: float, windows: tuple[float, ...]) -> float:
    return min(
        metrics.windows.next_change(now, windows),
        metrics.latency.next_change(now, windows),
        metrics.limits.next_change(now),
        metrics.breaker.next_change(now),
    )


# ---- the property ------------------------------------------------------------------------------


@dataclass
class Recorded:
    stamp: Stamp  # kept alive, so its id is never reused by another stamp
    windows: tuple[float, ...]
    now: float
    reads: Reads


@dataclass
class Harness:
    clock: ManualClock
    registry: MetricsRegistry
    attempts: dict[str, list[Attempt]] = field(default_factory=dict)
    recorded: dict[int, Recorded] = field(default_factory=dict)
    issued: dict[str, list[Stamp]] = field(default_factory=dict)  # since the last event
    stale: dict[str, list[Stamp]] = field(default_factory=dict)  # before it
    last: dict[str, Stamp] = field(default_factory=dict)
    snapshots: list[LiveSnapshot] = field(default_factory=list)
    windows: tuple[float, ...] = (60.0,)

    def __post_init__(self) -> None:
        for name in (*NAMES, EXTRA):
            self.attempts[name] = []
            self.issued[name] = []
            self.stale[name] = []

    @property
    def names(self) -> tuple[str, ...]:
        return self.registry.names

    def name(self, index: int) -> str:
        return self.names[index % len(self.names)]

    def changed(self, names: tuple[str, ...], check: bool) -> None:
        """An event happened at these providers: every stamp issued so far is void."""
        for name in names:
            self.stale[name] += self.issued[name]
            self.issued[name].clear()
            self.last.pop(name, None)
        if check:  # the very next stamps() call: a new object
            self.observe(self.registry.snapshot(), self.windows)

    def observe(self, snap: LiveSnapshot, windows: tuple[float, ...], fresh: bool = True) -> None:
        """Stamps and reads of every provider (and of two unknown ones); ``fresh`` is False
        for a snapshot kept from earlier (events and membership changes may have happened
        since)."""
        self.windows = windows
        asked = (*NAMES, EXTRA, "nobody")
        stamps = snap.stamps(asked, windows)
        again = snap.stamps(asked, windows)
        for name, stamp, second in zip(asked, stamps, again, strict=True):
            metrics = self.registry.get(name)
            assert stamp.since <= snap.now, (stamp, snap.now)
            assert not any(stamp is old for old in self.stale.get(name, ())), "outlived an event"
            if stamp is EMPTY_STAMP:  # a provider the snapshot knows nothing of
                assert second is EMPTY_STAMP and metrics is None
                assert_same(
                    read_view(EMPTY_VIEW, windows), read_view(snap.provider(name), windows), name
                )
                continue
            if matches_nothing(stamp):
                assert second is not stamp
                continue
            assert metrics is not None, (name, stamp)
            assert snap.now < stamp.until and second is stamp, (stamp, snap.now)
            got = read_view(snap.provider(name), windows)
            seen = self.recorded.get(id(stamp))
            if seen is None:
                self.recorded[id(stamp)] = Recorded(stamp, windows, snap.now, got)
                self.issued[name].append(stamp)
                if stamp.since == snap.now:  # made just now: as early as every part says
                    assert stamp.until <= parts_next_change(metrics, snap.now, windows), stamp
            else:
                assert seen.stamp is stamp and seen.windows == windows
                assert_same(
                    seen.reads, got, f"{name} {stamp!r}: read at {seen.now!r}, {snap.now!r}"
                )
            if fresh:
                self.last[name] = stamp
        if fresh:
            self.snapshots = [*self.snapshots[-2:], snap]
        else:  # its stamps may have taken the place of the current ones: allowed (early end)
            self.last.clear()

    def probe(self, name: str, fractions: list[float], at_the_end: bool, past: bool) -> None:
        """Move the clock to instants inside the last stamp's interval, no event: the same
        stamp object every time, and the same reads; at ``until`` itself, another stamp."""
        stamp = self.last.get(name)
        if stamp is None:
            return
        seen = self.recorded[id(stamp)]
        span = stamp.until - stamp.since
        times = [stamp.since + f * span for f in sorted(fractions)]
        if at_the_end:
            times.append(math.nextafter(stamp.until, -math.inf))
        for t in times:
            if not self.clock.now() <= t < stamp.until:
                continue
            self.clock.set(t)
            snap = self.registry.snapshot()
            (again,) = snap.stamps((name,), seen.windows)
            assert again is stamp, f"{stamp!r} not kept at {t!r}: got {again!r}"
            got = read_view(snap.provider(name), seen.windows)
            assert_same(seen.reads, got, f"{name} {stamp!r}: read at {seen.now!r}, {t!r}")
        if past and self.clock.now() <= stamp.until:
            self.clock.set(stamp.until)
            (after,) = self.registry.snapshot().stamps((name,), seen.windows)
            assert after is not stamp, f"{stamp!r} handed out at its end"

    def check_parts(
        self, name: str, windows: tuple[float, ...], fractions: list[float], back: float
    ) -> None:
        """Each part's ``next_change``: its reads hold from ``now`` up to that instant, where
        ``now`` is the clock's or, ``back`` seconds earlier, an old snapshot's (read at other
        instants directly; latency on a copy, so its read memo never sees the future)."""
        metrics = self.registry.provider(name)
        now = self.clock.now() - back
        latency = copy.deepcopy(metrics.latency)
        ew, lw, limits, breaker = metrics.windows, latency, metrics.limits, metrics.breaker

        def window_reads(t: float) -> list[tuple[str, Any]]:
            return [
                (f"{w}", (ew.counts(t, w), ew.outcomes(t, w), ew.errors(t, w))) for w in windows
            ]

        def latency_reads(t: float) -> list[tuple[str, Any]]:
            return [(f"{w}", lw.settled(t, w)) for w in windows if w <= LATENCY_WINDOW_LIMIT_S]

        def limit_reads(t: float) -> list[tuple[str, Any]]:
            out: list[tuple[str, Any]] = [("cooling_down", limits.cooling_down(t))]
            for kind in LIMIT_KINDS:
                out += [(f"{kind}_used", limits.used(kind, t))]
                out += [(f"{kind}_remaining", limits.remaining(kind, t))]
            return out

        def breaker_reads(t: float) -> list[tuple[str, Any]]:
            return [("state", breaker.state(t))]

        for part, edge, reads in (
            ("windows", ew.next_change(now, windows), window_reads),
            ("latency", lw.next_change(now, windows), latency_reads),
            ("limits", limits.next_change(now), limit_reads),
            ("breaker", breaker.next_change(now), breaker_reads),
        ):
            assert edge > now, (part, edge, now)
            until = stable_edge(edge) if edge < math.inf else now + 1e6
            times = [now + f * (until - now) for f in fractions]
            times += [now + d for d in (0.5, 1.0, 2.0, 10.0, 30.0, 100.0, 1000.0)]
            times.append(math.nextafter(until, -math.inf))
            at_now = reads(now)
            for t in times:
                if now <= t < until:
                    assert_same(at_now, reads(t), f"{part} of {name}: {now!r} to {t!r} < {edge!r}")

    def move_to_edge(self, window: float, nudge: float) -> None:
        """To the next instant where a read of ``window`` may move (either end of its bucket
        range), give or take ``nudge``."""
        if window in (1.0, 10.0, 60.0, 900.0, 21_600.0):
            width, phase = window, 0.0
        else:
            width = next(t.width_s for t in DEFAULT_TIERS if window <= t.span_s)
            phase = window % width
        now = self.clock.now()
        edge = (math.floor((now - phase) / width) + 1) * width + phase
        target = edge + nudge
        if target >= now:
            self.clock.set(target)

    def run(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind == "advance":
            self.clock.advance(step[1])
        elif kind == "edge":
            self.move_to_edge(step[1], step[2])
        elif kind == "observe":
            _, windows, old = step
            if 0 < old <= len(self.snapshots):
                self.observe(self.snapshots[-old], windows, fresh=False)
            else:
                self.observe(self.registry.snapshot(), windows)
        elif kind == "probe":
            _, index, fractions, at_the_end, past = step
            self.probe(self.name(index), fractions, at_the_end, past)
        elif kind == "parts":
            _, index, windows, fractions, back = step
            self.check_parts(self.name(index), windows, fractions, back)
        elif kind == "member":
            _, limits, breaker, check = step
            if EXTRA in self.registry:
                self.registry.reconcile(NAMES)
                self.attempts[EXTRA].clear()
                # reconcile reconfigures the providers it keeps (with no new specs here): no
                # event, but their stamps may be renewed early, which is allowed
                self.last.clear()
            else:
                self.registry.add(EXTRA, limits=limits, breaker=breaker)
            self.changed((EXTRA,), check)
        else:
            self.mutate(step)

    def mutate(self, step: tuple[Any, ...]) -> None:
        kind, index, *args, check = step
        name = self.name(index)
        metrics = self.registry.provider(name)
        changed: tuple[str, ...] = (name,)
        if kind == "call":  # dispatch, perhaps a look, some time, then complete or cancel
            tokens, enforce, peek, gap, outcome, latency, used, cost = args
            attempt = metrics.on_dispatch(tokens, enforce=enforce)
            self.changed(changed, peek)
            self.clock.advance(gap)
            if not attempt:
                return  # refused: nothing happened since the look
            if outcome == "(cancel)":
                attempt.cancel()
            else:
                attempt.complete(outcome, latency, used, cost)
        elif kind == "trip":  # failures in a row, past every gate: opens most breakers
            for _ in range(args[0]):
                attempt = metrics.on_dispatch(enforce=False)
                assert attempt
                attempt.complete("server_error", 0.01)
        elif kind == "dispatch":
            tokens, enforce = args
            attempt = metrics.on_dispatch(tokens, enforce=enforce)
            if attempt:
                self.attempts[name].append(attempt)
        elif kind == "complete":
            pick, outcome, latency, used, cost = args
            if not self.attempts[name]:
                return
            attempt = self.attempts[name].pop(pick % len(self.attempts[name]))
            attempt.complete(outcome, latency, used, cost)
        elif kind == "cancel":
            if not self.attempts[name]:
                return
            self.attempts[name].pop(args[0] % len(self.attempts[name])).cancel()
        elif kind == "headers":
            limit, remaining, reset_in_s = args
            metrics.update_from_headers(kind=limit, remaining=remaining, reset_in_s=reset_in_s)
        elif kind == "cool_down":
            metrics.cool_down(args[0])
        elif kind == "reconfigure":
            limits, breaker = args
            # every kept provider is reconfigured (with None specs: kept as they are)
            self.registry.reconcile(self.names, limits={name: limits}, breakers={name: breaker})
            changed = self.names
        elif kind == "track":
            self.registry.track_latency_windows(args[0])
            changed = self.names
        else:  # pragma: no cover
            raise AssertionError(kind)
        self.changed(changed, check)


def breaker_spec(
    failures: int, window: float, rate: float | None, cool: float, extend: bool, probes: int
) -> BreakerSpec:
    return BreakerSpec(
        failures=failures,
        failure_window_s=window,
        error_rate=rate,
        rate_window_s=5.0,
        min_requests=2,
        cool_down_s=cool,
        extend_on_failure=extend,
        extend_cap_s=cool * 4 if extend else None,
        probes=probes,
    )


limit_specs = st.builds(
    LimitSpec,
    rpm=st.none() | st.integers(0, 6),
    rpd=st.none() | st.integers(0, 20),
    tpm=st.none() | st.integers(0, 400),
)
# small cool-downs, most of them off the whole second, so breakers open and half-open in a test
breaker_specs = st.builds(
    breaker_spec,
    failures=st.integers(1, 3),
    window=st.sampled_from([0.8, 2.0, 10.0]),
    rate=st.none() | st.sampled_from([0.3, 0.5]),
    cool=st.sampled_from([0.25, 0.3, 0.7, 1.0, 1.3, 2.5]),
    extend=st.booleans(),
    probes=st.integers(1, 2),
)
providers = st.lists(st.tuples(limit_specs, breaker_specs), min_size=1, max_size=2)
window_sets = st.lists(st.sampled_from(ALL_WINDOWS), min_size=1, max_size=4, unique=True).map(tuple)
latency_window_sets = st.lists(st.sampled_from(WINDOWS), min_size=1, max_size=4).map(tuple)
durations = (
    st.floats(1e-9, 1e-3)
    | st.floats(0.0, 1.5)
    | st.floats(0.9, 12.0)
    | st.sampled_from([0.0, 0.5, 1.0, 10.0, 60.0, 95.0, 3600.0, 900.0, 21_600.0, 86_400.0])
)
nudges = st.sampled_from([0.0, 0.0, -1e-9, 1e-9, -1e-6, 1e-6, -0.01])
fractions = st.lists(st.floats(0.0, 1.0, exclude_max=True), max_size=4)
index = st.integers(0, 2)
check = st.booleans()
failing = st.sampled_from(OUTCOMES) | st.sampled_from(["server_error", "timeout", "overloaded"])
latencies = st.none() | st.just(0.0) | st.floats(1e-7, 30.0)
used_tokens = st.none() | st.integers(0, 200)
costs = st.sampled_from([0.0, 1e-7, 0.001, 0.25])
observes = st.tuples(st.just("observe"), window_sets, st.integers(0, 3))
probes = st.tuples(st.just("probe"), index, fractions, st.booleans(), st.booleans())
parts = st.tuples(
    st.just("parts"), index, window_sets, fractions, st.just(0.0) | st.floats(0.0, 3.0)
)
steps = st.one_of(  # observing, probing and checking the parts weigh double
    observes,
    observes,
    probes,
    probes,
    parts,
    parts,
    st.tuples(st.just("advance"), durations),
    st.tuples(
        st.just("edge"), st.sampled_from((*ALL_WINDOWS, 1.0, 10.0, 60.0, 900.0, 21_600.0)), nudges
    ),
    st.tuples(
        st.just("call"),
        index,
        st.integers(0, 150),
        st.booleans(),
        st.booleans(),
        st.just(0.0) | st.floats(0.0, 0.6),
        st.none() | failing | st.just("(cancel)"),
        latencies,
        used_tokens,
        costs,
        check,
    ),
    st.tuples(st.just("dispatch"), index, st.integers(0, 150), st.booleans(), check),
    st.tuples(st.just("trip"), index, st.integers(1, 3), check),
    st.tuples(
        st.just("complete"), index, st.integers(0, 7), failing, latencies, used_tokens, costs, check
    ),
    st.tuples(st.just("cancel"), index, st.integers(0, 7), check),
    st.tuples(
        st.just("headers"),
        index,
        st.sampled_from(LIMIT_KINDS),
        st.integers(0, 8),
        st.sampled_from([0.0, 1e-6, 1.0]) | st.floats(0.0, 5.0),
        check,
    ),
    st.tuples(st.just("cool_down"), index, st.just(0.0) | st.floats(0.0, 3.0), check),
    st.tuples(st.just("reconfigure"), index, st.none() | limit_specs, breaker_specs, check),
    st.tuples(st.just("track"), index, latency_window_sets, check),
    st.tuples(st.just("member"), limit_specs, breaker_specs, check),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=st.sampled_from([0.0, 1000.25, 86_399.7, 1_700_000_000.4]),
    specs=providers,
    program=st.lists(steps, min_size=5, max_size=80),
)
def test_a_stamp_stands_for_identical_reads(
    start: float, specs: list[tuple[LimitSpec, BreakerSpec]], program: list[tuple[Any, ...]]
) -> None:
    clock = ManualClock(start)
    registry = MetricsRegistry(clock)
    for name, (limits, breaker) in zip(NAMES, specs, strict=False):
        registry.add(name, limits=limits, breaker=breaker)
    harness = Harness(clock, registry)
    for step in program:
        harness.run(step)
    # and once more at the end, over every window at once
    harness.observe(registry.snapshot(), ALL_WINDOWS)
    for name in harness.names:
        harness.probe(name, [0.0, 0.5, 0.9], at_the_end=True, past=False)


# ---- each bound, one by one --------------------------------------------------------------------


def stamp_of(registry: MetricsRegistry, name: str, windows: tuple[float, ...]) -> Stamp:
    (stamp,) = registry.snapshot().stamps((name,), windows)
    return stamp


def test_an_open_breakers_stamp_ends_by_its_cool_down_end() -> None:
    clock = ManualClock(10.2)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a", breaker=BreakerSpec(failures=1, cool_down_s=2.5))
    attempt = metrics.on_dispatch()
    assert attempt
    attempt.complete("server_error")
    open_until = 10.2 + 2.5
    assert metrics.breaker.open_until == open_until
    assert metrics.breaker.next_change(12.3) == open_until
    stamps: list[Stamp] = []
    # 12.3 shares its second with the cool-down end: only the breaker bounds that stamp
    for t in (10.2, 11.5, 12.3, math.nextafter(open_until, 0.0)):
        clock.set(t)
        stamp = stamp_of(registry, "a", (60.0,))
        assert registry.snapshot().provider("a").breaker_state == "open"
        assert stamp.since <= t and stamp.until <= open_until, (t, stamp)
        stamps.append(stamp)
    clock.set(open_until)
    stamp = stamp_of(registry, "a", (60.0,))
    assert registry.snapshot().provider("a").breaker_state == "half_open"
    assert not any(stamp is old for old in stamps)
    assert stamp.since == open_until
    assert metrics.breaker.next_change(open_until) == math.inf  # half-open until an event


def test_a_learned_limits_reset_bounds_the_stamp() -> None:
    clock = ManualClock(20.3)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a", limits=LimitSpec(rpm=5))
    metrics.update_from_headers(kind="rpm", remaining=0, reset_in_s=0.4)
    metrics.update_from_headers(kind="tpm", remaining=7, reset_in_s=0.55)
    rpm_reset, tpm_reset = 20.3 + 0.4, 20.3 + 0.55

    stamp = stamp_of(registry, "a", (60.0,))
    view = registry.snapshot().provider("a")
    assert (view.rpm_remaining, view.tpm_remaining) == (0, 7)
    assert stamp.until <= rpm_reset

    clock.set(rpm_reset)
    after = stamp_of(registry, "a", (60.0,))
    view = registry.snapshot().provider("a")
    assert after is not stamp and (view.rpm_remaining, view.tpm_remaining) == (5, 7)
    assert after.until <= tpm_reset

    clock.set(tpm_reset)
    last = stamp_of(registry, "a", (60.0,))
    assert last is not after and registry.snapshot().provider("a").tpm_remaining is None


def test_a_retry_after_cool_downs_end_bounds_the_stamp() -> None:
    clock = ManualClock(30.1)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a")
    metrics.cool_down(0.35)
    end = 30.1 + 0.35
    clock.set(30.3)
    stamp = stamp_of(registry, "a", (60.0,))
    assert registry.snapshot().provider("a").cooling_down
    assert stamp.until <= end
    clock.set(end)
    after = stamp_of(registry, "a", (60.0,))
    assert after is not stamp and not registry.snapshot().provider("a").cooling_down


def test_the_rate_limit_counters_edges_bound_a_long_windows_stamp() -> None:
    # A slot taken in second 1000 stops counting at 1061.0, between the 10 s edges a 300 s read
    # moves at: only the counters' own 1 s buckets bound that stamp.
    clock = ManualClock(1000.5)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a", limits=LimitSpec(rpm=5))
    assert metrics.on_dispatch()
    clock.set(1060.5)
    stamp = stamp_of(registry, "a", (300.0,))
    assert registry.snapshot().provider("a").rpm_used == 1
    assert stamp.until <= 1061.0
    clock.set(1061.0)
    after = stamp_of(registry, "a", (300.0,))
    view = registry.snapshot().provider("a")
    assert after is not stamp and (view.rpm_used, view.rpm_remaining) == (0, 5)


@pytest.mark.parametrize(
    ("window", "before", "edge"),
    [
        # The 95 s read sums 10 s buckets floor((now - 95) / 10) .. floor(now / 10): the bucket
        # [1000, 1010) leaves it at now = 1105, off the 10 s grid but on a whole second, which
        # the rate-limit counters' 1 s edges bound too (this case alone cannot tell).
        (95.0, 1104.5, 1105.0),
        # 95.5 leaves it at 1105.5: off every grid but the window's own offset edge.
        (95.5, 1105.2, 1105.5),
    ],
)
def test_a_long_window_is_bounded_by_its_offset_bucket_edge(
    window: float, before: float, edge: float
) -> None:
    clock = ManualClock(1003.0)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a")
    attempt = metrics.on_dispatch()
    assert attempt
    attempt.complete("timeout", latency_s=0.2)

    clock.set(before)
    stamp = stamp_of(registry, "a", (window,))
    view = registry.snapshot().provider("a")
    assert (view.requests(window), view.error_rate(window)) == (1, 1.0)
    assert stamp.until <= edge, stamp

    clock.set(edge)
    after = stamp_of(registry, "a", (window,))
    view = registry.snapshot().provider("a")
    assert (view.requests(window), view.error_rate(window)) == (0, None)
    assert after is not stamp


@pytest.mark.parametrize(
    ("window", "event", "now"),
    [
        # (now - 7.1) // 1 flips one ulp before 30.1, the edge as computed: the read at the
        # stamp's last instant is only right because stable_edge ends the stamp a hair early.
        (7.1, 22.5, 30.07),
        (95.5, 1005.0, 1105.2),
        (0.1, 999.5, 1000.05),
    ],
)
def test_a_stamp_holds_up_to_its_last_instant(window: float, event: float, now: float) -> None:
    clock = ManualClock(event)
    registry = MetricsRegistry(clock)
    attempt = registry.add("a").on_dispatch()
    assert attempt
    attempt.complete("timeout", latency_s=0.1)
    clock.set(now)
    stamp = stamp_of(registry, "a", (window,))
    before = read_view(registry.snapshot().provider("a"), (window,))
    assert registry.snapshot().provider("a").requests(window) == 1
    clock.set(math.nextafter(stamp.until, -math.inf))
    assert stamp_of(registry, "a", (window,)) is stamp
    assert_same(before, read_view(registry.snapshot().provider("a"), (window,)), repr(stamp))


def test_a_snapshot_older_than_the_current_stamp_gets_its_own() -> None:
    clock = ManualClock(10.5)
    registry = MetricsRegistry(clock)
    attempt = registry.add("a").on_dispatch()
    assert attempt
    attempt.complete(None, latency_s=0.1)
    clock.set(11.2)
    old = registry.snapshot()  # the success is inside its 0.5 s window ...
    clock.set(12.2)
    new = registry.snapshot()  # ... and no longer inside this one's
    (current,) = new.stamps(("a",), (0.5,))
    (own,) = old.stamps(("a",), (0.5,))
    assert (old.provider("a").requests(0.5), new.provider("a").requests(0.5)) == (1, 0)
    assert own is not current
    assert own.since <= old.now < own.until or matches_nothing(own)


def test_each_parts_next_change_holds_for_a_now_before_the_latest_event() -> None:
    # An old snapshot reads at its own ``now``, before events that came later: a read's newer
    # end moves at every bucket edge then, not only its older end (at 11.3 for a 0.3 s window).
    clock = ManualClock(11.5)
    registry = MetricsRegistry(clock)
    metrics = registry.add("a")
    attempt = metrics.on_dispatch()
    assert attempt
    attempt.complete(None, latency_s=0.1)
    edge = metrics.windows.next_change(10.6, (0.3,))
    assert edge <= 11.0
    assert metrics.windows.counts(10.6, 0.3).attempts == 0
    assert metrics.windows.counts(11.0, 0.3).attempts == 1
    assert metrics.latency.next_change(10.6, (0.3,)) <= 11.0


STATIC = {
    "now": 5,
    "providers": {
        "openai": {"error_rate": {"5m": 0.3}, "breaker_state": "open", "in_flight": 4},
        "groq": {"success_rate": {"1m": 0.75}},
    },
}


def test_unknown_providers_get_a_stamp_that_holds_or_matches_nothing() -> None:
    static = StaticSnapshot.from_dict(STATIC)
    assert isinstance(static, StampedSnapshot)
    first, mid, last = static.stamps(("nobody", "openai", "nobody else"), (60.0, 300.0))
    assert first is EMPTY_STAMP and last is EMPTY_STAMP and mid is not EMPTY_STAMP
    assert mid.since <= static.now < mid.until

    registry = MetricsRegistry(ManualClock(1.5))
    registry.add("a")
    live = registry.snapshot()
    assert isinstance(live, StampedSnapshot)
    first, mid, last = live.stamps(("nobody", "a", "nobody else"), (60.0, 300.0))
    assert mid is not EMPTY_STAMP and mid.since <= live.now < mid.until
    # EMPTY_STAMP (its view is EMPTY_VIEW forever), or one that nothing can match
    for stamp in (first, last):
        assert stamp is EMPTY_STAMP or (matches_nothing(stamp) and stamp is not mid)
    assert live.provider("nobody") is EMPTY_VIEW
    assert live.stamps((), (60.0,)) == () == static.stamps((), (60.0,))


def test_a_static_snapshot_keeps_one_stamp_per_provider_for_its_lifetime() -> None:
    snap = StaticSnapshot.from_dict(STATIC)
    names = ("openai", "groq")
    first = snap.stamps(names, (60.0,))
    again = snap.stamps(names, (60.0,))
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert first[0] is not first[1]
    other = StaticSnapshot.from_dict(STATIC).stamps(names, (60.0,))
    assert not any(a is b for a, b in zip(first, other, strict=True))


def test_a_snapshot_used_across_a_membership_change_keeps_its_stamp_honest() -> None:
    # A snapshot keeps the view it first handed out per name; if the registry gains or loses
    # that provider afterwards, no stamp may pair those old reads with the new provider's.
    clock = ManualClock(100.0)
    registry = MetricsRegistry(clock)
    old = registry.snapshot()
    before = read_view(old.provider("a"), (60.0,))  # EMPTY_VIEW, kept by the snapshot
    registry.add("a", limits=LimitSpec(rpm=5))
    (stamp,) = old.stamps(("a",), (60.0,))
    assert_same(before, read_view(old.provider("a"), (60.0,)), "the same snapshot")
    new = registry.snapshot()
    (again,) = new.stamps(("a",), (60.0,))
    if again is stamp:
        assert_same(before, read_view(new.provider("a"), (60.0,)), f"under {stamp!r}")

    kept = new.provider("a")  # the metrics of "a"; then "a" goes, and comes back afresh
    registry.reconcile([])
    registry.add("a")
    (stamp,) = new.stamps(("a",), (60.0,))
    fresh = registry.snapshot()
    (again,) = fresh.stamps(("a",), (60.0,))
    if again is stamp:
        assert_same(read_view(kept, (60.0,)), read_view(fresh.provider("a"), (60.0,)), "")
