"""`Behaviour(...)` and `Phase(...)` check their input at construction (issue 12, emulator
item 3): the documented JSON forms work in the constructor too, and anything else is a
BehaviourError naming the field — never a handler that answers 500 at the first request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpool_policy.emulator import Behaviour, BehaviourError, Emulator, Phase
from llmpool_policy.emulator.profiles import PROFILES, LatencyProfile

from .conftest import post

JSON_LATENCY = {"ttft_p50": 0.001, "ttft_p95": 0.002, "tokens_per_s": 100000}


def test_the_documented_json_latency_works_in_the_constructor(emulator: Emulator) -> None:
    behaviour = Behaviour(latency=JSON_LATENCY)  # type: ignore[arg-type]
    provider = emulator.add("oa", "openai", behaviour=behaviour)
    assert provider.profile() == LatencyProfile(0.001, 0.002, 100000.0)
    client = openai.OpenAI(
        api_key=provider.api_key, base_url=provider.base_url, max_retries=0, timeout=5.0
    )
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}]
    )
    assert reply.choices[0].finish_reason == "stop"
    assert emulator.journal.count("oa", status=500) == 0


def test_json_forms_everywhere_equal_the_typed_ones() -> None:
    typed = Behaviour(
        latency=PROFILES["groq"],
        models=("a", "b"),
        phases=(Phase(requests=(0, 5), faults={"server_error": 1.0}, name="bad"),),
    )
    loose = Behaviour(
        latency="groq",  # type: ignore[arg-type]
        models=["a", "b"],  # type: ignore[arg-type]
        phases=[{"name": "bad", "requests": [0, 5], "faults": {"server_error": 1}}],  # type: ignore[arg-type]
    )
    assert loose == typed
    assert Behaviour(requests_per_minute=60.0).requests_per_minute == 60  # type: ignore[arg-type]


def test_set_behaviour_checks_too(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("oa", "openai")
    provider.set_behaviour(latency=JSON_LATENCY)
    assert provider.profile().ttft_p95 == 0.002
    with pytest.raises(BehaviourError, match="retry_after"):
        provider.set_behaviour(retry_after="soon")
    assert post(client, provider).status_code == 200


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"latency": {"ttft_p50": "fast"}}, r"latency\.ttft_p50: expected a finite number"),
        ({"latency": {"p50": 0.2}}, "latency: unknown key 'p50'"),
        ({"latency": 0.2}, "latency: expected a profile name"),
        ({"latency": "warp"}, "unknown profile 'warp'"),
        ({"latency": {"ttft_p50": 0.5, "ttft_p95": 0.1}}, "ttft_p50 <= ttft_p95"),
        ({"latency_scale": "2"}, "latency_scale: expected a finite number"),
        ({"latency_scale": float("nan")}, "latency_scale"),
        ({"faults": ["server_error"]}, "faults: expected an object"),
        ({"faults": {"server_error": "often"}}, r"faults\.server_error"),
        ({"requests_per_minute": "60"}, "requests_per_minute: expected an integer"),
        ({"requests_per_minute": 1.5}, "requests_per_minute: expected an integer"),
        ({"retry_after": None}, "retry_after: expected a finite number"),
        ({"context_window": "8k"}, "context_window: expected an integer"),
        ({"models": "gpt-4o"}, "models: expected a list"),
        ({"models": [1, 2]}, "models: expected a list of strings"),
        ({"phases": {"requests": [0, 1]}}, "phases: expected a list"),
        ({"phases": ["outage"]}, r"phases\[0\]: expected a Phase"),
        ({"phases": [{"requests": [0, "x"]}]}, r"phases\[0\]\.requests\[1\]"),
    ],
)
def test_bad_input_fails_at_construction(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BehaviourError, match=message):
        Behaviour(**changes)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"requests": "0-5"}, "requests: expected"),
        ({"seconds": [0, float("inf")]}, r"seconds\[1\]"),
        ({"requests": [0, 5], "faults": {"hang": "1"}}, r"faults\.hang"),
        ({"requests": [0, 5], "latency_scale": -1}, "latency_scale must be"),
        ({"requests": [0, 5], "name": 3}, "name: expected a string"),
    ],
)
def test_bad_phase_fails_at_construction(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BehaviourError, match=message):
        Phase(**changes)


# Any JSON-ish value, plus the near misses a user writes.
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 10**6) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=6,
) | st.sampled_from(
    [
        JSON_LATENCY,
        {"ttft_p50": 0.0},
        {"server_error": 0.5},
        {"rate_limited": 1},
        [{"requests": [0, None], "faults": {"server_error": 1}}],
        ["m"],
        "groq",
    ]
)
_FIELDS = (
    "latency",
    "latency_scale",
    "faults",
    "requests_per_minute",
    "retry_after",
    "context_window",
    "models",
    "phases",
)


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Emulator, httpx.Client]]:
    with Emulator(latency_scale=0.0) as emu, httpx.Client(timeout=2.0) as client:
        emu.add("p", "openai")
        yield emu, client


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(_FIELDS), value=_values)
def test_a_behaviour_that_constructs_never_makes_the_handler_fail(
    shared: tuple[Emulator, httpx.Client], field: str, value: object
) -> None:
    emu, client = shared
    try:
        behaviour = Behaviour(**{field: value})
    except BehaviourError:
        return
    provider = emu["p"]
    provider.set_behaviour(behaviour)
    provider.reset()
    try:
        response = post(client, provider, model="m")
    except httpx.TransportError:  # a scripted hang or reset: a fault, not a crash
        return
    finally:
        provider.set_behaviour(Behaviour())
    assert response.status_code != 500 or provider.journal.entries("p")[0].fault is not None
