"""The agreement corpus: documents the JSON Schema and the pydantic models must judge alike.

Each case says what both must decide, so a test fails when either drifts, not only when they
disagree. Structural rules only: cross-field checks (duplicate names, URLs, env) live outside both.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

# The seed README's Quick Start config.json, byte for byte (even its trailing space).
SEED_QUICK_START = (Path(__file__).parent / "data" / "seed_quick_start.json").read_text(
    encoding="utf-8"
)

BASE: dict[str, Any] = {"name": "p1", "type": "openai", "api_key": "k", "model": "gpt-4o"}


def provider(**changes: Any) -> dict[str, Any]:
    """BASE with ``changes``; a value of ``...`` removes the key."""
    result = copy.deepcopy(BASE)
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def doc(*providers: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"providers": list(providers), **top}


FULL_PROVIDER: dict[str, Any] = {
    "name": "openai-main",
    "type": "openai",
    "api_key_env": "OPENAI_API_KEY",
    "base_url": "https://api.openai.com/v1",
    "model": "gpt-4o",
    "priority": 0,
    "weight": 2.5,
    "requests_per_minute": 0,
    "requests_per_day": 10000,
    "tokens_per_minute": 30000,
    "circuit_breaker_threshold": 1,
    "circuit_breaker_timeout": 0,
    "max_tokens": 4096,
    "temperature": 0,
    "timeout": 30000,
    "input_token_price": 0.0025,
    "output_token_price": 0.01,
    "context_window": 128000,
    "supports": {"vision": True, "tools": True, "json": False},
    "region": "eu-west",
    "tags": ["frontier", "batch"],
    "headers": {"OpenAI-Organization": "org-1"},
}

ACCEPT: dict[str, object] = {
    "seed-quick-start": "SEED",
    "minimal": doc(provider()),
    "every-field": doc(FULL_PROVIDER),
    "pool-settings": doc(
        provider(),
        timeout=1,
        max_retries=0,
        retry_delay=0,
        check_interval=0,
        token_counting=False,
        policy="policies/p.policy",
    ),
    "schema-key": doc(provider(), **{"$schema": "./schemas/provider-config.schema.json"}),
    "empty-providers": doc(),
    "zero-everywhere": doc(
        provider(
            priority=0,
            weight=0,
            requests_per_minute=0,
            requests_per_day=0,
            tokens_per_minute=0,
            circuit_breaker_timeout=0,
            temperature=0,
            input_token_price=0,
            output_token_price=0,
        )
    ),
    "nulls-for-optional": doc(
        provider(requests_per_minute=None, temperature=None, timeout=None, region=None)
    ),
    "api-key-env": doc(provider(api_key=..., api_key_env="MY_KEY")),
    "openai-compatible-no-key": doc(
        provider(type="openai-compatible", api_key=..., base_url="http://localhost:8000/v1")
    ),
    "integral-float-as-integer": doc(provider(requests_per_minute=60.0)),
    "temperature-max": doc(provider(temperature=2)),
    "every-type": doc(
        *(
            provider(name=f"p-{kind}", type=kind)
            for kind in ("openai", "anthropic", "groq", "together", "cohere")
        )
    ),
    "placeholder-strings": doc(provider(api_key="${OPENAI_API_KEY}", model="${MODEL}")),
    "empty-supports": doc(provider(supports={})),
    "name-with-underscores": doc(provider(name="_a_b-c-2")),
}

REJECT: dict[str, object] = {
    "not-an-object": [BASE],
    "no-providers-key": {"timeout": 100},
    "providers-not-list": {"providers": {"p1": BASE}},
    "unknown-top-key": doc(provider(), configPath="./x.json"),
    "token-counting-not-boolean": doc(provider(), token_counting="yes"),
    "token-counting-null": doc(provider(), token_counting=None),
    "unknown-provider-key": doc(provider(requests_per_minit=5)),
    "unknown-supports-key": doc(provider(supports={"vison": True})),
    "missing-name": doc(provider(name=...)),
    "missing-model": doc(provider(model=...)),
    "missing-type": doc(provider(type=...)),
    "bad-type": doc(provider(type="gorq")),
    "no-key": doc(provider(api_key=...)),
    "both-keys": doc(provider(api_key_env="K")),
    "compatible-without-base-url": doc(provider(type="openai-compatible", api_key=...)),
    "negative-rpm": doc(provider(requests_per_minute=-5)),
    "string-rpm": doc(provider(requests_per_minute="5")),
    "fractional-rpm": doc(provider(requests_per_minute=1.5)),
    "bool-priority": doc(provider(priority=True)),
    "temperature-too-high": doc(provider(temperature=2.5)),
    "zero-timeout": doc(provider(timeout=0)),
    "zero-pool-timeout": doc(provider(), timeout=0),
    "zero-breaker-threshold": doc(provider(circuit_breaker_threshold=0)),
    "zero-max-tokens": doc(provider(max_tokens=0)),
    "negative-price": doc(provider(input_token_price=-0.01, output_token_price=0.01)),
    "string-price": doc(provider(input_token_price="0.01", output_token_price=0.01)),
    "empty-model": doc(provider(model="")),
    "empty-api-key": doc(provider(api_key="")),
    "null-api-key": doc(provider(api_key=None)),
    "null-base-url": doc(provider(base_url=None)),
    "bad-name": doc(provider(name="my provider")),
    "name-starting-with-digit": doc(provider(name="1st")),
    "bad-env-name": doc(provider(api_key=..., api_key_env="sk-123")),
    "tags-not-strings": doc(provider(tags=["a", 3])),
    "tags-string": doc(provider(tags="a,b")),
    "header-not-string": doc(provider(headers={"X-Retry": 3})),
    "supports-not-bool": doc(provider(supports={"vision": "yes"})),
    "null-pool-retries": doc(provider(), max_retries=None),
    "negative-retry-delay": doc(provider(), retry_delay=-1),
    "null-schema-key": doc(provider(), **{"$schema": None}),
    "provider-not-object": doc("p1"),  # type: ignore[arg-type]
}
