"""Checks the schema cannot express: unique names, safe URLs, and warnings about likely slips.

They run on the raw (interpolated) document even when the schema found errors, so a user sees
every problem in one pass; each check tolerates values of the wrong shape (the schema reports
those).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from ..diagnostics import Diagnostic, Severity
from ._pointer import pointer
from .models import ENV_NAME_PATTERN, NAME_PATTERN
from .schema import key_shaped
from .secrets import looks_like_key, mask_keys
from .urls import display_url, url_problem

__all__ = ["cross_checks"]


def _providers(data: object) -> list[tuple[int, dict[str, object]]]:
    if not isinstance(data, dict):
        return []
    providers = data.get("providers")
    if not isinstance(providers, list):
        return []
    return [(i, p) for i, p in enumerate(providers) if isinstance(p, dict)]


_IDENTIFIERS = (
    ("name", re.compile(NAME_PATTERN), "a provider name"),
    ("api_key_env", re.compile(ENV_NAME_PATTERN), "an environment variable name"),
)


def _key_shaped_identifiers(data: object, path: str) -> Iterator[Diagnostic]:
    """A key pasted as a provider's name or as api_key_env's variable name fits both patterns
    (``gsk_...``); it would be printed as a name everywhere (or as "variable gsk_... is not
    set"), so it is refused here without being shown. Values failing the pattern are the
    schema's to report (it masks them too). So is a key given as a model, region or tag."""
    for index, provider in _providers(data):
        for field, pattern, what in _IDENTIFIERS:
            value = provider.get(field)
            if isinstance(value, str) and pattern.search(value) and looks_like_key(value):
                message, hint = key_shaped(what)
                yield Diagnostic(
                    "C008", message, path=path, pointer=pointer(("providers", index, field)),
                    help=hint,
                )  # fmt: skip
        # Labels are shown as data (a response's model, stats, explain): a key there would be.
        tags = provider.get("tags")
        labels: list[tuple[tuple[str | int, ...], object]] = [
            (("model",), provider.get("model")),
            (("region",), provider.get("region")),
            *((("tags", i), tag) for i, tag in enumerate(tags if isinstance(tags, list) else [])),
        ]
        for where, value in labels:
            if isinstance(value, str) and looks_like_key(value):
                message, hint = key_shaped(f"a {where[0] if where[0] != 'tags' else 'tag'}")
                yield Diagnostic(
                    "C008", message, path=path, pointer=pointer(("providers", index, *where)),
                    help=hint,
                )  # fmt: skip


def _duplicate_names(data: object, path: str) -> Iterator[Diagnostic]:
    first: dict[str, int] = {}
    for index, provider in _providers(data):
        name = provider.get("name")
        if not isinstance(name, str):
            continue
        if name in first:
            yield Diagnostic(
                "C010",
                f"duplicate provider name '{mask_keys(name)}' (first used at "
                f"{pointer(('providers', first[name], 'name'))})",
                path=path,
                pointer=pointer(("providers", index, "name")),
                help="names must be unique: policies, stats and events refer to providers by name",
            )
        else:
            first[name] = index


def _base_urls(data: object, path: str, unresolved: frozenset[str]) -> Iterator[Diagnostic]:
    for index, provider in _providers(data):
        url = provider.get("base_url")
        where = pointer(("providers", index, "base_url"))
        if not isinstance(url, str) or not url or where in unresolved:
            continue
        problem = url_problem(url)
        if problem is not None:
            yield Diagnostic(
                "C011",
                f"{problem} (got {mask_keys(display_url(url))})",
                path=path,
                pointer=where,
                help="use https://..., or a loopback host (localhost, 127.0.0.1, ::1) "
                "for a server on this machine",
            )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _one_sided_prices(data: object, path: str) -> Iterator[Diagnostic]:
    for index, provider in _providers(data):
        given = [
            key
            for key in ("input_token_price", "output_token_price")
            if isinstance(provider.get(key), int | float)
            and not isinstance(provider.get(key), bool)
        ]
        if len(given) == 1:
            other = "output_token_price" if given[0] == "input_token_price" else "input_token_price"
            yield Diagnostic(
                "W001",
                f"{given[0]} is given but {other} is not, so costs for this provider "
                "cannot be estimated",
                path=path,
                pointer=pointer(("providers", index)),
                severity=Severity.WARNING,
                help=f"set {other} too (0 is a valid price)",
            )


def _empty_pool(data: object, path: str) -> Iterator[Diagnostic]:
    if isinstance(data, dict) and data.get("providers") == []:
        yield Diagnostic(
            "W002",
            "the provider list is empty, so every request will fail",
            path=path,
            pointer="/providers",
            severity=Severity.WARNING,
            help="add at least one provider",
        )


def cross_checks(data: object, path: str, unresolved: frozenset[str]) -> list[Diagnostic]:
    """Findings beyond the schema; ``unresolved`` holds pointers of strings with unset ${VAR}s."""
    return [
        *_key_shaped_identifiers(data, path),
        *_duplicate_names(data, path),
        *_base_urls(data, path, unresolved),
        *_one_sided_prices(data, path),
        *_empty_pool(data, path),
    ]
