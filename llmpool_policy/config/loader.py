"""From a source to a validated :class:`PoolConfig`, or a ConfigurationError listing everything.

The steps, each reporting every finding rather than stopping at the first: parse JSON (with
duplicate keys found), pin check, ``${VAR}`` expansion, JSON Schema, cross-field checks, key
variables; then the typed models. Warnings ride along on the loaded config.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path

from pydantic import ValidationError

from ..diagnostics import Diagnostic
from ..errors import ConfigurationError
from ._pointer import pointer
from .checks import cross_checks
from .checksum import config_checksum, normalise_checksum
from .credentials import check_credentials
from .models import ENV_NAME_PATTERN, PoolConfig
from .parse import parse_json
from .schema import schema_diagnostics, sort_key
from .secrets import Secret, interpolate, looks_like_key, mask_keys
from .shape import shape_diagnostics
from .sources import ConfigSource, Unchanged, open_source

__all__ = ["load_config", "parse_config", "poll_config", "validate_config_data"]

log = logging.getLogger("llmpool_policy.config")
_ENV_NAME = re.compile(ENV_NAME_PATTERN)

_Parts = tuple[str | int, ...]


def _provider_name(data: object, parts: _Parts) -> str | None:
    if len(parts) >= 2 and parts[0] == "providers" and isinstance(parts[1], int):
        providers = data.get("providers") if isinstance(data, dict) else None
        if isinstance(providers, list) and parts[1] < len(providers):
            entry = providers[parts[1]]
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                return str(entry["name"])
    return None


def _whose(data: object, parts: _Parts) -> str:
    name = _provider_name(data, parts)
    return f" (provider '{mask_keys(name)}')" if name is not None else ""


def _pin_diagnostics(actual: str, expected: str | None, path: str) -> list[Diagnostic]:
    if expected is None:
        return []
    pin = normalise_checksum(expected)
    if pin is None:
        return [
            Diagnostic(
                "C013",
                "the pinned checksum is not a sha256 hex digest",
                path=path,
                help="give 64 hex digits, optionally prefixed with 'sha256:'",
            )
        ]
    if pin == actual:
        return []
    return [
        Diagnostic(
            "C013",
            f"checksum mismatch: the document's is {actual}, the pin requires {pin}",
            path=path,
            help="if the change is intended, update the pinned checksum; otherwise find out "
            "who changed the configuration",
        )
    ]


def _env_diagnostics(
    data: object, env: Mapping[str, str], path: str
) -> tuple[object, list[Diagnostic], frozenset[str]]:
    result = interpolate(data, env)
    found: list[Diagnostic] = []
    unresolved: set[str] = set()
    for parts, name in result.missing:
        unresolved.add(pointer(parts))
        found.append(
            Diagnostic(
                "C012",
                f"environment variable {name} is not set{_whose(data, parts)}",
                path=path,
                pointer=pointer(parts),
                help=f"export {name} before loading (write $${{{name}}} to keep the text as is)",
            )
        )
    for parts, text in result.malformed:
        unresolved.add(pointer(parts))
        sensitive = "api_key" in parts or "headers" in parts
        shown = "a ${...} placeholder" if sensitive else f"'{mask_keys(text)}'"
        found.append(
            Diagnostic(
                "C008",
                f"has a malformed placeholder: {shown}",
                path=path,
                pointer=pointer(parts),
                help="write ${NAME} (letters, digits, underscores); write $${ for a literal ${",
            )
        )
    for index, provider in enumerate(_list(data, "providers")):
        variable = provider.get("api_key_env") if isinstance(provider, dict) else None
        if not isinstance(variable, str) or not _ENV_NAME.search(variable):
            continue  # the schema reports a bad name; never echo it (it may be a pasted key)
        if looks_like_key(variable):
            continue  # a pasted key that fits the pattern (gsk_...): the cross checks refuse it
        value = env.get(variable)
        if value:
            continue
        state = "is not set" if value is None else "is empty"
        parts = ("providers", index, "api_key_env")
        found.append(
            Diagnostic(
                "C012",
                f"environment variable {variable} {state}{_whose(data, parts)}",
                path=path,
                pointer=pointer(parts),
                help=f"export {variable} with the provider's API key before loading",
            )
        )
    return result.data, found, frozenset(unresolved)


def _list(data: object, key: str) -> list[object]:
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, list) else []


def _model_diagnostics(error: ValidationError, path: str) -> list[Diagnostic]:
    # Reached only if the models reject what the schema accepts; the agreement tests forbid it.
    # Pydantic's own text can quote inputs, so only its location and short message are used.
    return [
        Diagnostic(
            "C018",
            str(item["msg"]).removeprefix("Value error, "),
            path=path,
            pointer=pointer(p for p in item["loc"] if not str(p).startswith("function-")),
        )
        for item in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def _ordered(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    def key(d: Diagnostic) -> tuple[object, ...]:
        parts = tuple(int(p) if p.isdigit() else p for p in (d.pointer or "").split("/")[1:])
        return (not d.is_error, sort_key(parts), d.code)

    return sorted(diagnostics, key=key)


def validate_config_data(
    data: object,
    *,
    path: str = "<config>",
    env: Mapping[str, str] | None = None,
    expected_checksum: str | None = None,
) -> PoolConfig:
    """Validate parsed JSON ``data`` into a :class:`PoolConfig`.

    Raises :class:`ConfigurationError` holding every error (and the warnings) when anything is
    wrong; otherwise the warnings are on ``PoolConfig.warnings``. ``env`` defaults to
    ``os.environ``.
    """
    return _validate(data, path, os.environ if env is None else env, expected_checksum, [])


def _check_structure(expanded: object, path: str) -> tuple[PoolConfig | None, list[Diagnostic]]:
    """The models judge first (fast); only a rejected document pays for the JSON Schema run,
    whose errors are the precise, complete ones users see. The agreement tests hold the two
    verdicts equal, so this changes speed, never the outcome."""
    try:
        return PoolConfig.model_validate(expanded), []
    except ValidationError as exc:
        return None, schema_diagnostics(expanded, path) or _model_diagnostics(exc, path)


def _validate(
    data: object,
    path: str,
    environment: Mapping[str, str],
    expected_checksum: str | None,
    found: list[Diagnostic],
) -> PoolConfig:
    shape = shape_diagnostics(data, path)
    if shape:  # nothing below may walk or encode this document
        raise ConfigurationError(_ordered([*found, *shape]))
    checksum = config_checksum(data)
    found.extend(_pin_diagnostics(checksum, expected_checksum, path))
    expanded, env_found, unresolved = _env_diagnostics(data, environment, path)
    found.extend(env_found)
    expanded, credentials = check_credentials(expanded, environment, path)
    found.extend(credentials.found)
    config, structural = _check_structure(expanded, path)
    found.extend(structural)
    found.extend(cross_checks(expanded, path, unresolved))
    found = _ordered(found)
    if config is None or any(d.is_error for d in found):
        raise ConfigurationError(found)
    keys = {**environment, **credentials.env_values}
    providers = tuple(
        provider.model_copy(update={"api_key": Secret(keys[provider.api_key_env])})
        if provider.api_key_env is not None
        else provider
        for provider in config.providers
    )
    config = config.model_copy(update={"providers": providers})
    config._checksum = checksum
    config._warnings = tuple(found)
    config._origin = path
    return config


def parse_config(
    content: bytes | str,
    *,
    path: str = "<config>",
    env: Mapping[str, str] | None = None,
    expected_checksum: str | None = None,
) -> PoolConfig:
    """Parse and validate a JSON document (bytes or text)."""
    data, problems = parse_json(content, path)
    if data is None and problems:
        raise ConfigurationError(problems)
    environment = os.environ if env is None else env
    return _validate(data, path, environment, expected_checksum, problems)


def _log_loaded(config: PoolConfig) -> PoolConfig:
    log.info(
        "loaded configuration %s: %d providers, checksum %s, %d warnings",
        config.origin,
        len(config.providers),
        config.checksum,
        len(config.warnings),
    )
    return config


def poll_config(
    source: ConfigSource,
    *,
    env: Mapping[str, str] | None = None,
    expected_checksum: str | None = None,
) -> PoolConfig | Unchanged:
    """One reload step: :data:`UNCHANGED` if the source has nothing new, else the new config."""
    fetched = source.fetch()
    if isinstance(fetched, Unchanged):
        log.debug("configuration %s unchanged", source.name)
        return fetched
    config = parse_config(
        fetched.content, path=fetched.name, env=env, expected_checksum=expected_checksum
    )
    return _log_loaded(config)


def load_config(
    source: str | Path | ConfigSource,
    *,
    env: Mapping[str, str] | None = None,
    expected_checksum: str | None = None,
) -> PoolConfig:
    """Load a configuration from a file path or an ``https://`` URL (``http`` only to loopback).

    Raises :class:`ConfigurationError` with every problem found; ``expected_checksum`` pins the
    document (sha256 of its canonical form) and refuses any other.
    """
    config_source = open_source(source)
    config_source.reset()
    result = poll_config(config_source, env=env, expected_checksum=expected_checksum)
    if isinstance(result, Unchanged):  # pragma: no cover - reset() makes this impossible
        raise RuntimeError(f"{config_source.name}: source reported unchanged after reset")
    return result
