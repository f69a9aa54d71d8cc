"""Scenario files: what changes while the traffic plays.

A scenario is a JSON object::

    {
      "name": "openai outage, then a 429 storm",
      "providers": {"openai-gpt4o": {"ttft_p50": 0.5, "ttft_p95": 1.2, "rpm": 600,
                                     "error_rates": {"server_error": 0.01}}},
      "events": [
        {"kind": "outage", "provider": "openai-gpt4o", "from": "5m", "to": "10m",
         "error": "server_error", "status": 503},
        {"kind": "rate_limit_storm", "provider": "groq-llama", "from": "12m", "to": "13m",
         "probability": 0.9, "retry_after": "2s"},
        {"kind": "latency", "provider": "anthropic-sonnet", "from": "15m", "to": "20m",
         "factor": 4},
        {"kind": "price", "provider": "openai-gpt4o", "at": "20m",
         "input_price": 0.005, "output_price": 0.015},
        {"kind": "budget_reset", "at": "30m", "budget": "team_daily"}
      ]
    }

Times are seconds (a number) or durations (``500ms``, ``30s``, ``5m``, ``1h``) from the first
request's arrival. ``providers`` overrides the outcome model of a provider (see
:mod:`.models`). A ``price`` change takes effect the way a config reload does live: the policy is
compiled again against the new prices (so ``order by cost`` sees them) and later answers are
charged at them. ``budget_reset`` zeroes what a budget (all of them without ``budget``) has
spent in its current period.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from .models import ERROR_STATUS

__all__ = ["KINDS", "Scenario", "ScenarioError", "ScenarioEvent", "load_scenario", "parse_duration"]

KINDS: Final = ("outage", "rate_limit_storm", "latency", "price", "budget_reset")
_WINDOWED: Final = frozenset({"outage", "rate_limit_storm", "latency"})
_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_DURATION: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")


class ScenarioError(ValueError):
    """A scenario file that cannot be used (with where)."""


def parse_duration(value: Any, where: str) -> float:
    """Seconds from a number or a duration string."""
    if isinstance(value, bool):
        raise ScenarioError(f"{where}: expected seconds or a duration like 30s, got {value!r}")
    if isinstance(value, int | float):
        if value < 0:
            raise ScenarioError(f"{where}: must be >= 0")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return float(m.group(1)) * _UNITS[m.group(2)]
    raise ScenarioError(f"{where}: expected seconds or a duration like 30s, got {value!r}")


@dataclass(frozen=True)
class ScenarioEvent:
    """One scripted change; ``start``/``end`` in seconds from the first arrival (``end`` None:
    a one-off change at ``start``)."""

    kind: str
    start: float
    end: float | None = None
    provider: str | None = None
    error: str = "server_error"
    status: int | None = None
    probability: float = 1.0
    retry_after_s: float = 1.0
    factor: float = 1.0
    input_price: float | None = None
    output_price: float | None = None
    budget: str | None = None

    def describe(self) -> str:
        when = f"{self.start:g}s" + (f"-{self.end:g}s" if self.end is not None else "")
        who = f" {self.provider}" if self.provider else ""
        detail = {
            "outage": f" ({self.error}{f' {self.status}' if self.status else ''})",
            "rate_limit_storm": f" (p={self.probability:g}, retry-after {self.retry_after_s:g}s)",
            "latency": f" (x{self.factor:g})",
            "price": " ("
            + ", ".join(
                f"{side} {price:g}"
                for side, price in (("input", self.input_price), ("output", self.output_price))
                if price is not None
            )
            + " USD per 1K tokens)",
            "budget_reset": f" ({self.budget or 'all budgets'})",
        }[self.kind]
        return f"{when}: {self.kind}{who}{detail}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "start": self.start,
            "end": self.end,
            "provider": self.provider,
            "describe": self.describe(),
        }


@dataclass(frozen=True)
class Scenario:
    name: str = "baseline"
    providers: Mapping[str, Mapping[str, Any]] | None = None
    events: tuple[ScenarioEvent, ...] = ()

    def check_providers(self, known: set[str]) -> None:
        """Every provider a scenario names must be configured (no silent typos)."""
        named = set(self.providers or {}) | {e.provider for e in self.events if e.provider}
        unknown = sorted(named - known)
        if unknown:
            raise ScenarioError(
                f"scenario {self.name!r} names unknown provider(s): {', '.join(unknown)}; "
                f"configured: {', '.join(sorted(known))}"
            )


_EVENT_KEYS: Final = {
    "outage": {"provider", "from", "to", "error", "status"},
    "rate_limit_storm": {"provider", "from", "to", "probability", "retry_after"},
    "latency": {"provider", "from", "to", "factor"},
    "price": {"provider", "at", "input_price", "output_price"},
    "budget_reset": {"at", "budget"},
}


def _event(data: Any, where: str) -> ScenarioEvent:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: an event is a JSON object")
    kind = data.get("kind")
    if kind not in _EVENT_KEYS:
        raise ScenarioError(f"{where}: kind must be one of {', '.join(KINDS)} (got {kind!r})")
    unknown = sorted(set(data) - _EVENT_KEYS[kind] - {"kind"})
    if unknown:
        raise ScenarioError(
            f"{where}: unknown key(s) for {kind}: {', '.join(unknown)}; "
            f"known: {', '.join(sorted(_EVENT_KEYS[kind]))}"
        )
    provider = data.get("provider")
    if kind != "budget_reset" and not isinstance(provider, str):
        raise ScenarioError(f"{where}: {kind} needs a provider")
    if kind in _WINDOWED:
        if "from" not in data or "to" not in data:
            raise ScenarioError(f"{where}: {kind} needs from and to")
        start = parse_duration(data["from"], f"{where}.from")
        end: float | None = parse_duration(data["to"], f"{where}.to")
        assert end is not None
        if end <= start:
            raise ScenarioError(f"{where}: to must be after from")
    else:
        if "at" not in data:
            raise ScenarioError(f"{where}: {kind} needs at")
        start, end = parse_duration(data["at"], f"{where}.at"), None
    error = data.get("error", "server_error")
    if error not in ERROR_STATUS:
        raise ScenarioError(f"{where}: unknown error class {error!r}")
    status = data.get("status", ERROR_STATUS[error])
    probability = float(data.get("probability", 1.0))
    if not 0.0 <= probability <= 1.0:
        raise ScenarioError(f"{where}: probability must be in [0, 1]")
    factor = float(data.get("factor", 1.0))
    if factor <= 0:
        raise ScenarioError(f"{where}: factor must be > 0")
    retry_after = parse_duration(data.get("retry_after", 1.0), f"{where}.retry_after")
    prices = {k: data.get(k) for k in ("input_price", "output_price")}
    for k, v in prices.items():
        if v is not None and (not isinstance(v, int | float) or v < 0):
            raise ScenarioError(f"{where}: {k} must be a price >= 0 (USD per 1K tokens)")
    if kind == "price" and all(v is None for v in prices.values()):
        raise ScenarioError(f"{where}: price needs input_price and/or output_price")
    budget = data.get("budget")
    return ScenarioEvent(
        kind=kind,
        start=start,
        end=end,
        provider=provider,
        error=error,
        status=status,
        probability=probability,
        retry_after_s=retry_after,
        factor=factor,
        input_price=prices["input_price"],
        output_price=prices["output_price"],
        budget=budget,
    )


def scenario_from_json(data: Any, where: str = "scenario") -> Scenario:
    if not isinstance(data, dict):
        raise ScenarioError(f"{where}: a scenario is a JSON object")
    unknown = sorted(set(data) - {"name", "providers", "events", "$schema"})
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)}")
    providers = data.get("providers", {})
    if not isinstance(providers, dict) or not all(isinstance(v, dict) for v in providers.values()):
        raise ScenarioError(f"{where}.providers: an object of provider name -> model overrides")
    events = data.get("events", [])
    if not isinstance(events, list):
        raise ScenarioError(f"{where}.events: a list")
    parsed = tuple(_event(e, f"{where}.events[{i}]") for i, e in enumerate(events))
    return Scenario(str(data.get("name", "scenario")), providers, parsed)


def load_scenario(path: str | Path) -> Scenario:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}: not JSON: {exc}") from exc
    return scenario_from_json(data, str(path))
