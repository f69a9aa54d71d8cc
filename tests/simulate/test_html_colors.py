"""The HTML report (issue 12): one colour per meaning across charts ("ok" is the same green in
every chart and nothing else is; a provider has one colour in the share chart and the spend
chart), and every scenario window is labelled on the chart, numbered as the list below it."""

from __future__ import annotations

import re

import pytest

from llmpool_policy.simulate import build_report, load_simulation, load_traffic, render_html
from llmpool_policy.simulate.html import OK_COLOR, outcome_color

from .conftest import EXAMPLES, ROOT


@pytest.fixture(scope="module")
def page() -> str:
    # the whole excerpt (7 min): every window of the example scenario, failed attempts too
    traffic = EXAMPLES / "azure-conv-excerpt.csv"
    sim = load_simulation(ROOT / "policies" / "default.policy", EXAMPLES / "config.json",
                          scenario=EXAMPLES / "outage.json", seed=1)  # fmt: skip
    return render_html(build_report(sim.run(load_traffic(traffic))))


def section(page: str, title: str) -> str:
    return page.split(f"<h2>{title}</h2>", 1)[1].split("<h2", 1)[0]


def bar_colors(svg: str) -> dict[str, str]:
    """Label -> fill of the horizontal bars of one chart."""
    found = re.findall(r'text-anchor="end">([^<]+)</text><rect [^>]*fill="(#[0-9a-f]{6})"', svg)
    return dict(found)


def test_ok_is_one_green_in_every_chart_and_nothing_else_is(page: str) -> None:
    outcomes = bar_colors(section(page, "Outcomes (requests)"))
    attempts = bar_colors(section(page, "Attempts by outcome"))
    assert outcomes["ok"] == attempts["ok"] == OK_COLOR
    failures = {k: v for k, v in attempts.items() if k != "ok"}
    assert failures, "the scenario's outage should leave failed attempts"
    for name, color in failures.items():
        assert color == outcome_color(name) != OK_COLOR
    assert len(set(failures.values())) == len(failures)  # each failure class its own colour
    every_fill = re.findall(r'fill="(#[0-9a-f]{6})"', page)
    assert every_fill.count(OK_COLOR) == 2  # the two ok bars, and nothing else


def test_a_provider_has_one_colour_in_every_chart(page: str) -> None:
    share = section(page, "Provider share over time (attempts sent)")
    in_share: dict[str, set[str]] = {}
    for color, name in re.findall(r'fill="(#[0-9a-f]{6})"><title>([^:<]+): \d+ attempts', share):
        in_share.setdefault(name, set()).add(color)
    spend = bar_colors(section(page, "Spend by provider (USD)"))
    assert len(in_share) >= 2
    for name, colors in in_share.items():
        assert colors == {spend[name]}, name
    assert len(set(spend.values())) == len(spend)  # providers told apart
    assert OK_COLOR not in spend.values()
    routes = bar_colors(section(page, "Routes"))
    assert not set(routes.values()) & (set(spend.values()) | {OK_COLOR})


def test_every_scenario_window_is_labelled_on_the_chart(page: str) -> None:
    share = section(page, "Provider share over time (attempts sent)")
    labels = re.findall(r"class=window>([^<]+)<title>", share)
    listed = re.findall(r"<li>([^<]+)</li>", page.split("<h2>Scenario</h2>", 1)[1])
    assert len(labels) == len(listed) == 4  # outage, 429 storm, latency, price change
    assert labels[0] == "1. outage openai-gpt4o" and listed[0].startswith("120s-240s: outage")
    assert labels[1] == "2. rate limit storm groq-llama"
    # labels never overlap: two in one lane start after the previous one ends
    ys = re.findall(r'y="(-?[\d.]+)" class=window', share)
    assert all(float(y) > 0 for y in ys)
