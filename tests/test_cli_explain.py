"""`llmpool-policy explain` and `check --graph` as a user runs them: a subprocess, its exit
codes (0 routed, 1 nothing available or denied, 2 bad input) and its text and JSON output."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from .conftest import POLICIES, ROOT

CONFIG = ROOT / "tests" / "decide" / "data" / "config.json"
DEFAULT = ROOT / "policies" / "default.policy"
NAMES = ("openai-gpt4o", "anthropic-sonnet", "groq-llama", "together-llama", "gemini-pro")


def cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def _json(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def request_file(tmp_path: Path) -> Path:
    data = {"id": "req-1", "model": "gpt-4o", "input_tokens": 1_800, "max_tokens": 600,
            "metadata": {"team": "search"}}  # fmt: skip
    return _json(tmp_path, "req.json", data)


def test_routed_request_exits_0_and_explains(request_file: Path) -> None:
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("policy 'default': route 'default'\n")
    plan = "  plan:\n    1. openai-gpt4o via default: 4 tries, timeout 60s, backoff 1s, 2s, 4s"
    assert plan in out  # the config leaves max_retries out: the seed's 3 retries
    assert "limits: deadline 120s, max attempts 9" in out


def test_what_if_metrics_change_the_plan(tmp_path: Path, request_file: Path) -> None:
    metrics = _json(tmp_path, "m.json", {"providers": {
        "openai-gpt4o": {"breaker_state": "open"},
        "anthropic-sonnet": {"rpm_remaining": 0},
    }})  # fmt: skip
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "- openai-gpt4o: removed, skip when breaker.open" in result.stdout
    assert "rpm.remaining=0" in result.stdout
    assert "    1. groq-llama via default" in result.stdout


def test_nothing_available_exits_1(tmp_path: Path, request_file: Path) -> None:
    metrics = _json(tmp_path, "m.json",
                    {"providers": {n: {"breaker_state": "open"} for n in NAMES}})  # fmt: skip
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics)  # fmt: skip
    assert result.returncode == 1
    assert "(empty: no provider available)" in result.stdout
    for name in NAMES:
        assert f"- {name}: removed, skip when" in result.stdout


def test_budget_denial_exits_1(tmp_path: Path, request_file: Path) -> None:
    policy = tmp_path / "deny.policy"
    policy.write_text('policy "deny"\nbudget total = $10 per day on breach deny\n'
                      "route default { use all }\n")  # fmt: skip
    metrics = _json(tmp_path, "m.json", {"budgets": {"total": {"day": 10.5}}})
    result = cli("explain", policy, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics)  # fmt: skip
    assert result.returncode == 1
    assert "denied: budget total is spent: $10.50 of $10.00 per day" in result.stdout


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        '{"id": "x", "modle": "gpt-4o"}',
        '{"input_tokens": "many"}',
    ],
    ids=["invalid-json", "unknown-field", "wrong-type"],
)
def test_bad_request_file_exits_2(tmp_path: Path, content: str) -> None:
    path = tmp_path / "req.json"
    path.write_text(content)
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stdout == ""
    assert "bad request file" in result.stderr


def test_missing_request_file_exits_2(tmp_path: Path) -> None:
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", tmp_path / "nope.json")
    assert result.returncode == 2
    assert "bad request file" in result.stderr


@pytest.mark.parametrize(
    ("content", "code"),
    [("{oops", "M001"), ('{"providers": {"openai-gpt4o": {"error_rate": 30}}}', "M002")],
    ids=["invalid-json", "rate-above-1"],
)
def test_bad_metrics_file_exits_2(
    tmp_path: Path, request_file: Path, content: str, code: str
) -> None:
    metrics = tmp_path / "m.json"
    metrics.write_text(content)
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics)  # fmt: skip
    assert result.returncode == 2
    assert result.stdout == ""
    assert code in result.stderr


def test_missing_metrics_file_exits_2(tmp_path: Path, request_file: Path) -> None:
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", tmp_path / "nope.json")  # fmt: skip
    assert result.returncode == 2
    assert "M003" in result.stderr


def test_json_form_parses_and_follows_the_schema(tmp_path: Path, request_file: Path) -> None:
    metrics = _json(tmp_path, "m.json", {"providers": {"groq-llama": {"rpm_remaining": 0}}})
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics, "--format", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    schema = json.loads((ROOT / "schemas" / "decision.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["policy"] == "default" and data["route"] == "default"
    assert [a["provider"] for a in data["plans"][0]["attempts"]] == [
        "openai-gpt4o", "anthropic-sonnet", "gemini-pro", "together-llama"
    ]  # fmt: skip
    assert data["excluded"] == [
        {"provider": "groq-llama", "reason": "skip when breaker.open or rpm.remaining == 0 "
                                             "or rpd.remaining == 0"}
    ]  # fmt: skip
    assert data["trace"]["candidates"][2]["values"]["rpm.remaining"] == 0
    # the same inputs print the same bytes
    again = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                "--metrics", metrics, "--format", "json")  # fmt: skip
    assert again.stdout == result.stdout


def test_json_form_when_nothing_is_available(tmp_path: Path, request_file: Path) -> None:
    metrics = _json(tmp_path, "m.json", {"providers": {n: {"rpm_remaining": 0} for n in NAMES}})
    result = cli("explain", DEFAULT, "--config", CONFIG, "--request", request_file,
                 "--metrics", metrics, "--format", "json")  # fmt: skip
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["plans"][0]["attempts"] == []
    assert {e["provider"] for e in data["excluded"]} == set(NAMES)


def test_check_graph_prints_the_decision_graph() -> None:
    result = cli("check", "--graph", "--config", CONFIG, *POLICIES)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for policy in ("default", "cost-first", "canary", "multimodal", "team-budgets"):
        assert f"decision graph of policy '{policy}':" in out
    assert "  [0] route default when (always)" in out
    assert "      candidates (all): " + ", ".join(NAMES) in out
    assert "      skip when breaker.open or rpm.remaining == 0 or rpd.remaining == 0" in out
    assert (
        "      order by priority, success_rate(5m) desc unknown first,"
        " latency.p50(5m) unknown first"
    ) in out
    assert "      split openai-gpt4o 90%, anthropic-sonnet 10%" in out
    assert "      on exhausted -> route economy" in out
    assert "  budget team_daily: $100.00 per day -> fallback economy" in out


def test_check_graph_names_the_failover_statuses(tmp_path: Path) -> None:
    """A failover list of status codes alone printed nothing after `failover`."""
    path = tmp_path / "statuses.policy"
    path.write_text(
        'policy "s"\nroute a when request.stream { use all failover on 429, 5xx, 502..504 }\n'
        "route b { use all failover on timeout, 503 }\n"
    )
    result = cli("check", "--graph", path)
    assert result.returncode == 0, result.stderr
    assert "      each provider: 4 tries, failover 429, 5xx, 502..504\n" in result.stdout
    assert "      each provider: 4 tries, failover timeout, 503\n" in result.stdout


def test_missing_policy_file_exits_2_with_e009(tmp_path: Path, request_file: Path) -> None:
    result = cli("explain", tmp_path / "nope.policy", "--config", CONFIG, "--request", request_file)
    assert result.returncode == 2
    assert "error[E009]: cannot read the policy file: no such file" in result.stderr
    assert "Traceback" not in result.stderr
