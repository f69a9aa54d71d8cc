"""`llmpool-policy demo`: watch failover happen.

Starts the emulator with four providers (OpenAI, Anthropic, a Groq-style OpenAI-compatible
endpoint and Cohere, each speaking its own wire format), writes a temporary config.json for
them, and sends a stream of requests through :class:`LLMPool` under ``policies/default.policy``
while the primary provider degrades (server errors), goes down (503s) and recovers. One line per
request: where it went, every failed attempt on the way, latency, cost and the running spend;
breaker events and the emulator's phase changes as they happen; a per-provider table at the end.

Time: the pool and the emulator share a virtual clock that moves a fixed step per request and
through every backoff sleep, so a two-and-a-half-minute incident (breaker cool-downs included)
plays out in seconds. Latencies are the emulator's measured profiles, scaled down. Exit 0 when
the demo ran, whatever the requests' fates; 2 when it could not start.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ..emulator import Emulator, Phase
    from ..metrics import ManualClock
    from ..pool import LLMPool, PoolResponse
    from ..runtime import AttemptRecord

# name, type, priority, input and output price (USD per 1K tokens), as in the seed's config.json
_PROVIDERS: Final = (
    ("openai-main", "openai", 1, 0.0005, 0.0015),
    ("anthropic-backup", "anthropic", 2, 0.00025, 0.00125),
    ("groq-fast", "groq", 3, 0.00059, 0.00079),
    ("cohere-r", "cohere", 4, 0.0005, 0.0015),
)
_PRIMARY: Final = "openai-main"
_SPAN_S: Final = 150.0  # virtual seconds the request stream covers
_QUESTIONS: Final = (
    "Summarise the plot of Hamlet in one line.",
    "What is a circuit breaker in distributed systems?",
    "Translate 'good morning' into French.",
    "Give me a haiku about failover.",
    "Why is the sky blue?",
    "Name three prime numbers above 100.",
    "What does HTTP 429 mean?",
    "Suggest a name for a pet tortoise.",
)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "demo",
        help="route a stream of requests over emulated providers and watch failover happen",
        description="Start emulated providers on 127.0.0.1, send requests through LLMPool under "
        "policies/default.policy while the primary provider degrades, fails and recovers, and "
        "print where each request went.",
    )
    parser.add_argument(
        "--requests", type=int, default=60, metavar="N", help="how many requests (default 60)"
    )
    parser.add_argument(
        "--fast", action="store_true", help="no latency and no pauses (for tests and CI)"
    )
    parser.add_argument("--seed", type=int, default=7, help="the emulator's seed (default 7)")
    parser.set_defaults(func=run)


@dataclass
class _Symbols:
    ok: str
    fail: str
    arrow: str
    bar: str


def _symbols() -> _Symbols:
    encoding = getattr(sys.stdout, "encoding", None) or "ascii"
    try:
        "✓✗→─".encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return _Symbols("ok", "x", "->", "-")
    return _Symbols("✓", "✗", "→", "─")


def _phases(span: float) -> tuple[Phase, ...]:
    from ..emulator import Phase

    return (
        Phase(seconds=(0.2 * span, 0.35 * span), faults={"server_error": 0.4}, name="degraded"),
        Phase(seconds=(0.35 * span, 0.55 * span), faults={"service_unavailable": 1.0},
              name="outage"),
    )  # fmt: skip


_PHASE_NEWS: Final = {
    "degraded": "{p} starts failing: 40% of its answers are 500s",
    "outage": "{p} is down: every answer is a 503",
    "": "{p} has recovered",
}


@dataclass
class _Run:
    pool: LLMPool
    clock: ManualClock
    emulator: Emulator
    fast: bool
    sym: _Symbols
    spend: float = 0.0
    failovers: int = 0
    succeeded: int = 0
    failed: int = 0
    pending: list[str] = field(default_factory=list)
    phase: str = ""

    def emit(self, line: str) -> None:
        print(line, flush=True)

    def news(self, text: str) -> None:
        self.emit(f"     {self.sym.bar * 2} {text}")

    def on_event(self, name: str, payload: Mapping[str, Any]) -> None:
        provider = payload.get("provider", "?")
        if name == "breaker_opened":
            self.pending.append(f"breaker OPEN for {provider}: requests skip it for a while")
        elif name == "breaker_closed":
            self.pending.append(f"breaker closed for {provider}: a probe succeeded, it is back")

    def flush_events(self) -> None:
        for text in self.pending:
            self.news(text)
        self.pending.clear()

    def check_phase(self) -> None:
        behaviour = self.emulator[_PRIMARY].behaviour
        elapsed = self.clock.now()
        current = ""
        for phase in behaviour.phases:
            if phase.active(0, elapsed):
                current = phase.name
        if current != self.phase:
            self.phase = current
            self.news("emulator: " + _PHASE_NEWS.get(current, current).format(p=_PRIMARY))

    def path(self, attempts: tuple[AttemptRecord, ...], final: str | None) -> str:
        hops: list[str] = []
        marks: list[str] = []
        last: str | None = None
        for attempt in attempts:
            if attempt.skipped:
                continue
            if attempt.provider != last:
                if last is not None:
                    hops.append(f"{last} {' '.join(marks)}")
                last, marks = attempt.provider, []
            if attempt.error_class is None:
                marks.append(self.sym.ok)
            else:
                code = attempt.status if attempt.status is not None else attempt.error_class
                marks.append(f"{self.sym.fail}{code}")
        if last is not None:
            hops.append(f"{last} {' '.join(marks)}")
        text = f" {self.sym.arrow} ".join(hops) if hops else "(no provider tried)"
        if final:
            text += f"  {self.sym.fail} {final}"
        return text

    def skipped(self, excluded: tuple[tuple[str, str], ...], served: str | None) -> str:
        """Preferred providers the policy's gates took out of this request, and why (live)."""
        rank = {name: i for i, (name, *_) in enumerate(_PROVIDERS)}
        limit = rank.get(served, len(rank)) if served is not None else len(rank)
        excluded = tuple(e for e in excluded if rank.get(e[0], len(rank)) < limit)
        if not excluded:
            return ""
        stats = self.pool.stats()
        notes = []
        for name, _condition in excluded:
            s = stats.get(name)
            if s is not None and s.breaker_state != "closed":
                why = f"breaker {s.breaker_state.replace('_', '-')}"
            elif s is not None and (s.requests_remaining_minute == 0):
                why = "per-minute limit spent"
            else:
                why = "skipped"
            notes.append(f"{name}: {why}")
        return f"  ({'; '.join(notes)})"

    async def one(self, n: int, total: int) -> None:
        from ..errors import LLMPoolError
        from ..messages import text_message
        from ..runtime import AttemptRecord

        self.check_phase()
        question = _QUESTIONS[n % len(_QUESTIONS)]
        started = time.perf_counter()
        response: PoolResponse | None = None
        error: LLMPoolError | None = None
        try:
            response = await self.pool.chat(
                [text_message("system", "Answer briefly."), text_message("user", question)],
                max_tokens=60,
                temperature=0.3,
                request_id=f"demo-{n}",
            )
        except LLMPoolError as exc:
            error = exc
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        self.flush_events()
        width = len(str(total))
        if response is not None:
            self.succeeded += 1
            self.spend += response.cost
            providers = {a.provider for a in response.attempts if not a.skipped}
            if len(providers) > 1:
                self.failovers += 1
            route = self.path(response.attempts, None) + self.skipped(
                response.decision.excluded, response.provider
            )
            self.emit(
                f"  #{n:<{width}}  {route:<52} {elapsed_ms:5.0f} ms  "
                f"${response.cost:.6f}  spend ${self.spend:.6f}"
            )
        else:
            assert error is not None
            self.failed += 1
            attempts = tuple(a for a in error.attempts if isinstance(a, AttemptRecord))
            route = self.path(attempts, type(error).__name__)
            self.emit(
                f"  #{n:<{width}}  {route:<52} {elapsed_ms:5.0f} ms  "
                f"${0:.6f}  spend ${self.spend:.6f}"
            )


def _table(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for k, row in enumerate(rows):
        cells = [
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  " + "  ".join(cells).rstrip())
        if k == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return lines


def _handler(run: _Run, name: str) -> Callable[[Mapping[str, Any]], None]:
    def handle(payload: Mapping[str, Any]) -> None:
        run.on_event(name, payload)

    return handle


async def _stream(run: _Run, requests: int) -> None:
    from ..events import EVENTS

    step = _SPAN_S / requests
    async with run.pool:
        for name in EVENTS:
            run.pool.on(name, _handler(run, name))
        for n in range(1, requests + 1):
            await run.one(n, requests)
            run.clock.advance(step)
            if not run.fast:
                await asyncio.sleep(0.12)
        run.flush_events()


def run(args: argparse.Namespace) -> int:
    from ..emulator import Behaviour, Emulator
    from ..metrics import ManualClock
    from ..pool import LLMPool

    if args.requests < 1:
        print("error: --requests must be at least 1", file=sys.stderr)
        return 2
    sym = _symbols()
    clock = ManualClock(0.0, wall_offset=time.time())  # rate-limit resets in real dates
    emulator = Emulator(clock=clock, latency_scale=0.0 if args.fast else 0.25)
    for i, (name, kind, priority, price_in, price_out) in enumerate(_PROVIDERS):
        behaviour = None
        if name == _PRIMARY:
            behaviour = Behaviour(phases=_phases(_SPAN_S))
        elif name == "anthropic-backup":  # too small a quota to carry the load alone
            behaviour = Behaviour(requests_per_minute=12, retry_after=4.0)
        emulator.add(
            name,
            kind,
            seed=args.seed + i,
            behaviour=behaviour,
            config={
                "priority": priority,
                "input_token_price": price_in,
                "output_token_price": price_out,
            },
        )
    try:
        emulator.start()
    except OSError as exc:
        print(f"error: cannot start the emulator: {exc}", file=sys.stderr)
        return 2
    try:
        with tempfile.TemporaryDirectory(prefix="llmpool-demo-") as tmp:
            config = emulator.write_config(Path(tmp) / "config.json")
            print("llmpool-policy demo: emulated providers on 127.0.0.1", flush=True)
            for provider in emulator:
                print(f"  {provider.name:<17} {provider.type:<10} {provider.base_url}")
            print(
                f"policy: policies/default.policy (priority order, retry 3x with backoff, "
                f"failover on transient errors, breaker opens after 5 failures in 1m)\n"
                f"{args.requests} requests over {_SPAN_S:g}s of virtual time; {_PRIMARY} "
                f"degrades, fails and recovers\n",
                flush=True,
            )
            fast = bool(args.fast)

            async def sleep(seconds: float) -> None:
                """A backoff: virtual seconds on the shared clock, a glimpse in real time."""
                clock.advance(seconds)
                await asyncio.sleep(0 if fast else min(seconds * 0.05, 0.2))

            pool = LLMPool(str(config), clock=clock, sleep=sleep, check_interval_s=0)
            demo = _Run(pool, clock, emulator, fast, sym)
            started = time.perf_counter()
            asyncio.run(_stream(demo, args.requests))
            wall = time.perf_counter() - started
            _summary(demo, args.requests, wall)
    finally:
        emulator.stop()
    return 0


def _summary(demo: _Run, requests: int, wall: float) -> None:
    stats = demo.pool.stats()
    rows: list[tuple[str, ...]] = [
        ("provider", "requests", "successes", "failures", "breaker", "spend")
    ]
    for name, s in stats.items():
        rows.append((name, str(s.requests), str(s.successes), str(s.failures),
                     s.breaker_state, f"${s.total_cost:.6f}"))  # fmt: skip
    print("\nsummary (upstream calls per provider):")
    for line in _table(rows):
        print(line)
    print(
        f"\n{requests} requests: {demo.succeeded} answered, {demo.failed} failed, "
        f"{demo.failovers} after a failover; spend ${demo.spend:.6f}; "
        f"{demo.clock.now():.0f}s virtual, {wall:.1f}s real",
        flush=True,
    )
