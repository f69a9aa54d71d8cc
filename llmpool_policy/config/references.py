"""Files a configuration names (its ``policy``), found where the configuration is.

A relative reference means "beside this configuration", wherever the program runs: against the
configuration file's directory, or, for a configuration fetched from a URL, against that URL
(fetched with the rules of configuration URLs: https, or http to loopback; no redirects; the
size cap). An absolute path or a full URL stays as written. A reference that cannot be read is
a :class:`ConfigurationError` whose one diagnostic (``C019``) names the configuration field as
a JSON pointer, the reference as written and as resolved, and what to do.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

from ..diagnostics import Diagnostic
from ..errors import ConfigurationError
from .models import PoolConfig
from .secrets import mask_keys
from .sources import DEFAULT_MAX_BYTES, ConfigSource, Fetched, FileSource, UrlSource
from .urls import display_url

__all__ = ["config_base", "read_reference", "resolve_reference"]

_URL_SCHEMES = ("http://", "https://")


def _is_url(text: str) -> bool:
    return text.startswith(_URL_SCHEMES)


def config_base(source: ConfigSource | None, config: PoolConfig) -> str:
    """Where ``config``'s relative references start: its file (made absolute) or its URL. A
    configuration built from data, with no file behind it, starts from the working directory."""
    if isinstance(source, UrlSource):
        return source.url
    if isinstance(source, FileSource):
        return str(source.path.absolute())
    origin = config.origin
    if _is_url(origin):
        return origin
    if origin and not origin.startswith("<"):
        return str(Path(origin).absolute())
    return str(Path.cwd() / "<config>")


def resolve_reference(base: str, reference: str) -> str:
    """``reference`` as the configuration at ``base`` means it: an absolute path or URL as is,
    else joined to the base URL, or to the directory of the base file."""
    if _is_url(reference):
        return reference
    if _is_url(base):
        return urljoin(base, reference)
    path = Path(reference)
    return str(path if path.is_absolute() else Path(base).parent / path)


def read_reference(
    base: str,
    reference: str,
    *,
    pointer: str,
    config_name: str,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> tuple[str, str]:
    """The text of the file ``reference`` names and where it was found (an absolute path, or
    a URL shown without credentials or query); raises :class:`ConfigurationError`."""
    resolved = resolve_reference(base, reference)
    where = display_url(resolved) if _is_url(resolved) else resolved
    if _is_url(resolved):
        try:
            fetched = UrlSource(resolved, max_bytes=max_bytes).fetch()
        except ConfigurationError as exc:
            (cause,) = exc.diagnostics
            why, hint = cause.message, cause.help
            raise _unreadable(pointer, config_name, reference, where, why, hint) from None
        assert isinstance(fetched, Fetched)  # a new source has seen nothing: never UNCHANGED
        content = fetched.content
    else:
        try:
            with open(resolved, "rb") as handle:
                content = handle.read(max_bytes + 1)
        except FileNotFoundError:
            raise _unreadable(pointer, config_name, reference, where, "no such file") from None
        except OSError as exc:
            reason = (exc.strerror or type(exc).__name__).lower()
            raise _unreadable(pointer, config_name, reference, where, reason) from None
        if len(content) > max_bytes:
            reason = f"more than the {max_bytes}-byte cap"
            raise _unreadable(pointer, config_name, reference, where, reason)
    try:
        return content.decode("utf-8"), where
    except UnicodeDecodeError:
        raise _unreadable(pointer, config_name, reference, where, "not UTF-8 text") from None


def _unreadable(
    pointer: str,
    config_name: str,
    reference: str,
    where: str,
    reason: str,
    hint: str | None = None,
) -> ConfigurationError:
    shown = mask_keys(display_url(reference) if _is_url(reference) else reference)
    where = mask_keys(where)
    resolved = "" if where == shown else f" (resolved to {where})"
    help_text = (
        "a relative path is read from the configuration's own directory (or URL), not the"
        " working directory; fix the path or give an absolute one"
    )
    if hint is not None:
        help_text = f"{hint}; {help_text}"
    return ConfigurationError(
        [
            Diagnostic(
                "C019",
                f"cannot read {shown!r}{resolved}: {reason}",
                path=config_name,
                pointer=pointer,
                help=help_text,
            )
        ]
    )
