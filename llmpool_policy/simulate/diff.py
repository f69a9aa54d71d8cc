"""A behavioural diff of two policies over the same traffic, scenario and seed.

Both policies are simulated (same provider models, same random streams); request i of one run
is request i of the other. A decision *changes* when the first planned provider differs; a
change of route name alone (same first provider) is counted and listed apart, as
``route_only_changes``, so the rows of each list add up to its count. The outcome changes when
who served it (or how it failed) differs. Counts go by ``old -> new`` with a few example request
ids each, then the aggregate deltas, then the CI gates. Both policies may carry the same
``policy`` name, so the diff also names the two files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .engine import SimulationResult
from .report import build_report

__all__ = ["Gate", "build_diff", "check_gates", "parse_gate", "render_diff_text"]

EXAMPLES_PER_CHANGE: Final = 3
MAX_CHANGES_LISTED: Final = 50
ROWS_SHOWN: Final = 20  # per section of the text rendering (the JSON lists MAX_CHANGES_LISTED)


@dataclass(frozen=True)
class Gate:
    """``--max-cost-increase 5%`` (relative) or ``--max-failure-increase 0.1%`` (points)."""

    name: str
    limit: float  # a fraction: 0.05 for 5%


def parse_gate(name: str, text: str) -> Gate:
    m = re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)\s*(%?)\s*", text)
    if not m:
        raise ValueError(f"{name}: expected a percentage like 5% (got {text!r})")
    value = float(m.group(1))
    return Gate(name, value / 100.0 if m.group(2) else value)


def _label(route: str | None, provider: str | None) -> str:
    return f"{route or '(none)'}/{provider or '(none)'}"


def build_diff(
    old: SimulationResult,
    new: SimulationResult,
    *,
    old_file: str | None = None,
    new_file: str | None = None,
) -> dict[str, Any]:
    """The diff as a JSON-ready dict; ``old_file`` and ``new_file`` name where the policies
    came from (they are what tells two policies named alike apart)."""
    if len(old) != len(new) or old.ids != new.ids:
        raise ValueError("the two runs did not see the same traffic")
    n = len(old)
    decisions: dict[tuple[str, str], list[Any]] = {}
    route_only: dict[tuple[str, str], list[Any]] = {}
    outcomes: dict[tuple[str, str], list[Any]] = {}

    def count(table: dict[tuple[str, str], list[Any]], key: tuple[str, str], i: int) -> None:
        entry = table.setdefault(key, [0, []])
        entry[0] += 1
        if len(entry[1]) < EXAMPLES_PER_CHANGE:
            entry[1].append(old.ids[i])

    for i in range(n):
        a = _label(old.route_of(i), old.planned_of(i))
        b = _label(new.route_of(i), new.planned_of(i))
        if a != b:
            same_provider = old.planned_of(i) == new.planned_of(i)
            count(route_only if same_provider else decisions, (a, b), i)
        oa = old.served_by(i) or f"failed:{old.outcome_of(i)}"
        ob = new.served_by(i) or f"failed:{new.outcome_of(i)}"
        if oa != ob:
            count(outcomes, (oa, ob), i)
    ro, rn = build_report(old), build_report(new)

    def listed(table: Mapping[tuple[str, str], list[Any]]) -> list[dict[str, Any]]:
        ordered = sorted(table.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return [
            {"old": k[0], "new": k[1], "count": v[0], "examples": v[1]}
            for k, v in ordered[:MAX_CHANGES_LISTED]
        ]

    def delta(a: float | None, b: float | None) -> dict[str, Any]:
        rel = None if a is None or a == 0 or b is None else round((b - a) / a, 6)
        diff = None if a is None or b is None else round(b - a, 6)
        return {"old": a, "new": b, "delta": diff, "relative": rel}

    def total(table: Mapping[tuple[str, str], list[Any]]) -> int:
        return sum(v[0] for v in table.values())

    return {
        "old_policy": old.policy,
        "new_policy": new.policy,
        "old_file": old_file,
        "new_file": new_file,
        "scenario": old.scenario,
        "seed": old.seed,
        "requests": n,
        "decisions_changed": total(decisions),
        "route_only_changes": total(route_only),
        "outcomes_changed": total(outcomes),
        "decision_changes": listed(decisions),
        "route_only_change_rows": listed(route_only),
        "outcome_changes": listed(outcomes),
        "aggregate": {
            "cost": delta(ro["spend"]["total"], rn["spend"]["total"]),
            "failure_rate": delta(ro["failure_rate"], rn["failure_rate"]),
            "latency_p50_s": delta(ro["latency_s"]["p50"], rn["latency_s"]["p50"]),
            "latency_p95_s": delta(ro["latency_s"]["p95"], rn["latency_s"]["p95"]),
            "latency_p99_s": delta(ro["latency_s"]["p99"], rn["latency_s"]["p99"]),
            "attempts_per_request": delta(
                ro["attempts"]["per_request_mean"], rn["attempts"]["per_request_mean"]
            ),
        },
        "routes": {"old": ro["routes"], "new": rn["routes"]},
        "served": {
            "old": {p: v["served"] for p, v in ro["providers"].items()},
            "new": {p: v["served"] for p, v in rn["providers"].items()},
        },
    }


def check_gates(diff: Mapping[str, Any], gates: list[Gate]) -> list[str]:
    """The gates that failed, each as a sentence (empty: all passed)."""
    failed: list[str] = []
    agg = diff["aggregate"]
    for gate in gates:
        if gate.name == "max-cost-increase":
            old, new = agg["cost"]["old"], agg["cost"]["new"]
            increase = (0.0 if new == 0 else float("inf")) if old == 0 else (new - old) / old
            if increase > gate.limit:
                failed.append(
                    f"cost rises {increase * 100:.2f}% (${old:.4f} -> ${new:.4f}), more than "
                    f"the allowed {gate.limit * 100:g}%"
                )
        elif gate.name == "max-failure-increase":
            old, new = agg["failure_rate"]["old"], agg["failure_rate"]["new"]
            if new - old > gate.limit + 1e-12:
                failed.append(
                    f"failure rate rises {(new - old) * 100:.3f} points ({old * 100:.3f}% -> "
                    f"{new * 100:.3f}%), more than the allowed {gate.limit * 100:g} points"
                )
        else:
            raise ValueError(f"unknown gate {gate.name!r}")
    return failed


def _named(file: str | None, policy: str) -> str:
    """``policies/a.policy ('default')``: the file tells apart two policies named alike."""
    return f"{file} ({policy!r})" if file else repr(policy)


def _num(v: float | None, unit: str = "") -> str:
    if v is None:
        return "-"
    return f"{unit}{v:,.4f}" if unit == "$" else f"{v:,.4f}{unit}"


def render_diff_text(diff: Mapping[str, Any], failed_gates: list[str] | None = None) -> str:
    n = diff["requests"]

    def pct(k: int) -> str:
        return f"{k / n * 100:.2f}%" if n else "-"

    lines = [
        f"diff {_named(diff['old_file'], diff['old_policy'])} -> "
        f"{_named(diff['new_file'], diff['new_policy'])} over {n:,} requests "
        f"(scenario {diff['scenario']!r}, seed {diff['seed']})",
        f"  decisions changed: {diff['decisions_changed']:,} ({pct(diff['decisions_changed'])}); "
        f"outcomes changed: {diff['outcomes_changed']:,} ({pct(diff['outcomes_changed'])}); "
        f"same first provider under another route name: {diff['route_only_changes']:,}",
    ]
    sections = (
        ("decision_changes", "decisions_changed", "decision changes (first provider differs; "
         "route/first provider, old -> new)"),
        ("route_only_change_rows", "route_only_changes", "route-only changes (same first "
         "provider under another route name, old -> new)"),
        ("outcome_changes", "outcomes_changed", "outcome changes (served by, old -> new)"),
    )  # fmt: skip
    for rows_key, count_key, title in sections:
        rows = diff[rows_key]
        if not rows:
            continue
        lines += ["", f"{title}:"]
        for c in rows[:ROWS_SHOWN]:
            lines.append(
                f"  {c['count']:>8,}  {c['old']} -> {c['new']}   e.g. " + ", ".join(c["examples"])
            )
        rest = diff[count_key] - sum(c["count"] for c in rows[:ROWS_SHOWN])
        if rest:
            lines.append(f"  {rest:>8,}  more, in other old -> new pairs (not shown)")
    lines += ["", "aggregates (old -> new):"]
    names = {
        "cost": "cost ($)",
        "failure_rate": "failure rate",
        "latency_p50_s": "latency p50 (s)",
        "latency_p95_s": "latency p95 (s)",
        "latency_p99_s": "latency p99 (s)",
        "attempts_per_request": "attempts per request",
    }
    for key, label in names.items():
        d = diff["aggregate"][key]
        rel = "" if d["relative"] is None else f" ({d['relative'] * 100:+.2f}%)"
        lines.append(f"  {label:<22} {_num(d['old'])} -> {_num(d['new'])}{rel}")
    if failed_gates is not None:
        lines.append("")
        if failed_gates:
            lines += [f"GATE FAILED: {g}" for g in failed_gates]
        else:
            lines.append("gates: all passed")
    return "\n".join(lines) + "\n"
