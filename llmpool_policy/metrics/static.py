"""A metrics snapshot from a plain document: ``explain --metrics M.json`` and tests.

::

    {
      "now": 0,
      "providers": {
        "openai": {"error_rate": {"5m": 0.3}, "latency": {"p95": {"5m": 2.5}},
                   "rpm_remaining": 0, "breaker_state": "open"}
      },
      "budgets": {"team_daily": {"day": {"search": 99.5}}, "total": {"month": 1500}}
    }

A windowed figure is one number (every window) or an object by window (``"5m"``, ``"30s"``,
``"1h"``; ``"*"`` for any window not listed); a window that is not listed reads as no data.
When only one of ``error_rate`` / ``success_rate`` is given, the other is its complement. A
budget's spend is one amount (every key) or an object by key (``"*"`` for other keys). The
document follows ``schemas/metrics-snapshot.schema.json``; a document that does not raises
:class:`~llmpool_policy.errors.ConfigurationError` with a JSON pointer per problem (codes
``M001`` invalid JSON, ``M002`` not what the schema allows, ``M003`` unreadable file).
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from .._resources import data_path
from ..diagnostics import Diagnostic, Span
from ..errors import ConfigurationError
from .limits import LimitSpec
from .snapshot import EMPTY_STAMP, EMPTY_VIEW, ProviderView, Stamp, check_stat

if TYPE_CHECKING:  # jsonschema loads only when a document is validated
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
    from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped]

__all__ = ["CODES", "SCHEMA_FILE", "StaticProviderView", "StaticSnapshot", "parse_window"]

SCHEMA_FILE: Final = "metrics-snapshot.schema.json"
CODES: Final[dict[str, str]] = {
    "M001": "the metrics file is not valid JSON",
    "M002": "the metrics document does not follow the schema",
    "M003": "the metrics file cannot be read",
}
_UNITS: Final[dict[str, float]] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_WINDOW = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(ms|s|m|h|d)$")
_ANY: Final = "*"


def parse_window(text: str) -> float:
    """``"5m"`` -> 300.0 seconds."""
    match = _WINDOW.match(text)
    if match is None:
        raise ValueError(f"not a window: {text!r} (expected e.g. 30s, 5m, 1h)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _key(window_s: float) -> float:
    return round(float(window_s), 6)


class _Series:
    """A figure by window, with an optional value for any window."""

    __slots__ = ("by_window", "default")

    def __init__(self, raw: float | Mapping[str, float]) -> None:
        self.by_window: dict[float, float] = {}
        self.default: float | None = None
        if isinstance(raw, Mapping):
            for name, value in raw.items():
                if name == _ANY:
                    self.default = float(value)
                else:
                    self.by_window[_key(parse_window(name))] = float(value)
        else:
            self.default = float(raw)

    def get(self, window_s: float) -> float | None:
        return self.by_window.get(_key(window_s), self.default)


def _series(data: Mapping[str, Any], name: str) -> _Series | None:
    raw = data.get(name)
    return None if raw is None else _Series(raw)


class StaticProviderView:
    """A provider's figures as the document states them (implements :class:`ProviderView`)."""

    __slots__ = ("_error", "_fields", "_latency", "_requests", "_spend", "_success")

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._error = _series(data, "error_rate")
        self._success = _series(data, "success_rate")
        self._requests = _series(data, "requests")
        self._spend = _series(data, "spend")
        latency = data.get("latency", {})
        self._latency = {stat: _Series(raw) for stat, raw in latency.items()}
        self._fields = dict(data)

    def error_rate(self, window_s: float) -> float | None:
        if self._error is not None:
            value = self._error.get(window_s)
            if value is not None or self._success is None:
                return value
        if self._success is not None:
            other = self._success.get(window_s)
            return None if other is None else 1.0 - other
        return None

    def success_rate(self, window_s: float) -> float | None:
        if self._success is not None:
            value = self._success.get(window_s)
            if value is not None or self._error is None:
                return value
        if self._error is not None:
            other = self._error.get(window_s)
            return None if other is None else 1.0 - other
        return None

    def latency(self, stat: str, window_s: float) -> float | None:
        check_stat(stat)
        series = self._latency.get(stat)
        return None if series is None else series.get(window_s)

    def requests(self, window_s: float) -> int:
        value = None if self._requests is None else self._requests.get(window_s)
        return 0 if value is None else int(value)

    def spend(self, window_s: float) -> float:
        value = None if self._spend is None else self._spend.get(window_s)
        return 0.0 if value is None else value

    def _int(self, name: str) -> int:
        return int(self._fields.get(name, 0))

    def _opt(self, name: str) -> int | None:
        value = self._fields.get(name)
        return None if value is None else int(value)

    @property
    def in_flight(self) -> int:
        return self._int("in_flight")

    @property
    def rpm_used(self) -> int:
        return self._int("rpm_used")

    @property
    def rpm_remaining(self) -> int | None:
        return self._opt("rpm_remaining")

    @property
    def rpd_used(self) -> int:
        return self._int("rpd_used")

    @property
    def rpd_remaining(self) -> int | None:
        return self._opt("rpd_remaining")

    @property
    def tpm_used(self) -> int:
        return self._int("tpm_used")

    @property
    def tpm_remaining(self) -> int | None:
        return self._opt("tpm_remaining")

    @property
    def breaker_state(self) -> str:
        return str(self._fields.get("breaker_state", "closed"))

    @property
    def cooling_down(self) -> bool:
        return bool(self._fields.get("cooling_down", False))


class StaticSnapshot:
    """A :class:`MetricsSnapshot` that states its figures instead of measuring them."""

    __slots__ = ("_budgets", "_stamps", "_views", "document", "now")

    def __init__(self, document: Mapping[str, Any]) -> None:
        """Build from an already validated document; use :meth:`from_dict` for user input."""
        self.document: dict[str, Any] = dict(document)
        self.now = float(document.get("now", 0.0))
        self._views: dict[str, StaticProviderView] = {
            name: StaticProviderView(data) for name, data in document.get("providers", {}).items()
        }
        self._budgets: dict[str, dict[str, Any]] = dict(document.get("budgets", {}))
        # the figures never change: one stamp per provider for as long as the snapshot lives
        self._stamps = {name: Stamp(self.now, math.inf) for name in self._views}

    @classmethod
    def from_dict(cls, document: object, *, path: str = "<metrics>") -> StaticSnapshot:
        """Validate ``document`` against the schema; every problem at once on failure."""
        diagnostics = schema_diagnostics(document, path=path)
        if diagnostics:
            raise ConfigurationError(diagnostics)
        assert isinstance(document, Mapping)
        return cls(document)

    @classmethod
    def from_json(cls, text: str, *, path: str = "<metrics>") -> StaticSnapshot:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                [
                    Diagnostic(
                        "M001",
                        f"not valid JSON: {exc.msg}",
                        span=Span.point(exc.lineno, exc.colno, exc.pos),
                        path=path,
                    )
                ]
            ) from exc
        return cls.from_dict(document, path=path)

    @classmethod
    def from_file(cls, path: str | Path) -> StaticSnapshot:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigurationError(
                [Diagnostic("M003", f"cannot read the metrics file: {exc}", path=str(path))]
            ) from exc
        return cls.from_json(text, path=str(path))

    def with_limits(self, limits: Mapping[str, LimitSpec]) -> StaticSnapshot:
        """This snapshot with the configured rate limits filled in: a provider's
        ``rpm_remaining`` (``rpd``, ``tpm``) the document does not state is its limit minus what
        the document says is used (nothing: the whole limit, as a freshly started pool reads it).
        Without this, ``explain`` read ``rpm.remaining`` as unknown although the config sets it."""
        providers = {name: dict(data) for name, data in self.document.get("providers", {}).items()}
        for name, spec in limits.items():
            for kind in ("rpm", "rpd", "tpm"):
                limit: int | None = getattr(spec, kind)
                view = providers.get(name, {})
                if limit is None or f"{kind}_remaining" in view:
                    continue
                view[f"{kind}_remaining"] = max(0, limit - int(view.get(f"{kind}_used", 0)))
                providers[name] = view
        return type(self)({**self.document, "providers": providers})

    def provider(self, name: str) -> ProviderView:
        view = self._views.get(name)
        return EMPTY_VIEW if view is None else view

    def stamps(self, names: tuple[str, ...], windows: tuple[float, ...]) -> tuple[Stamp, ...]:
        """Implements :class:`~llmpool_policy.metrics.snapshot.StampedSnapshot`."""
        get = self._stamps.get
        return tuple([get(name, EMPTY_STAMP) for name in names])

    def budget_spent(self, budget_name: str, key: str | None, period: str) -> float:
        spent = self._budgets.get(budget_name, {}).get(period)
        if spent is None:
            return 0.0
        if isinstance(spent, Mapping):
            value = spent.get(key) if key is not None else None
            if value is None:
                value = spent.get(_ANY, 0.0)
            return float(value)
        return float(spent)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.document)


# ---- validation ---------------------------------------------------------------------------------


@functools.cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(
        data_path("schemas", SCHEMA_FILE).read_text(encoding="utf-8")
    )
    return schema


@functools.cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(load_schema())


def _pointer(parts: object) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)  # type: ignore[attr-defined]


_TYPES: Final[dict[str, str]] = {
    "integer": "a whole number",
    "number": "a number",
    "object": "an object",
    "boolean": "true or false",
    "string": "a string",
}


def _describe(error: ValidationError) -> str:
    kind = error.validator
    value = error.validator_value
    if kind == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        known = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown key {', '.join(repr(k) for k in extra)}" + (
            f" (known keys: {known})" if known else ""
        )
    if kind == "type":
        wanted = [value] if isinstance(value, str) else list(value)
        words = " or ".join(_TYPES.get(w, w) for w in wanted)
        return f"must be {words} (got {json.dumps(error.instance)})"
    if kind == "minimum":
        return f"must be >= {value} (got {error.instance})"
    if kind == "maximum":
        hint = " (rates are fractions: 0.3 is 30%)" if value == 1 else ""
        return f"must be <= {value} (got {error.instance}){hint}"
    if kind == "pattern" and "propertyNames" in error.schema_path:
        return f"{json.dumps(error.instance)} is not a window (like 30s, 5m, 1h, or * for any)"
    if kind == "enum":
        return f"must be one of {', '.join(json.dumps(v) for v in value)} (got {error.instance!r})"
    return str(error.message)


def schema_diagnostics(document: object, *, path: str = "<metrics>") -> list[Diagnostic]:
    """Every way ``document`` departs from the metrics-snapshot schema, as diagnostics."""
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    return [
        Diagnostic("M002", _describe(e), path=path, pointer=_pointer(e.absolute_path))
        for e in errors
    ]
