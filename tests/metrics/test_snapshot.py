"""Snapshots: reads never change state; static snapshots from JSON, and their errors."""

from __future__ import annotations

import json
from collections import deque
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from llmpool_policy.errors import ConfigurationError
from llmpool_policy.metrics import (
    EMPTY_VIEW,
    LATENCY_STATS,
    LATENCY_WINDOW_LIMIT_S,
    BreakerSpec,
    LimitSpec,
    ManualClock,
    MetricsRegistry,
    MetricsSnapshot,
    ProviderView,
    StaticSnapshot,
    period_bounds,
)

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "metrics-snapshot.schema.json"


def dump(obj: Any, seen: set[int] | None = None) -> Any:
    """Every piece of state reachable from ``obj``, as plain values (locks and code skipped)."""
    seen = set() if seen is None else seen
    if isinstance(obj, (int, float, str, bool, type(None), frozenset)):
        return obj
    if id(obj) in seen:
        return ("<seen>", type(obj).__name__)
    seen.add(id(obj))
    if isinstance(obj, dict):
        return {repr(k): dump(v, seen) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, deque)):
        return [type(obj).__name__, [dump(v, seen) for v in obj]]
    if callable(obj) or type(obj).__name__ == "lock":
        return "<skipped>"
    names: list[str] = []
    for cls in type(obj).__mro__:
        names.extend(getattr(cls, "__slots__", ()))
    names.extend(getattr(obj, "__dict__", {}))
    # `_memo_*` slots are read-side memos of values that can no longer change (see
    # LatencyWindows.settled): filling them returns nothing different, so they are not state.
    skipped = {
        "_stamps",  # ProviderMetrics' stamp cache: a read cache that no read's value depends on
    }
    return {
        "type": type(obj).__name__,
        **{
            n: dump(getattr(obj, n), seen)
            for n in names
            if hasattr(obj, n) and not n.startswith("_memo") and n not in skipped
        },
    }


def read_everything(snapshot: MetricsSnapshot, names: list[str]) -> list[object]:
    out: list[object] = [snapshot.now]
    for name in names:
        view = snapshot.provider(name)
        for w in (1.0, 30.0, 60.0, 300.0, 3600.0, 7200.0, 86_400.0, 30 * 86_400.0):
            out += [view.error_rate(w), view.success_rate(w), view.requests(w), view.spend(w)]
            if w <= LATENCY_WINDOW_LIMIT_S:
                out += [view.latency(stat, w) for stat in LATENCY_STATS]
        out += [
            view.in_flight,
            view.rpm_used,
            view.rpm_remaining,
            view.rpd_used,
            view.rpd_remaining,
            view.tpm_used,
            view.tpm_remaining,
            view.breaker_state,
            view.cooling_down,
        ]
        for period in ("minute", "hour", "day", "week", "month"):
            out.append(snapshot.budget_spent("b", name, period))
    return out


def busy_registry() -> tuple[ManualClock, MetricsRegistry]:
    clock = ManualClock(1_000.0, wall_offset=1_700_000_000.0)
    registry = MetricsRegistry(clock)
    registry.reconcile(
        ["a", "b", "c"],
        limits={"a": LimitSpec(rpm=50, rpd=1000, tpm=10_000)},
        breakers={"b": BreakerSpec(failures=3, cool_down_s=20.0), "c": BreakerSpec(probes=2)},
    )
    for i in range(400):
        clock.advance(0.7)
        for name in ("a", "b"):
            attempt = registry.provider(name).on_dispatch(tokens=20, enforce=False)
            assert attempt
            outcome = None if i % 5 else ("timeout" if name == "b" else "bad_request")
            attempt.complete(outcome, latency_s=0.1 + (i % 13) / 10, tokens=25, cost=0.001)
            registry.record_budget("b", name, "day", 0.001)
    registry.provider("a").update_from_headers(kind="rpm", remaining=3, reset_in_s=30.0)
    registry.provider("a").cool_down(5.0)
    assert registry.provider("a").on_dispatch(enforce=False)  # one left in flight
    return clock, registry


def test_reading_a_snapshot_never_changes_state() -> None:
    clock, registry = busy_registry()
    # read later than the last event too, when buckets have aged out but nobody advanced them
    for later in (0.0, 45.0, 500.0, 5000.0, 100_000.0):
        clock.advance(later)
        before = dump(registry)
        first = read_everything(registry.snapshot(), ["a", "b", "c", "unknown"])
        second = read_everything(registry.snapshot(), ["a", "b", "c", "unknown"])
        registry.snapshot().to_document((1.0, 60.0, 300.0, 3600.0))
        registry.snapshot().stamps(
            ("a", "b", "c", "unknown"), (1.0, 60.0, 3600.0, 7200.0, 86_400.0)
        )
        assert dump(registry) == before
        assert first == second
        registry.provider("a").totals()
        assert dump(registry) == before


def test_live_snapshot_figures() -> None:
    clock, registry = busy_registry()
    snap = registry.snapshot()
    assert isinstance(snap, MetricsSnapshot)
    a, b = snap.provider("a"), snap.provider("b")
    assert isinstance(a, ProviderView)
    assert b.breaker_state in ("open", "half_open", "closed")
    assert a.error_rate(60.0) == pytest.approx(0.2, abs=0.05)
    rate = a.error_rate(60.0)
    success = a.success_rate(60.0)
    assert rate is not None and success is not None and rate + success == pytest.approx(1.0)
    assert a.rpm_remaining == 0 and a.cooling_down and a.in_flight == 1
    assert a.rpm_used > 50  # soft-gated attempts count too
    p50, p99 = a.latency("p50", 300.0), a.latency("p99", 300.0)
    assert p50 is not None and p99 is not None and 0.1 <= p50 <= p99 <= 1.4 * 1.01
    assert snap.budget_spent("b", "a", "day") == pytest.approx(0.4)
    assert snap.budget_spent("b", "zzz", "day") == 0.0
    assert snap.provider("unknown") is EMPTY_VIEW
    with pytest.raises(ValueError, match="latency statistic"):
        a.latency("p90", 60.0)
    clock.advance(4000.0)
    later = registry.snapshot().provider("a")
    assert later.error_rate(3600.0) is None and later.requests(3600.0) == 0
    assert later.latency("p95", 300.0) is None and later.rpm_remaining == 50


def test_reconcile_keeps_state_by_name() -> None:
    _clock, registry = busy_registry()
    a_before = registry.provider("a")
    result = registry.reconcile(["a", "d"], limits={"a": LimitSpec(rpm=500)})
    assert (result.kept, result.added, result.removed) == (("a",), ("d",), ("b", "c"))
    assert registry.provider("a") is a_before
    snap = registry.snapshot()
    assert snap.provider("a").requests(3600.0) == 400
    assert snap.provider("b") is EMPTY_VIEW
    assert registry.names == ("a", "d")
    with pytest.raises(ValueError, match="duplicate"):
        registry.reconcile(["a", "a"])


def test_budget_periods_are_calendar_periods_in_utc() -> None:
    # 2024-02-29T23:59:30Z is a Thursday
    wall = 1709251170.0
    assert period_bounds("minute", wall) == (1709251140.0, 1709251200.0)
    assert period_bounds("day", wall) == (1709164800.0, 1709251200.0)
    assert period_bounds("week", wall) == (1708905600.0, 1709510400.0)  # Mon 26 Feb
    assert period_bounds("month", wall) == (1706745600.0, 1709251200.0)  # February
    clock = ManualClock(0.0, wall_offset=wall)
    registry = MetricsRegistry(clock)
    registry.record_budget("team", "search", "day", 60.0)
    registry.record_budget("team", "search", "month", 60.0)
    assert registry.snapshot().budget_spent("team", "search", "day") == 60.0
    clock.advance(30.0)  # midnight, 1 March
    snap = registry.snapshot()
    assert snap.budget_spent("team", "search", "day") == 0.0
    assert snap.budget_spent("team", "search", "month") == 0.0
    registry.record_budget("team", "search", "day", 1.0)
    assert registry.snapshot().budget_spent("team", "search", "day") == 1.0
    assert registry.budgets.prune(clock.wall()) == 1  # February's month entry
    with pytest.raises(ValueError, match="unknown period"):
        registry.snapshot().budget_spent("team", "search", "fortnight")


# ---- static snapshots ---------------------------------------------------------------------------

EXAMPLE = {
    "now": 0,
    "providers": {
        "openai": {
            "error_rate": {"5m": 0.3, "*": 0.1},
            "latency": {"p95": {"5m": 2.5}, "p50": 0.4},
            "requests": {"5m": 120},
            "spend": 3.5,
            "rpm_remaining": 0,
            "rpm_used": 60,
            "breaker_state": "open",
            "cooling_down": True,
            "in_flight": 4,
        },
        "groq": {"success_rate": {"1m": 0.75}},
    },
    "budgets": {"team_daily": {"day": {"search": 99.5, "*": 1.0}}, "total": {"month": 1500}},
}


def test_static_snapshot_reads() -> None:
    snap = StaticSnapshot.from_json(json.dumps(EXAMPLE))
    assert isinstance(snap, MetricsSnapshot)
    o = snap.provider("openai")
    assert isinstance(o, ProviderView)
    assert o.error_rate(300.0) == 0.3 and o.error_rate(60.0) == 0.1
    assert o.success_rate(300.0) == pytest.approx(0.7)
    assert o.latency("p95", 300.0) == 2.5 and o.latency("p95", 60.0) is None
    assert o.latency("p50", 12.0) == 0.4 and o.latency("mean", 300.0) is None
    assert o.requests(300.0) == 120 and o.requests(60.0) == 0 and o.spend(1.0) == 3.5
    assert (o.rpm_remaining, o.rpm_used, o.rpd_remaining, o.tpm_used) == (0, 60, None, 0)
    assert o.breaker_state == "open" and o.cooling_down and o.in_flight == 4
    g = snap.provider("groq")
    assert g.error_rate(60.0) == pytest.approx(0.25) and g.error_rate(300.0) is None
    fresh = snap.provider("anthropic")
    assert fresh.error_rate(300.0) is None and fresh.breaker_state == "closed"
    assert fresh.rpm_remaining is None and fresh.requests(60.0) == 0
    assert snap.budget_spent("team_daily", "search", "day") == 99.5
    assert snap.budget_spent("team_daily", "ads", "day") == 1.0
    assert snap.budget_spent("team_daily", "search", "month") == 0.0
    assert snap.budget_spent("total", None, "month") == 1500.0
    assert snap.budget_spent("nope", None, "day") == 0.0
    assert snap.to_dict() == EXAMPLE
    assert StaticSnapshot.from_dict({}).provider("x").requests(60.0) == 0


def test_schema_file_is_valid_and_accepts_the_example() -> None:
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(EXAMPLE)


def _errors(document: object) -> list[tuple[str, str | None, str]]:
    with pytest.raises(ConfigurationError) as info:
        StaticSnapshot.from_dict(document, path="m.json")
    return [(d.code, d.pointer, d.message) for d in info.value.diagnostics]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ([], [("M002", "", "must be an object (got [])")]),
        (
            {"providers": {"openai": {"error_rate": 30}}},
            [("M002", "/providers/openai/error_rate", "must be <= 1 (got 30)")],
        ),
        (
            {"providers": {"openai": {"error_rate": {"5 min": 0.3}}}},
            [("M002", "/providers/openai/error_rate", '"5 min" is not a window')],
        ),
        (
            {"providers": {"openai": {"breaker_state": "opened"}}},
            [("M002", "/providers/openai/breaker_state", "must be one of")],
        ),
        (
            {"providers": {"openai": {"rpm_remainig": 3}}},
            [("M002", "/providers/openai", "unknown key 'rpm_remainig'")],
        ),
        (
            {"providers": {"openai": {"rpm_remaining": -1, "in_flight": 1.5}}},
            [
                ("M002", "/providers/openai/in_flight", "must be a whole number (got 1.5)"),
                ("M002", "/providers/openai/rpm_remaining", "must be >= 0 (got -1)"),
            ],
        ),
        (
            {"budgets": {"daily": {"fortnight": 3}}},
            [("M002", "/budgets/daily", "unknown key 'fortnight'")],
        ),
        ({"now": "soon"}, [("M002", "/now", 'must be a number (got "soon")')]),
    ],
)
def test_static_snapshot_errors(document: object, expected: list[tuple[str, str, str]]) -> None:
    got = _errors(document)
    assert len(got) == len(expected), got
    for (code, pointer, message), (want_code, want_pointer, want_text) in zip(
        got, expected, strict=True
    ):
        assert (code, pointer) == (want_code, want_pointer)
        assert message.startswith(want_text), message


def test_static_snapshot_bad_json_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        StaticSnapshot.from_json('{"now": 0,\n "providers": }', path="m.json")
    (d,) = info.value.diagnostics
    assert d.code == "M001" and d.span is not None and d.span.line == 2
    with pytest.raises(ConfigurationError) as info:
        StaticSnapshot.from_file(tmp_path / "missing.json")
    assert info.value.diagnostics[0].code == "M003"
    good = tmp_path / "m.json"
    good.write_text(json.dumps(EXAMPLE))
    assert StaticSnapshot.from_file(good).provider("openai").breaker_state == "open"


def test_a_live_snapshot_replays_as_a_static_one() -> None:
    _clock, registry = busy_registry()
    registry.record_budget("total", None, "month", 12.5)
    live = registry.snapshot()
    windows = (30.0, 60.0, 300.0, 3600.0)
    document = live.to_document(windows, names=["a", "b", "c", "gone"])
    replay = StaticSnapshot.from_dict(json.loads(json.dumps(document)))
    for name in ("a", "b", "c", "gone"):
        lv, sv = live.provider(name), replay.provider(name)
        for w in windows:
            assert sv.error_rate(w) == lv.error_rate(w)
            assert sv.success_rate(w) == lv.success_rate(w)
            assert sv.requests(w) == lv.requests(w)
            assert sv.spend(w) == lv.spend(w)
            for stat in LATENCY_STATS:
                assert sv.latency(stat, w) == lv.latency(stat, w)
        for field in ("in_flight", "rpm_used", "rpm_remaining", "tpm_remaining", "breaker_state"):
            assert getattr(sv, field) == getattr(lv, field)
        assert sv.cooling_down == lv.cooling_down
    assert replay.budget_spent("b", "a", "day") == live.budget_spent("b", "a", "day") > 0
    assert replay.budget_spent("total", None, "month") == 12.5
