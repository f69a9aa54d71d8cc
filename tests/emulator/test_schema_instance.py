"""The minimal JSON instance behind structured replies and tool calls: always valid under the
schema asked for (checked with jsonschema), or a SchemaError saying where."""

from __future__ import annotations

from typing import Any

import jsonschema
import pydantic
import pytest

from llmpool_policy.emulator.wire.schema import SchemaError, minimal_instance


class Address(pydantic.BaseModel):
    street: str
    zip: int = pydantic.Field(ge=1000)


class Order(pydantic.BaseModel):
    id: int
    price: float = pydantic.Field(gt=0)
    tags: list[str] = pydantic.Field(min_length=2)
    shipping: Address
    billing: Address | None
    status: str = pydantic.Field(json_schema_extra={"enum": ["new", "paid"]})
    code: str = pydantic.Field(min_length=3)
    gift: bool


SCHEMAS: list[dict[str, Any]] = [
    Order.model_json_schema(),
    {"type": "object", "properties": {"a": {"const": 5}}, "required": ["a"]},
    {"type": ["integer", "null"], "minimum": 3},
    {"oneOf": [{"type": "array", "items": {"type": "number"}, "minItems": 1}]},
    {"allOf": [{"$ref": "#/$defs/x"}], "$defs": {"x": {"type": "boolean"}}},
    {"properties": {"q": {"type": "string"}}, "required": ["q"]},
    {},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_the_instance_is_valid(schema: dict[str, Any]) -> None:
    jsonschema.validate(minimal_instance(schema), schema)


def test_pydantic_accepts_it_too() -> None:
    order = Order.model_validate(minimal_instance(Order.model_json_schema()))
    assert order.shipping.zip == 1000 and len(order.tags) == 2 and order.price > 0


@pytest.mark.parametrize(
    ("schema", "where"),
    [
        ({"type": "string", "format": "email"}, "#: string pattern/format"),
        ({"type": "object", "properties": {"p": {"$ref": "#/nope"}}, "required": ["p"]},
         "#/properties/p/$ref"),
        ({"$ref": "#"}, "nested too deep"),
        ({"type": "tuple"}, "#/type: 'tuple'"),
        ({"allOf": [{}, {}]}, "#/allOf"),
        ([], "a schema is an object"),
    ],
)  # fmt: skip
def test_what_it_cannot_satisfy_says_where(schema: object, where: str) -> None:
    with pytest.raises(SchemaError, match=where.replace("$", r"\$")):
        minimal_instance(schema)
