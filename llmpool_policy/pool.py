"""`LLMPool`: the public async facade — a config, a policy, and httpx.

It is a thin driver of the sans-I/O parts: the policy decides, the executor says what to do
next, the provider adapters build and parse wire messages, the metrics registry gates and
records. Time (``clock``, ``sleep``) and HTTP (``transport``) are injected, so tests run on a
virtual clock against real loopback servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import httpx

from ._resources import data_path
from .config import ConfigSource, PoolConfig, ProviderConfig, poll_config
from .config.references import config_base, read_reference
from .config.secrets import mask_keys
from .config.sources import Unchanged, open_source
from .decision import Decision
from .diagnostics import render_short
from .errors import ConfigurationError, LLMPoolError, NoProviderAvailableError, PolicyError
from .events import EventBus, Handler
from .http_transport import default_transport, describe, planned
from .messages import ChatMessage, ChatRequest, ChatResponse, Tool, Usage
from .metrics import Clock, MetricsRegistry, MonotonicClock
from .metrics.breaker import Transition
from .metrics.registry import Attempt
from .providers import (
    Adapter,
    ProviderFailure,
    UnsupportedRequestError,
    adapter_for,
    estimate_request_tokens,
    provider_secrets,
)
from .providers.exchange import exchange
from .providers.pricing import response_cost
from .providers.sent_body import SentBody
from .recorder import TrafficRecorder
from .request import RoutingRequest
from .runtime import AttemptRecord, Executor, Fail, Outcome, Refused, Send, Sleep, Succeed
from .runtime.waiting import note_when_free, wait_ends
from .wait_line import WaitLine

if TYPE_CHECKING:
    # The policy compiler (lark, the AST, the checker) loads when a pool is built, not when
    # this module is imported: see _build.
    from .policy import Policy

__all__ = ["Health", "LLMPool", "PoolResponse", "ProviderStats", "default_transport"]

log = logging.getLogger("llmpool_policy.pool")


@dataclass(frozen=True)
class PoolResponse:
    """A successful chat: the answer, who gave it, what it cost, and how we got there."""

    content: str
    provider: str
    model: str
    usage: Usage
    cost: float
    finish_reason: str
    attempts: tuple[AttemptRecord, ...]
    decision: Decision
    request_id: str
    response: ChatResponse


@dataclass(frozen=True)
class Health:
    """``transports``: what carries each provider's requests (``aiohttp``, ``httpx``,
    ``httpx+proxy``, or a given transport's class name)."""

    total_providers: int
    available_providers: int
    healthy: bool
    transports: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderStats:
    name: str
    requests: int
    successes: int
    failures: int
    success_rate: float | None
    average_response_time: float | None  # ms
    total_cost: float
    requests_remaining_minute: int | None
    requests_remaining_day: int | None
    breaker_state: str
    transport: str = ""  # what carries its requests (see Health.transports)


@dataclass(frozen=True)
class _State:
    """One consistent version of config + policy; a request keeps the one it started with."""

    config: PoolConfig
    policy: Policy
    providers: Mapping[str, ProviderConfig]
    adapters: Mapping[str, Adapter]
    policy_digest: str
    policy_origin: str


def _release(gate: Attempt, content: SentBody) -> None:
    """Settle an attempt whose answer will not be read: a request that went out keeps its
    rate-limit slot (the provider saw it); only one never sent gives it back."""
    if content.sent:
        gate.abandon()
    else:
        gate.cancel()


class LLMPool:
    """Send chat requests to a pool of providers under a policy.

    ``config``: a path, an https URL (http only to loopback), a :class:`ConfigSource` or a loaded
    :class:`PoolConfig`. ``policy``: a path or a :class:`Policy`; None runs the shipped
    ``default.policy`` (or the config's ``policy`` field). ``check_interval_s`` (seconds) polls
    both for changes; None uses the config's ``check_interval`` (milliseconds, the seed's
    config.json), 0 turns polling off. The unit is in the argument's name because the two
    differ; the old ``check_interval=`` (seconds) still works, with a DeprecationWarning.
    """

    def __init__(
        self,
        config: str | Path | ConfigSource | PoolConfig,
        policy: str | Path | Policy | None = None,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        check_interval_s: float | None = None,
        env: Mapping[str, str] | None = None,
        close_timeout: float = 30.0,
        record: str | Path | IO[str] | None = None,
        record_bodies: bool = False,
        check_interval: float | None = None,
    ) -> None:
        if check_interval is not None:
            if check_interval_s is not None:
                raise TypeError("give check_interval_s only (check_interval is its old name)")
            warnings.warn(
                "LLMPool(check_interval=...) is deprecated: it is seconds here but milliseconds "
                "in config.json; use check_interval_s=",
                DeprecationWarning,
                stacklevel=2,
            )
            check_interval_s = check_interval
        self._clock = clock if clock is not None else MonotonicClock()
        self._sleep = sleep if sleep is not None else asyncio.sleep
        self._transport = transport
        self._env = env
        self._events = EventBus()
        self._registry = MetricsRegistry(self._clock)
        self._registry.on_transition(self._on_transition)
        self._close_timeout = close_timeout
        # record=PATH_OR_FILE: one traffic record per request (docs/simulation.md, "Recording")
        self._recorder = None if record is None else TrafficRecorder(record, bodies=record_bodies)
        self._ids = itertools.count(1)
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._waiting = WaitLine()
        self._client: httpx.AsyncClient | None = None
        self._in_use: httpx.AsyncBaseTransport | None = None  # the client's, once started
        self._watcher: asyncio.Task[None] | None = None
        self._closed = False
        if isinstance(config, PoolConfig):
            self._source: ConfigSource | None = None
            loaded = config
        else:
            self._source = open_source(config)
            self._source.reset()
            result = poll_config(self._source, env=env)
            if isinstance(result, Unchanged):  # pragma: no cover - reset() rules it out
                raise ConfigurationError([], f"{self._source.name}: nothing to load")
            loaded = result
        self._policy_arg = policy
        self._state = self._build(loaded, policy)
        self._apply(self._state)
        self._interval_arg = check_interval_s

    @property
    def _interval(self) -> float:
        """Seconds between reload checks: the argument, else the running config's
        ``check_interval`` (so a reload that changes it takes effect), 0 for a ``PoolConfig``."""
        if self._interval_arg is not None:
            return self._interval_arg
        return self._state.config.check_interval / 1000.0 if self._source is not None else 0.0

    def _debug(self, message: str, **fields: Any) -> None:
        if self._events.wants("debug"):
            self._events.emit("debug", {"message": message, **fields})

    # ---- versions of config and policy ---------------------------------------------------------

    def _policy_path(
        self, config: PoolConfig, policy: str | Path | Policy | None
    ) -> tuple[str, str] | None:
        """The policy's text and where it was read: the argument (a path, from the working
        directory), else the config's ``policy`` (beside the config: its directory, or its URL),
        else the shipped default. None for a :class:`Policy` object. A config's missing policy
        is a ConfigurationError naming ``/policy`` and the path as resolved."""
        from .policy import Policy

        if isinstance(policy, Policy):
            return None
        if policy is None and config.policy:
            base = config_base(self._source, config)
            name = self._source.name if self._source is not None else config.origin
            return read_reference(base, config.policy, pointer="/policy", config_name=name)
        from .syntax.encoding import decode_policy

        path = Path(policy) if policy is not None else data_path("policies", "default.policy")
        return decode_policy(path.read_bytes(), str(path)), str(path)

    def _build(
        self,
        config: PoolConfig,
        policy: str | Path | Policy | None,
        read: tuple[str, str] | None = None,
    ) -> _State:
        """Validate and compile a version (from the policy text ``read`` already, if given);
        raises ConfigurationError / PolicyError."""
        from .policy import Policy
        from .semantics import PoolDefaults

        defaults = PoolDefaults.from_config(config)  # max_retries, retry_delay, timeout
        if isinstance(policy, Policy):
            compiled = policy.with_defaults(defaults)
            digest = "given"
            origin = "<Policy>"
        else:
            found = read if read is not None else self._policy_path(config, policy)
            assert found is not None
            text, origin = found
            compiled = Policy.from_text(text, origin, config=config, defaults=defaults)
            digest = hashlib.sha256(text.encode()).hexdigest()
        for warning in compiled.checked.warnings:  # what `check --config` says (W107 ...)
            log.warning("policy %s: %s", origin, render_short(warning))
        providers = {p.name: p for p in config.providers}
        adapters = {p.name: adapter_for(p) for p in config.providers}
        return _State(config, compiled, providers, adapters, digest, origin)

    def _apply(self, state: _State) -> None:
        from .compile.runtime_specs import latency_windows, provider_breakers, provider_limits

        policy = state.policy
        self._registry.reconcile(
            state.providers,
            limits=provider_limits(state.providers),
            breakers=provider_breakers(policy.checked, policy.graph.spec, state.providers),
        )
        self._registry.track_latency_windows(latency_windows(state.policy.graph.spec))

    async def reload(self) -> bool:
        """Check config and policy now; swap in a valid new version. True when it changed.
        An invalid version keeps the running one and emits ``reload_failed``."""
        old = self._state
        try:
            config = old.config
            config_changed = False
            if self._source is not None:
                result = await asyncio.to_thread(poll_config, self._source, env=self._env)
                if not isinstance(result, Unchanged):
                    config_changed = result.checksum != old.config.checksum
                    config = result
            read = await asyncio.to_thread(self._policy_path, config, self._policy_arg)
            policy_changed = False
            if read is not None:
                policy_changed = hashlib.sha256(read[0].encode()).hexdigest() != old.policy_digest
            if not config_changed and not policy_changed:
                self._debug("reload check: nothing changed", source=self._source_name())
                return False
            new = await asyncio.to_thread(self._build, config, self._policy_arg, read)
        except (ConfigurationError, PolicyError) as exc:
            self._events.emit(
                "reload_failed",
                {"error": type(exc).__name__,
                 "diagnostics": [render_short(d) for d in exc.diagnostics]},
            )  # fmt: skip
            return False
        except OSError as exc:
            self._events.emit("reload_failed", {"error": "OSError", "diagnostics": [str(exc)]})
            return False
        except Exception as exc:  # a reload never raises: the old version keeps serving
            # A loader or compiler bug, not a finding: its text may quote the input (a KeyError
            # once printed a key), so only its type and a masked message are shown.
            shown = f"{type(exc).__name__}: {mask_keys(str(exc))[:200]}"
            log.error("reload failed with an unexpected %s (a bug; please report)", shown)
            self._events.emit(
                "reload_failed",
                {"error": "InternalError", "diagnostics": [f"unexpected {shown}"]},
            )
            return False
        self._state = new  # atomic: requests already running keep `old`
        self._apply(new)
        if config_changed:
            self._events.emit(
                "config_changed", {"checksum": new.config.checksum, "providers": len(new.providers)}
            )
            self._events.emit("providers_updated", {"providers": sorted(new.providers)})
        if policy_changed:
            self._events.emit(
                "policy_changed", {"policy": new.policy.name, "path": new.policy_origin}
            )
        return True

    def _source_name(self) -> str:
        return self._source.name if self._source is not None else "<PoolConfig>"

    async def _watch(self) -> None:
        while not self._closed:
            interval = self._interval
            if interval <= 0:  # a reload turned polling off
                self._watcher = None
                return
            await self._sleep(interval)
            if self._closed:
                return
            try:
                await self.reload()
            except Exception:  # never let the watcher die
                log.exception("reload check failed")

    # ---- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> LLMPool:
        if self._client is None:
            transport = self._transport if self._transport is not None else default_transport()
            self._in_use = transport
            self._client = httpx.AsyncClient(transport=transport, timeout=None)
        if self._interval > 0 and self._watcher is None:
            self._watcher = asyncio.create_task(self._watch())
        return self

    async def close(self) -> None:
        """Stop polling, let in-flight requests finish (up to ``close_timeout``), close HTTP."""
        self._closed = True
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        if self._in_flight:
            await asyncio.wait(self._in_flight, timeout=self._close_timeout)
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._recorder is not None:
            self._recorder.close()

    async def __aenter__(self) -> LLMPool:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # ---- events, health, stats -----------------------------------------------------------------

    def on(self, name: str, handler: Handler) -> None:
        self._events.on(name, handler)

    def off(self, name: str, handler: Handler) -> None:
        self._events.off(name, handler)

    def _on_transition(self, name: str, transition: Transition) -> None:
        to = transition.to_state
        if to == "open":
            self._events.emit("breaker_opened", {"provider": name})
        elif to == "closed":
            self._events.emit("breaker_closed", {"provider": name})

    def health(self) -> Health:
        """Read-only: how many providers could take a request now."""
        snapshot = self._registry.snapshot()
        names = list(self._state.providers)
        available = 0
        for name in names:
            view = snapshot.provider(name)
            if view.breaker_state == "open" or view.cooling_down:
                continue
            if view.rpm_remaining == 0 or view.rpd_remaining == 0:
                continue
            available += 1
        return Health(len(names), available, available > 0, self._transports())

    def _transports(self) -> dict[str, str]:
        """Per provider, the transport its requests go over (or would, before start())."""
        state = self._state
        if self._client is None and self._transport is None:
            return {n: planned(p.base_url) for n, p in state.providers.items()}
        transport = self._transport if self._client is None else self._in_use
        return {n: describe(transport, p.base_url) for n, p in state.providers.items()}

    def stats(self) -> dict[str, ProviderStats]:
        """Read-only per-provider figures since start (kept across reloads by name)."""
        snapshot = self._registry.snapshot()
        out: dict[str, ProviderStats] = {}
        transports = self._transports()
        for name in self._state.providers:
            totals = self._registry.provider(name).totals()
            view = snapshot.provider(name)
            out[name] = ProviderStats(
                name=name,
                requests=totals.requests,
                successes=totals.successes,
                failures=totals.failures,
                success_rate=totals.success_rate,
                average_response_time=None
                if totals.average_response_time is None
                else totals.average_response_time * 1000.0,
                total_cost=totals.total_cost,
                requests_remaining_minute=view.rpm_remaining,
                requests_remaining_day=view.rpd_remaining,
                breaker_state=view.breaker_state,
                transport=transports[name],
            )
        return out

    @property
    def policy(self) -> Policy:
        return self._state.policy

    @property
    def config(self) -> PoolConfig:
        return self._state.config

    @property
    def metrics(self) -> MetricsRegistry:
        return self._registry

    # ---- chat ----------------------------------------------------------------------------------

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: Sequence[str] = (),
        tools: Sequence[Tool] = (),
        tags: Sequence[str] = (),
        metadata: Mapping[str, Any] | None = None,
        user: str | None = None,
        model: str | None = None,
        request_id: str | None = None,
        seed: int | None = None,
    ) -> PoolResponse:
        """Route one chat request under the policy; raises a typed :class:`LLMPoolError`
        (``ProviderError``, ``RateLimitError``, ``NoProviderAvailableError``,
        ``BudgetExceededError``, ``DeadlineExceededError``) carrying every attempt."""
        if self._closed:
            raise LLMPoolError("the pool is closed")
        if self._client is None:
            await self.start()
        request = ChatRequest(
            messages=tuple(messages), max_tokens=max_tokens, temperature=temperature,
            stop=tuple(stop), tools=tuple(tools), user=user,
        )  # fmt: skip
        rid = request_id if request_id is not None else f"req-{next(self._ids)}"
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        recorder, handle = self._recorder, -1
        if recorder is not None:  # the one recording hook: where a request begins and ends
            handle = recorder.begin(
                self._clock.wall(), request, request_id=rid, tags=tags,
                metadata=metadata or {}, model=model, seed=seed,
            )  # fmt: skip
        try:
            response = await self._chat(
                request, tags=tuple(tags), metadata=dict(metadata or {}), model=model,
                request_id=rid, seed=seed,
            )  # fmt: skip
            if recorder is not None:
                u = response.usage
                recorder.end(
                    handle, attempts=response.attempts,
                    input_tokens=u.input_tokens, output_tokens=u.output_tokens,
                )  # fmt: skip
            return response
        except LLMPoolError as exc:
            if recorder is not None:
                sent = [a for a in exc.attempts if isinstance(a, AttemptRecord)]
                recorder.end(handle, attempts=sent)
            raise
        finally:
            if recorder is not None:
                recorder.abandon(handle)  # no-op once ended; else cancelled: never written
            if task is not None:
                self._in_flight.discard(task)

    async def _chat(
        self,
        request: ChatRequest,
        *,
        tags: tuple[str, ...],
        metadata: dict[str, Any],
        model: str | None,
        request_id: str | None,
        seed: int | None,
    ) -> PoolResponse:
        state = self._state  # this request's version, whatever reloads happen meanwhile
        rid = request_id if request_id is not None else f"req-{next(self._ids)}"
        tokens = estimate_request_tokens(request, exact=state.config.token_counting)
        routing = RoutingRequest(
            id=rid,
            model=model,
            messages=len(request.messages),
            input_tokens=tokens,
            max_tokens=request.max_tokens or 0,
            images=request.image_count,
            tools=len(request.tools),
            stream=request.stream,
            temperature=request.temperature,
            tags=tags,
            metadata=metadata,
            user=request.user,
            seed=seed,
        )
        need = tokens + (request.max_tokens or 0)
        started = self._clock.now()
        line: list[asyncio.Event] = []  # its place in the wait line, while it waits

        def let_through() -> None:  # the gate admitted an attempt: the next in line goes
            if line:
                self._waiting.leave(line.pop())

        try:
            while True:
                decision = self._decide(state, routing, rid)
                executor = Executor(decision, now=started)  # the deadline counts any wait
                try:
                    return await self._run(
                        state, decision, executor, routing, request, rid, let_through
                    )
                except NoProviderAvailableError as error:
                    note_when_free(error, self._registry, need)
                    if decision.wait_s is None:  # (the error means no attempt was sent)
                        raise
                    if not line:
                        line.append(self._waiting.join())
                    if not await self._wait_for_provider(error, decision, started, line[0]):
                        raise
        finally:
            let_through()

    def _decide(self, state: _State, routing: RoutingRequest, rid: str) -> Decision:
        decision = state.policy.decide(
            routing, self._registry.snapshot(), raise_if_unroutable=False
        )
        if self._events.wants("debug"):
            self._debug(
                f"request {rid}: route {decision.route}",
                request_id=rid, route=decision.route, input_tokens=routing.input_tokens,
                plan=[a.provider for a in decision.attempts],
                excluded=dict(decision.excluded),
            )  # fmt: skip
        return decision

    async def _wait_for_provider(
        self,
        error: NoProviderAvailableError,
        decision: Decision,
        started: float,
        place: asyncio.Event,
    ) -> bool:
        """`when none available wait up to D`: wait for the first provider the gate frees, in
        line behind the requests that waited first, within the wait and the deadline. False
        when it cannot come in time (then the error is raised, saying when it would have)."""
        end = wait_ends(decision, started)
        assert end is not None
        if not place.is_set():  # behind others: our turn first, then decide afresh
            return await WaitLine.first(place, end - self._clock.now(), self._sleep)
        if error.retry_after is None:  # the gate holds no provider: waiting cannot help
            return False
        if self._clock.now() + error.retry_after > end:
            return False
        self._debug(f"waiting {error.retry_after:.3f}s for {error.retry_after_provider}",
                    seconds=error.retry_after, provider=error.retry_after_provider)  # fmt: skip
        await self._sleep(error.retry_after)
        return True

    async def _run(
        self,
        state: _State,
        decision: Decision,
        executor: Executor,
        routing: RoutingRequest,
        request: ChatRequest,
        rid: str,
        admitted: Callable[[], None],
    ) -> PoolResponse:
        """Drive the executor over one decision: attempts over HTTP, sleeps on the clock.
        ``admitted`` is called when the live gate lets an attempt through."""
        tokens = routing.input_tokens
        while True:
            action = executor.next_action(self._clock.now())
            if isinstance(action, Succeed):
                response = action.response
                assert isinstance(response, ChatResponse)
                provider = state.providers[response.provider]
                cost = response_cost(
                    provider, response.usage.input_tokens, response.usage.output_tokens
                )
                self._record_budgets(state, decision, routing, cost, response.provider)
                return PoolResponse(
                    content=response.content, provider=response.provider, model=response.model,
                    usage=response.usage, cost=cost, finish_reason=response.finish_reason,
                    attempts=action.attempts, decision=decision, request_id=rid,
                    response=response,
                )  # fmt: skip
            if isinstance(action, Fail):
                error = action.error
                error.decision = decision  # type: ignore[attr-defined]
                raise error
            if isinstance(action, Sleep):
                self._debug(f"request {rid}: backoff {action.seconds:.3f}s", request_id=rid,
                            seconds=action.seconds)  # fmt: skip
                await self._sleep(action.seconds)
                continue
            try:
                outcome = await self._attempt(state, action, request, tokens, rid, admitted)
            except LLMPoolError as exc:  # the pool was closed under this request
                exc.attempts = executor.attempts
                exc.decision = decision  # type: ignore[attr-defined]
                raise
            executor.record(outcome, self._clock.now())

    def _record_budgets(
        self,
        state: _State,
        decision: Decision,
        routing: RoutingRequest,
        cost: float,
        served_by: str,
    ) -> None:
        """Charge ``cost`` to the budgets that govern the request (by its key) and to the
        `per provider` budgets of ``served_by``, the provider that answered."""
        graph = state.policy.graph
        if decision.route is None or not (graph.budgets or graph.provider_budgets):
            return
        exempt = graph.exempt.get(decision.route, frozenset())
        for budget in graph.budgets:
            if budget.name in exempt:
                continue
            value = None if budget.key is None else budget.key(routing)
            key = None if value is None else str(value)
            self._registry.record_budget(budget.name, key, budget.period, cost)
        for budget in graph.provider_budgets:
            self._registry.record_budget(budget.name, served_by, budget.period, cost)

    async def _attempt(
        self,
        state: _State,
        send: Send,
        request: ChatRequest,
        tokens: int,
        rid: str,
        admitted: Callable[[], None] = lambda: None,
    ) -> Outcome | Refused:
        provider = state.providers[send.provider]
        metrics = self._registry.provider(send.provider)
        adapter = state.adapters[send.provider]
        try:
            wire = adapter.build(request, provider)
        except UnsupportedRequestError as exc:
            return Refused(f"cannot take this request: {exc.feature}")
        client = self._client
        if client is None:  # close() stopped waiting for this request
            raise LLMPoolError("the pool was closed before the request finished")
        need = tokens + (request.max_tokens or 0)
        gate = metrics.on_dispatch(need)
        if not isinstance(gate, Attempt):
            return Refused(gate.reason, gate.retry_in_s)
        admitted()
        started = self._clock.now()
        secrets = provider_secrets(provider)
        content = SentBody(wire.content())
        try:
            answer = await exchange(client, wire, send.timeout_s, secrets=secrets, sent=content)
        except asyncio.CancelledError:
            # The provider saw a request that went out: it counts against the limit whether or
            # not its answer is read. Only one never sent gives its slot back.
            _release(gate, content)
            raise
        except Exception as exc:
            _release(gate, content)  # never leave a reservation or a probe slot behind
            if self._client is None:
                raise LLMPoolError("the pool was closed before the request finished") from exc
            raise
        if isinstance(answer, ProviderFailure):
            return self._finish(send, gate, answer, started, rid, need)
        status, headers, body = answer.status, answer.headers, answer.body
        now = self._clock.now()
        wall = self._clock.wall()  # Anthropic's resets and HTTP-date retry-afters are wall times
        limits = adapter.limits_from_headers(headers, now=wall)
        # A spent limit benches the provider until its reset: no longer than a retry-after may.
        cap = send.cool_down_cap_s
        if limits.requests_remaining is not None and limits.requests_reset_s is not None:
            metrics.update_from_headers(
                kind="rpm",
                remaining=limits.requests_remaining,
                reset_in_s=min(limits.requests_reset_s, cap),
            )
        if limits.tokens_remaining is not None and limits.tokens_reset_s is not None:
            metrics.update_from_headers(
                kind="tpm",
                remaining=limits.tokens_remaining,
                reset_in_s=min(limits.tokens_reset_s, cap),
            )
        parsed = adapter.parse(status, headers, body, provider=provider, now=wall)
        if isinstance(parsed, ProviderFailure):
            return self._finish(send, gate, parsed, started, rid, need)
        usage = parsed.usage
        cost = response_cost(provider, usage.input_tokens, usage.output_tokens)
        gate.complete(None, now - started, usage.total_tokens, cost)
        parsed = ChatResponse(
            content=parsed.content, finish_reason=parsed.finish_reason, usage=usage,
            model=parsed.model, provider=send.provider, raw_id=parsed.raw_id,
            tool_calls=parsed.tool_calls,
        )  # fmt: skip
        self._events.emit(
            "request_success",
            {"request_id": rid, "provider": send.provider, "route": send.route,
             "attempt": send.number, "latency_s": now - started, "cost": cost,
             "tokens": usage.total_tokens},
        )  # fmt: skip
        return Outcome(None, status, now - started, response=parsed)

    def _finish(
        self,
        send: Send,
        gate: Attempt,
        failure: ProviderFailure,
        started: float,
        rid: str,
        need: int,
    ) -> Outcome:
        """Settle a failed attempt, then say when the provider's gate admits the next one (so
        the executor never sleeps toward a retry the gate would refuse)."""
        now = self._clock.now()
        latency = now - started
        gate.complete(failure.error_class, latency, None, 0.0)
        metrics = self._registry.provider(send.provider)
        cool_down = send.cool_down_s(failure.error_class, failure.retry_after_s)
        if cool_down is not None:
            metrics.cool_down(cool_down)
        self._events.emit(
            "request_error",
            {"request_id": rid, "provider": send.provider, "route": send.route,
             "attempt": send.number, "error": failure.error_class, "status": failure.status,
             "message": failure.message, "latency_s": latency},
        )  # fmt: skip
        return Outcome(
            failure.error_class, failure.status, latency, failure.retry_after_s, failure.message,
            available_in_s=metrics.available_in(need) if send.may_retry else 0.0,
        )  # fmt: skip
