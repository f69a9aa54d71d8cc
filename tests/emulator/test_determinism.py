"""Seeded behaviour: the same seed gives the same faults and latencies, request by request;
phases switch by request index and by the injected clock; behaviour changes at run time."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from llmpool_policy.emulator import Behaviour, BehaviourError, Clock, Emulator, Phase
from llmpool_policy.metrics import ManualClock

from .conftest import chat_body, post

MIX = {"rate_limited": 0.1, "server_error": 0.1, "overloaded": 0.1, "malformed_body": 0.1,
       "context_window": 0.05, "auth": 0.05}  # fmt: skip


def _faults(seed: int, n: int = 60) -> tuple[list[str | None], list[float]]:
    with Emulator(latency_scale=0.0) as emu, httpx.Client() as client:
        provider = emu.add("p", "anthropic", seed=seed, behaviour=Behaviour(faults=MIX))
        for _ in range(n):
            post(client, provider)
        entries = emu.journal.entries("p")
    # With scale 0 every delay is 0; the latencies are checked through the profile below.
    return [e.fault for e in entries], [e.delay for e in entries]


def test_same_seed_same_fault_sequence() -> None:
    first, _ = _faults(7)
    second, _ = _faults(7)
    assert first == second
    assert len(set(first)) >= 5  # the mix really is drawn
    assert _faults(8)[0] != first


def test_the_nth_request_gets_its_fault_whatever_the_arrival_order(emulator: Emulator) -> None:
    provider = emulator.add("p", "openai", seed=3, behaviour=Behaviour(faults=MIX))

    async def burst() -> None:
        async with httpx.AsyncClient() as client:
            await asyncio.gather(
                *(
                    client.post(provider.url, headers=provider.headers(), json=chat_body(provider))
                    for _ in range(40)
                )
            )

    asyncio.run(burst())
    concurrent = {e.index: e.fault for e in emulator.journal.entries("p")}
    sequential, _ = _faults_openai(3, 40)
    assert [concurrent[i] for i in range(40)] == sequential


def _faults_openai(seed: int, n: int) -> tuple[list[str | None], None]:
    with Emulator(latency_scale=0.0) as emu, httpx.Client() as client:
        provider = emu.add("p", "openai", seed=seed, behaviour=Behaviour(faults=MIX))
        for _ in range(n):
            post(client, provider)
        return [e.fault for e in emu.journal.entries("p")], None


def test_fault_rates_are_respected_roughly(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add(
        "p", "cohere", seed=11, behaviour=Behaviour(faults={"server_error": 0.3})
    )
    for _ in range(300):
        post(client, provider)
    errors = emulator.journal.count("p", fault="server_error")
    assert 60 <= errors <= 120


def test_latency_follows_the_profile_and_scale(emulator: Emulator, client: httpx.Client) -> None:
    """Latency scale 1e-3 keeps real waiting to a few ms while the planned delays keep the
    profile's shape (the journal records each planned delay)."""
    emulator.latency_scale = 1.0
    provider = emulator.add("p", "groq", seed=1, behaviour=Behaviour(latency_scale=1e-3))
    for _ in range(40):
        post(client, provider)
    delays = sorted(e.delay * 1000 for e in emulator.journal.entries("p"))  # back to seconds
    median = delays[len(delays) // 2]
    profile = provider.profile()
    output = profile.output_time(20)  # replies here are ~18-20 tokens
    assert profile.ttft_p50 * 0.7 < median - output * 0.5 < profile.ttft_p50 * 1.5


def test_phases_by_request_index(emulator: Emulator, client: httpx.Client) -> None:
    degrade = Phase(requests=(3, 6), faults={"server_error": 1.0}, name="degrade")
    provider = emulator.add("p", "openai", behaviour=Behaviour(phases=(degrade,)))
    statuses = [post(client, provider).status_code for _ in range(8)]
    assert statuses == [200, 200, 200, 500, 500, 500, 200, 200]


class TestPhasesOverTime:
    @pytest.fixture
    def emulator_clock(self) -> Clock:
        return ManualClock(50.0)

    def test_outage_between_t1_and_t2(
        self, emulator: Emulator, emulator_clock: ManualClock, client: httpx.Client
    ) -> None:
        outage = Phase(seconds=(10, 20), faults={"service_unavailable": 1.0})
        provider = emulator.add("p", "anthropic", behaviour=Behaviour(phases=(outage,)))
        seen = []
        for t in (0, 9.9, 10, 15, 19.99, 20, 30):
            emulator_clock.set(50.0 + t)
            seen.append(post(client, provider).status_code)
        assert seen == [200, 200, 503, 503, 503, 200, 200]

    def test_open_ended_and_combined_windows(
        self, emulator: Emulator, emulator_clock: ManualClock, client: httpx.Client
    ) -> None:
        phase = Phase(requests=(2, None), seconds=(5, None), faults={"overloaded": 1.0})
        provider = emulator.add("p", "anthropic", behaviour=Behaviour(phases=(phase,)))
        seen = [post(client, provider).status_code for _ in range(3)]
        emulator_clock.advance(5)
        seen += [post(client, provider).status_code for _ in range(2)]
        assert seen == [200, 200, 200, 529, 529]


def test_set_behaviour_at_run_time(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai")
    assert post(client, provider).status_code == 200
    provider.set_behaviour(faults={"server_error": 1.0})
    assert post(client, provider).status_code == 500
    provider.set_behaviour(Behaviour())
    assert post(client, provider).status_code == 200
    with pytest.raises(BehaviourError):
        provider.set_behaviour(faults={"server_error": 0.7, "hang": 0.7})


def test_reset_starts_over(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(faults=MIX), seed=5)
    first = [post(client, provider).status_code for _ in range(20)]
    provider.reset()
    assert len(emulator.journal.entries("p")) == 0
    assert [post(client, provider).status_code for _ in range(20)] == first


def test_draws_are_stable_across_python_runs() -> None:
    """String seeds hash with sha512, not with PYTHONHASHSEED: fixed across processes."""
    assert random.Random("7:0").random() == 0.7014016190307873
