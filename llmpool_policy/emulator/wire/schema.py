"""A minimal instance of a JSON Schema: what an emulated model answers when a request demands
structured output (``response_format`` json_schema) or a tool call (the tool's parameters).

Covers the subset the providers' structured outputs accept (objects with properties and
``required``, arrays, scalars, ``enum``/``const``, ``anyOf``/``oneOf``/``allOf``, ``$ref`` into
``$defs``/``definitions``, nullable type lists). Anything else raises :class:`SchemaError`, which
the wire format answers with the provider's 400 — the emulator never replies with JSON that
does not match what was asked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["SchemaError", "minimal_instance"]

_MAX_DEPTH: Final = 32


class SchemaError(ValueError):
    """A schema the emulator cannot satisfy; the message says where (a JSON pointer)."""


def minimal_instance(schema: object) -> object:
    """The smallest value valid under ``schema``: required properties only, ``minItems``
    items, the minimum (or 0) for numbers, the shortest string of ``minLength``."""
    if not isinstance(schema, Mapping):
        raise SchemaError("#: a schema is an object")
    return _instance(schema, schema, "#", 0)


def _resolve(root: Mapping[str, object], ref: object, where: str) -> Mapping[str, object]:
    if ref == "#":
        return root
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise SchemaError(f"{where}/$ref: only local references (#/...) are supported")
    node: object = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise SchemaError(f"{where}/$ref: {ref} does not resolve")
        node = node[part]
    if not isinstance(node, Mapping):
        raise SchemaError(f"{where}/$ref: {ref} is not a schema")
    return node


def _instance(root: Mapping[str, object], schema: object, where: str, depth: int) -> object:
    if depth > _MAX_DEPTH:
        raise SchemaError(f"{where}: nested too deep (a required recursive reference?)")
    if schema is True or schema == {}:
        return None
    if not isinstance(schema, Mapping):
        raise SchemaError(f"{where}: a schema is an object")
    if "$ref" in schema:
        return _instance(root, _resolve(root, schema["$ref"], where), where, depth + 1)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise SchemaError(f"{where}/enum: expected a non-empty list")
        return values[0]
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            options = schema[key]
            if not isinstance(options, list) or not options:
                raise SchemaError(f"{where}/{key}: expected a non-empty list")
            if key == "allOf" and len(options) > 1:
                raise SchemaError(f"{where}/allOf: only one schema is supported")
            return _instance(root, options[0], f"{where}/{key}/0", depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):  # ["string", "null"]: the first non-null type
        kinds = [k for k in kind if k != "null"] or ["null"]
        kind = kinds[0]
    match kind:
        case "object":
            return _object(root, schema, where, depth)
        case "array":
            count = schema.get("minItems", 0)
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise SchemaError(f"{where}/minItems: expected an integer >= 0")
            item = _instance(root, schema.get("items", {}), f"{where}/items", depth + 1)
            return [item] * count
        case "string":
            if "pattern" in schema or "format" in schema:
                raise SchemaError(f"{where}: string pattern/format is not supported")
            size = schema.get("minLength", 0)
            if isinstance(size, bool) or not isinstance(size, int) or size < 0:
                raise SchemaError(f"{where}/minLength: expected an integer >= 0")
            return "x" * size
        case "integer" | "number":
            low = schema.get("minimum", schema.get("exclusiveMinimum"))
            if low is None:
                return 0
            if isinstance(low, bool) or not isinstance(low, int | float):
                raise SchemaError(f"{where}/minimum: expected a number")
            value = low + 1 if "minimum" not in schema else low
            return int(value) if kind == "integer" or float(value).is_integer() else value
        case "boolean":
            return False
        case "null":
            return None
        case None if "properties" in schema:
            return _object(root, schema, where, depth)
        case _:
            raise SchemaError(f"{where}/type: {kind!r} is not supported")


def _object(
    root: Mapping[str, object], schema: Mapping[str, object], where: str, depth: int
) -> dict[str, object]:
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise SchemaError(f"{where}: properties must be an object and required a list")
    out: dict[str, object] = {}
    for name in required:
        if not isinstance(name, str):
            raise SchemaError(f"{where}/required: expected strings")
        sub = properties.get(name, {})
        out[name] = _instance(root, sub, f"{where}/properties/{name}", depth + 1)
    return out
