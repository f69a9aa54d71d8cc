"""Keys and header values checked at load time, not first at send time.

A key read from a mounted secret file or ``$(cat key)`` often ends in a newline; a header
value pasted from a terminal may hold CR/LF or a non-ASCII character. HTTP clients then fail on
the first request (a raw ``ValueError``/``UnicodeEncodeError``, or a retried "connection
error"). Here a single trailing newline is stripped with a note, and anything else that cannot
go into an HTTP header is refused with a pointer; the value is never shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from ..diagnostics import Diagnostic, Severity
from ._pointer import pointer
from .secrets import looks_like_key

__all__ = ["Credentials", "check_credentials"]

# RFC 9110 field-name: a token.
_TOKEN: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")

_Parts = tuple[str | int, ...]


class Credentials:
    """The cleaned ``api_key_env`` values by variable name, and the findings."""

    def __init__(self) -> None:
        self.env_values: dict[str, str] = {}
        self.found: list[Diagnostic] = []


def _problem(value: str) -> str | None:
    control = _CONTROL.search(value)
    if control is not None:
        what = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\t": "a tab"}.get(
            control.group(0), f"the control character U+{ord(control.group(0)):04X}"
        )
        return f"holds {what} at character {control.start() + 1}"
    if not value.isascii():
        index = next(i for i, c in enumerate(value) if ord(c) > 127)
        return f"holds a non-ASCII character at character {index + 1} (HTTP headers are ASCII)"
    return None


def _clean(value: str, what: str, where: _Parts, path: str, out: Credentials) -> str:
    for ending in ("\r\n", "\n"):
        if value.endswith(ending) and _CONTROL.search(value[: -len(ending)]) is None:
            value = value[: -len(ending)]
            out.found.append(
                Diagnostic(
                    "N001",
                    f"a trailing newline was removed from {what}",
                    path=path,
                    pointer=pointer(where),
                    severity=Severity.NOTE,
                    help="a key read from a file or `$(cat ...)` often ends in one; "
                    "`printf %s` or `echo -n` writes it without",
                )
            )
            break
    problem = _problem(value)
    if problem is not None:
        out.found.append(
            Diagnostic(
                "C022",
                f"{what} {problem}; it cannot be sent in an HTTP header (the value is not shown)",
                path=path,
                pointer=pointer(where),
                help="copy the value again without line breaks or special characters",
            )
        )
    return value


def _header_name_problem(name: str) -> str | None:
    if looks_like_key(name):
        return "looks like an API key, not a header name: name and value may be swapped"
    if not _TOKEN.fullmatch(name):
        return "is not a valid HTTP header name (letters, digits and !#$%&'*+-.^_`|~ only)"
    return None


def check_credentials(
    data: object, env: Mapping[str, str], path: str
) -> tuple[object, Credentials]:
    """``data`` (interpolated) with each provider's ``api_key`` and header values cleaned, and
    the ``api_key_env`` values from ``env`` cleaned into ``Credentials.env_values``."""
    out = Credentials()
    if not isinstance(data, dict) or not isinstance(data.get("providers"), list):
        return data, out
    providers: list[object] = data["providers"]
    cleaned_providers: list[object] = []
    for index, provider in enumerate(providers):
        if not isinstance(provider, dict):
            cleaned_providers.append(provider)
            continue
        provider = dict(provider)
        here: _Parts = ("providers", index)
        key = provider.get("api_key")
        if isinstance(key, str) and key:
            provider["api_key"] = _clean(key, "the API key", (*here, "api_key"), path, out)
        variable = provider.get("api_key_env")
        if isinstance(variable, str) and env.get(variable) and not looks_like_key(variable):
            what = f"the key in environment variable {variable}"
            value = _clean(env[variable], what, (*here, "api_key_env"), path, out)
            out.env_values[variable] = value
            if not value:
                out.found.append(
                    Diagnostic(
                        "C012",
                        f"environment variable {variable} holds only a newline",
                        path=path,
                        pointer=pointer((*here, "api_key_env")),
                        help=f"export {variable} with the provider's API key before loading",
                    )
                )
        headers = provider.get("headers")
        if isinstance(headers, dict):
            cleaned: dict[str, object] = {}
            for number, (name, value) in enumerate(headers.items(), start=1):
                problem = _header_name_problem(name)
                if problem is not None:
                    out.found.append(
                        Diagnostic(
                            "C022",
                            f"header #{number} {problem} (the name is not shown)",
                            path=path,
                            pointer=pointer((*here, "headers")),
                            help='give headers as {"Header-Name": "value"}',
                        )
                    )
                if isinstance(value, str):
                    where = (*here, "headers", name) if problem is None else (*here, "headers")
                    value = _clean(value, f"header #{number}'s value", where, path, out)
                cleaned[name] = value
            provider["headers"] = cleaned
        cleaned_providers.append(provider)
    return {**data, "providers": cleaned_providers}, out
