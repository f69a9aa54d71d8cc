"""Rate-limit accounting for cancelled requests (issue 13, item 5): a request that went out
counts against the provider's limit whether or not its answer was read; only an attempt never
sent gives its slot back. Real cancellations (asyncio.wait_for), real HTTP to the emulator, on
both transports."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import NoProviderAvailableError
from llmpool_policy.messages import text_message
from llmpool_policy.pool import LLMPool

from .test_transport import TRANSPORTS

POLICY = 'policy "t"\nroute d { use all retry { attempts 1 } timeout 2s failover off }\n'
HI = [text_message("user", "hi")]


def write(emulator: Emulator, tmp_path: Path) -> tuple[str, str]:
    emulator.add("a", "openai", config={"requests_per_minute": 3})
    emulator["a"].set_behaviour(faults={"hang": 1.0})  # reads the request, never answers
    config = emulator.write_config(tmp_path / "c.json")
    (tmp_path / "p.policy").write_text(POLICY)
    return str(config), str(tmp_path / "p.policy")


async def cancelled_mid_call(pool: LLMPool, n: int) -> None:
    """``n`` requests, each given up by asyncio.wait_for after the provider had time to read it."""

    async def one(i: int) -> None:
        with contextlib.suppress(TimeoutError, NoProviderAvailableError):
            await asyncio.wait_for(pool.chat([text_message("user", str(i))], max_tokens=5), 0.5)

    await asyncio.gather(*(one(i) for i in range(n)))


@pytest.mark.parametrize("make", TRANSPORTS)
def test_a_request_cancelled_after_it_was_sent_keeps_its_slot(
    emulator: Emulator, tmp_path: Path, make: Callable[[], httpx.AsyncBaseTransport]
) -> None:
    config, policy = write(emulator, tmp_path)

    async def main() -> tuple[int | None, NoProviderAvailableError]:
        async with LLMPool(config, policy, transport=make(), check_interval_s=0) as pool:
            await cancelled_mid_call(pool, 20)
            await cancelled_mid_call(pool, 20)  # main: 20 more reached the provider
            remaining = pool.stats()["a"].requests_remaining_minute
            with pytest.raises(NoProviderAvailableError) as refused:
                await pool.chat(HI, max_tokens=5)
            return remaining, refused.value

    remaining, refused = asyncio.run(main())
    assert emulator.journal.count("a") == 3  # main: 40, every one cancelled and handed back
    assert remaining == 0
    assert refused.reasons == {"a": "rpm"}


class NeverSends(httpx.AsyncBaseTransport):
    """A transport stuck before it writes anything (a connect that never completes): it never
    reads the request's body."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_request_cancelled_before_it_was_sent_gives_its_slot_back(
    emulator: Emulator, tmp_path: Path
) -> None:
    config, policy = write(emulator, tmp_path)

    async def main() -> tuple[int | None, int]:
        async with LLMPool(config, policy, transport=NeverSends(), check_interval_s=0) as pool:
            await cancelled_mid_call(pool, 3)
            during = pool.metrics.provider("a").in_flight
            return pool.stats()["a"].requests_remaining_minute, during

    remaining, in_flight = asyncio.run(main())
    assert remaining == 3 and in_flight == 0
