"""The pytest11 plugin, run in a scratch pytest session: routing_snapshot with syrupy's amber
files and with one .txt file per assertion; a changed policy fails with a readable diff."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG = ROOT / "policies" / "tests" / "config.json"

POLICY = """policy "p"
route default {
  use [openai-gpt4o, anthropic-sonnet, groq-llama]
  skip when breaker.open
  order by priority, cost
}
"""

TEST = f"""
from llmpool_policy.testing.runner import load_policy
from pathlib import Path

REQUESTS = {{"chat": {{"id": "c1", "input_tokens": 500, "max_tokens": 100}}}}
DOWN = {{"providers": {{"openai-gpt4o": {{"breaker_state": "open"}}}}}}
METRICS = {{"healthy": {{}}, "openai-down": DOWN}}

def test_routing(routing_snapshot, snapshot):
    policy = load_policy(Path("p.policy"), Path({str(CONFIG)!r}))
    assert routing_snapshot(policy, REQUESTS, METRICS) == snapshot

def test_routing_txt(routing_snapshot, routing_text_snapshot):
    text = routing_snapshot("p.policy", REQUESTS, METRICS, config={str(CONFIG)!r})
    assert text == routing_text_snapshot
"""


def test_snapshots_are_written_then_pass_then_fail_on_change(pytester: pytest.Pytester) -> None:
    pytester.makefile(".policy", p=POLICY)
    pytester.makepyfile(test_routes=TEST)

    pytester.runpytest("--snapshot-update", "-p", "no:cacheprovider").assert_outcomes(passed=2)
    amber = (pytester.path / "__snapshots__" / "test_routes.ambr").read_text()
    assert "## chat under healthy" in amber
    assert "1. anthropic-sonnet via default" in amber  # priority 1, cheaper than openai
    assert "openai-gpt4o in default: skip when breaker.open [breaker.open=true]" in amber
    txt = next((pytester.path / "__snapshots__").rglob("*.txt")).read_text()
    assert txt.startswith("## chat under healthy\nroute: default\nplan:\n")

    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)

    pytester.makefile(".policy", p=POLICY.replace("order by priority, cost", "order by cost"))
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*1. groq-llama via default*"])


def test_plugin_is_registered_by_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_one="def test_fixture(routing_snapshot):\n    assert callable(routing_snapshot)\n"
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
