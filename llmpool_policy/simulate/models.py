"""Provider outcome models: how a simulated provider answers an attempt.

A :class:`ProviderModel` is a latency distribution (time to first token lognormal, fitted to a
p50 and a p95, plus the output tokens at a fixed rate: the emulator's profile shape, so the
simulator and the emulator agree), error rates per error class (each attempt independently), a
provider-side rate limit as token buckets (requests and tokens per minute; an empty bucket
answers 429 with ``retry-after`` until the next token), and the config's context window.

Where the numbers come from, in order: the scenario file's ``providers`` section; the observed
attempts of the traffic (:func:`fit_models`); else the measured defaults per provider type below
— the same figures as ``llmpool_policy/emulator/profiles.py`` (a test holds them equal), from
../shared/data: llmperf-leaderboard 2023 (ray-project, Apache-2.0) for groq and together,
thefastest.ai 2024-05 (Fixie.ai, MIT) for openai, anthropic and cohere.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Final

from ..config import PoolConfig, ProviderConfig
from ..emulator.profiles import DEFAULT_PROFILE_FOR_TYPE, PROFILES, LatencyProfile
from .traffic import TrafficRecord

__all__ = [
    "DEFAULT_LATENCY",
    "ERROR_STATUS",
    "LatencyModel",
    "ProviderModel",
    "Sampled",
    "default_models",
    "fit_models",
    "model_from_json",
]


# The HTTP status a simulated error of each class answers with (None: no response at all).
ERROR_STATUS: Final[Mapping[str, int | None]] = {
    "rate_limited": 429,
    "overloaded": 529,
    "server_error": 500,
    "timeout": None,
    "connection": None,
    "bad_request": 400,
    "auth": 401,
    "not_found": 404,
    "context_window": 400,
    "content_policy": 400,
    "invalid_response": 200,
}


# The measured latency profiles are the emulator's (one table, with its sources): a simulated
# provider and an emulated one of the same type answer alike.
LatencyModel = LatencyProfile

# Provider type -> measured default.
DEFAULT_LATENCY: Final[Mapping[str, LatencyModel]] = {
    kind: PROFILES[name] for kind, name in DEFAULT_PROFILE_FOR_TYPE.items()
}


@dataclass(frozen=True, slots=True)
class Sampled:
    """One modelled attempt: ``error_class`` None is a success with ``output_tokens``."""

    error_class: str | None
    status: int | None
    latency_s: float
    retry_after_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0


@dataclass(frozen=True)
class ProviderModel:
    """How one provider behaves when nothing special is happening."""

    name: str
    latency: LatencyModel
    error_rates: Mapping[str, float] = field(default_factory=dict)
    rpm: int | None = None  # provider-side request bucket (per minute), None: unlimited
    tpm: int | None = None  # provider-side token bucket (per minute)
    retry_after_s: float = 1.0  # what a 429 from an exhausted bucket or a storm says at least
    context_window: int | None = None
    error_latency_s: float | None = None  # None: an error answers after the TTFT

    def __post_init__(self) -> None:
        for cls, rate in self.error_rates.items():
            if cls not in ERROR_STATUS:
                raise ValueError(f"provider {self.name}: unknown error class {cls!r}")
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"provider {self.name}: error rate of {cls} must be in [0, 1]")
        if sum(self.error_rates.values()) > 1.0 + 1e-9:
            raise ValueError(f"provider {self.name}: error rates add up to more than 1")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "latency": self.latency.to_json(),
            "error_rates": dict(sorted(self.error_rates.items())),
            "rpm": self.rpm,
            "tpm": self.tpm,
            "retry_after_s": self.retry_after_s,
            "context_window": self.context_window,
        }


def default_models(config: PoolConfig) -> dict[str, ProviderModel]:
    """A model per configured provider from the measured default of its type; no errors, no
    provider-side limit beyond the config's own (the pool enforces those), and the config's
    context window."""
    return {p.name: _default(p) for p in config.providers}


def _default(p: ProviderConfig) -> ProviderModel:
    return ProviderModel(
        name=p.name,
        latency=DEFAULT_LATENCY[p.type],
        context_window=p.context_window,
    )


def model_from_json(base: ProviderModel, data: Mapping[str, Any], where: str) -> ProviderModel:
    """``base`` with the keys a scenario's ``providers.<name>`` object gives overridden."""
    known = {
        "ttft_p50",
        "ttft_p95",
        "tokens_per_s",
        "error_rates",
        "rpm",
        "tpm",
        "retry_after_s",
        "context_window",
        "error_latency_s",
    }
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    latency = base.latency
    if {"ttft_p50", "ttft_p95", "tokens_per_s"} & set(data):
        p50 = float(data.get("ttft_p50", latency.ttft_p50))
        p95 = float(data.get("ttft_p95", max(p50, latency.ttft_p95)))
        latency = LatencyModel(
            p50, p95, float(data.get("tokens_per_s", latency.tokens_per_s)), "scenario"
        )
    rates = data.get("error_rates", base.error_rates)
    if not isinstance(rates, Mapping):
        raise ValueError(f"{where}: error_rates must be an object of class -> rate")
    return replace(
        base,
        latency=latency,
        error_rates={str(k): float(v) for k, v in rates.items()},
        rpm=data.get("rpm", base.rpm),
        tpm=data.get("tpm", base.tpm),
        retry_after_s=float(data.get("retry_after_s", base.retry_after_s)),
        context_window=data.get("context_window", base.context_window),
        error_latency_s=data.get("error_latency_s", base.error_latency_s),
    )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[round(q * 100) - 1]


def fit_models(
    records: Iterable[TrafficRecord], base: Mapping[str, ProviderModel], *, min_samples: int = 20
) -> dict[str, ProviderModel]:
    """``base`` refitted from observed attempts: per provider with at least ``min_samples``
    attempts, error rates per class are the observed shares and the TTFT p50/p95 come from
    observed ``ttft_s`` (else from the latency minus the output time at the base token rate);
    the token rate from successes with both. Providers not observed keep their base model."""
    seen: dict[str, list[tuple[str | None, float | None, float | None, int | None]]] = {}
    for record in records:
        for a in record.attempts:
            if a.provider in base:
                out = a.output_tokens if a.output_tokens is not None else record.output_tokens
                seen.setdefault(a.provider, []).append((a.error_class, a.latency_s, a.ttft_s, out))
    fitted = dict(base)
    for name, attempts in seen.items():
        if len(attempts) < min_samples:
            continue
        model = base[name]
        counts: dict[str, int] = {}
        for cls, *_ in attempts:
            if cls is not None and cls in ERROR_STATUS:
                counts[cls] = counts.get(cls, 0) + 1
        rates = {cls: n / len(attempts) for cls, n in sorted(counts.items())}
        ttfts: list[float] = []
        speeds: list[float] = []
        for cls, latency, ttft, out in attempts:
            if cls is not None:
                continue
            if ttft is not None:
                ttfts.append(ttft)
                if latency is not None and out and latency > ttft:
                    speeds.append(out / (latency - ttft))
            elif latency is not None:
                ttfts.append(max(0.001, latency - (out or 0) / model.latency.tokens_per_s))
        latency_model = model.latency
        if len(ttfts) >= min_samples // 2 and ttfts:
            p50 = _quantile(ttfts, 0.50)
            p95 = max(p50, _quantile(ttfts, 0.95))
            tps = statistics.median(speeds) if speeds else latency_model.tokens_per_s
            latency_model = LatencyModel(
                round(p50, 4),
                round(p95, 4),
                round(tps, 1),
                f"fitted from {len(attempts)} recorded attempts",
            )
        fitted[name] = replace(model, latency=latency_model, error_rates=rates)
    return fitted


class TokenBucket:
    """A provider-side limit: ``capacity`` per minute, refilled continuously."""

    __slots__ = ("capacity", "level", "rate", "updated")

    def __init__(self, per_minute: int, now: float) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.level = float(per_minute)
        self.updated = now

    def take(self, now: float, amount: float) -> float:
        """Take ``amount`` if there is that much; else return the seconds until there is
        (0.0 means taken)."""
        if now > self.updated:
            self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
            self.updated = now
        need = min(amount, self.capacity)
        if self.level >= need:
            self.level -= need
            return 0.0
        if self.rate <= 0:
            return math.inf
        return (need - self.level) / self.rate


class ProviderBehaviour:
    """A provider model in motion: its random stream and its buckets. ``latency_factor``,
    ``outage`` and ``storm`` are set by the scenario as time passes."""

    __slots__ = (
        "_cum",
        "_mu",
        "_sigma",
        "latency_factor",
        "model",
        "outage",
        "requests",
        "rng",
        "storm",
        "tokens",
    )

    def __init__(self, model: ProviderModel, seed: int, now: float) -> None:
        self.model = model
        self.rng = random.Random(f"{seed}:{model.name}")
        self._mu, self._sigma = model.latency.mu_sigma
        total = 0.0
        cum: list[tuple[float, str]] = []
        for cls, rate in sorted(model.error_rates.items()):
            if rate > 0:
                total += rate
                cum.append((total, cls))
        self._cum = tuple(cum)
        self.requests = None if model.rpm is None else TokenBucket(model.rpm, now)
        self.tokens = None if model.tpm is None else TokenBucket(model.tpm, now)
        self.latency_factor = 1.0
        self.outage: tuple[str, int | None] | None = None
        self.storm: tuple[float, float] | None = None  # (probability of a 429, retry-after)

    def _ttft(self) -> float:
        if self._mu == -math.inf:
            return 0.0
        return self.rng.lognormvariate(self._mu, self._sigma) * self.latency_factor

    def _error(self, cls: str, ttft: float, retry_after: float | None = None) -> Sampled:
        latency = ttft if self.model.error_latency_s is None else self.model.error_latency_s
        return Sampled(cls, ERROR_STATUS.get(cls), latency, retry_after)

    def attempt(self, now: float, input_tokens: int, output_tokens: int) -> Sampled:
        """The outcome of an attempt sent at ``now`` (the driver applies its timeout)."""
        model = self.model
        ttft = self._ttft()
        if self.outage is not None:
            cls, status = self.outage
            s = self._error(cls, ttft)
            return Sampled(cls, status, s.latency_s)
        if self.storm is not None:
            p, retry_after = self.storm
            if self.rng.random() < p:
                return self._error("rate_limited", ttft, retry_after)
        if self.requests is not None:
            wait = self.requests.take(now, 1.0)
            if wait:
                return self._error("rate_limited", ttft, max(wait, model.retry_after_s))
        if self.tokens is not None:
            wait = self.tokens.take(now, float(input_tokens + output_tokens))
            if wait:
                return self._error("rate_limited", ttft, max(wait, model.retry_after_s))
        window = model.context_window
        if window is not None and input_tokens + output_tokens > window:
            return self._error("context_window", ttft)
        if self._cum:
            draw = self.rng.random()
            for edge, cls in self._cum:
                if draw < edge:
                    return self._error(cls, ttft)
        latency = ttft + output_tokens / model.latency.tokens_per_s * self.latency_factor
        return Sampled(None, 200, latency, None, input_tokens, output_tokens)
