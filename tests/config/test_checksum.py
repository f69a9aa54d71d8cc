"""Checksums depend on what a configuration says, never on how it is formatted."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmpool_policy.config import UNCHANGED, FileSource, config_checksum, load_config, poll_config
from llmpool_policy.errors import ConfigurationError

from .corpus import FULL_PROVIDER, doc, provider

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=5)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
)


def _shuffled(node: object, rng: random.Random) -> object:
    if isinstance(node, dict):
        items = list(node.items())
        rng.shuffle(items)
        return {k: _shuffled(v, rng) for k, v in items}
    if isinstance(node, list):
        return [_shuffled(v, rng) for v in node]
    return node


@settings(max_examples=100, deadline=None)
@given(data=st.dictionaries(st.text(max_size=5), _values, max_size=5), seed=st.integers())
def test_independent_of_key_order_and_whitespace(data: dict[str, object], seed: int) -> None:
    rng = random.Random(seed)
    reformatted = json.loads(json.dumps(_shuffled(data, rng), indent=rng.choice([None, 1, 4])))
    assert config_checksum(reformatted) == config_checksum(data)


def test_integral_numbers_agree_and_values_matter() -> None:
    assert config_checksum({"a": 100}) == config_checksum(json.loads('{"a": 1e2}'))
    assert config_checksum({"a": 1}) != config_checksum({"a": 2})
    assert config_checksum({"a": "1"}) != config_checksum({"a": 1})


def test_loaded_config_exposes_checksum_of_its_document(write_config: Any) -> None:
    data = doc(FULL_PROVIDER)
    compact = load_config(write_config(json.dumps(data)), env={"OPENAI_API_KEY": "k"})
    pretty = load_config(
        write_config(json.dumps(data, indent=8, sort_keys=True), "other.json"),
        env={"OPENAI_API_KEY": "k"},
    )
    assert compact.checksum == pretty.checksum == config_checksum(data)
    assert len(compact.checksum) == 64


def test_pin_accepts_match_and_refuses_mismatch(write_config: Any, snapshot: Any) -> None:
    data = doc(provider())
    path = write_config(data)
    good = config_checksum(data)
    assert load_config(path, expected_checksum=good.upper()).checksum == good
    assert load_config(path, expected_checksum=f"sha256:{good}").checksum == good
    changed = write_config(doc(provider(priority=2)), "changed.json")
    with pytest.raises(ConfigurationError) as info:
        load_config(changed, expected_checksum=good)
    assert [d.code for d in info.value.diagnostics] == ["C013"]
    assert good in info.value.diagnostics[0].message
    with pytest.raises(ConfigurationError) as bad_pin:
        load_config(path, expected_checksum="abc")
    assert [d.message for d in bad_pin.value.diagnostics] == snapshot


def test_file_source_unchanged_until_bytes_change(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(doc(provider())), encoding="utf-8")
    source = FileSource(path)
    first = poll_config(source, env={})
    assert first is not UNCHANGED
    assert poll_config(source, env={}) is UNCHANGED
    path.write_text(json.dumps(doc(provider(priority=7))), encoding="utf-8")
    second = poll_config(source, env={})
    assert second is not UNCHANGED and second.providers[0].priority == 7  # type: ignore[union-attr]
