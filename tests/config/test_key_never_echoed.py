"""A key pasted into the wrong field is never echoed by validate-config (issue 13, item 4):
not in the message, the help, the pointer, nor the source line under a JSON syntax error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpool_policy.cli import main

KEYS = (
    "gsk_MARKERq7Z0123456789abcdef",
    "sk-proj-MARKERq7Z0123456789",
    "MARKERq7Z01234567890AbCdEf",
)
BASE = {"name": "a", "type": "groq", "api_key_env": "GROQ_API_KEY", "model": "m"}


def documents(key: str) -> dict[str, str]:
    def one(**changes: object) -> str:
        return json.dumps({"providers": [{**BASE, **changes}]})

    return {
        "api_key_env": one(api_key_env=key),
        "name": one(name=key),
        "type": one(type=key),
        "base_url": one(base_url=key),
        "base_url_path": one(base_url=f"http://example.com/{key}/v1"),
        "model_empty_neighbour": one(model="", region=key, tags=[key, ""]),
        "object_key": one(**{key: 1}),
        "header_name": one(headers={key: 1}),
        "policy": json.dumps({"providers": [BASE], "policy": key}),
        "duplicate_key": '{"providers": [], "' + key + '": 1, "' + key + '": 2}',
        "syntax_error_line": '{"providers": [{"name": "a", "api_key": "' + key + '" "x": 1}]}',
        "syntax_error_api_key": '{"providers": [{"api_key": "hunter2MARKERq7", }]}',
    }


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("fmt", ["text", "json"])
def test_validate_config_never_echoes_a_key(
    key: str, fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("GROQ_API_KEY", "not-the-marker")
    for name, text in documents(key).items():
        path = tmp_path / f"{name}.json"
        path.write_text(text, encoding="utf-8")
        code = main(["validate-config", str(path), "--format", fmt])
        out, err = capsys.readouterr()
        assert code == (0 if name == "policy" else 1), (name, out, err)  # read by the pool
        assert "MARKER" not in out + err, (name, out + err)


def test_a_key_in_api_key_env_says_what_it_looks_like(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text(json.dumps({"providers": [{**BASE, "api_key_env": KEYS[0]}]}), "utf-8")
    assert main(["validate-config", str(path), "--format", "short"]) == 1
    out = capsys.readouterr().out
    assert "/providers/0/api_key_env: error[C008]: this looks like an API key" in out
    assert "is not set" not in out  # no "variable gsk_... is not set", once or twice


def test_the_syntax_error_line_keeps_its_caret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"api_key": "' + KEYS[1] + '" "x": 1}', "utf-8")
    main(["validate-config", str(path)])
    lines = capsys.readouterr().out.splitlines()
    source = next(i for i, line in enumerate(lines) if line.startswith("1 | "))
    caret = lines[source + 1]
    assert lines[source][caret.index("^")] == '"'  # under the quote opening "x", as before
