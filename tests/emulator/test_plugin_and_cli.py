"""The pytest fixture (via the pytest11 entry point) and `llmpool-policy emulate`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from llmpool_policy.cli import main
from llmpool_policy.emulator import Behaviour, Clock, Emulator
from llmpool_policy.metrics import ManualClock

from .conftest import post


def test_entry_point_is_registered() -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("llmpool_policy_emulator") == "llmpool_policy.emulator.pytest_plugin"


def test_fixture_is_running_and_instant(emulator: Emulator, client: httpx.Client) -> None:
    assert emulator.running and emulator.latency_scale == 0
    provider = emulator.add("p", "groq")
    assert post(client, provider).status_code == 200
    assert emulator.journal.entries("p")[0].delay == 0


class TestOverriddenClock:
    @pytest.fixture
    def emulator_clock(self) -> Clock:
        return ManualClock(0.0)

    def test_the_fixture_uses_it(
        self, emulator: Emulator, emulator_clock: ManualClock, client: httpx.Client
    ) -> None:
        assert emulator.clock is emulator_clock
        provider = emulator.add("p", "openai", behaviour=Behaviour(requests_per_minute=1))
        assert [post(client, provider).status_code for _ in range(2)] == [200, 429]
        emulator_clock.advance(60)
        assert post(client, provider).status_code == 200


@pytest.mark.parametrize(
    ("how", "sigint_ignored"),
    [
        (signal.SIGINT, False),  # Ctrl-C
        (signal.SIGTERM, False),  # `kill`, a supervisor, a container stop
        (signal.SIGTERM, True),  # `emulate ... &` from a script: the shell ignores its SIGINT
    ],
    ids=["ctrl-c", "sigterm", "background-job-sigterm"],
)
def test_cli_serves_until_stopped(
    tmp_path: Path, how: signal.Signals, sigint_ignored: bool
) -> None:
    emu = tmp_path / "emu.json"
    emu.write_text(json.dumps({"providers": [
        {"name": "oa", "type": "openai", "api_key": "sk-cli-secret"},
        {"name": "cl", "type": "anthropic", "behaviour": {"faults": {"overloaded": 1}}},
    ]}))  # fmt: skip
    config, journal = tmp_path / "config.json", tmp_path / "journal.jsonl"
    command = [sys.executable, "-m", "llmpool_policy", "emulate", "--config", str(emu),
               "--latency-scale", "0", "--write-config", str(config),
               "--journal", str(journal)]  # fmt: skip
    if sigint_ignored:  # as a non-interactive shell starts a background job; exec keeps it
        command = ["sh", "-c", 'trap "" INT; exec "$@"', "sh", *command]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(3)]
        names = [line.split("\t")[0] for line in lines[:2]]
        assert names == ["oa", "cl"]
        assert lines[2].startswith("wrote provider config")
        base = lines[0].split("\t")[2].strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")
        headers = {"authorization": "Bearer sk-cli-secret"}
        body = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        assert httpx.post(base + "/chat/completions", headers=headers, json=body).status_code == 200
        document = json.loads(config.read_text())
        assert document["providers"][0]["base_url"] == base
    finally:
        process.send_signal(how)
        try:
            _, err = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
            pytest.fail(f"emulate did not stop on {how.name}: {err}")
    assert process.returncode == 0, err
    entries = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["status"] for e in entries] == [200]
    assert "sk-cli-secret" not in journal.read_text()


def test_cli_bad_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "emu.json"
    bad.write_text(json.dumps({"providers": [{"name": "x", "behaviour": {"faults": {"nope": 1}}}]}))
    assert main(["emulate", "--config", str(bad)]) == 2
    assert "unknown fault 'nope'" in capsys.readouterr().err
    assert main(["emulate", "--config", str(tmp_path / "missing.json")]) == 2
    assert main(["emulate", "--config", str(bad), "--latency-scale", "-1"]) == 2
