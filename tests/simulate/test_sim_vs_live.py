"""Simulation matches reality: one scripted scenario — an outage of the primary, recovery
through half-open probes, then a 429 storm on it — run live through ``LLMPool`` against the
emulator over HTTP, and through the simulator, gives the same decision and the same attempt
sequence for every request.

How both runs are made deterministic and equivalent:

- One virtual clock. The live pool and the emulator share a ``ManualClock``; only the pool's
  sleeps (backoff, retry-after) and the harness (each arrival) move it. The emulator answers at
  once (``latency_scale=0``), so every live latency is exactly 0 s of virtual time; the
  simulator's providers are modelled with a zero latency (TTFT 0, infinite token rate) to match.
- Faults scripted on that clock, not drawn: the emulator's primary gets timed phases
  (``Phase(seconds=...)``: ``server_error`` on every request from 40 s to 100 s, ``rate_limited``
  with ``retry-after: 3`` from 140 s to 160 s); the simulator gets the same windows as scenario
  events in its own file format (``outage``, ``rate_limit_storm`` with probability 1,
  ``retry_after 3s``). Windows by time on the shared clock are as deterministic as windows by
  request index, and they test the scenario format itself. Arrivals sit at 2k + 0.5 s so no
  attempt falls on a window's edge.
- The same traffic. The live run records itself (``LLMPool(record=...)``); the simulator
  replays that file, so ids (hence the decisions' seeded jitter), sizes and arrival times are
  the live ones.

Compared for every request, exactly: the route, the planned provider order, each attempt's
(provider, error class, status, refused-by-the-gate flag and its reason), the outcome, who
served it. Timing-dependent values — the attempts' latencies and each request's end time —
agree within 1e-6 s (live latencies are exactly 0; the simulator's are 0 up to float
rounding of ``now - started``). Not compared: error *messages* of sent attempts (the live ones
are the provider's text, the simulator's say "simulated <class>"), and cost (the emulator's
usage counts the reply text it makes up; the simulator uses the recorded output tokens).
Rate-limit headers: the emulator's injected 429 also carries ``x-ratelimit-remaining: 0``, which
the live pool learns (``update_from_headers``) and the simulator does not model; the policy here
does not read ``rpm.remaining`` and the learned limit expires with the retry-after cool-down it
coincides with, so it changes nothing this scenario compares.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.config import load_config
from llmpool_policy.emulator import Behaviour, Emulator, Phase
from llmpool_policy.errors import LLMPoolError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.policy import Policy
from llmpool_policy.pool import LLMPool
from llmpool_policy.simulate import LatencyModel, Simulator, default_models, read_traffic
from llmpool_policy.simulate.engine import failure_label
from llmpool_policy.simulate.scenario import scenario_from_json

POLICY = """policy "sim-vs-live"

retry quick {
  attempts 2
  backoff exponential 1s .. 4s jitter full
  on rate_limited, overloaded, server_error, timeout, connection
  honor retry_after up to 20s
}

breaker default {
  open after 3 failures within 1m
  cool down 10s, extend on failure up to 40s
  probe 1
  count overloaded, server_error, timeout, connection, invalid_response
}

limits {
  deadline 2m
  max attempts 6
}

route default {
  use all
  skip when breaker.open
  order by priority
  retry quick
  failover on rate_limited, overloaded, server_error, timeout, connection
}
"""

SCENARIO = {
    "name": "primary outage, recovery, 429 storm",
    "events": [
        {"kind": "outage", "provider": "primary", "from": "40s", "to": "100s",
         "error": "server_error", "status": 500},
        {"kind": "rate_limit_storm", "provider": "primary", "from": "140s", "to": "160s",
         "probability": 1.0, "retry_after": "3s"},
    ],
}  # fmt: skip
N_REQUESTS = 100
SPACING_S = 2.0
TOLERANCE_S = 1e-6

Trace = tuple[str | None, tuple[str, ...], tuple[tuple[Any, ...], ...], str, str | None, float]


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0, wall_offset=1_700_000_000.0)


def _attempts(records: tuple[Any, ...]) -> tuple[tuple[Any, ...], ...]:
    return tuple(
        (a.provider, a.error_class, a.status, a.skipped, a.message if a.skipped else "")
        for a in records
    )


PHASES = (
    Phase(seconds=(40.0, 100.0), faults={"server_error": 1.0}, name="outage"),
    Phase(seconds=(140.0, 160.0), faults={"rate_limited": 1.0}, name="storm"),
)


def _live(
    emulator: Emulator,
    clock: ManualClock,
    tmp: Path,
    *,
    retry_after: float = 3.0,
    phases: tuple[Phase, ...] = PHASES,
    n_requests: int = N_REQUESTS,
) -> tuple[Path, Path, list[Trace]]:
    primary = emulator.add(
        "primary", "openai", config={"priority": 1, "input_token_price": 0.001,
                                     "output_token_price": 0.002},
        behaviour=Behaviour(retry_after=retry_after, phases=phases),
    )  # fmt: skip
    emulator.add("backup", "anthropic", config={"priority": 2, "input_token_price": 0.003,
                                                "output_token_price": 0.015})  # fmt: skip
    assert primary.behaviour.phases
    config = emulator.write_config(tmp / "config.json")
    policy = tmp / "p.policy"
    policy.write_text(POLICY)
    traffic = tmp / "traffic.jsonl"

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    async def main() -> list[Trace]:
        traces: list[Trace] = []
        pool = LLMPool(str(config), str(policy), clock=clock, sleep=sleep, check_interval_s=0,
                       record=traffic)  # fmt: skip
        async with pool:
            for i in range(n_requests):
                arrival = SPACING_S * i + 0.5
                if clock.now() < arrival:  # else the previous request ran late: start now
                    clock.set(arrival)
                messages = [text_message("user", f"request {i}: " + "x" * (i * 7 % 300))]
                try:
                    r = await pool.chat(messages, max_tokens=16 + i % 5, request_id=f"r{i:03d}")
                except LLMPoolError as exc:
                    d = exc.decision  # type: ignore[attr-defined]
                    planned = tuple(a.provider for a in d.attempts)
                    traces.append((d.route, planned, _attempts(tuple(exc.attempts)),
                                   failure_label(exc), None, clock.now()))  # fmt: skip
                else:
                    planned = tuple(a.provider for a in r.decision.attempts)
                    traces.append((r.decision.route, planned, _attempts(r.attempts), "ok",
                                   r.provider, clock.now()))  # fmt: skip
        return traces

    return config, traffic, asyncio.run(main())


def _simulated(
    config_path: Path, traffic: Path, scenario: dict[str, Any] = SCENARIO
) -> list[Trace]:
    config = load_config(config_path)
    policy = Policy.from_text(POLICY, "p.policy", config=config)
    zero = LatencyModel(0.0, 0.0, math.inf, "zero: the emulator answers at once")
    models = {name: replace(m, latency=zero) for name, m in default_models(config).items()}
    traces: list[Trace] = []
    ends: dict[str, int] = {}

    def trace(rid: str, decision: Any, attempts: tuple[Any, ...], outcome: str,
              served: str | None) -> None:  # fmt: skip
        planned = tuple(a.provider for a in decision.attempts)
        traces.append((decision.route, planned, _attempts(attempts), outcome, served, 0.0))
        ends[rid] = len(traces) - 1

    sim = Simulator(policy, config, scenario=scenario_from_json(scenario), models=models,
                    trace=trace)  # fmt: skip
    result = sim.run(read_traffic(traffic, validate=True))
    for i, rid in enumerate(result.ids):
        k = ends[rid]
        traces[k] = (*traces[k][:5], result.finished_at[i])
    order = {rid: i for i, rid in enumerate(result.ids)}
    return [traces[ends[rid]] for rid in sorted(ends, key=order.__getitem__)]


def test_scripted_scenario_live_and_simulated_agree_request_by_request(
    emulator: Emulator, emulator_clock: ManualClock, tmp_path: Path
) -> None:
    config, traffic, live = _live(emulator, emulator_clock, tmp_path)
    simulated = _simulated(config, traffic)
    assert len(live) == len(simulated) == N_REQUESTS
    t0 = 0.5  # the first arrival: the simulator's time 0
    for i, (a, b) in enumerate(zip(live, simulated, strict=True)):
        assert a[:5] == b[:5], f"request {i} (t={SPACING_S * i + 0.5}s): live {a} != sim {b}"
        assert abs((a[5] - t0) - b[5]) <= TOLERANCE_S, f"request {i} ended at different times"
    # the scenario did what it says (in both runs, as they are equal)
    served = [t[4] for t in live]
    assert {t[3] for t in live} == {"ok"}  # the backup took everything the primary could not
    assert served[:20] == ["primary"] * 20  # before the outage (t < 40 s)
    assert served[20:56] == ["backup"] * 36  # the outage opened the breaker: traffic shifted
    out_of_plan = [i for i in range(20, 56) if live[i][1] == ("backup",)]
    assert len(out_of_plan) > 25  # `skip when breaker.open` took the primary out of the plan
    probes = [i for i in range(22, 56) if live[i][1][0] == "primary"]
    assert probes and all(live[i][2][0][:2] == ("primary", "server_error") for i in probes)
    assert served[56:70] == ["primary"] * 14  # after the outage: a probe succeeded, back
    storm = live[70:79]  # 140 s .. 160 s: 429s with retry-after 3 s, cool-downs, failover
    assert all(t[4] == "backup" for t in storm)
    assert any(("primary", "rate_limited", 429, False, "") in t[2] for t in storm)
    assert any(("primary", None, None, True, "cool_down") in t[2] for t in storm)
    assert served[79:] == ["primary"] * (N_REQUESTS - 79)  # the storm is over
    assert json.loads(traffic.read_text().splitlines()[0])["id"] == "r000"


def test_a_long_retry_after_fails_over_at_once_live_and_simulated(
    emulator: Emulator, emulator_clock: ManualClock, tmp_path: Path
) -> None:
    """A 429 storm whose Retry-After (60 s) is longer than the policy waits (20 s): live and
    simulated, the backup answers every request at its arrival: no request sleeps toward a
    retry the cool-down would refuse (issue 11; before, each such request took 20 s)."""
    storm = (Phase(seconds=(20.0, 30.0), faults={"rate_limited": 1.0}, name="storm"),)
    config, traffic, live = _live(
        emulator, emulator_clock, tmp_path, retry_after=60.0, phases=storm, n_requests=50
    )
    scenario = {
        "name": "429 storm, retry-after 60 s",
        "events": [{"kind": "rate_limit_storm", "provider": "primary", "from": "20s",
                    "to": "30s", "probability": 1.0, "retry_after": "60s"}],
    }  # fmt: skip
    simulated = _simulated(config, traffic, scenario)
    t0 = 0.5
    for i, (a, b) in enumerate(zip(live, simulated, strict=True)):
        assert a[:5] == b[:5], f"request {i}: live {a} != sim {b}"
        arrival = SPACING_S * i
        assert abs((a[5] - t0) - arrival) <= TOLERANCE_S, f"live request {i} waited"
        assert abs(b[5] - arrival) <= TOLERANCE_S, f"simulated request {i} waited"
    served = [t[4] for t in live]
    assert served[:10] == ["primary"] * 10
    assert live[10][2] == (
        ("primary", "rate_limited", 429, False, ""),
        ("backup", None, 200, False, ""),
    )
    # the cool-down runs from 20.5 s to 80.5 s: the gate refuses the primary, the backup serves
    assert all(t[4] == "backup" and t[2][0][3:] == (True, "cool_down") for t in live[11:40])
    assert served[41:] == ["primary"] * 9
