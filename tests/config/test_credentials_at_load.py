"""Keys and header values are checked when the configuration loads (issue 13, item 11, the
load-time half): a single trailing newline stripped with a note, control characters and
non-ASCII refused with a pointer, never shown."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpool_policy.cli import main
from llmpool_policy.config import load_config, validate_config_data
from llmpool_policy.diagnostics import Severity
from llmpool_policy.errors import ConfigurationError

from .corpus import doc, provider

SECRET = "sk-proj-MARKERs3cr3t0123456789"


def refused(data: object, env: dict[str, str]) -> list[tuple[str, str | None]]:
    with pytest.raises(ConfigurationError) as info:
        validate_config_data(data, env=env)
    text = str(info.value) + json.dumps([d.to_dict() for d in info.value.diagnostics])
    assert "MARKER" not in text and "Evil" not in text
    return [(d.code, d.pointer) for d in info.value.diagnostics if d.is_error]


@pytest.mark.parametrize("ending", ["\n", "\r\n"])
def test_a_key_from_a_secret_file_loses_its_trailing_newline(ending: str) -> None:
    env = {"K": SECRET + ending}
    for entry in (provider(api_key=..., api_key_env="K"), provider(api_key="${K}")):
        config = validate_config_data(doc(entry), env=env)
        key = config.providers[0].api_key
        assert key is not None and key.reveal() == SECRET
        (note,) = config.warnings
        assert (note.code, note.severity) == ("N001", Severity.NOTE)
        assert note.pointer in {"/providers/0/api_key_env", "/providers/0/api_key"}


def test_a_header_value_loses_one_trailing_newline() -> None:
    config = validate_config_data(doc(provider(headers={"X-Team": "search\n"})), env={})
    assert config.providers[0].headers["X-Team"].reveal() == "search"
    assert [(d.code, d.pointer) for d in config.warnings] == [
        ("N001", "/providers/0/headers/X-Team")
    ]


@pytest.mark.parametrize(
    "value",
    [SECRET + "\n\n", SECRET[:8] + "\n" + SECRET[8:], SECRET + "\r", "\x00" + SECRET,
     SECRET + "\x7f", SECRET + "é", "Bearer\u00a0" + SECRET, SECRET + "\r\nX-Evil: 1"],
)  # fmt: skip
def test_control_characters_and_non_ascii_are_refused_where_they_are(value: str) -> None:
    assert refused(doc(provider(api_key=..., api_key_env="K")), {"K": value}) == [
        ("C022", "/providers/0/api_key_env")
    ]
    assert refused(doc(provider(api_key=value)), {}) == [("C022", "/providers/0/api_key")]
    assert refused(doc(provider(headers={"Authorization": value})), {}) == [
        ("C022", "/providers/0/headers/Authorization")
    ]
    assert refused(doc(provider(headers={"X-Key": "${V}"})), {"V": value}) == [
        ("C022", "/providers/0/headers/X-Key")
    ]


@pytest.mark.parametrize("name", ["X Team", "X-Team\r\nX-Evil", "X-Tëam", "", SECRET, "X:Y"])
def test_header_names_must_be_tokens(name: str) -> None:
    assert refused(doc(provider(headers={name: "v"})), {}) == [("C022", "/providers/0/headers")]


def test_a_key_holding_only_a_newline_is_empty() -> None:
    assert ("C012", "/providers/0/api_key_env") in refused(
        doc(provider(api_key=..., api_key_env="K")), {"K": "\n"}
    )


def test_validate_config_shows_the_note_and_strict_still_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLMPOOL_T_KEY", SECRET + "\n")
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc(provider(api_key=..., api_key_env="LLMPOOL_T_KEY"))))
    assert main(["validate-config", str(path), "--strict"]) == 0
    out, err = capsys.readouterr()
    assert "note[N001]: a trailing newline was removed" in out
    assert "MARKER" not in out + err
    assert load_config(path).providers[0].api_key.reveal() == SECRET  # type: ignore[union-attr]
