"""The JSON Schema and the pydantic models accept and reject the same documents.

The loader lets the models judge first and runs the schema only on rejection, so any document
the models accept but the schema rejects would slip through: these tests forbid that.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from llmpool_policy.config import PoolConfig, load_schema
from llmpool_policy.config.schema import schema_diagnostics

from .corpus import ACCEPT, FULL_PROVIDER, REJECT, SEED_QUICK_START

VALIDATOR = Draft202012Validator(load_schema())


def _doc(value: object) -> object:
    return json.loads(SEED_QUICK_START) if value == "SEED" else value


def schema_accepts(data: object) -> bool:
    return bool(VALIDATOR.is_valid(data))


def models_accept(data: object) -> bool:
    try:
        PoolConfig.model_validate(copy.deepcopy(data))
    except ValidationError:
        return False
    return True


def test_corpus_is_large_enough() -> None:
    assert len(ACCEPT) + len(REJECT) >= 30
    assert len(ACCEPT) >= 10 and len(REJECT) >= 20


@pytest.mark.parametrize("name", sorted(ACCEPT))
def test_both_accept(name: str) -> None:
    data = _doc(ACCEPT[name])
    assert schema_accepts(data), name
    assert models_accept(data), name
    assert schema_diagnostics(data, "c.json") == []


@pytest.mark.parametrize("name", sorted(REJECT))
def test_both_reject(name: str) -> None:
    data = _doc(REJECT[name])
    assert not schema_accepts(data), name
    assert not models_accept(data), name
    # The loader's own schema run (refs inlined) finds something too.
    assert schema_diagnostics(data, "c.json") != []


_json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**6), max_value=10**6)
    | st.floats(allow_nan=False, allow_infinity=False, min_value=-1e6, max_value=1e6)
    | st.sampled_from(["", "x", "p-1", "1st", "${X}", "openai", "https://a.example/v1", "a\n"])
)
_json_values = st.recursive(
    _json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(["vision", "tools", "json", "k", "X-H"]), inner, max_size=3
        )
    ),
    max_leaves=5,
)
_fields = sorted({*FULL_PROVIDER, "api_key", "unknown_key"})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_fields), st.one_of(st.just(...), _json_values)),
        min_size=1,
        max_size=3,
    ),
    top=st.dictionaries(
        st.sampled_from(
            ["timeout", "max_retries", "retry_delay", "check_interval", "token_counting", "policy"]
        ),
        _json_scalars,
        max_size=2,
    ),
)
def test_mutations_agree(edits: list[tuple[str, Any]], top: dict[str, Any]) -> None:
    provider = copy.deepcopy(FULL_PROVIDER)
    for key, value in edits:
        if value is ...:
            provider.pop(key, None)
        else:
            provider[key] = value
    data = {"providers": [provider], **top}
    assert schema_accepts(data) == models_accept(data), json.dumps(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    edits=st.lists(
        st.tuples(st.sampled_from(_fields), st.one_of(st.just(...), _json_values)),
        min_size=1,
        max_size=3,
    )
)
def test_loader_never_crashes(edits: list[tuple[str, Any]]) -> None:
    """Whatever the document, the loader returns a config or raises ConfigurationError."""
    from llmpool_policy.config import validate_config_data
    from llmpool_policy.errors import ConfigurationError

    provider = copy.deepcopy(FULL_PROVIDER)
    for key, value in edits:
        if value is ...:
            provider.pop(key, None)
        else:
            provider[key] = value
    data = {"providers": [provider]}
    env = {"OPENAI_API_KEY": "k", "X": "x"}
    try:
        validate_config_data(data, env=env)
    except ConfigurationError as exc:
        assert exc.diagnostics
        if schema_accepts(data):  # then only the checks beyond the schema may object
            assert {d.code for d in exc.diagnostics if d.is_error} <= {"C011", "C012", "C008"}
    else:
        assert schema_accepts(data)
