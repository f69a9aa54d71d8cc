"""Documents built to break the loader end in a ConfigurationError with a pointer or position
(issue 13, items 8 and 9): deep nesting, lone surrogates, numbers beyond any sane range."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.config import load_config, parse_config, schema_path
from llmpool_policy.config.shape import MAX_DEPTH
from llmpool_policy.diagnostics import Diagnostic
from llmpool_policy.errors import ConfigurationError

PROVIDER = '{"name": "a", "type": "openai", "api_key": "k", "model": "m"'


def refused(text: str | bytes) -> tuple[Diagnostic, ...]:
    """The errors (not the warnings) that refuse ``text``."""
    with pytest.raises(ConfigurationError) as info:
        parse_config(text, path="c.json", env={})
    return tuple(d for d in info.value.diagnostics if d.is_error)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5000, 100_000])
def test_deep_nesting_is_refused_with_where(depth: int) -> None:
    text = '{"providers": [],\n "x": ' + "[" * depth + "]" * depth + "}"
    (found,) = refused(text.encode())
    assert found.code == "C020"
    # Shallow enough for the JSON parser: a pointer; deeper: the position of the bracket.
    if found.span is not None:
        # The 64th '[' (the outer '{' is the first level).
        assert (found.span.line, found.span.column) == (2, 6 + MAX_DEPTH)
    else:
        assert found.pointer == "/x" + "/0" * (MAX_DEPTH - 1)


def test_deep_nesting_in_a_worker_thread() -> None:
    """The pool reloads in a thread (smaller headroom before RecursionError)."""
    text = '{"providers": [], "x": ' + "{" + '"a": {' * 3000 + "}" * 3001 + "}"
    with pytest.raises(ConfigurationError) as info:
        asyncio.run(asyncio.to_thread(parse_config, text, env={}))
    assert [d.code for d in info.value.diagnostics] == ["C020"]


def test_a_configuration_at_the_depth_limit_loads() -> None:
    text = '{"providers": [' + PROVIDER + ', "headers": {"X": "y"}}]}'
    assert parse_config(text, env={}).providers[0].headers["X"].reveal() == "y"


@pytest.mark.parametrize(
    ("text", "pointer"),
    [
        ('{"providers": [' + PROVIDER + ', "region": "eu\\ud800"}]}', "/providers/0/region"),
        ('{"providers": [' + PROVIDER + ', "tags": ["\\udfff"]}]}', "/providers/0/tags/0"),
        ('{"providers": [], "\\ud800": 1}', ""),
        (
            '{"providers": [' + PROVIDER + ', "headers": {"X": "\\udc00"}}]}',
            "/providers/0/headers/X",
        ),
    ],
)
def test_lone_surrogate_is_refused_with_pointer(text: str, pointer: str) -> None:
    (found,) = refused(text)
    assert (found.code, found.pointer) == ("C021", pointer)


def test_a_surrogate_pair_is_a_character() -> None:
    config = parse_config('{"providers": [' + PROVIDER + ', "region": "\\ud83d\\ude00"}]}', env={})
    assert config.providers[0].region == "\U0001f600"


@pytest.mark.parametrize(
    ("field", "literal"),
    [
        ("weight", "1e400"),
        ("input_token_price", "1e400"),
        ("output_token_price", "-1e400"),
        ("priority", "9" * 5000),
        ("requests_per_minute", "1e13"),
        ("context_window", "1" + "0" * 12),
        ("timeout", "864000000"),
        ("input_token_price", "1000.5"),
    ],
)
def test_numbers_beyond_sane_ranges_are_refused(field: str, literal: str) -> None:
    text = '{"providers": [' + PROVIDER + f', "{field}": {literal}' + "}]}"
    codes = {(d.code, d.pointer) for d in refused(text)}
    assert codes & {("C004", f"/providers/0/{field}"), ("C003", f"/providers/0/{field}")}
    assert all(d.pointer == f"/providers/0/{field}" for d in refused(text))


@pytest.mark.parametrize(
    ("field", "value"),
    [("retry_delay", 3_600_001), ("max_retries", 101), ("check_interval", 86_400_001)],
)
def test_pool_settings_beyond_range_are_refused(field: str, value: int) -> None:
    (found,) = refused(json.dumps({"providers": [], field: value}))
    assert (found.code, found.pointer) == ("C004", f"/{field}")


def test_every_number_in_the_schema_has_a_maximum() -> None:
    """The published schema states each range, so editors flag `1e400` before the loader."""
    schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    fields = {**schema["properties"], **schema["$defs"]["provider"]["properties"]}

    def types(spec: dict[str, Any]) -> set[str]:
        kind = spec.get("type", [])
        return {kind} if isinstance(kind, str) else set(kind)

    numeric = {name: spec for name, spec in fields.items() if {"integer", "number"} & types(spec)}
    assert len(numeric) == 16
    assert [name for name, spec in numeric.items() if "maximum" not in spec] == []


def test_deep_file_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_text('{"providers": ' + "[" * 2000 + "]" * 2000 + "}", encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(path, env={})
    (found,) = info.value.diagnostics
    assert (
        found.code == "C020"
        and found.span is not None
        and found.location().startswith(f"{path}:1:")
    )
