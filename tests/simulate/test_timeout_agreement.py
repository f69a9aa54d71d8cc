"""The executor and the simulator read an attempt's timeout the same way: a wall-clock bound
on the whole attempt (issue 13, item 1). Live, a provider trickling its answer a byte every
50 ms over real HTTP is cut at the 150 ms timeout and the request fails over; simulated, a
provider slower than the timeout is a `timeout` at exactly 150 ms and fails over the same way.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx

from llmpool_policy.config import load_config
from llmpool_policy.emulator import Emulator
from llmpool_policy.messages import text_message
from llmpool_policy.policy import Policy
from llmpool_policy.pool import LLMPool
from llmpool_policy.simulate import LatencyModel, Simulator, default_models, read_traffic
from tests.providers.fault_server import FaultServer

POLICY = """policy "timeouts"
limits { deadline 2s }
route d { use all order by priority retry { attempts 1 } timeout 150ms
  failover on timeout }
"""
TIMEOUT_S = 0.15


def test_live_and_simulated_agree_on_what_a_timeout_is(emulator: Emulator, tmp_path: Path) -> None:
    emulator.add("backup", "openai", config={"priority": 2})
    server = FaultServer("trickle_body", tick_s=0.05).start()
    try:
        config = emulator.config_document()
        slow = {"name": "slow", "type": "openai-compatible", "base_url": server.url,
                "model": "m", "priority": 1}  # fmt: skip
        config["providers"] = [slow, *config["providers"]]  # type: ignore[misc]
        (tmp_path / "c.json").write_text(json.dumps(config))
        (tmp_path / "p.policy").write_text(POLICY)
        traffic = tmp_path / "traffic.jsonl"

        async def live() -> list[tuple[str, str | None, float]]:
            pool = LLMPool(tmp_path / "c.json", tmp_path / "p.policy", check_interval_s=0,
                           transport=httpx.AsyncHTTPTransport(), record=traffic)  # fmt: skip
            async with pool:
                response = await pool.chat([text_message("user", "hi")], max_tokens=5)
            return [(a.provider, a.error_class, a.latency_s) for a in response.attempts]

        live_attempts = asyncio.run(live())
    finally:
        server.stop()

    loaded = load_config(tmp_path / "c.json")
    policy = Policy.from_text(POLICY, "p.policy", config=loaded)
    models = default_models(loaded)
    zero = LatencyModel(0.0, 0.0, math.inf, "zero")
    models = {name: replace(m, latency=zero) for name, m in models.items()}
    models["slow"] = replace(models["slow"], latency=LatencyModel(5.0, 5.0, math.inf, "slow"))
    seen: list[tuple[str, str | None, float]] = []

    def trace(rid: str, decision: Any, attempts: tuple[Any, ...], outcome: str,
              served: str | None) -> None:  # fmt: skip
        seen.extend((a.provider, a.error_class, a.latency_s) for a in attempts if not a.skipped)

    Simulator(policy, loaded, models=models, trace=trace).run(read_traffic(traffic))

    assert [a[:2] for a in live_attempts] == [a[:2] for a in seen]
    assert [a[:2] for a in seen] == [("slow", "timeout"), ("backup", None)]
    assert seen[0][2] == TIMEOUT_S  # the simulator: exactly the timeout
    assert TIMEOUT_S <= live_attempts[0][2] <= TIMEOUT_S + 0.1  # live: the timeout, in wall clock
