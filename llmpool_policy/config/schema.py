"""Validating a document against the published JSON Schema, with errors people can act on.

The schema file is the contract editors see; this module runs it and turns each
:class:`jsonschema.ValidationError` into a :class:`Diagnostic` with a JSON pointer, a stable code
and a plain message (``must be >= 0 (got -5)``). Like jsonschema's own keyword table, each
keyword has one small translator. Values under ``api_key`` and ``headers`` are never quoted.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._resources import data_path
from ..diagnostics import Diagnostic
from ._pointer import pointer, suggest
from .secrets import looks_like_key

if TYPE_CHECKING:  # jsonschema loads only when a document is validated
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

__all__ = ["key_shaped", "load_schema", "schema_diagnostics", "schema_path", "sort_key"]

SCHEMA_FILE = "provider-config.schema.json"


def schema_path() -> Path:
    """Where the shipped schema is, installed or in a checkout."""
    return data_path("schemas", SCHEMA_FILE)


@functools.cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path().read_text(encoding="utf-8"))
    return schema


def _inline_refs(node: object, root: dict[str, Any]) -> object:
    """Replace local ``$ref``s by their targets: jsonschema resolves a ``$ref`` on every use,
    which made validating 500 providers twice as slow. The published file keeps its ``$ref``s."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/") and len(node) == 1:
            target: Any = root
            for part in ref[2:].split("/"):
                target = target[part]
            return _inline_refs(target, root)
        return {key: _inline_refs(value, root) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline_refs(value, root) for value in node]
    return node


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    schema = load_schema()
    return Draft202012Validator(_inline_refs(schema, schema))


_Parts = tuple[str | int, ...]
_Finding = tuple[str, _Parts, str, str | None]  # code, path, message, help


def _sensitive(parts: _Parts) -> bool:
    return "api_key" in parts or "headers" in parts


_TYPE_WORDS = {
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
    "object": "an object",
    "array": "a list",
    "null": "null",
}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


_KEY_SHAPED = "a string that looks like an API key, not shown"


def _got(value: object, parts: _Parts) -> str:
    """How to show the offending value: literally when short and safe, else by its kind (a
    key pasted into the wrong field is never shown, whatever the field)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "a number too large to represent"
    if _sensitive(parts) or isinstance(value, dict | list):
        return _kind(value)
    if isinstance(value, str) and looks_like_key(value):
        return _KEY_SHAPED
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else _kind(value)


def _number(value: object) -> str:
    return json.dumps(value)


def _type(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    expected = error.validator_value
    names = [expected] if isinstance(expected, str) else list(expected)
    words = " or ".join(_TYPE_WORDS.get(n, n) for n in names)
    yield "C003", parts, f"must be {words} (got {_got(error.instance, parts)})", None


def _bound(symbol: str) -> Callable[[ValidationError, _Parts], Iterator[_Finding]]:
    def translate(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
        message = (
            f"must be {symbol} {_number(error.validator_value)} (got {_got(error.instance, parts)})"
        )
        yield "C004", parts, message, None

    return translate


def _additional(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    if error.validator_value is not False or not isinstance(error.instance, dict):
        yield "C018", parts, "has a value that is not allowed here", None
        return
    allowed = sorted(error.schema.get("properties", {}))
    for key in error.instance:
        if key in allowed:
            continue
        if looks_like_key(key):
            hint = "an API key belongs in api_key or in the environment (api_key_env)"
            yield "C005", (*parts, key), "unknown key (it looks like an API key, not shown)", hint
            continue
        guess = suggest(key, allowed)
        hint = f"did you mean '{guess}'?" if guess else f"allowed keys: {', '.join(allowed)}"
        yield "C005", (*parts, key), f"unknown key '{key}'", hint


_REQUIRED_HELP = {
    "base_url": "openai-compatible providers have no default base_url; give the endpoint root, "
    'e.g. "http://127.0.0.1:8000/v1"',
    "providers": 'add "providers": [ ... ] listing at least one provider',
}


def _required(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    if not isinstance(error.instance, dict):
        return
    for key in error.validator_value:
        if key not in error.instance:
            yield "C006", parts, f"missing required key '{key}'", _REQUIRED_HELP.get(key)


def _enum(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    choices = [str(c) for c in error.validator_value]
    got = error.instance
    guess = suggest(got, choices) if isinstance(got, str) else None
    message = f"must be one of {', '.join(choices)} (got {_got(got, parts)})"
    yield "C007", parts, message, f"did you mean '{guess}'?" if guess else None


_PATTERN_WORDS: dict[str, tuple[str, str]] = {
    "name": (
        "is not a valid provider name",
        "use letters, digits and underscores, with single inner hyphens (e.g. groq-primary): "
        "policies refer to providers by name",
    ),
    "api_key_env": (
        "is not a valid environment variable name",
        "give the variable's name (e.g. OPENAI_API_KEY), not its value",
    ),
}


def key_shaped(what: str) -> tuple[str, str]:
    """The message and help for an API key pasted where ``what`` (a name) belongs."""
    return (
        f"this looks like an API key, not {what} (the value is not shown)",
        "put the key in an environment variable and give that variable's name in api_key_env "
        "(e.g. GROQ_API_KEY); if the key was committed anywhere, revoke it",
    )


def _pattern(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    field = parts[-1] if parts else ""
    message, hint = _PATTERN_WORDS.get(str(field), ("is badly formed", None))
    value = error.instance
    if isinstance(value, str) and looks_like_key(value):
        what = "an environment variable name" if field == "api_key_env" else "a name"
        message, hint = key_shaped(what)
        yield "C008", parts, message, hint
        return
    # api_key_env may hold a pasted key by mistake: never echo it.
    shown = _kind(value) if field == "api_key_env" else _got(value, parts)
    yield "C008", parts, f"{message} (got {shown})", hint


def _min_length(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    yield "C008", parts, "must not be empty", None


def _custom(error: ValidationError, parts: _Parts) -> Iterator[_Finding]:
    code = error.schema.get("x-error-code")
    message = error.schema.get("x-error-message")
    if code is None or message is None:
        yield "C018", parts, f"is not valid (fails '{error.validator}')", None
        return
    yield code, parts, message, error.schema.get("x-error-help")


_TRANSLATORS: dict[str, Callable[[ValidationError, _Parts], Iterator[_Finding]]] = {
    "type": _type,
    "minimum": _bound(">="),
    "maximum": _bound("<="),
    "exclusiveMinimum": _bound(">"),
    "exclusiveMaximum": _bound("<"),
    "additionalProperties": _additional,
    "required": _required,
    "enum": _enum,
    "pattern": _pattern,
    "minLength": _min_length,
    "not": _custom,
    "anyOf": _custom,
}


def sort_key(parts: Sequence[str | int]) -> tuple[tuple[int, int, str], ...]:
    """Document order for paths: list indexes numerically, keys by name."""
    return tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in parts)


def schema_diagnostics(data: object, path: str) -> list[Diagnostic]:
    """Every schema violation in ``data``, in document order."""
    findings: list[_Finding] = []
    for error in _validator().iter_errors(data):
        parts: _Parts = tuple(error.absolute_path)
        translate = _TRANSLATORS.get(str(error.validator), _custom)
        findings.extend(translate(error, parts))
    findings.sort(key=lambda f: (sort_key(f[1]), f[0]))
    return [
        Diagnostic(code, message, path=path, pointer=pointer(parts), help=hint)
        for code, parts, message, hint in findings
    ]
