"""Secrets: a value type that never prints itself, and ``${VAR}`` expansion from the environment.

Keys reach the configuration through the environment (``"${OPENAI_API_KEY}"`` in any string, or
``api_key_env``), are expanded once at load, and from then on live only inside :class:`Secret`,
whose repr, str, pydantic dump and JSON schema all hide the value. Code that must send the key
asks for it by name: ``secret.reveal()``.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

__all__ = ["MASK", "Interpolation", "Secret", "interpolate", "looks_like_key", "mask_keys"]

MASK = "**********"


class Secret:
    """A string that does not show itself: in reprs, logs, tracebacks and dumps it is ``MASK``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("a Secret holds a string")
        self._value = value

    def reveal(self) -> str:
        """The real value, for the one place that must send it (the provider's auth header)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret('{MASK}')"

    def __str__(self) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, len(self._value)))

    def __reduce__(self) -> tuple[Any, ...]:
        raise TypeError("a Secret cannot be pickled; pass the environment variable instead")

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        def validate(value: object) -> Secret:
            if isinstance(value, Secret):
                return value
            if isinstance(value, str):
                return Secret(value)
            raise ValueError("must be a string")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _s: MASK),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "writeOnly": True}


# What an API key looks like, to keep one pasted into the wrong field out of every message:
# a known provider prefix (OpenAI/Anthropic sk-, Groq gsk_, xAI, Hugging Face, GitHub, GitLab,
# Google AIza, Slack, AWS AKIA, Replicate, Perplexity, NVIDIA) followed by a long token with a
# digit, or any run of 20+ letters and digits mixing both (Together's hex, Cohere, Mistral).
# Model names ("claude-3-5-sonnet-20241022") have shorter runs, so they still show.
_KEY_SHAPE = re.compile(
    r"(?<![A-Za-z0-9])(?:"
    r"(?:sk-|gsk_|xai-|pk-|hf_|ghp_|gho_|github_pat_|glpat-|AIza|xox[abposr]-|AKIA|r8_|pplx-"
    r"|nvapi-)(?=[A-Za-z0-9_-]*[0-9])[A-Za-z0-9_-]{12,}"
    r"|(?=[A-Za-z0-9]*[0-9])(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{20,}"
    r")"
)


def looks_like_key(text: str) -> bool:
    """Whether ``text`` holds something shaped like an API key (see ``_KEY_SHAPE``)."""
    return _KEY_SHAPE.search(text) is not None


def mask_keys(text: str, *, keep_width: bool = False) -> str:
    """``text`` with every key-shaped run replaced by :data:`MASK` (or by as many ``*`` as it
    had characters, so a caret under a source line still points at the right column)."""
    if keep_width:
        return _KEY_SHAPE.sub(lambda m: "*" * len(m.group(0)), text)
    return _KEY_SHAPE.sub(MASK, text)


_TOKEN = re.compile(r"\$\$\{|\$\{(?P<name>[^}]*)(?P<close>\}?)")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Interpolation:
    """The document with every ``${VAR}`` expanded, plus what could not be expanded, by place.

    ``missing`` and ``malformed`` hold ``(path, text)`` pairs: the path (keys and indexes) of the
    string and the variable name or the bad placeholder. Unexpanded placeholders stay as written.
    """

    data: object
    missing: tuple[tuple[tuple[str | int, ...], str], ...]
    malformed: tuple[tuple[tuple[str | int, ...], str], ...]


# A provider's identifiers are never expanded: its `name` is what policies refer to, and its
# `api_key_env` is the *name* of a variable (expanding it would turn a key into a variable
# name, and print it). A placeholder there is reported as a bad name by the schema instead.
_VERBATIM = frozenset({"name", "api_key_env"})


def interpolate(data: object, env: Mapping[str, str]) -> Interpolation:
    """Expand ``${VAR}`` in every string value (never in keys, nor in a provider's ``name`` and
    ``api_key_env``); ``$${`` writes a literal ``${``."""
    missing: list[tuple[tuple[str | int, ...], str]] = []
    malformed: list[tuple[tuple[str | int, ...], str]] = []

    def expand(text: str, path: tuple[str | int, ...]) -> str:
        if "$" not in text:
            return text

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group("name")
            if not match.group("close") or not _VAR_NAME.fullmatch(name):
                malformed.append((path, match.group(0)))
                return match.group(0)
            value = env.get(name)
            if value is None:
                missing.append((path, name))
                return match.group(0)
            return value

        return _TOKEN.sub(replace, text)

    def walk(node: object, path: tuple[str | int, ...]) -> object:
        if isinstance(node, str):
            if len(path) == 3 and path[0] == "providers" and path[2] in _VERBATIM:
                return node
            return expand(node, path)
        if isinstance(node, dict):
            return {key: walk(value, (*path, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [walk(value, (*path, index)) for index, value in enumerate(node)]
        return node

    result = walk(data, ())
    return Interpolation(result, tuple(missing), tuple(malformed))
