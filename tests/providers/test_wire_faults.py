"""The wire-fault matrix (issue 13, items 1, 2, 6): every fault a raw server can send, on both
transports, alone and with a healthy failover target (the emulator) — every request ends typed,
within its bound plus 100 ms of wall clock, never a hang, never a raw exception.

The bound is the route's per-attempt timeout (300 ms), a wall-clock bound on the whole exchange
(connect, send, headers, body): a server trickling a byte every 50 ms is cut at 300 ms, where
httpx's own between-bytes timeout let it run for seconds.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import LLMPoolError, ProviderError
from llmpool_policy.messages import text_message
from llmpool_policy.pool import LLMPool

from .fault_server import FaultServer

HAVE_AIOHTTP = importlib.util.find_spec("httpx_aiohttp") is not None
TIMEOUT_S = 0.3
SLACK_S = 0.1

# fault -> the error class it ends in (docs/providers.md, "Wire faults")
EXPECTED = {
    "trickle_headers": "timeout",
    "trickle_body": "timeout",
    "hang_before_headers": "timeout",
    "hang_mid_body": "timeout",
    "close_before_headers": "connection",
    "reset_mid_body": "connection",
    "truncated_body": "connection",
    "invalid_chunk_size": "connection",
    "bad_gzip": "invalid_response",
    "garbage_status_line": "connection",
}


def _aiohttp() -> httpx.AsyncBaseTransport:
    from httpx_aiohttp import AiohttpTransport

    transport: httpx.AsyncBaseTransport = AiohttpTransport()
    return transport


TRANSPORTS = [
    pytest.param(httpx.AsyncHTTPTransport, id="httpx"),
    pytest.param(
        _aiohttp,
        id="aiohttp",
        marks=pytest.mark.skipif(not HAVE_AIOHTTP, reason="httpx-aiohttp is not installed"),
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    running = FaultServer(tick_s=0.05).start()
    yield running
    running.stop()


def _policy(tmp_path: Path, failover: bool) -> Path:
    rule = "failover on timeout, connection, invalid_response" if failover else "failover off"
    path = tmp_path / "p.policy"
    path.write_text(
        'policy "wire"\nlimits { deadline 2s }\n'
        f"route d {{ use all order by priority retry {{ attempts 1 }} timeout 300ms {rule} }}\n"
    )
    return path


def _run(
    config: dict[str, object], policy: Path, tmp_path: Path, make: Callable[[], object]
) -> tuple[str | LLMPoolError, float]:
    (tmp_path / "c.json").write_text(json.dumps(config))

    async def main() -> tuple[str | LLMPoolError, float]:
        transport = make()
        assert isinstance(transport, httpx.AsyncBaseTransport)
        pool = LLMPool(tmp_path / "c.json", policy, transport=transport, check_interval_s=0)
        async with pool:
            started = time.perf_counter()
            try:
                # the outer wait_for only turns a hang into a failure here, never fires otherwise
                response = await asyncio.wait_for(
                    pool.chat([text_message("user", "hi")], max_tokens=5), 10
                )
                outcome: str | LLMPoolError = response.provider
                attempts = [a.error_class for a in response.attempts]
            except LLMPoolError as exc:
                outcome, attempts = exc, [getattr(a, "error_class", None) for a in exc.attempts]
            elapsed = time.perf_counter() - started
        _run.attempts = attempts  # type: ignore[attr-defined]
        return outcome, elapsed

    return asyncio.run(main())


def _faulty(server: FaultServer) -> dict[str, object]:
    return {"name": "faulty", "type": "openai-compatible", "base_url": server.url,
            "model": "m", "priority": 1}  # fmt: skip


@pytest.mark.parametrize("make", TRANSPORTS)
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_a_wire_fault_ends_typed_within_its_bound(
    server: FaultServer, tmp_path: Path, make: Callable[[], object], fault: str
) -> None:
    server.fault = fault
    outcome, elapsed = _run({"providers": [_faulty(server)]}, _policy(tmp_path, False),
                            tmp_path, make)  # fmt: skip
    assert isinstance(outcome, ProviderError), outcome
    assert outcome.error_class == EXPECTED[fault]
    assert elapsed <= TIMEOUT_S + SLACK_S, elapsed


@pytest.mark.parametrize("make", TRANSPORTS)
@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_a_wire_fault_fails_over_to_a_healthy_provider(
    server: FaultServer,
    emulator: Emulator,
    tmp_path: Path,
    make: Callable[[], object],
    fault: str,
) -> None:
    server.fault = fault
    emulator.add("good", "openai", config={"priority": 2})
    config = emulator.config_document()
    config["providers"] = [_faulty(server), *config["providers"]]  # type: ignore[misc]
    outcome, elapsed = _run(config, _policy(tmp_path, True), tmp_path, make)
    assert outcome == "good", outcome
    assert _run.attempts == [EXPECTED[fault], None]  # type: ignore[attr-defined]
    assert elapsed <= TIMEOUT_S + SLACK_S + 0.2, elapsed  # + the healthy answer


@pytest.mark.parametrize("make", TRANSPORTS)
def test_the_deadline_bounds_a_trickle_too(
    server: FaultServer, tmp_path: Path, make: Callable[[], object]
) -> None:
    """A deadline shorter than the attempt timeout cuts the exchange at the deadline."""
    server.fault = "trickle_body"
    policy = tmp_path / "p.policy"
    route = "route d { use all retry { attempts 1 } timeout 5s failover off }"
    policy.write_text(f'policy "wire"\nlimits {{ deadline 200ms }}\n{route}\n')
    outcome, elapsed = _run({"providers": [_faulty(server)]}, policy, tmp_path, make)
    assert isinstance(outcome, LLMPoolError), outcome
    assert elapsed <= 0.2 + SLACK_S, elapsed


@pytest.mark.parametrize("make", TRANSPORTS)
def test_max_time_from_check_bounds_holds_against_a_trickle(
    server: FaultServer, tmp_path: Path, make: Callable[[], object]
) -> None:
    """Two trickling providers, two tries each, no deadline: the checker's worst case
    (`check --bounds`, max_time) is a guarantee at run time, within 100 ms."""
    server.fault = "trickle_body"
    policy = tmp_path / "p.policy"
    policy.write_text(
        'policy "wire"\n'
        "route d { use all order by priority\n"
        "  retry { attempts 2 on timeout backoff constant 50ms }\n"
        "  timeout 150ms failover on timeout }\n"
    )
    second = {**_faulty(server), "name": "faulty2", "priority": 2}
    config: dict[str, object] = {"providers": [_faulty(server), second]}
    (tmp_path / "c.json").write_text(json.dumps(config))
    pool = LLMPool(tmp_path / "c.json", policy, check_interval_s=0)
    max_time = pool.policy.checked.bounds.time.value
    assert max_time == pytest.approx(2 * (150e-3 * 2 + 50e-3))
    outcome, elapsed = _run(config, policy, tmp_path, make)
    assert isinstance(outcome, ProviderError) and outcome.error_class == "timeout"
    assert _run.attempts == ["timeout"] * 4  # type: ignore[attr-defined]
    assert elapsed <= max_time + SLACK_S, (elapsed, max_time)
