"""The loaded configuration as typed, frozen values.

These models mirror ``schemas/provider-config.schema.json`` field for field; a test holds the
two equal over a corpus of accepted and rejected documents. Zero is always a value: ``None``
means "not given", and no default is ever taken because a value is falsy.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    Strict,
    field_validator,
    model_validator,
)
from pydantic.dataclasses import dataclass as pydantic_dataclass

from ..diagnostics import Diagnostic
from .secrets import Secret

__all__ = [
    "DEFAULT_BASE_URLS",
    "NAME_PATTERN",
    "PROVIDER_TYPES",
    "PoolConfig",
    "ProviderConfig",
    "ProviderType",
    "Supports",
]

ProviderType = Literal["openai", "anthropic", "groq", "together", "cohere", "openai-compatible"]
PROVIDER_TYPES: Final = ("openai", "anthropic", "groq", "together", "cohere", "openai-compatible")
DEFAULT_BASE_URLS: Final[dict[str, str]] = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com/v1",
    "groq": "https://api.groq.com/openai/v1",
    "together": "https://api.together.xyz/v1",
    "cohere": "https://api.cohere.ai/v1",
}
# The policy language's NAME token: policies refer to providers by these names.
# `(?!\n)` stops Python's `$` from accepting a trailing newline, as ECMA-262's `$` (editors) does.
NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*(-[A-Za-z0-9_]+)*$(?!\n)"
ENV_NAME_PATTERN: Final = r"^[A-Za-z_][A-Za-z0-9_]*$(?!\n)"


def _matching(pattern: str, what: str) -> AfterValidator:
    """A pattern check with the schema's semantics (``re.search``, as jsonschema does)."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if compiled.search(value) is None:
            raise ValueError(f"is not a valid {what}")
        return value

    return AfterValidator(check)


def _whole(value: object) -> object:
    """JSON Schema counts 5.0 as an integer; so do we."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_Int = Annotated[int, BeforeValidator(_whole), Strict()]
# Sane ranges (the schema's "maximum"s): far beyond any real setting, and finite, so a typo
# or `1e400` (which JSON parsers read as infinity) is refused instead of running the pool.
DAY_MS: Final = 86_400_000
MAX_COUNT: Final = 1_000_000
MAX_RATE: Final = 10**12
MAX_TOKENS: Final = 100_000_000
MAX_PRICE: Final = 1000.0  # USD per 1K tokens
Millis = Annotated[_Int, Field(ge=0, le=DAY_MS)]
Timeout = Annotated[_Int, Field(gt=0, le=DAY_MS)]
Rate = Annotated[_Int, Field(ge=0, le=MAX_RATE)]
Tokens = Annotated[_Int, Field(ge=1, le=MAX_TOKENS)]
Price = Annotated[float, Strict(), Field(ge=0, le=MAX_PRICE)]
Text = Annotated[str, Strict(), Field(min_length=1)]


@pydantic_dataclass(frozen=True, config=ConfigDict(extra="forbid"))
class Supports:
    """What a model can take; policies route on these (``providers where supports.vision``)."""

    vision: Annotated[bool, Strict()] = False
    tools: Annotated[bool, Strict()] = False
    json: Annotated[bool, Strict()] = False


class ProviderConfig(BaseModel):
    """One provider: an endpoint, a model, a key, and its limits and prices."""

    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    name: Annotated[str, Strict(), _matching(NAME_PATTERN, "provider name")]
    type: ProviderType
    api_key: Secret | None = None
    api_key_env: (
        Annotated[str, Strict(), _matching(ENV_NAME_PATTERN, "environment variable name")] | None
    ) = None
    base_url: Text
    model: Text
    priority: Annotated[_Int, Field(ge=0, le=MAX_COUNT)] = 1
    weight: Annotated[float, Strict(), Field(ge=0, le=MAX_COUNT)] = 1.0
    requests_per_minute: Rate | None = None
    requests_per_day: Rate | None = None
    tokens_per_minute: Rate | None = None
    circuit_breaker_threshold: Annotated[_Int, Field(ge=1, le=MAX_COUNT)] = 5
    circuit_breaker_timeout: Millis = 60000
    max_tokens: Tokens | None = None
    temperature: Annotated[float, Strict(), Field(ge=0, le=2)] | None = None
    timeout: Timeout | None = None  # ms
    input_token_price: Price | None = None  # USD per 1K tokens
    output_token_price: Price | None = None  # USD per 1K tokens
    context_window: Tokens | None = None
    supports: Supports = Supports()
    region: Text | None = None
    tags: tuple[Text, ...] = ()
    headers: dict[Annotated[str, Strict()], Secret] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _default_base_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and "base_url" not in data:
            kind = data.get("type")
            default = DEFAULT_BASE_URLS.get(kind) if isinstance(kind, str) else None
            if default is not None:
                return {**data, "base_url": default}
        return data

    @field_validator("api_key", "api_key_env", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        # Omit the key to leave it out; an explicit null is a mistake the schema rejects too.
        if value is None:
            raise ValueError("must be a string")
        return value

    @field_validator("api_key")
    @classmethod
    def _key_not_empty(cls, value: Secret | None) -> Secret | None:
        if value is not None and not value.reveal():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _one_key(self) -> ProviderConfig:
        given = "api_key" in self.model_fields_set, "api_key_env" in self.model_fields_set
        if all(given):
            raise ValueError("give either api_key or api_key_env, not both")
        if not any(given) and self.type != "openai-compatible":
            raise ValueError("missing api_key (or api_key_env)")
        return self

    def __repr__(self) -> str:
        # The headers may carry credentials; their values are Secrets, but keep reprs short too.
        return f"ProviderConfig(name={self.name!r}, type={self.type!r}, model={self.model!r})"

    def static_attributes(self) -> dict[str, object]:
        """The attributes a policy may read about this provider (prices per 1K, timeout in s)."""
        return {
            "name": self.name,
            "type": self.type,
            "model": self.model,
            "priority": self.priority,
            "weight": self.weight,
            "context_window": self.context_window,
            "supports.vision": self.supports.vision,
            "supports.tools": self.supports.tools,
            "supports.json": self.supports.json,
            "input_price": self.input_token_price,
            "output_price": self.output_token_price,
            "region": self.region,
            "tags": self.tags,
            "timeout": None if self.timeout is None else self.timeout / 1000,
        }

    def explicit_settings(self) -> dict[str, int]:
        """The settings this entry writes out that a policy may override with its own breaker
        or ``timeout`` (as written: ms), by field name; a defaulted field is not among them."""
        return {
            name: value
            for name in ("circuit_breaker_threshold", "circuit_breaker_timeout", "timeout")
            if name in self.model_fields_set and (value := getattr(self, name)) is not None
        }


class PoolConfig(BaseModel):
    """A whole configuration file: the providers and the pool-wide settings.

    ``checksum`` and ``warnings`` are set by the loader (they describe the document, not a
    field in it); a config built directly from data has an empty checksum and no warnings.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_uri: Annotated[str, Strict()] | None = Field(default=None, alias="$schema")
    providers: tuple[ProviderConfig, ...]
    timeout: Timeout = 30000  # ms
    max_retries: Annotated[_Int, Field(ge=0, le=100)] = 3
    retry_delay: Annotated[_Int, Field(ge=0, le=3_600_000)] = 1000  # ms
    check_interval: Millis = 300000  # ms
    token_counting: Annotated[bool, Strict()] = True  # False: the heuristic only, never tiktoken
    policy: Text | None = None

    _checksum: str = PrivateAttr(default="")
    _warnings: tuple[Diagnostic, ...] = PrivateAttr(default=())
    _origin: str = PrivateAttr(default="")

    @field_validator("schema_uri", mode="before")
    @classmethod
    def _no_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("must be a string")
        return value

    @property
    def checksum(self) -> str:
        """sha256 hex of the document's canonical form (see :mod:`.checksum`)."""
        return self._checksum

    @property
    def warnings(self) -> tuple[Diagnostic, ...]:
        return self._warnings

    @property
    def origin(self) -> str:
        """Where the document came from (a file path or a URL without credentials)."""
        return self._origin

    def provider(self, name: str) -> ProviderConfig:
        for provider in self.providers:
            if provider.name == name:
                return provider
        raise KeyError(name)

    def __repr__(self) -> str:
        names = ", ".join(p.name for p in self.providers)
        return f"PoolConfig(providers=[{names}], checksum={self._checksum[:12]!r})"
