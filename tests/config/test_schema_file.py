"""The published schema: valid 2020-12, every field documented, and the docs cover it all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from llmpool_policy.config import CODES, load_schema, schema_path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
MS_FIELDS = {"timeout", "retry_delay", "check_interval", "circuit_breaker_timeout"}
REQUIRED = {"name", "type", "model", "providers"}


def _fields() -> list[tuple[str, dict[str, Any]]]:
    schema = load_schema()
    provider = schema["$defs"]["provider"]["properties"]
    found = [(f"pool.{k}", v) for k, v in schema["properties"].items()]
    found += [(f"provider.{k}", v) for k, v in provider.items()]
    found += [(f"supports.{k}", v) for k, v in provider["supports"]["properties"].items()]
    return found


def test_schema_is_valid_2020_12() -> None:
    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["examples"]
    assert schema_path().name == "provider-config.schema.json"


def test_every_field_has_title_description_and_default() -> None:
    for name, spec in _fields():
        assert spec.get("title"), name
        assert spec.get("description"), name
        if name.split(".")[1] not in REQUIRED:
            assert "default" in spec, name


def test_units_are_declared() -> None:
    fields = dict(_fields())
    for key in MS_FIELDS:
        for scope in ("pool", "provider"):
            spec = fields.get(f"{scope}.{key}")
            if spec is not None:
                assert spec["x-unit"] == "ms", f"{scope}.{key}"
    assert fields["provider.input_token_price"]["x-unit"] == "USD per 1K tokens"
    assert fields["provider.output_token_price"]["x-unit"] == "USD per 1K tokens"


def test_docs_cover_every_field_and_code() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name, _ in _fields():
        assert f"`{name.split('.')[1]}`" in text, name
    for code in CODES:
        assert f"`{code}`" in text, code
    assert "json.schemas" in text and '"$schema"' in text
