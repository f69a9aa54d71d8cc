"""One emulated provider: a wire format, a key, a behaviour, a bucket, a journal — and the
decision, per request, of what to answer and when.

Every request at the provider's endpoint gets an index (0, 1, 2, ... in arrival order). What
happens to it is decided at once, synchronously on the server's loop, in this order: the
provider's authentication (401), the requests-per-minute bucket (429), the body (400), the
accepted models (404), a queued fault, the context window, a fault drawn from
``random.Random(f"{seed}:{index}")``; then the answer waits its latency and goes out.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from ._http import Hang, HttpServer, Reply, Request, Reset, Response
from .behaviour import FAULTS, Behaviour, BehaviourError, Fault
from .bucket import TokenBucket
from .clock import Clock
from .journal import Journal, JournalEntry, redact_headers
from .profiles import DEFAULT_PROFILE_FOR_TYPE, PROFILES, LatencyProfile
from .wire import DEFAULT_PREFIX, WIRE_FOR_TYPE, WIRES, Chat, ErrorKind, Usage, WireFormat
from .wire.base import count_tokens, json_response, reply_text, stable_id

__all__ = ["DEFAULT_MODELS", "RPM_LIMIT", "EmulatedProvider"]

RPM_LIMIT: Final = "rpm_limit"  # the journal's fault for a 429 from the requests-per-minute bucket

DEFAULT_MODELS: Final[Mapping[str, str]] = {
    "openai": "gpt-4o-mini",
    "openai-compatible": "local-model",
    "groq": "llama3-70b-8192",
    "together": "meta-llama/Llama-3-70b-chat-hf",
    "anthropic": "claude-3-haiku-20240307",
    "cohere": "command-r",
}


@dataclass(frozen=True, slots=True)
class _Plan:
    reply: Reply
    delay: float
    fault: str | None


class EmulatedProvider:
    """Created by :meth:`Emulator.add`; safe to reconfigure from any thread while it serves."""

    def __init__(
        self,
        name: str,
        type: str = "openai",
        *,
        api_key: str | None = "",
        model: str | None = None,
        behaviour: Behaviour | None = None,
        seed: int = 0,
        path_prefix: str | None = None,
        port: int = 0,
        wire: str | None = None,
        clock: Clock,
        journal: Journal,
        latency_scale: float = 1.0,
        host: str = "127.0.0.1",
    ) -> None:
        if type not in WIRE_FOR_TYPE:
            raise BehaviourError(
                f"provider {name!r}: unknown type {type!r} (known: {', '.join(WIRE_FOR_TYPE)})"
            )
        wire = wire or WIRE_FOR_TYPE[type]
        if wire not in WIRES:
            raise BehaviourError(f"provider {name!r}: unknown wire format {wire!r}")
        prefix = DEFAULT_PREFIX[type] if path_prefix is None else path_prefix
        if prefix and (not prefix.startswith("/") or prefix.endswith("/")):
            raise BehaviourError(
                f"provider {name!r}: path_prefix must start with '/' and not end with one"
            )
        self.name = name
        self.type = type
        self.wire: WireFormat = WIRES[wire]
        # "" means "make one up"; None means "accept any request without a key".
        self.api_key = f"sk-emulator-{name}" if api_key == "" else api_key
        self.model = model or DEFAULT_MODELS[type]
        self.seed = seed
        self.path_prefix = prefix
        self.journal = journal
        self._clock = clock
        self.latency_scale = latency_scale  # the emulator-wide factor (Emulator sets it)
        self._host = host
        self._server = HttpServer(self._handle, host, port)
        self._lock = threading.Lock()
        self._behaviour = behaviour or Behaviour()
        self._queue: deque[Fault | None] = deque()
        self._index = 0
        self._started = clock.now()
        self._bucket = self._new_bucket(self._behaviour)

    # -- control ------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def base_url(self) -> str:
        """What a client (and config.json's ``base_url``) uses: origin plus the path prefix."""
        if not self.port:
            raise RuntimeError(f"provider {self.name!r} is not started")
        return f"http://{self._host}:{self.port}{self.path_prefix}"

    @property
    def url(self) -> str:
        """The full chat endpoint."""
        return self.base_url + self.wire.endpoint

    @property
    def behaviour(self) -> Behaviour:
        return self._behaviour

    @property
    def connections(self) -> tuple[int, int]:
        """(open now, accepted since start): keep-alive and leak checks read these."""
        return self._server.open_connections, self._server.accepted_connections

    @property
    def requests(self) -> int:
        """How many requests reached the endpoint (the next request's index)."""
        return self._index

    def headers(self) -> dict[str, str]:
        """Headers a well-behaved client sends to this provider (with the right key)."""
        out = {"content-type": "application/json"}
        if self.wire.name == "anthropic":
            out["anthropic-version"] = "2023-06-01"
            if self.api_key is not None:
                out["x-api-key"] = self.api_key
        elif self.api_key is not None:
            out["authorization"] = f"Bearer {self.api_key}"
        return out

    def set_behaviour(self, behaviour: Behaviour | None = None, **changes: Any) -> Behaviour:
        """Replace the behaviour (or change some of its fields); takes effect at the next
        request. A new ``requests_per_minute`` starts a full bucket."""
        new = behaviour or self._behaviour
        if changes:
            new = new.replace(**changes)
        with self._lock:
            if new.requests_per_minute != self._behaviour.requests_per_minute:
                self._bucket = self._new_bucket(new)
            self._behaviour = new
        return new

    def queue_faults(self, *faults: Fault | None) -> None:
        """The next valid requests take these faults in order (None: answer normally), before
        any random draw."""
        for fault in faults:
            if fault is not None and fault not in FAULTS:
                raise BehaviourError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            self._queue.extend(faults)

    def reset(self) -> None:
        """Request index and phase clock back to zero, a full bucket, no queued faults, and
        this provider's journal entries forgotten."""
        with self._lock:
            self._index = 0
            self._started = self._clock.now()
            self._bucket = self._new_bucket(self._behaviour)
            self._queue.clear()
        self.journal.clear(self.name)

    def profile(self) -> LatencyProfile:
        return self._behaviour.latency or PROFILES[DEFAULT_PROFILE_FOR_TYPE[self.type]]

    def __repr__(self) -> str:
        where = f"port={self.port}" if self.port else "not started"
        return f"EmulatedProvider({self.name!r}, type={self.type!r}, {where})"

    # -- serving ------------------------------------------------------------------------------

    async def _start(self) -> None:
        with self._lock:
            self._started = self._clock.now()
            self._bucket = self._new_bucket(self._behaviour)
        await self._server.start()

    async def _stop(self) -> None:
        await self._server.close()

    def _new_bucket(self, behaviour: Behaviour) -> TokenBucket | None:
        rpm = behaviour.requests_per_minute
        return None if rpm is None else TokenBucket(rpm, self._clock.now())

    async def _handle(self, request: Request) -> Reply:
        plan = self._plan(request)
        if plan.delay > 0:
            await asyncio.sleep(plan.delay)
        return plan.reply

    def _plan(self, request: Request) -> _Plan:
        now, wall = self._clock.now(), self._clock.wall()
        try:
            body: object = json.loads(request.body) if request.body else None
            is_json = request.body != b""
        except (ValueError, UnicodeDecodeError):
            body, is_json = None, False
        endpoint = self.path_prefix + self.wire.endpoint
        detail = {"method": request.method, "path": request.path}
        if request.path != endpoint:
            return self._log(request, -1, body, now, wall, self._error("not_found", detail))
        if request.method != "POST":
            plan = self._error("method_not_allowed", detail)
            return self._log(request, -1, body, now, wall, plan)
        with self._lock:
            index = self._index
            self._index += 1
            behaviour, bucket, started = self._behaviour, self._bucket, self._started
        plan = self._decide(request, index, body, is_json, now, wall, behaviour, bucket, started)
        return self._log(request, index, body, now, wall, plan)

    def _decide(
        self,
        request: Request,
        index: int,
        body: object,
        is_json: bool,
        now: float,
        wall: float,
        behaviour: Behaviour,
        bucket: TokenBucket | None,
        started: float,
    ) -> _Plan:
        denied = self.wire.authenticate(request, self.api_key)
        if denied is not None:
            return _Plan(denied, 0.0, None)
        limit_headers: tuple[tuple[str, str], ...] = ()
        if bucket is not None:
            admitted = bucket.take(now)
            limit_headers = self.wire.limit_headers(
                bucket.capacity, bucket.remaining(now), bucket.until_full(now), wall
            )
            if not admitted:
                wait = min(bucket.until_next(now), 86400.0)  # rpm 0: "a day", not infinity
                headers = limit_headers + self.wire.retry_headers(wait)
                detail = {"model": self.model, "limit": bucket.capacity, "retry_after": wait}
                return _Plan(self.wire.error("rate_limited", detail, headers), 0.0, RPM_LIMIT)
        if not is_json:
            return _Plan(self.wire.error("bad_json", {}, ()), 0.0, None)
        chat = self.wire.parse(body)
        if isinstance(chat, Response):
            return _Plan(chat, 0.0, None)
        if behaviour.models and chat.model not in behaviour.models:
            return _Plan(self.wire.error("model_not_found", {"model": chat.model}, ()), 0.0, None)

        rng = random.Random(f"{self.seed}:{index}")
        faults, scale = behaviour.at(index, now - started)
        scale *= self.latency_scale
        profile = behaviour.latency or PROFILES[DEFAULT_PROFILE_FOR_TYPE[self.type]]
        ttft = profile.sample_ttft(rng) * scale
        drawn = _draw(rng, faults)
        with self._lock:
            queued = bool(self._queue)
            fault = self._queue.popleft() if queued else drawn
        tokens = chat.input_tokens + (chat.max_tokens or 0)
        window = behaviour.context_window
        if fault is None and window is not None and tokens > window:
            fault = "context_window"
        return self._fault(
            fault, chat, index, wall, ttft, profile, scale, behaviour, tokens, limit_headers
        )

    def _fault(
        self,
        fault: Fault | None,
        chat: Chat,
        index: int,
        wall: float,
        ttft: float,
        profile: LatencyProfile,
        scale: float,
        behaviour: Behaviour,
        tokens: int,
        limit_headers: tuple[tuple[str, str], ...],
    ) -> _Plan:
        rid = stable_id(self.name, self.seed, index)
        ids = self.wire.request_id_headers(rid)
        plain = ids + limit_headers
        if fault in ("rate_limited", "overloaded", "service_unavailable", "server_error"):
            headers = ids
            if fault != "rate_limited":
                headers += limit_headers
            else:
                limit = behaviour.requests_per_minute or 60
                headers += self.wire.limit_headers(limit, 0, behaviour.retry_after, wall)
                headers += self.wire.retry_headers(behaviour.retry_after)
            detail = {
                "model": chat.model,
                "limit": behaviour.requests_per_minute or 60,
                "retry_after": behaviour.retry_after,
            }
            kind: ErrorKind = fault
            return _Plan(self.wire.error(kind, detail, headers), ttft, fault)
        if fault == "auth":
            return _Plan(self.wire.error("auth_invalid", {"key": ""}, plain), ttft, fault)
        if fault == "context_window":
            limit = behaviour.context_window or max(1, chat.input_tokens - 1)
            detail = {"limit": limit, "tokens": max(tokens, limit + 1)}
            return _Plan(self.wire.error("context_window", detail, plain), ttft, fault)
        if fault == "hang":
            return _Plan(Hang(), 0.0, fault)

        answer = reply_text(self.name, chat)
        usage = Usage(chat.input_tokens, count_tokens(answer.output_chars) * chat.choices)
        success = self.wire.success(chat, rid, int(wall), answer, usage)
        delay = ttft + profile.output_time(usage.output_tokens) * scale
        if fault == "malformed_body":
            stripped = self.wire.strip_required(success)
            return _Plan(json_response(200, stripped, plain), delay, fault)
        response = json_response(200, success, plain)
        if fault == "malformed_json":
            cut = response.body[: len(response.body) // 2]
            return _Plan(Response(200, cut, response.headers), delay, fault)
        if fault == "reset":
            whole = response.encode(keep_alive=True)
            return _Plan(Reset(whole[: len(whole) // 2]), ttft, fault)
        return _Plan(response, delay, None)

    def _error(self, kind: ErrorKind, detail: Mapping[str, object]) -> _Plan:
        return _Plan(self.wire.error(kind, detail, ()), 0.0, None)

    def _log(
        self, request: Request, index: int, body: object, now: float, wall: float, plan: _Plan
    ) -> _Plan:
        status = plan.reply.status if isinstance(plan.reply, Response) else None
        self.journal.record(
            JournalEntry(
                provider=self.name,
                index=index,
                method=request.method,
                path=request.path,
                headers=redact_headers(list(request.headers)),
                body=body,
                fault=plan.fault,
                status=status,
                time=now,
                wall=wall,
                delay=plan.delay,
                connection=request.connection,
            )
        )
        return plan


def _draw(rng: random.Random, faults: Mapping[str, float]) -> Fault | None:
    """One uniform draw walked over the rates in FAULTS order; None (no fault) past them all."""
    u = rng.random()
    for fault in FAULTS:
        rate = faults.get(fault, 0.0)
        if u < rate:
            return fault
        u -= rate
    return None
