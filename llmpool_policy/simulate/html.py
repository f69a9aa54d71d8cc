"""The report as one self-contained HTML page: inline CSS and SVG charts, no script, no
external resource, so it opens offline and can be attached to a pull request."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any, Final

__all__ = ["OK_COLOR", "outcome_color", "provider_colors", "render_html"]

# One colour per meaning, the same in every chart: a provider keeps its colour (its place in
# the report's provider list), "ok" is always green and only "ok" is, each failure class has its
# own warm colour, and routes (a third kind of thing) a neutral slate.
OK_COLOR: Final = "#59a14f"
ROUTE_COLOR: Final = "#79706e"
WINDOW_COLOR: Final = "#e15759"
_PROVIDER_PALETTE: Final = (
    "#4e79a7",  # blue
    "#76b7b2",  # teal
    "#b07aa1",  # purple
    "#9c755f",  # brown
    "#edc948",  # yellow
    "#86bcb6",  # light teal
    "#a0cbe8",  # light blue
    "#d4a6c8",  # light purple
    "#bab0ac",  # grey
    "#499894",  # dark teal
)
_FAILURE_COLORS: Final = {
    "rate_limited": "#f28e2b",
    "overloaded": "#ffbe7d",
    "server_error": "#e15759",
    "timeout": "#ff9da7",
    "connection": "#d37295",
    "no_provider": "#8b0000",
    "budget_exceeded": "#b6992d",
    "deadline": "#c85200",
}
_OTHER_FAILURE: Final = "#a33b3b"  # client errors and anything rarer: one dark red


def outcome_color(outcome: str) -> str:
    """The colour of an outcome or error class, the same in every chart."""
    return OK_COLOR if outcome == "ok" else _FAILURE_COLORS.get(outcome, _OTHER_FAILURE)


def provider_colors(names: Sequence[str]) -> dict[str, str]:
    """Each provider's colour, by its place in ``names`` (the report's provider list)."""
    return {n: _PROVIDER_PALETTE[i % len(_PROVIDER_PALETTE)] for i, n in enumerate(names)}


_CSS: Final = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;
max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}
h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;
text-align:right}td:first-child,th:first-child{text-align:left}
.kpi{display:inline-block;margin:0 2em .5em 0}.kpi b{display:block;font-size:1.4em}
.muted{color:#777}svg text{font:11px system-ui,sans-serif;fill:#333}.bad{color:#c0392b}
svg text.window{fill:#a33b3b}
"""


def _share_chart(
    share: Mapping[str, Any], events: Sequence[Mapping[str, Any]], colors: Mapping[str, str]
) -> str:
    """Stacked columns: attempts per provider per time bin; scenario windows shaded and
    labelled with a number and what happens (the list under the chart says it in full)."""
    bins = int(share["bins"])
    series: Mapping[str, Sequence[int]] = share["attempts"]
    if bins == 0 or not series:
        return "<p class=muted>no attempts</p>"
    # x of a time on the plot; labels go in lanes above it so that none overlaps another
    lanes = _label_lanes([(e["start"] / (float(share["bin_s"]) * bins), _label(n, e))
                          for n, e in enumerate(events, 1)], 940.0)  # fmt: skip
    rows = max(lanes, default=-1) + 1
    width, height, left, bottom = 1000, 260 + 16 * rows, 50, 30
    top = 10 + 16 * rows  # label lanes above the plot
    plot_w, plot_h = width - left - 10, height - bottom - top
    totals = [sum(col[b] for col in series.values()) for b in range(bins)]
    peak = max(totals) or 1
    bar_w = plot_w / bins
    bin_s = float(share["bin_s"])
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="provider share over time">'
    ]
    for number, e in enumerate(events, 1):
        x0 = left + e["start"] / bin_s * bar_w
        tip = f"<title>{escape(e['describe'])}</title>"
        if e.get("end") is None:
            parts.append(
                f'<line x1="{x0:.1f}" y1="{top}" x2="{x0:.1f}" y2="{top + plot_h}" '
                f'stroke="#777" stroke-dasharray="4 3">{tip}</line>'
            )
        else:
            x1 = left + e["end"] / bin_s * bar_w
            parts.append(
                f'<rect x="{x0:.1f}" y="{top}" width="{max(1.0, x1 - x0):.1f}" '
                f'height="{plot_h}" fill="{WINDOW_COLOR}" opacity="0.10">{tip}</rect>'
            )
        label, lane = _label(number, e), lanes[number - 1]
        at_end = x0 + 6.2 * len(label) > width - 10  # near the right edge: end there
        anchor = f'x="{width - 10}" text-anchor="end"' if at_end else f'x="{x0 + 2:.1f}"'
        parts.append(
            f'<text {anchor} y="{top - 4 - 16 * lane}" class=window>{escape(label)}{tip}</text>'
        )
    for b in range(bins):
        y = float(top + plot_h)
        for name, col in series.items():
            v = col[b]
            if not v:
                continue
            h = v / peak * plot_h
            y -= h
            parts.append(
                f'<rect x="{left + b * bar_w:.1f}" y="{y:.1f}" width="{max(bar_w - 1, 0.5):.1f}" '
                f'height="{h:.1f}" fill="{colors.get(name, ROUTE_COLOR)}"><title>'
                f"{escape(name)}: {v} attempts, "
                f"t {b * bin_s:g}-{(b + 1) * bin_s:g} s</title></rect>"
            )
    parts.append(
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - 10}" y2="{top + plot_h}" '
        'stroke="#333"/>'
    )
    parts.append(f'<text x="{left - 6}" y="{top + 8}" text-anchor="end">{peak}</text>')
    parts.append(f'<text x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>')
    for k in range(0, bins + 1, max(1, bins // 10)):
        x = left + k * bar_w
        parts.append(
            f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{_clock(k * bin_s)}</text>'
        )
    parts.append("</svg>")
    legend = " ".join(_swatch(colors.get(name, ROUTE_COLOR), name) for name in series)
    if events:
        legend += " " + _swatch(WINDOW_COLOR, "scenario window (numbered as below)", 0.25)
    return "".join(parts) + f"<p>{legend}</p>"


def _swatch(color: str, label: str, opacity: float = 1.0) -> str:
    return (
        f'<span style="white-space:nowrap"><svg width="12" height="12"><rect width="12" '
        f'height="12" fill="{color}" opacity="{opacity:g}"/></svg> {escape(label)}</span>'
    )


def _short(event: Mapping[str, Any]) -> str:
    """A window's label on the chart: what and who (``outage openai-gpt4o``)."""
    who = f" {event['provider']}" if event.get("provider") else ""
    return f"{str(event['kind']).replace('_', ' ')}{who}"


def _label(number: int, event: Mapping[str, Any]) -> str:
    return f"{number}. {_short(event)}"


def _label_lanes(labels: Sequence[tuple[float, str]], width: float) -> list[int]:
    """The lane of each label (0 nearest the plot), given where it starts (a fraction of the
    plot's width) and its text: a label takes the first lane where the one before has ended."""
    lane_end: list[float] = []
    lanes: list[int] = []
    for fraction, text in labels:
        x0 = fraction * width
        lane = next((k for k, end in enumerate(lane_end) if end <= x0), len(lane_end))
        if lane == len(lane_end):
            lane_end.append(0.0)
        lane_end[lane] = x0 + 6.2 * len(text) + 8  # 11px text: about 6.2px a character
        lanes.append(lane)
    return lanes


def _clock(seconds: float) -> str:
    s = int(seconds)
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}"
    return f"{s // 60}m{s % 60:02d}" if s >= 60 else f"{s}s"


def _bars(items: Mapping[str, int | float], color: Callable[[str], str], *, unit: str = "") -> str:
    """Horizontal bars, one per item, each in the colour of what it stands for."""
    if not items:
        return "<p class=muted>none</p>"
    width, row, label_w = 1000, 22, 220
    peak = max(items.values()) or 1
    height = row * len(items) + 4
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%">'
    ]
    for k, (name, value) in enumerate(items.items()):
        y = k * row + 2
        w = value / peak * (width - label_w - 120)
        shown = f"{value:,.4f}" if isinstance(value, float) else f"{value:,}"
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y + 2}" width="{max(w, 1):.1f}" height="{row - 6}" '
            f'fill="{color(name)}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 14}">{unit}{shown}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1000:,.0f} ms"


def render_html(report: Mapping[str, Any], *, title: str | None = None) -> str:
    """The whole page as a string."""
    n = report["requests"]
    name = title or f"Simulation: {report['policy']} / {report['scenario']}"
    lat = report["latency_s"]
    kpis = [
        ("requests", f"{n:,}"),
        ("failed", f"{report['failed']:,} ({report['failure_rate'] * 100:.3f}%)"),
        ("latency p50 / p95 / p99", f"{_ms(lat['p50'])} / {_ms(lat['p95'])} / {_ms(lat['p99'])}"),
        ("attempts per request", f"{report['attempts']['per_request_mean']:.3f}"),
        ("spend", f"${report['spend']['total']:,.4f}"),
    ]
    providers = report["providers"]
    prov_rows = [
        [
            p,
            f"{v['served']:,}",
            f"{v['share'] * 100:.1f}%",
            f"{v['attempts']:,}",
            "-" if v["attempt_error_rate"] is None else f"{v['attempt_error_rate'] * 100:.2f}%",
            ", ".join(f"{k} {c}" for k, c in v["skipped"].items()) or "-",
            f"${v['spend']:,.4f}",
        ]
        for p, v in providers.items()
    ]
    colors = provider_colors(list(providers))

    def provider_color(name: str) -> str:
        return colors.get(name, ROUTE_COLOR)

    breaker = report["breaker"]
    breaker_rows = [
        [f"{c['t']:.1f} s", c["provider"], f"{c['from']} → {c['to']}", c["reason"]]
        for c in breaker["changes"]
    ]
    probe_rows = [[f"{p['t']:.1f} s", p["provider"], p["outcome"]] for p in breaker["probes"]]
    budget_rows = [
        [b["budget"], b["key"] or "-", f"${b['spent']:,.4f}"] for b in report["spend"]["by_budget"]
    ]
    breach_rows = [
        [
            f"{b['t']:.1f} s",
            b["budget"],
            b["key"] or "-",
            f"${b['spent']:,.4f}",
            f"${b['amount']:g}",
        ]
        for b in report["budget_breaches"]
    ]
    fail = report["failures"]
    fail_rows = [
        [e["id"], f"{e['t']:.1f} s", e["route"] or "-", e["outcome"], e["message"]]
        for e in fail["examples"]
    ]
    parts = [
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>",
        f"<title>{escape(name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{escape(name)}</h1>",
        f"<p class=muted>seed {report['seed']} · start {escape(str(report['start_utc']))} · "
        f"{report['duration_s']:,.1f} s of virtual time</p>",
        "".join(
            f"<div class=kpi><span class=muted>{escape(k)}</span><b>{escape(v)}</b></div>"
            for k, v in kpis
        ),
        "<h2>Provider share over time (attempts sent)</h2>",
        _share_chart(report["share_over_time"], report["scenario_events"], colors),
        "<h2>Routes</h2>",
        _bars(report["routes"], lambda _: ROUTE_COLOR),
        "<h2>Outcomes (requests)</h2>",
        _bars(report["outcomes"], outcome_color),
        "<h2>Attempts by outcome</h2>",
        _bars(report["attempts"]["outcomes_by_class"], outcome_color),
        "<h2>Providers</h2>",
        _table(
            ["provider", "served", "share", "attempts", "error rate", "skipped", "spend"], prov_rows
        ),
        "<h2>Spend by provider (USD)</h2>",
        _bars(dict(report["spend"]["by_provider"]), provider_color, unit="$"),
    ]
    if budget_rows:
        parts += ["<h2>Spend by budget key</h2>", _table(["budget", "key", "spent"], budget_rows)]
    if breach_rows:
        parts += [
            "<h2 class=bad>Budget breaches</h2>",
            _table(["t", "budget", "key", "spent", "amount"], breach_rows),
        ]
    if report["scenario_events"]:
        parts += ["<h2>Scenario</h2><ol>"]
        parts += [f"<li>{escape(e['describe'])}</li>" for e in report["scenario_events"]]
        parts += ["</ol>"]
    parts += [
        f"<h2>Breaker ({breaker['transitions']} transition"
        f"{'' if breaker['transitions'] == 1 else 's'})</h2>",
        _table(["t", "provider", "change", "reason"], breaker_rows)
        if breaker_rows
        else "<p class=muted>no transitions</p>",
    ]
    if probe_rows:
        parts += ["<h2>Probes</h2>", _table(["t", "provider", "outcome"], probe_rows)]
    parts += [
        f"<h2>Requests that would fail ({fail['count']:,})</h2>",
        _table(["id", "t", "route", "outcome", "error"], fail_rows)
        if fail_rows
        else "<p class=muted>none</p>",
        "</body></html>\n",
    ]
    return "".join(parts)
