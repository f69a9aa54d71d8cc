"""One output convention across the verbs (issue 12): every verb that prints a result takes
``--format text|json`` (check and validate-config keep ``short`` too); files are written with
``--report FILE``. ``simulate --report -`` keeps working as the old spelling of --format json."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from llmpool_policy.cli import build_parser, main

from .conftest import ROOT

EXAMPLES = ROOT / "docs" / "examples" / "simulation"
# verbs whose output is not a result to format, and why
NOT_A_RESULT = {
    "schema": "prints the JSON Schema itself",
    "import": "prints traffic JSON lines: the data, not a report",
    "demo": "a guided tour for people",
}


def verbs() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_every_verb_that_prints_a_result_takes_format_text_and_json() -> None:
    missing = []
    for name, parser in verbs().items():
        if name in NOT_A_RESULT:
            continue
        formats = [a for a in parser._actions if "--format" in a.option_strings]
        if not formats or not {"text", "json"} <= set(formats[0].choices or ()):
            missing.append(name)
        else:
            assert formats[0].default == "text", name
    assert missing == []
    assert set(NOT_A_RESULT) <= set(verbs())
    for name in ("check", "validate-config"):  # their one-line-per-finding form stays
        action = next(a for a in verbs()[name]._actions if "--format" in a.option_strings)
        assert "short" in (action.choices or ())


def simulate(capsys: pytest.CaptureFixture[str], tmp_path: Path, *more: str) -> str:
    traffic = tmp_path / "t.csv"
    if not traffic.exists():
        rows = (EXAMPLES / "azure-conv-excerpt.csv").read_text().splitlines()[:201]
        traffic.write_text("\n".join(rows) + "\n")
    code = main(["simulate", str(ROOT / "policies" / "default.policy"), "--config",
                 str(EXAMPLES / "config.json"), "--traffic", str(traffic), "--no-progress",
                 *more])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def test_simulate_format_json_prints_the_json_report(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = simulate(capsys, tmp_path)
    assert "200 requests" in text and not text.startswith("{")
    as_json = simulate(capsys, tmp_path, "--format", "json", "--report", str(tmp_path / "r.json"))
    assert json.loads(as_json)["requests"] == 200
    assert as_json == (tmp_path / "r.json").read_text()  # the file and stdout agree
    assert simulate(capsys, tmp_path, "--report", "-") == as_json  # the old spelling
    # text on stdout with a file beside it
    assert simulate(capsys, tmp_path, "--report", str(tmp_path / "r.txt")) == text


def test_fmt_format_json_lists_every_file_with_its_status(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    good = tmp_path / "good.policy"
    good.write_text('policy "p"\n\nroute default {\n  use all\n}\n')
    messy = tmp_path / "messy.policy"
    messy.write_text('policy "p"\nroute default { use all }\n')
    broken = tmp_path / "broken.policy"
    broken.write_text("route {")
    code = main(["fmt", "--check", "--format", "json", str(good), str(messy), str(broken)])
    out = capsys.readouterr().out
    assert code == 1
    statuses = {Path(f["path"]).name: f["status"] for f in json.loads(out)["files"]}
    assert statuses == {"good.policy": "unchanged", "messy.policy": "would_reformat",
                        "broken.policy": "does_not_parse"}  # fmt: skip
    main(["fmt", "--diff", "--format", "json", str(messy)])
    (entry,) = json.loads(capsys.readouterr().out)["files"]
    assert entry["diff"].startswith(f"--- {messy}\n")
    assert main(["fmt", "--format", "json", str(messy)]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["status"] == "reformatted"


def test_emulate_format_json_prints_the_providers_as_one_object(tmp_path: Path) -> None:
    emu = tmp_path / "emu.json"
    emu.write_text(json.dumps({"providers": [{"name": "oa", "type": "openai"},
                                             {"name": "cl", "type": "anthropic"}]}))  # fmt: skip
    command = [sys.executable, "-m", "llmpool_policy", "emulate", "--config", str(emu),
               "--format", "json", "--write-config", str(tmp_path / "c.json")]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert process.stdout is not None
        document = json.loads(process.stdout.readline())
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert [p["name"] for p in document["providers"]] == ["oa", "cl"]
    assert document["providers"][0]["base_url"].startswith("http://127.0.0.1:")
    assert document["config"] == str(tmp_path / "c.json")


def test_ctrl_c_while_emulate_prints_its_providers_is_a_clean_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A Ctrl-C that lands while the provider lines print (a test, or a user, stopping it at
    once) is the same clean stop as one during the wait: exit 0 and the journal written (it
    was exit 130; the subprocess test above failed now and then on a loaded machine)."""
    emu = tmp_path / "emu.json"
    emu.write_text(json.dumps({"providers": [{"name": "oa", "type": "openai"}]}))

    class Interrupting:
        def write(self, text: str) -> int:
            raise KeyboardInterrupt

        def flush(self) -> None:
            pass

    monkeypatch.setattr(sys, "stdout", Interrupting())
    journal = tmp_path / "journal.jsonl"
    code = main(["emulate", "--config", str(emu), "--format", "json", "--journal", str(journal)])
    assert code == 0
    assert journal.exists()
