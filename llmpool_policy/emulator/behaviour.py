"""What an emulated provider does: latency, fault rates, a rate limit, and phases over time.

A :class:`Behaviour` is a frozen value; ``EmulatedProvider.set_behaviour`` swaps it at run time.
Faults are drawn per request from ``random.Random`` seeded with the provider's seed and the
request's index, so the n-th request gets the same fault on every run whatever the timing.

JSON form (every key optional; unknown keys are errors, never ignored)::

    {"latency": "groq" | {"ttft_p50": 0.2, "ttft_p95": 0.3, "tokens_per_s": 190},
     "latency_scale": 1.0,
     "faults": {"server_error": 0.02, "rate_limited": 0.01},
     "requests_per_minute": 60, "retry_after": 1.0, "context_window": 8192,
     "models": ["gpt-4o-mini"],
     "phases": [{"name": "degrade", "requests": [50, 120], "faults": {"server_error": 0.5}},
                {"name": "outage", "seconds": [30, 45], "faults": {"service_unavailable": 1}}]}
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final, Literal, get_args

from .profiles import PROFILES, LatencyProfile

__all__ = ["FAULTS", "Behaviour", "BehaviourError", "Fault", "Phase"]

Fault = Literal[
    "rate_limited",
    "overloaded",
    "service_unavailable",
    "server_error",
    "hang",
    "reset",
    "malformed_json",
    "malformed_body",
    "context_window",
    "auth",
]
# Also the order in which a request's draw walks the rates: fixed, so one seed gives one sequence.
FAULTS: Final[tuple[Fault, ...]] = get_args(Fault)


class BehaviourError(ValueError):
    """A behaviour (or an emulator config) that does not make sense; says where."""


def _check_faults(faults: Mapping[str, float], where: str) -> None:
    total = 0.0
    for name, rate in faults.items():
        if name not in FAULTS:
            raise BehaviourError(f"{where}: unknown fault {name!r} (known: {', '.join(FAULTS)})")
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise BehaviourError(f"{where}.{name}: a rate is a number in [0, 1], got {rate!r}")
        total += rate
    if total > 1 + 1e-9:
        raise BehaviourError(f"{where}: rates add up to {total:g}, more than 1")


@dataclass(frozen=True, slots=True)
class Phase:
    """A window — by request index (``[start, end)``, 0-based) and/or by seconds since the
    provider started (``[start, end)`` on the emulator's clock) — that changes the behaviour:
    ``faults`` replaces the fault rates, ``latency_scale`` multiplies the latency. An end of
    None means "from then on". With both windows given, both must hold."""

    requests: tuple[int, int | None] | None = None
    seconds: tuple[float, float | None] | None = None
    faults: Mapping[str, float] | None = None
    latency_scale: float | None = None
    name: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str):
            raise BehaviourError(f"phase.name: expected a string, got {self.name!r}")
        where = f"phase {self.name!r}" if self.name else "phase"
        # Checked and normalised here, not only in from_json: a wrong type given to the
        # constructor must fail now, not as a 500 from the handler at the first request.
        if self.requests is not None:
            start, end = _window(self.requests, f"{where}.requests")
            requests = (
                _integer(start, f"{where}.requests[0]"),
                None if end is None else _integer(end, f"{where}.requests[1]"),
            )
            object.__setattr__(self, "requests", requests)
        if self.seconds is not None:
            object.__setattr__(self, "seconds", _window(self.seconds, f"{where}.seconds"))
        if self.requests is None and self.seconds is None:
            raise BehaviourError(f"{where}: give `requests` and/or `seconds`")
        for window in (self.requests, self.seconds):
            if window is not None and window[1] is not None and window[1] < window[0]:
                raise BehaviourError(f"{where}: window {list(window)} ends before it starts")
        if self.faults is not None:
            object.__setattr__(self, "faults", _rates(self.faults, f"{where}.faults"))
        if self.latency_scale is not None:
            scale = _number(self.latency_scale, f"{where}.latency_scale")
            if not 0 <= scale < math.inf:
                raise BehaviourError(f"{where}.latency_scale must be a finite number >= 0")
            object.__setattr__(self, "latency_scale", scale)

    def active(self, index: int, elapsed: float) -> bool:
        for window, at in ((self.requests, float(index)), (self.seconds, elapsed)):
            if window is None:
                continue
            start, end = window
            if at < start or (end is not None and at >= end):
                return False
        return True


@dataclass(frozen=True, slots=True)
class Behaviour:
    """A provider's script. ``latency`` None means the provider type's measured default."""

    latency: LatencyProfile | None = None
    latency_scale: float = 1.0
    faults: Mapping[str, float] = field(default_factory=dict)
    requests_per_minute: int | None = None
    retry_after: float = 1.0
    context_window: int | None = None
    models: tuple[str, ...] = ()
    phases: tuple[Phase, ...] = ()

    def __post_init__(self) -> None:
        # Every field is checked (and JSON forms converted) at construction: a value the
        # handler cannot use — `latency={"ttft_p50": ...}` as the docs write it, a string rpm —
        # used to pass here and then answer every request with a 500.
        set_ = object.__setattr__
        if self.latency is not None and not isinstance(self.latency, LatencyProfile):
            set_(self, "latency", _latency(self.latency, "latency"))
        set_(self, "latency_scale", _number(self.latency_scale, "latency_scale"))
        if not 0 <= self.latency_scale < math.inf:
            raise BehaviourError("latency_scale must be a finite number >= 0")
        set_(self, "faults", _rates(self.faults, "faults"))
        if self.requests_per_minute is not None:
            rpm = _integer(self.requests_per_minute, "requests_per_minute")
            if rpm < 0:
                raise BehaviourError("requests_per_minute must be >= 0")
            set_(self, "requests_per_minute", rpm)
        set_(self, "retry_after", _number(self.retry_after, "retry_after"))
        if not 0 <= self.retry_after < math.inf:
            raise BehaviourError("retry_after must be a finite number >= 0")
        if self.context_window is not None:
            window = _integer(self.context_window, "context_window")
            if window < 1:
                raise BehaviourError("context_window must be >= 1")
            set_(self, "context_window", window)
        models: object = self.models
        if isinstance(models, str | bytes) or not isinstance(models, list | tuple):
            raise BehaviourError(f"models: expected a list of model names, got {models!r}")
        if not all(isinstance(m, str) for m in models):
            raise BehaviourError(f"models: expected a list of strings, got {models!r}")
        set_(self, "models", tuple(models))
        phases: object = self.phases
        if not isinstance(phases, list | tuple):
            raise BehaviourError(f"phases: expected a list of phases, got {phases!r}")
        set_(self, "phases", tuple(_as_phase(p, f"phases[{i}]") for i, p in enumerate(phases)))

    def replace(self, **changes: Any) -> Behaviour:
        return replace(self, **changes)

    def at(self, index: int, elapsed: float) -> tuple[Mapping[str, float], float]:
        """The fault rates and latency scale in force for request ``index`` at ``elapsed``."""
        faults, scale = self.faults, self.latency_scale
        for phase in self.phases:
            if phase.active(index, elapsed):
                if phase.faults is not None:
                    faults = phase.faults
                if phase.latency_scale is not None:
                    scale *= phase.latency_scale
        return faults, scale

    # -- JSON ---------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, data: object, where: str = "behaviour") -> Behaviour:
        obj = _object(data, where, _BEHAVIOUR_KEYS)
        changes: dict[str, Any] = {}
        if "latency" in obj:
            changes["latency"] = _latency(obj["latency"], f"{where}.latency")
        if "latency_scale" in obj:
            changes["latency_scale"] = _number(obj["latency_scale"], f"{where}.latency_scale")
        if "faults" in obj:
            changes["faults"] = _rates(obj["faults"], f"{where}.faults")
        if "requests_per_minute" in obj:
            value = obj["requests_per_minute"]
            changes["requests_per_minute"] = (
                None if value is None else _integer(value, f"{where}.requests_per_minute")
            )
        if "retry_after" in obj:
            changes["retry_after"] = _number(obj["retry_after"], f"{where}.retry_after")
        if "context_window" in obj:
            value = obj["context_window"]
            changes["context_window"] = (
                None if value is None else _integer(value, f"{where}.context_window")
            )
        if "models" in obj:
            models = obj["models"]
            if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
                raise BehaviourError(f"{where}.models: expected a list of strings")
            changes["models"] = tuple(models)
        if "phases" in obj:
            phases = obj["phases"]
            if not isinstance(phases, list):
                raise BehaviourError(f"{where}.phases: expected a list")
            changes["phases"] = tuple(
                _phase(p, f"{where}.phases[{i}]") for i, p in enumerate(phases)
            )
        try:
            return cls(**changes)
        except BehaviourError as exc:
            raise BehaviourError(f"{where}: {exc}") from None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "latency_scale": self.latency_scale,
            "faults": dict(self.faults),
            "requests_per_minute": self.requests_per_minute,
            "retry_after": self.retry_after,
            "context_window": self.context_window,
            "models": list(self.models),
            "phases": [_phase_json(p) for p in self.phases],
        }
        if self.latency is not None:
            out["latency"] = self.latency.to_json()
        return out


_BEHAVIOUR_KEYS: Final = frozenset(
    {
        "latency",
        "latency_scale",
        "faults",
        "requests_per_minute",
        "retry_after",
        "context_window",
        "models",
        "phases",
    }
)
_PHASE_KEYS: Final = frozenset({"name", "requests", "seconds", "faults", "latency_scale"})
_LATENCY_KEYS: Final = frozenset({"ttft_p50", "ttft_p95", "tokens_per_s", "source"})


def _object(data: object, where: str, keys: frozenset[str]) -> dict[str, object]:
    if not isinstance(data, dict):
        raise BehaviourError(f"{where}: expected an object")
    unknown = sorted(set(data) - keys)
    if unknown:
        raise BehaviourError(
            f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(keys))})"
        )
    return data


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BehaviourError(f"{where}: expected a finite number, got {value!r}")
    return float(value)


def _integer(value: object, where: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise BehaviourError(f"{where}: expected an integer, got {value!r}")
    return value


def _rates(value: object, where: str) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise BehaviourError(f"{where}: expected an object of fault -> rate")
    rates = {str(k): _number(v, f"{where}.{k}") for k, v in value.items()}
    _check_faults(rates, where)
    return rates


def _latency(value: object, where: str) -> LatencyProfile:
    if isinstance(value, str):
        if value not in PROFILES:
            raise BehaviourError(
                f"{where}: unknown profile {value!r} (known: {', '.join(sorted(PROFILES))})"
            )
        return PROFILES[value]
    if isinstance(value, LatencyProfile):
        return value
    if not isinstance(value, Mapping):
        raise BehaviourError(
            f"{where}: expected a profile name, a LatencyProfile or "
            f'{{"ttft_p50": s, "ttft_p95": s, "tokens_per_s": n}}, got {value!r}'
        )
    obj = _object(dict(value), where, _LATENCY_KEYS)
    try:
        p50 = _number(obj.get("ttft_p50"), f"{where}.ttft_p50")
        return LatencyProfile(
            ttft_p50=p50,
            ttft_p95=_number(obj.get("ttft_p95", p50), f"{where}.ttft_p95"),
            tokens_per_s=_number(obj.get("tokens_per_s", 1e12), f"{where}.tokens_per_s"),
            source=str(obj.get("source", "custom")),
        )
    except ValueError as exc:
        raise BehaviourError(f"{where}: {exc}") from None


def _window(value: object, where: str) -> tuple[float, float | None]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise BehaviourError(f"{where}: expected [start, end] (end may be null), got {value!r}")
    start = _number(value[0], f"{where}[0]")
    end = None if value[1] is None else _number(value[1], f"{where}[1]")
    return start, end


def _phase(value: object, where: str) -> Phase:
    obj = _object(value, where, _PHASE_KEYS)
    requests = None
    if "requests" in obj:
        start, end = _window(obj["requests"], f"{where}.requests")
        requests = (
            _integer(start, f"{where}.requests[0]"),
            None if end is None else _integer(end, f"{where}.requests[1]"),
        )
    seconds = _window(obj["seconds"], f"{where}.seconds") if "seconds" in obj else None
    faults = _rates(obj["faults"], f"{where}.faults") if "faults" in obj else None
    scale = obj.get("latency_scale")
    name = obj.get("name", "")
    if not isinstance(name, str):
        raise BehaviourError(f"{where}.name: expected a string")
    try:
        return Phase(
            requests=requests,
            seconds=seconds,
            faults=faults,
            latency_scale=None if scale is None else _number(scale, f"{where}.latency_scale"),
            name=name,
        )
    except BehaviourError as exc:
        raise BehaviourError(f"{where}: {exc}") from None


def _as_phase(value: object, where: str) -> Phase:
    if isinstance(value, Phase):
        return value
    if isinstance(value, Mapping):
        return _phase(dict(value), where)
    raise BehaviourError(f"{where}: expected a Phase or its JSON form, got {value!r}")


def _phase_json(phase: Phase) -> dict[str, object]:
    out: dict[str, object] = {}
    if phase.name:
        out["name"] = phase.name
    if phase.requests is not None:
        out["requests"] = list(phase.requests)
    if phase.seconds is not None:
        out["seconds"] = list(phase.seconds)
    if phase.faults is not None:
        out["faults"] = dict(phase.faults)
    if phase.latency_scale is not None:
        out["latency_scale"] = phase.latency_scale
    return out
