"""Every error path, with a snapshot of the exact words a user reads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.config import CODES, load_config, validate_config_data
from llmpool_policy.config.codes import IO_CODES
from llmpool_policy.diagnostics import Diagnostic, Severity, render_short
from llmpool_policy.errors import ConfigurationError

from .corpus import doc, provider


def render(diagnostics: tuple[Diagnostic, ...]) -> list[str]:
    return [render_short(d) + (f"\n  help: {d.help}" if d.help else "") for d in diagnostics]


def problems(data: object, env: dict[str, str] | None = None, **kw: Any) -> tuple[Diagnostic, ...]:
    with pytest.raises(ConfigurationError) as info:
        validate_config_data(data, path="config.json", env=env or {}, **kw)
    return info.value.diagnostics


def _nested(depth: int) -> object:
    node: object = 0
    for _ in range(depth):
        node = [node]
    return node


# name -> (document, environment, the code it must report)
CASES: dict[str, tuple[object, dict[str, str], str]] = {
    "wrong-type": (doc(provider(requests_per_minute="5")), {}, "C003"),
    "wrong-type-nullable": (doc(provider(temperature="hot")), {}, "C003"),
    "top-level-not-object": ([provider()], {}, "C003"),
    "below-minimum": (
        doc(provider(), provider(name="p2"), provider(name="p3", requests_per_minute=-5)),
        {},
        "C004",
    ),
    "above-maximum": (doc(provider(temperature=2.5)), {}, "C004"),
    "not-positive": (doc(provider(timeout=0)), {}, "C004"),
    "unknown-key": (doc(provider(requests_per_minit=5)), {}, "C005"),
    "unknown-key-camel-case": (doc(provider(requestsPerMinute=5)), {}, "C005"),
    "unknown-top-key": (doc(provider(), configPath="x"), {}, "C005"),
    "unknown-key-no-guess": (doc(provider(zzz=1)), {}, "C005"),
    "missing-key": (doc(provider(model=...)), {}, "C006"),
    "missing-providers": ({}, {}, "C006"),
    "missing-api-key": (doc(provider(api_key=...)), {}, "C006"),
    "missing-base-url": (doc(provider(type="openai-compatible", api_key=...)), {}, "C006"),
    "bad-enum": (doc(provider(type="gorq")), {}, "C007"),
    "empty-string": (doc(provider(model="")), {}, "C008"),
    "bad-name": (doc(provider(name="my provider")), {}, "C008"),
    "bad-env-name": (doc(provider(api_key=..., api_key_env="sk-secret")), {}, "C008"),
    "malformed-placeholder": (doc(provider(model="${MODEL")), {}, "C008"),
    "both-keys": (doc(provider(api_key_env="K")), {"K": "k"}, "C009"),
    "duplicate-name": (doc(provider(), provider(name="p2"), provider()), {}, "C010"),
    "http-base-url": (doc(provider(base_url="http://user:pw@api.example.com/v1?t=1")), {}, "C011"),
    "not-a-url": (doc(provider(base_url="api.openai.com")), {}, "C011"),
    "missing-env-placeholder": (doc(provider(api_key="${OPENAI_API_KEY}")), {}, "C012"),
    "missing-api-key-env": (doc(provider(api_key=..., api_key_env="OPENAI_API_KEY")), {}, "C012"),
    "nested-too-deep": (doc(provider(), extra=_nested(100)), {}, "C020"),
    "lone-surrogate": (doc(provider(model="gpt\ud800")), {}, "C021"),
    "infinite-weight": (doc(provider(weight=float("inf"))), {}, "C004"),
    "price-beyond-range": (doc(provider(input_token_price=1e6, output_token_price=0)), {}, "C004"),
    "key-as-env-name": (
        doc(provider(api_key=..., api_key_env="gsk_live_0123456789abcdef")),
        {},
        "C008",
    ),
    "key-as-name": (doc(provider(name="sk-proj-0123456789abcdefXYZ")), {}, "C008"),
    "header-value-crlf": (doc(provider(headers={"X-Team": "a\r\nX-Evil: 1"})), {}, "C022"),
    "empty-api-key-env": (
        doc(provider(api_key=..., api_key_env="OPENAI_API_KEY")),
        {"OPENAI_API_KEY": ""},
        "C012",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_error_path(name: str, snapshot: Any) -> None:
    data, env, code = CASES[name]
    found = problems(data, env)
    assert code in {d.code for d in found}
    assert all(d.path == "config.json" for d in found)
    assert all(d.pointer is not None for d in found)
    assert render(found) == snapshot


def test_example_message_from_the_issue() -> None:
    found = problems(
        doc(provider(), provider(name="b"), provider(name="c", requests_per_minute=-5))
    )
    assert [render_short(d) for d in found] == [
        "config.json: /providers/2/requests_per_minute: error[C004]: must be >= 0 (got -5)"
    ]


def test_all_errors_reported_at_once(snapshot: Any) -> None:
    data = doc(
        provider(type="gorq", priority=-1),
        provider(name="p1", requests_per_minite=1, base_url="http://example.com"),
        provider(name="p3", api_key="${NOPE}", input_token_price=0.1),
        timeout="30s",
    )
    found = problems(data)
    assert {d.code for d in found} >= {"C003", "C004", "C005", "C007", "C010", "C011", "C012"}
    # Errors first, in document order; warnings after.
    assert [d.severity for d in found][-1] is Severity.WARNING
    assert render(found) == snapshot


def test_invalid_json(write_config: Any, snapshot: Any) -> None:
    path = write_config('{\n  "providers": [\n    {"name": "a",}\n  ]\n}\n')
    with pytest.raises(ConfigurationError) as info:
        load_config(path)
    (found,) = info.value.diagnostics
    assert found.code == "C001" and found.span is not None
    assert (found.span.line, found.span.column) == (3, 18)
    assert found.message == snapshot


def test_not_utf8(write_config: Any, tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_bytes(b'{"providers": [{"name": "\xff"}]}')
    with pytest.raises(ConfigurationError) as info:
        load_config(path)
    assert [d.code for d in info.value.diagnostics] == ["C001"]
    assert "UTF-8" in info.value.diagnostics[0].message


def test_nan_is_not_json(write_config: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_config(write_config('{"providers": [], "timeout": NaN}'))
    assert [d.code for d in info.value.diagnostics] == ["C001"]


def test_duplicate_json_key_reported_with_the_rest(
    write_config: Any, snapshot: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        '{"providers": [{"name": "a", "type": "openai", "api_key": "k", "model": "m",'
        ' "priority": 1, "priority": 0, "temperature": 9}]}'
    )
    monkeypatch.chdir(write_config(text).parent)
    with pytest.raises(ConfigurationError) as info:
        load_config("config.json")
    assert [d.code for d in info.value.diagnostics] == ["C002", "C004"]
    assert render(info.value.diagnostics) == snapshot


def test_missing_file(tmp_path: Path, snapshot: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_config(tmp_path / "nope.json")
    (found,) = info.value.diagnostics
    assert found.code == "C014"
    assert found.message == snapshot


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_config(tmp_path)
    assert [d.code for d in info.value.diagnostics] == ["C014"]


def test_file_over_size_cap(write_config: Any, snapshot: Any) -> None:
    from llmpool_policy.config import FileSource

    path = write_config(doc(provider(model="m" * 2000)))
    with pytest.raises(ConfigurationError) as info:
        load_config(FileSource(path, max_bytes=1024))
    (found,) = info.value.diagnostics
    assert found.code == "C016"
    assert found.message == snapshot


def test_warnings_do_not_raise(snapshot: Any) -> None:
    config = validate_config_data(
        doc(provider(output_token_price=0.01)), path="config.json", env={}
    )
    assert [d.code for d in config.warnings] == ["W001"]
    empty = validate_config_data(doc(), path="config.json", env={})
    assert empty.providers == ()
    assert render(config.warnings + empty.warnings) == snapshot


def test_zero_prices_both_ways_is_not_a_warning() -> None:
    config = validate_config_data(doc(provider(input_token_price=0, output_token_price=0)), env={})
    assert config.warnings == ()


def test_every_code_is_exercised_and_io_codes_are_known() -> None:
    exercised = {code for _, _, code in CASES.values()}
    # C001, C002, C013 through C017 have their own tests here and in test_remote/test_checksum,
    # C019 in test_references.
    exercised |= {"C001", "C002", "C013", "C014", "C015", "C016", "C017", "C019", "W001", "W002"}
    exercised |= {"N001"}  # tests/config/test_credentials_at_load.py (a note never raises)
    assert exercised | {"C018"} == set(CODES)
    assert set(IO_CODES) <= set(CODES)


def test_error_message_lists_problems() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_config_data(doc(provider(priority=-1)), path="config.json", env={})
    assert (
        str(info.value) == "config.json: /providers/0/priority: error[C004]: must be >= 0 (got -1)"
    )
    assert json.loads(json.dumps([d.to_dict() for d in info.value.diagnostics]))[0]["pointer"] == (
        "/providers/0/priority"
    )
