"""The seed Quick Start config loads unchanged; zero is a value; defaults and policy attributes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from llmpool_policy.config import (
    DEFAULT_BASE_URLS,
    PoolConfig,
    ProviderConfig,
    load_config,
    load_schema,
    validate_config_data,
)

from .corpus import FULL_PROVIDER, doc, provider


def test_seed_quick_start_loads_unchanged(seed_config: Path) -> None:
    config = load_config(seed_config, env={})
    assert config.warnings == ()
    groq, openai = config.providers
    assert (groq.name, groq.type, groq.model) == ("groq-primary", "groq", "mixtral-8x7b-32768")
    assert groq.api_key is not None and groq.api_key.reveal() == "your-groq-api-key"
    assert groq.base_url == "https://api.groq.com/openai/v1"
    assert (groq.priority, groq.requests_per_minute, groq.requests_per_day) == (1, 30, 1000)
    assert (openai.name, openai.priority, openai.requests_per_minute) == ("openai-fallback", 2, 100)
    assert openai.requests_per_day == 5000
    assert config.timeout == 30000 and config.max_retries == 3


def test_zero_is_a_value() -> None:
    config = validate_config_data(
        doc(
            provider(
                priority=0,
                temperature=0,
                requests_per_minute=0,
                weight=0,
                circuit_breaker_timeout=0,
                input_token_price=0,
                output_token_price=0,
            ),
            max_retries=0,
            retry_delay=0,
            check_interval=0,
        ),
        env={},
    )
    p = config.providers[0]
    assert (p.priority, p.temperature, p.requests_per_minute, p.weight) == (0, 0.0, 0, 0.0)
    assert (p.circuit_breaker_timeout, p.input_token_price, p.output_token_price) == (0, 0.0, 0.0)
    assert (config.max_retries, config.retry_delay, config.check_interval) == (0, 0, 0)


def test_defaults_match_the_schema() -> None:
    """Every default the schema publishes is the model's default, so docs cannot drift."""
    schema = load_schema()
    provider_props: dict[str, Any] = schema["$defs"]["provider"]["properties"]
    loaded = validate_config_data(doc(provider(api_key="k")), env={}).providers[0]
    for key, spec in provider_props.items():
        if "default" not in spec or key in ("api_key", "base_url"):
            continue
        value = getattr(loaded, key)
        if key == "supports":
            value = {"vision": value.vision, "tools": value.tools, "json": value.json}
        elif key == "headers":
            value = dict(value)
        elif key == "tags":
            value = list(value)
        assert value == spec["default"], key
    pool = validate_config_data(doc(provider()), env={})
    for key, spec in schema["properties"].items():
        if key in ("$schema", "providers"):
            continue
        assert getattr(pool, key) == spec["default"], key


def test_base_url_defaults_per_type() -> None:
    schema = load_schema()
    published = schema["$defs"]["provider"]["properties"]["base_url"]["x-default-by-type"]
    assert published == DEFAULT_BASE_URLS
    for kind, url in DEFAULT_BASE_URLS.items():
        loaded = validate_config_data(doc(provider(type=kind)), env={}).providers[0]
        assert loaded.base_url == url


def test_static_attributes() -> None:
    config = validate_config_data(doc(FULL_PROVIDER), env={"OPENAI_API_KEY": "k"})
    attrs = config.providers[0].static_attributes()
    assert attrs == {
        "name": "openai-main",
        "type": "openai",
        "model": "gpt-4o",
        "priority": 0,
        "weight": 2.5,
        "context_window": 128000,
        "supports.vision": True,
        "supports.tools": True,
        "supports.json": False,
        "input_price": 0.0025,
        "output_price": 0.01,
        "region": "eu-west",
        "tags": ("frontier", "batch"),
        "timeout": 30.0,
    }
    bare = validate_config_data(doc(provider()), env={}).providers[0].static_attributes()
    assert (bare["timeout"], bare["input_price"], bare["context_window"]) == (None, None, None)


def test_models_are_frozen_and_typed() -> None:
    config = validate_config_data(doc(provider(tags=["a"])), env={})
    assert isinstance(config, PoolConfig) and isinstance(config.providers[0], ProviderConfig)
    assert isinstance(config.providers, tuple) and config.providers[0].tags == ("a",)
    try:
        config.providers[0].priority = 5  # type: ignore[misc]
    except Exception as exc:  # pydantic raises ValidationError for frozen instances
        assert "frozen" in str(exc)
    else:
        raise AssertionError("ProviderConfig must be frozen")
    assert config.provider("p1") is config.providers[0]


def test_schema_examples_validate() -> None:
    for example in load_schema()["examples"]:
        config = validate_config_data(
            json.loads(json.dumps(example)), env={"GROQ_API_KEY": "g", "OPENAI_API_KEY": "o"}
        )
        assert len(config.providers) == 3
