"""The simulation report: one JSON-able dict built from a :class:`SimulationResult`, and its
text rendering. Everything in it is sorted and rounded, so the same run (same traffic, policy,
config, scenario and seed) gives byte-identical JSON."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from .engine import SimulationResult

__all__ = ["MAX_LISTED", "build_report", "percentile", "render_text", "report_json"]

MAX_LISTED: Final = 200  # breaker changes / probes / breaches listed in full (counts are exact)
_SHARE_BINS: Final = 60


def _r(x: float, digits: int = 6) -> float:
    value = round(x, digits)
    return 0.0 if value == 0 else value  # no "-0.0"


def percentile(ordered: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted sequence (None when empty)."""
    if not ordered:
        return None
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def _latency(values: Iterable[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    stats: dict[str, float | None] = {}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        v = percentile(ordered, q)
        stats[name] = None if v is None else _r(v, 4)
    stats["mean"] = _r(math.fsum(ordered) / len(ordered), 4) if ordered else None
    stats["max"] = _r(ordered[-1], 4) if ordered else None
    return stats


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, tz=UTC).isoformat(timespec="milliseconds")


def build_report(result: SimulationResult) -> dict[str, Any]:
    """The report as plain data (see docs/simulation.md for every key)."""
    n = len(result)
    outcome_names = result.outcomes.names
    ok_id = result.outcomes.index.get("ok", -2)
    outcome_counts = [0] * len(outcome_names)
    for o in result.outcome:
        outcome_counts[o] += 1
    outcomes = {outcome_names[i]: c for i, c in enumerate(outcome_counts)}
    failed = n - outcomes.get("ok", 0)

    route_counts: dict[str, int] = {}
    for name in result.routes.names:
        route_counts[name] = 0
    none_routes = 0
    for r in result.route:
        if r < 0:
            none_routes += 1
        else:
            route_counts[result.routes.names[r]] += 1
    routes = dict(sorted(route_counts.items(), key=lambda kv: (-kv[1], kv[0])))
    if none_routes:
        routes["(none)"] = none_routes

    served = dict.fromkeys(result.providers, 0)
    for s in result.served:
        if s >= 0:
            name = result.provider_ids.names[s]
            served[name] = served.get(name, 0) + 1

    attempts_hist: dict[int, int] = {}
    for a in result.attempts:
        attempts_hist[a] = attempts_hist.get(a, 0) + 1
    total_attempts = sum(k * v for k, v in attempts_hist.items())

    ok_latency = [result.latency[i] for i in range(n) if result.outcome[i] == ok_id]

    providers: dict[str, Any] = {}
    for name in result.providers:
        per_class = {cls: c for (p, cls), c in sorted(result.attempt_outcomes.items()) if p == name}
        skipped = {why: c for (p, why), c in sorted(result.skipped.items()) if p == name}
        sent = sum(per_class.values())
        errors = sent - per_class.get("ok", 0)
        providers[name] = {
            "served": served.get(name, 0),
            "share": _r(served.get(name, 0) / n, 4) if n else 0.0,
            "attempts": sent,
            "attempt_outcomes": per_class,
            "attempt_error_rate": _r(errors / sent, 4) if sent else None,
            "skipped": skipped,
            "spend": _r(result.spend_by_provider.get(name, 0.0)),
            "model": result.models[name].to_json() if name in result.models else None,
        }

    by_class: dict[str, int] = {}
    for (_p, cls), c in result.attempt_outcomes.items():
        by_class[cls] = by_class.get(cls, 0) + c

    failures_by = {k: v for k, v in sorted(outcomes.items()) if k != "ok"}
    spend_total = math.fsum(result.cost)
    report: dict[str, Any] = {
        "policy": result.policy,
        "scenario": result.scenario,
        "seed": result.seed,
        "start_utc": _iso(result.t0) if n else None,
        "duration_s": _r(result.duration, 3),
        "requests": n,
        "succeeded": outcomes.get("ok", 0),
        "failed": failed,
        "failure_rate": _r(failed / n, 6) if n else 0.0,
        "outcomes": dict(sorted(outcomes.items())),
        "routes": routes,
        "providers": providers,
        "attempts": {
            "total": total_attempts,
            "per_request_mean": _r(total_attempts / n, 4) if n else 0.0,
            "per_request_max": max(attempts_hist) if attempts_hist else 0,
            "histogram": {str(k): v for k, v in sorted(attempts_hist.items())},
            "outcomes_by_class": dict(sorted(by_class.items())),
        },
        "latency_s": _latency(ok_latency),
        "spend": {
            "total": _r(spend_total),
            "per_request_mean": _r(spend_total / n, 8) if n else 0.0,
            "by_provider": {p: _r(result.spend_by_provider.get(p, 0.0)) for p in result.providers},
            "by_budget": [
                {"budget": b, "key": k, "spent": _r(v)}
                for (b, k), v in sorted(
                    result.spend_by_budget.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")
                )
            ],
        },
        "budget_breaches": [
            {
                "t": _r(b.t, 3),
                "budget": b.budget,
                "key": b.key,
                "spent": _r(b.spent),
                "amount": b.amount,
            }
            for b in result.breaches[:MAX_LISTED]
        ],
        "breaker": {
            "transitions": len(result.breaker_changes),
            "opened": _count_by(c.provider for c in result.breaker_changes if c.to_state == "open"),
            "changes": [
                {
                    "t": _r(c.t, 3),
                    "provider": c.provider,
                    "from": c.from_state,
                    "to": c.to_state,
                    "reason": c.reason,
                }
                for c in result.breaker_changes[:MAX_LISTED]
            ],
            "probes": [
                {"t": _r(p.t, 3), "provider": p.provider, "outcome": p.outcome}
                for p in result.probes[:MAX_LISTED]
            ],
        },
        "share_over_time": _share(result),
        "failures": {
            "count": failed,
            "by_outcome": failures_by,
            "examples": [
                {
                    "id": f.id,
                    "t": _r(f.t, 3),
                    "route": f.route,
                    "outcome": f.outcome,
                    "message": f.message,
                }
                for f in result.failures
            ],
        },
        "scenario_events": [e.to_json() for e in result.scenario_events],
    }
    return report


def _count_by(items: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return dict(sorted(counts.items()))


def _nice(seconds: float) -> float:
    for step in (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400):
        if seconds <= step:
            return float(step)
    return float(math.ceil(seconds / 86400) * 86400)


def _share(result: SimulationResult) -> dict[str, Any]:
    """Attempts sent per provider per time bin (about 60 bins over the run)."""
    from .engine import SHARE_BUCKET_S

    width = _nice(max(result.duration, SHARE_BUCKET_S) / _SHARE_BINS)
    per = max(1, int(width // SHARE_BUCKET_S))
    bins = int(result.duration // width) + 1 if len(result) else 0
    columns = {p: [0] * bins for p in result.providers}
    for (bucket, provider), count in result.share.items():
        b = min(bins - 1, bucket // per)
        columns.setdefault(provider, [0] * bins)[b] += count
    return {"bin_s": width, "bins": bins, "attempts": columns}


def report_json(report: Mapping[str, Any]) -> str:
    """Canonical JSON text (sorted keys, fixed separators, trailing newline)."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _fmt_s(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def _table(rows: Sequence[Sequence[str]], right: Sequence[bool]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            c.rjust(w) if right[i] else c.ljust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  " + "  ".join(cells).rstrip())
    return out


def render_text(report: Mapping[str, Any]) -> str:
    """The report for a terminal."""
    n = report["requests"]
    lines = [
        f"simulation of policy {report['policy']!r} under scenario {report['scenario']!r}, "
        f"seed {report['seed']}",
        f"  {n:,} requests over {report['duration_s']:,.1f} s from {report['start_utc']}",
        f"  succeeded {report['succeeded']:,}, failed {report['failed']:,} "
        f"({report['failure_rate'] * 100:.3f}%)",
        "",
        "routes (hits):",
    ]
    lines += _table(
        [[r, f"{c:,}", f"{c / n * 100:.1f}%" if n else "-"] for r, c in report["routes"].items()],
        [False, True, True],
    )
    lines += ["", "providers:"]
    rows = [["provider", "served", "share", "attempts", "err rate", "skipped", "spend"]]
    for name, p in report["providers"].items():
        rate = p["attempt_error_rate"]
        rows.append(
            [
                name,
                f"{p['served']:,}",
                f"{p['share'] * 100:.1f}%",
                f"{p['attempts']:,}",
                "-" if rate is None else f"{rate * 100:.2f}%",
                f"{sum(p['skipped'].values()):,}",
                f"${p['spend']:,.4f}",
            ]
        )
    lines += _table(rows, [False, True, True, True, True, True, True])
    a = report["attempts"]
    lines += [
        "",
        f"attempts: {a['total']:,} sent, {a['per_request_mean']:.3f} per request "
        f"(max {a['per_request_max']})",
        "  by outcome: " + ", ".join(f"{k} {v:,}" for k, v in a["outcomes_by_class"].items()),
    ]
    lat = report["latency_s"]
    lines += [
        f"latency of successful requests (arrival to answer): p50 {_fmt_s(lat['p50'])}, "
        f"p95 {_fmt_s(lat['p95'])}, p99 {_fmt_s(lat['p99'])}, max {_fmt_s(lat['max'])}",
    ]
    spend = report["spend"]
    lines += ["", f"spend: ${spend['total']:,.4f} (${spend['per_request_mean']:.6f} per request)"]
    for b in spend["by_budget"]:
        key = "" if b["key"] is None else f"[{b['key']}]"
        lines.append(f"  budget {b['budget']}{key}: ${b['spent']:,.4f}")
    if report["budget_breaches"]:
        lines.append("budget breaches:")
        for b in report["budget_breaches"]:
            key = "" if b["key"] is None else f"[{b['key']}]"
            lines.append(
                f"  t={b['t']:.1f}s {b['budget']}{key}: ${b['spent']:.4f} > ${b['amount']:g}"
            )
    br = report["breaker"]
    if br["transitions"]:
        lines += ["", f"breaker transitions: {br['transitions']}"]
        for c in br["changes"][:20]:
            lines.append(
                f"  t={c['t']:.1f}s {c['provider']}: {c['from']} -> {c['to']} ({c['reason']})"
            )
        if br["transitions"] > 20:
            lines.append(f"  ... {br['transitions'] - 20} more (see the JSON report)")
    if report["scenario_events"]:
        lines += ["", "scenario:"]
        lines += [f"  {e['describe']}" for e in report["scenario_events"]]
    f = report["failures"]
    if f["count"]:
        lines += ["", f"requests that would fail: {f['count']:,}"]
        lines.append("  by outcome: " + ", ".join(f"{k} {v:,}" for k, v in f["by_outcome"].items()))
        for ex in f["examples"][:5]:
            lines.append(f"  {ex['id']} (t={ex['t']:.1f}s, route {ex['route']}): {ex['message']}")
    return "\n".join(lines) + "\n"
