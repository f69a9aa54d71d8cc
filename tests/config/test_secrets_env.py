"""${VAR} expansion, api_key_env, and a marker key that must never show up anywhere."""

from __future__ import annotations

import json
import logging
import pickle
import traceback
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.config import PoolConfig, Secret, load_config, validate_config_data
from llmpool_policy.errors import ConfigurationError

from .corpus import doc, provider

MARKER = "sk-MARKER-7f3a9c"


def test_placeholder_expanded_in_any_string() -> None:
    env = {"KEY": MARKER, "MODEL": "gpt-4o", "HOST": "api.example.com", "TEAM": "search"}
    config = validate_config_data(
        doc(
            provider(
                api_key="${KEY}",
                model="${MODEL}-mini",
                base_url="https://${HOST}/v1",
                tags=["team-${TEAM}"],
                headers={"X-Team": "${TEAM}"},
            ),
            policy="${TEAM}.policy",
        ),
        env=env,
    )
    p = config.providers[0]
    assert p.api_key is not None and p.api_key.reveal() == MARKER
    assert p.model == "gpt-4o-mini"
    assert p.base_url == "https://api.example.com/v1"
    assert p.tags == ("team-search",)
    assert p.headers["X-Team"].reveal() == "search"
    assert config.policy == "search.policy"


def test_dollar_dollar_keeps_a_literal_placeholder() -> None:
    config = validate_config_data(doc(provider(model="$${MODEL}")), env={})
    assert config.providers[0].model == "${MODEL}"


def test_api_key_env_resolved_at_load() -> None:
    config = validate_config_data(
        doc(provider(api_key=..., api_key_env="OPENAI_API_KEY")), env={"OPENAI_API_KEY": MARKER}
    )
    p = config.providers[0]
    assert p.api_key is not None and p.api_key.reveal() == MARKER
    assert p.api_key_env == "OPENAI_API_KEY"


def test_missing_variables_name_variable_and_provider() -> None:
    data = doc(
        provider(name="a", api_key="${A_KEY}"),
        provider(name="b", api_key=..., api_key_env="B_KEY"),
    )
    with pytest.raises(ConfigurationError) as info:
        validate_config_data(data, env={})
    messages = [d.message for d in info.value.diagnostics]
    assert messages == [
        "environment variable A_KEY is not set (provider 'a')",
        "environment variable B_KEY is not set (provider 'b')",
    ]


def test_env_defaults_to_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMPOOL_TEST_KEY", MARKER)
    config = validate_config_data(doc(provider(api_key="${LLMPOOL_TEST_KEY}")))
    assert config.providers[0].api_key == Secret(MARKER)


def test_checksum_covers_placeholders_not_values() -> None:
    data = doc(provider(api_key="${KEY}"))
    one = validate_config_data(data, env={"KEY": "old"})
    two = validate_config_data(data, env={"KEY": "rotated"})
    assert one.checksum == two.checksum


def test_unresolved_base_url_is_not_also_a_url_error() -> None:
    with pytest.raises(ConfigurationError) as info:
        validate_config_data(doc(provider(base_url="${BASE_URL}")), env={})
    assert [d.code for d in info.value.diagnostics] == ["C012"]


# --- redaction -------------------------------------------------------------------------------


def _loaded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> PoolConfig:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps(
            doc(
                provider(name="literal", api_key=MARKER, headers={"Authorization": MARKER}),
                provider(name="env", api_key=..., api_key_env="K"),
                provider(name="placeholder", api_key="${K}"),
                provider(
                    name="compat",
                    type="openai-compatible",
                    api_key=...,
                    base_url="http://127.0.0.1:1/v1",
                ),
            )
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.DEBUG, logger="llmpool_policy"):
        return load_config(path, env={"K": MARKER})


def test_marker_key_never_shown(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    config = _loaded(tmp_path, caplog)
    assert (
        sum(p.api_key is not None and p.api_key.reveal() == MARKER for p in config.providers) == 3
    )
    shown: list[str] = [repr(config), str(config), config.model_dump_json()]
    shown.append(json.dumps(config.model_dump(mode="json")))
    for p in config.providers:
        shown += [repr(p), str(p), p.model_dump_json(), repr(p.model_dump()), str(p.__dict__)]
        shown += [repr(p.api_key), str(p.api_key), f"{p.api_key}", repr(p.headers)]
        shown.append(repr(p.static_attributes()))
    shown += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the loader logs what it loaded"
    for text in shown:
        assert MARKER not in text


def test_marker_absent_from_errors_and_tracebacks() -> None:
    # Every way a key can be wrong: wrong type next to it, bad env name holding the key,
    # a pydantic-level failure, a malformed placeholder holding the key.
    attempts: list[object] = [
        doc(provider(api_key=MARKER, priority=-1, headers={"A": MARKER, "B": 5})),
        doc(provider(api_key=..., api_key_env=MARKER)),
        doc(provider(api_key="${" + MARKER)),
        doc(provider(api_key=MARKER, api_key_env="K")),
        doc(provider(api_key=MARKER, base_url=f"http://u:{MARKER}@example.com/v1?key={MARKER}")),
    ]
    for data in attempts:
        with pytest.raises(ConfigurationError) as info:
            validate_config_data(data, env={"K": MARKER})
        exc = info.value
        text = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)
        text += json.dumps([d.to_dict() for d in exc.diagnostics])
        assert MARKER not in text
        assert exc.__cause__ is None


def test_secret_type() -> None:
    secret = Secret(MARKER)
    assert MARKER not in repr(secret) and MARKER not in str(secret) and MARKER not in f"{secret!s}"
    assert secret == Secret(MARKER) and secret != Secret("other")
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_secret_schema_is_write_only() -> None:
    schema: dict[str, Any] = PoolConfig.model_json_schema()
    api_key = schema["$defs"]["ProviderConfig"]["properties"]["api_key"]
    assert {"type": "string", "writeOnly": True} in api_key["anyOf"]


def test_a_placeholder_in_api_key_env_or_name_is_a_typed_error_not_a_crash() -> None:
    """`api_key_env` names a variable: `"${GROQ_API_KEY}"` there is never expanded (it once
    became the key itself, then a KeyError printing it); nor is a provider's name."""
    from llmpool_policy.config import validate_config_data
    from llmpool_policy.errors import ConfigurationError

    key = "gsk_live_0123456789abcdef"
    for field in ("api_key_env", "name"):
        provider = {"name": "groq", "type": "groq", "model": "m", "api_key_env": "GROQ_API_KEY"}
        provider[field] = "${GROQ_API_KEY}"
        with pytest.raises(ConfigurationError) as info:
            validate_config_data({"providers": [provider]}, env={"GROQ_API_KEY": key})
        assert any(d.pointer == f"/providers/0/{field}" for d in info.value.diagnostics)
        assert key not in str(info.value)
