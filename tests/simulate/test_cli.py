"""`llmpool-policy simulate | diff | import` as a user runs them: subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from .conftest import EXAMPLES, ROOT

CONFIG = str(EXAMPLES / "config.json")
EXCERPT = EXAMPLES / "azure-conv-excerpt.csv"
# the first 600 rows (2 min 17 s of traffic) keep the subprocess runs short; the outage of the
# example scenario starts at 2 m
_SMALL = ROOT / ".pytest_cache" / "azure-conv-600.csv"
_SMALL.parent.mkdir(exist_ok=True)
_SMALL.write_text("\n".join(EXCERPT.read_text().splitlines()[:601]) + "\n")
TRAFFIC = str(_SMALL)
SCENARIO = str(EXAMPLES / "outage.json")
DEFAULT = str(ROOT / "policies" / "default.policy")
COST_FIRST = str(ROOT / "policies" / "cost-first.policy")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )


def test_simulate_writes_text_json_and_offline_html(tmp_path: Path) -> None:
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    outage_run = ("simulate", DEFAULT, "--config", CONFIG, "--traffic", TRAFFIC,
                  "--scenario", SCENARIO, "--seed", "4")  # fmt: skip
    done = cli(*outage_run, "--report", str(out_json), "--report", str(out_html))
    assert done.returncode == 0, done.stderr
    assert "600 requests" in done.stdout and "routes (hits):" in done.stdout
    assert done.stderr == ""  # no progress bar when stderr is not a terminal
    report = json.loads(out_json.read_text())
    assert report["requests"] == 600 and report["seed"] == 4
    assert report["breaker"]["opened"].get("openai-gpt4o", 0) >= 1
    page = out_html.read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("<svg") >= 4
    # self-contained: nothing fetched (no scripts, stylesheets, images or links out)
    assert not re.search(r"<script|<link|<img|src=|href=", page)
    # the same run again: byte-identical JSON
    again = tmp_path / "again.json"
    cli(*outage_run, "--report", str(again))
    assert again.read_bytes() == out_json.read_bytes()


def test_simulate_progress_on_request() -> None:
    done = cli(
        "simulate", DEFAULT, "--config", CONFIG, "--traffic", TRAFFIC, "--progress", "--report", "-"
    )
    assert done.returncode == 0, done.stderr
    assert "600/600" in done.stderr
    assert json.loads(done.stdout)["requests"] == 600


def test_diff_reports_changes_and_gates_set_the_exit_code() -> None:
    done = cli(
        "diff",
        DEFAULT,
        COST_FIRST,
        "--config",
        CONFIG,
        "--traffic",
        TRAFFIC,
        "--max-cost-increase",
        "5%",
        "--max-failure-increase",
        "0.1%",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "decision changes" in done.stdout and "gates: all passed" in done.stdout
    assert re.search(r"default/\S+ -> cheap/groq-llama\s+e\.g\. azure-conv-", done.stdout)
    # the other way round, cost-first -> default costs more: the cost gate fails
    back = cli(
        "diff",
        COST_FIRST,
        DEFAULT,
        "--config",
        CONFIG,
        "--traffic",
        TRAFFIC,
        "--max-cost-increase",
        "5%",
        "--format",
        "json",
    )
    assert back.returncode == 1, back.stderr
    diff = json.loads(back.stdout)
    assert diff["aggregate"]["cost"]["new"] > diff["aggregate"]["cost"]["old"] * 1.05
    assert diff["gates"]["failed"] and "cost rises" in diff["gates"]["failed"][0]
    assert diff["decisions_changed"] > 0 and diff["decision_changes"][0]["examples"]


def test_import_azure_writes_traffic_lines(tmp_path: Path) -> None:
    done = cli("import", "azure", str(EXCERPT))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2_000
    assert json.loads(lines[0]) == {
        "id": "azure-conv-000001",
        "input_tokens": 374,
        "output_tokens": 44,
        "ts": 1700158546.68059,
    }
    traffic = tmp_path / "t.jsonl"
    traffic.write_text(done.stdout)
    traffic.write_text("\n".join(lines[:300]) + "\n")
    sim = cli("simulate", DEFAULT, "--config", CONFIG, "--traffic", str(traffic), "--report", "-")
    assert sim.returncode == 0 and json.loads(sim.stdout)["requests"] == 300


def test_bad_inputs_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "ts": 1}\n')
    done = cli("simulate", DEFAULT, "--config", CONFIG, "--traffic", str(bad))
    assert done.returncode == 2 and "a size is required" in done.stderr
    done = cli("simulate", DEFAULT, "--config", CONFIG, "--traffic", str(tmp_path / "none"))
    assert done.returncode == 2 and "cannot read" in done.stderr
    scenario = tmp_path / "s.json"
    scenario.write_text('{"events": [{"kind": "outage", "provider": "nope", "from": 0, "to": 1}]}')
    done = cli(
        "simulate", DEFAULT, "--config", CONFIG, "--traffic", TRAFFIC, "--scenario", str(scenario)
    )
    assert done.returncode == 2 and "unknown provider(s): nope" in done.stderr
    done = cli(
        "diff",
        DEFAULT,
        DEFAULT,
        "--config",
        CONFIG,
        "--traffic",
        TRAFFIC,
        "--max-cost-increase",
        "lots",
    )
    assert done.returncode == 2 and "percentage" in done.stderr
