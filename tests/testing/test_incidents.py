"""Three incidents, each caught by our own tooling before it ships (fixtures in incidents/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpool_policy.cli import main

HERE = Path(__file__).parent / "incidents"
ROOT = HERE.parent.parent.parent
CONFIG = ROOT / "policies" / "tests" / "config.json"


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """`check --config` resolves API keys; CI gives it placeholders."""
    for provider in json.loads(CONFIG.read_text())["providers"]:
        monkeypatch.setenv(provider["api_key_env"], "placeholder")


def test_cyclic_fallback_is_caught_by_check(keys: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--config", str(CONFIG), str(HERE / "cyclic-fallback.policy")])
    out = capsys.readouterr()
    assert code == 1
    assert "error[E403]: fallback cycle: default -> economy -> default" in out.out + out.err


def test_retry_amplification_is_caught_by_an_assert_on_the_bounds(
    keys: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["check", "--config", str(CONFIG), str(HERE / "retry-amplification.policy")])
    out = capsys.readouterr()
    assert code == 1
    assert (
        "error[E404]: `assert max_calls <= 4` fails for route 'default': the worst case is 12"
        in out.out + out.err
    )


def test_the_test_runner_refuses_both_before_running_a_case(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("cyclic-fallback", "retry-amplification"):
        (tmp_path / f"{name}.tests.json").write_text(json.dumps({
            "policy": str(HERE / f"{name}.policy"), "config": str(CONFIG),
            "cases": [{"name": "chat", "request": {"id": "c"}, "expect": {"route": "default"}}],
        }))  # fmt: skip
    code = main(["test", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert "E403" in out and "E404" in out
    assert out.count("the policy does not check") == 2


def test_order_ignored_split_is_caught_by_a_snapshot(capsys: pytest.CaptureFixture[str]) -> None:
    # The snapshot was recorded before the split was added: fastest provider first.
    code = main(["test", str(HERE / "order-ignored.tests.json")])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAILED order-ignored::fastest-first-when-openai-is-slow" in out
    assert "-  1. gemini-pro via default" in out
    assert "+  1. openai-gpt4o via default" in out
    assert "+split in default:" in out and "-> openai-gpt4o" in out
