"""The simulator: a discrete-event loop in virtual time — the second driver of the runtime.

It drives the very code the live pool drives (``LLMPool._chat`` / ``_attempt`` in
``pool.py``), step for step: ``Policy.decide(request, registry.snapshot())``, then the sans-I/O
:class:`~llmpool_policy.runtime.Executor` (``next_action`` / ``record``), with
``ProviderMetrics.on_dispatch`` gating each attempt (breaker, probes, cool-down, rate limits)
and ``Attempt.complete`` feeding the outcome back, on a
:class:`~llmpool_policy.metrics.ManualClock`. Retry, backoff, failover, deadlines, breakers and
budgets are never re-implemented here; only the network is replaced by a provider outcome model
(:mod:`.models`) and ``asyncio.sleep`` by a timer event.

Requests overlap: each one is a small state machine waiting on a timer (its backoff) or on an
attempt's completion, so in-flight counts, limits and breakers evolve as they would live. Events
at the same virtual time run in a fixed order (timers and completions by when they were
scheduled, then arrivals), and every random draw comes from a seeded stream, so the same seed
gives the same run, byte for byte.
"""

from __future__ import annotations

import heapq
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ..compile.runtime_specs import latency_windows, provider_breakers, provider_limits
from ..config import PoolConfig, ProviderConfig
from ..decision import Decision
from ..errors import (
    BudgetExceededError,
    DeadlineExceededError,
    LLMPoolError,
    NoProviderAvailableError,
    ProviderError,
)
from ..metrics import ManualClock, MetricsRegistry, period_bounds
from ..metrics.breaker import Transition
from ..metrics.registry import Attempt
from ..policy import Policy
from ..providers.pricing import response_cost
from ..request import RoutingRequest
from ..runtime import Executor, Fail, Outcome, Refused, Send, Sleep, Succeed
from ..runtime.waiting import note_when_free, wait_ends
from .models import ProviderBehaviour, ProviderModel, default_models, fit_models, model_from_json
from .scenario import Scenario, ScenarioEvent
from .traffic import TrafficRecord

__all__ = [
    "BreakerChange",
    "BudgetBreach",
    "FailureExample",
    "Probe",
    "SimResponse",
    "SimulationResult",
    "Simulator",
    "failure_label",
]

SHARE_BUCKET_S: Final = 10.0  # resolution of "provider share over time" (rebinned by reports)
MAX_FAILURE_EXAMPLES: Final = 20
_TIMER, _COMPLETE, _SCENARIO, _WAIT = 0, 1, 2, 3


def _unsupported(record: TrafficRecord, p: ProviderConfig) -> str | None:
    """What the provider adapter's ``build`` would refuse (``check_capabilities``)."""
    if record.images and not p.supports.vision:
        return "vision"
    if record.tools and not p.supports.tools:
        return "tools"
    if record.stream:
        return "stream"
    return None


def failure_label(error: LLMPoolError) -> str:
    """The outcome label of a failed request: the provider error class, or the kind of
    failure when no provider error ended it."""
    if isinstance(error, BudgetExceededError):
        return "budget_exceeded"
    if isinstance(error, DeadlineExceededError):
        return "deadline"
    if isinstance(error, NoProviderAvailableError):
        return "no_provider"
    if isinstance(error, ProviderError):
        return error.error_class or "server_error"
    return type(error).__name__


# ---- results ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SimResponse:
    """What a simulated success hands the executor (it treats the response as opaque)."""

    provider: str
    input_tokens: int
    output_tokens: int


@dataclass(frozen=True, slots=True)
class BreakerChange:
    t: float
    provider: str
    from_state: str
    to_state: str
    reason: str


@dataclass(frozen=True, slots=True)
class Probe:
    t: float
    provider: str
    outcome: str  # "ok" or the error class


@dataclass(frozen=True, slots=True)
class BudgetBreach:
    t: float
    budget: str
    key: str | None
    spent: float
    amount: float


@dataclass(frozen=True, slots=True)
class FailureExample:
    id: str
    t: float
    route: str | None
    outcome: str
    message: str


class _Names:
    """Strings <-> small integers, for compact per-request columns."""

    __slots__ = ("index", "names")

    def __init__(self) -> None:
        self.names: list[str] = []
        self.index: dict[str, int] = {}

    def id(self, name: str | None) -> int:
        if name is None:
            return -1
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
        return i

    def name(self, i: int) -> str | None:
        return None if i < 0 else self.names[i]


@dataclass
class SimulationResult:
    """Everything a report needs, per request in compact columns (request order = traffic
    order) and per event in small lists."""

    policy: str
    scenario: str
    seed: int
    t0: float  # wall time (UTC epoch s) of the first arrival; times below are relative
    providers: tuple[str, ...]
    routes: _Names = field(default_factory=_Names)
    outcomes: _Names = field(default_factory=_Names)
    provider_ids: _Names = field(default_factory=_Names)
    ids: list[str] = field(default_factory=list)
    arrival: array[float] = field(default_factory=lambda: array("d"))
    route: array[int] = field(default_factory=lambda: array("h"))
    planned: array[int] = field(default_factory=lambda: array("h"))  # first planned provider
    served: array[int] = field(default_factory=lambda: array("h"))  # who answered (-1: none)
    outcome: array[int] = field(default_factory=lambda: array("h"))  # -1 until finished
    attempts: array[int] = field(default_factory=lambda: array("H"))
    latency: array[float] = field(default_factory=lambda: array("d"))  # arrival -> end
    cost: array[float] = field(default_factory=lambda: array("d"))
    finished_at: array[float] = field(default_factory=lambda: array("d"))
    # per attempt: (provider, outcome) -> count; (bucket, provider) -> sent attempts
    attempt_outcomes: dict[tuple[str, str], int] = field(default_factory=dict)
    share: dict[tuple[int, str], int] = field(default_factory=dict)
    skipped: dict[tuple[str, str], int] = field(default_factory=dict)  # (provider, reason)
    spend_by_provider: dict[str, float] = field(default_factory=dict)
    spend_by_budget: dict[tuple[str, str | None], float] = field(default_factory=dict)
    breaker_changes: list[BreakerChange] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    breaches: list[BudgetBreach] = field(default_factory=list)
    failures: list[FailureExample] = field(default_factory=list)
    scenario_events: list[ScenarioEvent] = field(default_factory=list)
    models: dict[str, ProviderModel] = field(default_factory=dict)
    duration: float = 0.0
    finish_count: int = 0

    def __len__(self) -> int:
        return len(self.ids)

    def route_of(self, i: int) -> str | None:
        return self.routes.name(self.route[i])

    def outcome_of(self, i: int) -> str | None:
        return self.outcomes.name(self.outcome[i])

    def served_by(self, i: int) -> str | None:
        return self.provider_ids.name(self.served[i])

    def planned_of(self, i: int) -> str | None:
        return self.provider_ids.name(self.planned[i])


# ---- the loop --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    """One consistent config + policy (a price change makes a new one, as a reload would)."""

    config: PoolConfig
    policy: Policy
    providers: Mapping[str, ProviderConfig]


class _Flight:
    """One request in progress."""

    __slots__ = (
        "arrived",
        "decision",
        "executor",
        "gate",
        "index",
        "record",
        "routing",
        "sampled",
        "send",
        "started",
        "tokens",
        "version",
    )

    def __init__(
        self, index: int, record: TrafficRecord, routing: RoutingRequest, version: _Version
    ) -> None:
        self.index = index
        self.record = record
        self.routing = routing
        self.version = version
        self.tokens = routing.input_tokens
        self.decision: Decision | None = None
        self.executor: Executor | None = None
        self.gate: Attempt | None = None
        self.send: Send | None = None
        self.sampled: tuple[str | None, int | None, float, float | None, int, int] | None = None
        self.started = 0.0
        self.arrived = 0.0


Progress = Callable[[int, int], None]  # (arrived, finished)
# (request id, decision, attempt records incl. refused ones, outcome label, served provider):
# called as each request ends, e.g. to compare a run with the live pool request by request.
Trace = Callable[[str, Decision | None, tuple[Any, ...], str, str | None], None]


class Simulator:
    """Replay traffic through a policy against modelled providers.

    ``recompile(config)`` builds the policy for a changed config (needed only for scenario
    price changes); ``fit`` refits provider models from the traffic's observed attempts (that
    reads the traffic once more, so it needs a re-iterable source, e.g. a list).
    """

    def __init__(
        self,
        policy: Policy,
        config: PoolConfig,
        *,
        scenario: Scenario | None = None,
        seed: int = 0,
        models: Mapping[str, ProviderModel] | None = None,
        recompile: Callable[[PoolConfig], Policy] | None = None,
        progress: Progress | None = None,
        progress_every: int = 4096,
        trace: Trace | None = None,
    ) -> None:
        self.scenario = scenario if scenario is not None else Scenario()
        names = {p.name for p in config.providers}
        self.scenario.check_providers(names)
        self.seed = seed
        self.recompile = recompile
        self.progress = progress
        self.progress_every = progress_every
        self.trace = trace
        base = dict(models) if models is not None else default_models(config)
        for name, overrides in (self.scenario.providers or {}).items():
            base[name] = model_from_json(base[name], overrides, f"scenario.providers.{name}")
        self.models = base
        self._version = _Version(config, policy, {p.name: p for p in config.providers})

    def fit(self, traffic: Iterable[TrafficRecord]) -> None:
        self.models = fit_models(traffic, self.models)

    def run(self, traffic: Iterable[TrafficRecord]) -> SimulationResult:
        return _Run(self).run(iter(traffic))


class _Run:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.clock = ManualClock(0.0)
        self.registry = MetricsRegistry(self.clock)
        self.registry.on_transition(self._on_transition)
        self.version = sim._version
        self._apply(self.version)
        self.heap: list[tuple[float, int, int, Any]] = []
        self.seq = itertools.count()
        self.behaviour = {
            name: ProviderBehaviour(model, sim.seed, 0.0) for name, model in sim.models.items()
        }
        self.active: dict[str, list[ScenarioEvent]] = {}
        self.breached: set[tuple[str, str | None, float]] = set()
        self.in_flight = 0
        self.result = SimulationResult(
            policy=self.version.policy.name,
            scenario=sim.scenario.name,
            seed=sim.seed,
            t0=0.0,
            providers=tuple(p.name for p in self.version.config.providers),
            models=dict(sim.models),
        )
        for name in self.result.providers:
            self.result.provider_ids.id(name)

    def _apply(self, version: _Version) -> None:
        """What ``LLMPool._apply`` does for a (re)loaded version."""
        policy = version.policy
        self.registry.reconcile(
            version.providers,
            limits=provider_limits(version.providers),
            breakers=provider_breakers(policy.checked, policy.graph.spec, version.providers),
        )
        self.registry.track_latency_windows(latency_windows(version.policy.graph.spec))

    def _on_transition(self, name: str, transition: Transition) -> None:
        self.result.breaker_changes.append(
            BreakerChange(
                transition.at, name, transition.from_state, transition.to_state, transition.reason
            )
        )

    def _push(self, t: float, kind: int, ref: Any) -> None:
        heapq.heappush(self.heap, (t, next(self.seq), kind, ref))

    # ---- main loop ---------------------------------------------------------------------------

    def run(self, traffic: Iterator[TrafficRecord]) -> SimulationResult:
        result = self.result
        first = next(traffic, None)
        if first is None:
            return result
        t0 = first.ts
        result.t0 = t0
        self.clock.wall_offset = t0
        for event in self.sim.scenario.events:
            self._push(event.start, _SCENARIO, (event, True))
            if event.end is not None:
                self._push(event.end, _SCENARIO, (event, False))
        pending: TrafficRecord | None = first
        heap = self.heap
        clock = self.clock
        progress = self.sim.progress
        every = self.sim.progress_every
        arrived = 0
        while True:
            if pending is not None and (not heap or pending.ts - t0 < heap[0][0]):
                t = pending.ts - t0
                if t > clock.now():
                    clock.set(t)
                self._arrive(arrived, pending)
                arrived += 1
                if progress is not None and arrived % every == 0:
                    progress(arrived, result.finish_count)
                pending = next(traffic, None)
                if pending is not None and pending.ts < t0 + t:
                    raise ValueError(f"traffic is not in arrival order at {pending.id!r}")
                continue
            if not heap or (pending is None and self.in_flight == 0):
                break
            t, _seq, kind, ref = heapq.heappop(heap)
            if t > clock.now():
                clock.set(t)
            if kind == _COMPLETE:
                self._complete(ref)
            elif kind == _TIMER:
                self._step(ref)
            elif kind == _WAIT:
                self._decide(ref)
                self._step(ref)
            else:
                self._scenario(*ref)
        result.duration = clock.now()
        if progress is not None:
            progress(arrived, result.finish_count)
        return result

    # ---- one request, as LLMPool._chat -----------------------------------------------------

    def _arrive(self, index: int, record: TrafficRecord) -> None:
        result = self.result
        result.ids.append(record.id)
        result.arrival.append(self.clock.now())
        result.route.append(-1)
        result.planned.append(-1)
        result.served.append(-1)
        result.outcome.append(-1)
        result.attempts.append(0)
        result.latency.append(0.0)
        result.cost.append(0.0)
        result.finished_at.append(0.0)
        flight = _Flight(index, record, record.routing_request(), self.version)
        flight.arrived = self.clock.now()
        self._decide(flight)
        self.in_flight += 1
        self._step(flight)

    def _decide(self, flight: _Flight) -> None:
        """Decide on arrival, and again after waiting for a provider (the deadline still
        counts from arrival), as ``LLMPool._chat``."""
        result = self.result
        decision = flight.version.policy.decide(
            flight.routing, self.registry.snapshot(), raise_if_unroutable=False
        )
        flight.decision = decision
        result.route[flight.index] = result.routes.id(decision.route)
        attempts = decision.attempts
        if attempts:
            result.planned[flight.index] = result.provider_ids.id(attempts[0].provider)
        flight.executor = Executor(decision, now=flight.arrived)

    def _waits(self, flight: _Flight, error: LLMPoolError, now: float) -> bool:
        """As ``LLMPool``: a request no provider could take learns when the first frees up;
        under `when none available wait up to D` it decides again then, if that is within the
        wait and the deadline. Waiters wake in arrival order (the heap keeps push order)."""
        if not isinstance(error, NoProviderAvailableError):
            return False
        note_when_free(error, self.registry, flight.tokens + (flight.record.max_tokens or 0))
        decision = flight.decision
        end = None if decision is None else wait_ends(decision, flight.arrived)
        if end is None or error.retry_after is None or now + error.retry_after > end:
            return False
        self._push(now + error.retry_after, _WAIT, flight)
        return True

    def _step(self, flight: _Flight) -> None:
        executor = flight.executor
        assert executor is not None
        clock = self.clock
        while True:
            now = clock.now()
            action = executor.next_action(now)
            if isinstance(action, Succeed):
                response = action.response
                assert isinstance(response, SimResponse)
                provider = flight.version.providers[response.provider]
                cost = response_cost(provider, response.input_tokens, response.output_tokens)
                self._record_budgets(flight, cost, response.provider)
                self._finish(flight, "ok", response.provider, cost, action.attempts, None)
                return
            if isinstance(action, Fail):
                if self._waits(flight, action.error, now):
                    return
                self._finish(
                    flight, failure_label(action.error), None, 0.0, action.attempts, action.error
                )
                return
            if isinstance(action, Sleep):
                self._push(now + action.seconds, _TIMER, flight)
                return
            refused = self._send(flight, action, now)
            if refused is None:
                return  # waiting for the attempt to complete
            executor.record(refused, now)

    def _send(self, flight: _Flight, send: Send, now: float) -> Refused | None:
        """As ``LLMPool._attempt`` up to the request going out: the adapter's refusal, the
        live gate, then the modelled provider (instead of HTTP)."""
        version = flight.version
        provider = version.providers[send.provider]
        feature = _unsupported(flight.record, provider)
        if feature is not None:
            self._skip(send.provider, f"unsupported:{feature}")
            return Refused(f"cannot take this request: {feature}")
        metrics = self.registry.provider(send.provider)
        gate = metrics.on_dispatch(flight.tokens + (flight.record.max_tokens or 0))
        if not isinstance(gate, Attempt):
            self._skip(send.provider, gate.reason)
            return Refused(gate.reason, gate.retry_in_s)
        record = flight.record
        s = self.behaviour[send.provider].attempt(now, record.input_tokens, record.answer_tokens)
        if s.latency_s > send.timeout_s:  # the pool's wall-clock bound on the whole exchange
            flight.sampled = ("timeout", None, send.timeout_s, None, 0, 0)
        else:
            flight.sampled = (
                s.error_class,
                s.status,
                s.latency_s,
                s.retry_after_s,
                s.input_tokens,
                s.output_tokens,
            )
        flight.gate = gate
        flight.send = send
        flight.started = now
        if gate.probe:
            self.result.probes.append(Probe(now, send.provider, flight.sampled[0] or "ok"))
        bucket = int(now // SHARE_BUCKET_S)
        share = self.result.share
        key = (bucket, send.provider)
        share[key] = share.get(key, 0) + 1
        self._push(now + flight.sampled[2], _COMPLETE, flight)
        return None

    def _skip(self, provider: str, reason: str) -> None:
        skipped = self.result.skipped
        skipped[(provider, reason)] = skipped.get((provider, reason), 0) + 1

    def _complete(self, flight: _Flight) -> None:
        """As the rest of ``LLMPool._attempt`` (and ``_finish``) when the answer is in."""
        gate, send, sampled = flight.gate, flight.send, flight.sampled
        assert gate is not None and send is not None and sampled is not None and flight.executor
        flight.gate = flight.send = flight.sampled = None
        error_class, status, latency, retry_after, tin, tout = sampled
        now = self.clock.now()
        metrics = self.registry.provider(send.provider)
        outcomes = self.result.attempt_outcomes
        key = (send.provider, error_class or "ok")
        outcomes[key] = outcomes.get(key, 0) + 1
        if error_class is None:
            cost = response_cost(flight.version.providers[send.provider], tin, tout)
            gate.complete(None, latency, tin + tout, cost)
            spend = self.result.spend_by_provider
            spend[send.provider] = spend.get(send.provider, 0.0) + cost
            outcome = Outcome(None, status, latency, response=SimResponse(send.provider, tin, tout))
        else:
            gate.complete(error_class, latency, None, 0.0)
            cool_down = send.cool_down_s(error_class, retry_after)
            if cool_down is not None:
                metrics.cool_down(cool_down)
            available = (
                metrics.available_in(flight.tokens + (flight.record.max_tokens or 0))
                if send.may_retry
                else 0.0
            )
            outcome = Outcome(
                error_class, status, latency, retry_after, f"simulated {error_class}",
                available_in_s=available,
            )  # fmt: skip
        flight.executor.record(outcome, now)
        self._step(flight)

    def _record_budgets(self, flight: _Flight, cost: float, served_by: str) -> None:
        """As ``LLMPool._record_budgets``, plus noting spend per key and first breaches."""
        graph = flight.version.policy.graph
        decision = flight.decision
        if decision is None or decision.route is None:
            return
        if not graph.budgets and not graph.provider_budgets:
            return
        exempt = graph.exempt.get(decision.route, frozenset())
        wall = self.clock.wall()
        charged = [
            (budget, None if budget.key is None else budget.key(flight.routing))
            for budget in graph.budgets
            if budget.name not in exempt
        ]
        charged += [(budget, served_by) for budget in graph.provider_budgets]
        for budget, value in charged:
            key = None if value is None else str(value)
            self.registry.record_budget(budget.name, key, budget.period, cost)
            spend = self.result.spend_by_budget
            spend[(budget.name, key)] = spend.get((budget.name, key), 0.0) + cost
            spent = self.registry.budgets.spent(wall, budget.name, key, budget.period)
            if spent > budget.amount:
                start, _end = period_bounds(budget.period, wall)
                mark = (budget.name, key, start)
                if mark not in self.breached:
                    self.breached.add(mark)
                    self.result.breaches.append(
                        BudgetBreach(self.clock.now(), budget.name, key, spent, budget.amount)
                    )

    def _finish(
        self,
        flight: _Flight,
        outcome: str,
        provider: str | None,
        cost: float,
        attempts: tuple[Any, ...],
        error: LLMPoolError | None,
    ) -> None:
        result = self.result
        i = flight.index
        if result.outcome[i] != -1:
            raise RuntimeError(f"request {flight.record.id!r} finished twice")
        now = self.clock.now()
        result.outcome[i] = result.outcomes.id(outcome)
        result.served[i] = result.provider_ids.id(provider)
        result.attempts[i] = min(65535, sum(1 for a in attempts if not a.skipped))
        result.latency[i] = now - result.arrival[i]
        result.cost[i] = cost
        result.finished_at[i] = now
        result.finish_count += 1
        self.in_flight -= 1
        if self.sim.trace is not None:
            self.sim.trace(flight.record.id, flight.decision, attempts, outcome, provider)
        if error is not None and len(result.failures) < MAX_FAILURE_EXAMPLES:
            decision = flight.decision
            result.failures.append(
                FailureExample(
                    flight.record.id,
                    result.arrival[i],
                    None if decision is None else decision.route,
                    outcome,
                    str(error),
                )
            )

    # ---- scenario ----------------------------------------------------------------------------

    def _scenario(self, event: ScenarioEvent, starting: bool) -> None:
        if starting:
            self.result.scenario_events.append(event)
        if event.kind == "price":
            self._price(event)
            return
        if event.kind == "budget_reset":
            wall = self.clock.wall()
            for budget, key, period, spent in self.registry.budgets.current(wall):
                if event.budget is None or budget == event.budget:
                    self.registry.budgets.add(wall, budget, key, period, -spent)
            return
        assert event.provider is not None
        active = self.active.setdefault(event.provider, [])
        if starting:
            active.append(event)
        else:
            active.remove(event)
        behaviour = self.behaviour[event.provider]
        behaviour.outage = None
        behaviour.storm = None
        behaviour.latency_factor = 1.0
        for e in active:
            if e.kind == "outage":
                behaviour.outage = (e.error, e.status)
            elif e.kind == "rate_limit_storm":
                behaviour.storm = (e.probability, e.retry_after_s)
            else:
                behaviour.latency_factor *= e.factor

    def _price(self, event: ScenarioEvent) -> None:
        if self.sim.recompile is None:
            raise ValueError("a price change needs the simulator's recompile hook")
        old = self.version.config
        update: dict[str, Any] = {}
        if event.input_price is not None:
            update["input_token_price"] = float(event.input_price)
        if event.output_price is not None:
            update["output_token_price"] = float(event.output_price)
        providers = tuple(
            p.model_copy(update=update) if p.name == event.provider else p for p in old.providers
        )
        config = old.model_copy(update={"providers": providers})
        version = _Version(
            config, self.sim.recompile(config), {p.name: p for p in config.providers}
        )
        self.version = version
        self._apply(version)
