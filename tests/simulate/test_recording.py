"""Recording from the live pool (``LLMPool(..., record=...)``) against the emulator over HTTP:
one schema-valid traffic record per request, in arrival order, bodies only when asked, never a
key; and the file replays in the simulator."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import LLMPoolError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool
from llmpool_policy.simulate import read_traffic

from .conftest import ROOT

MARKER = "sk-MARKER-never-recorded-0123456789"
SCHEMA = Draft202012Validator(
    json.loads((ROOT / "schemas" / "traffic-record.schema.json").read_text())
)
POLICY = 'policy "t"\nroute d { use all order by priority failover on server_error }'


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0, wall_offset=1_700_000_000.0)


def _setup(emulator: Emulator, tmp: Path) -> tuple[Path, Path]:
    emulator.add("a", "openai", api_key=MARKER, config={"priority": 1})
    emulator.add("b", "anthropic", api_key=MARKER + "-b", config={"priority": 2})
    config = emulator.write_config(tmp / "config.json")
    policy = tmp / "p.policy"
    policy.write_text(POLICY)
    return config, policy


def _pool(config: Path, policy: Path, clock: ManualClock, **kw: Any) -> LLMPool:
    async def sleep(seconds: float) -> None:  # virtual time: a sleep advances the clock
        clock.advance(seconds)
        await asyncio.sleep(0)

    return LLMPool(str(config), str(policy), clock=clock, sleep=sleep, check_interval_s=0, **kw)


def _run(pool: LLMPool, clock: ManualClock, emulator: Emulator) -> list[str]:
    async def main() -> list[str]:
        outcomes = []
        async with pool:
            msgs = [text_message("system", "Be brief."), text_message("user", "hello there")]
            meta = {"tenant": "acme", "team": "x"}
            r = await pool.chat(
                msgs, max_tokens=20, tags=["t1"], user="u-1", metadata=meta, request_id="one"
            )
            outcomes.append(r.provider)
            clock.advance(2.0)
            emulator["a"].set_behaviour(faults={"server_error": 1.0})
            r = await pool.chat(msgs, max_tokens=20, model="fast", temperature=0.5, seed=7)
            outcomes.append(r.provider)
            clock.advance(2.0)
            emulator["a"].set_behaviour(faults={"auth": 1.0})
            emulator["b"].set_behaviour(faults={"auth": 1.0})
            try:
                await pool.chat([text_message("user", f"please fail {MARKER}")], max_tokens=5)
            except LLMPoolError as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    return asyncio.run(main())


def test_recorded_lines_follow_the_schema_and_say_what_happened(
    emulator: Emulator, emulator_clock: ManualClock, tmp_path: Path
) -> None:
    config, policy = _setup(emulator, tmp_path)
    out = tmp_path / "traffic.jsonl"
    pool = _pool(config, policy, emulator_clock, record=out)
    assert _run(pool, emulator_clock, emulator) == ["a", "b", "ProviderError"]
    text = out.read_text()
    assert MARKER not in text and "sk-" not in text
    assert "hello there" not in text and "please fail" not in text  # no bodies by default
    lines = [json.loads(line) for line in text.splitlines()]
    for line in lines:
        SCHEMA.validate(line)
    one, two, three = lines
    assert one["id"] == "one" and one["ts"] == 1_700_000_000.0
    assert (one["tenant"], one["user"], one["tags"]) == ("acme", "u-1", ["t1"])
    assert one["metadata"] == {"tenant": "acme", "team": "x"}
    assert (one["max_tokens"], one["messages"]) == (20, 2)
    assert one["input_tokens"] > 0 and one["output_tokens"] > 0
    assert [(a["provider"], a["error_class"], a["status"]) for a in one["attempts"]] == [
        ("a", None, 200)
    ]
    assert one["attempts"][0]["output_tokens"] == one["output_tokens"]
    assert two["id"] == "req-1" and two["ts"] == pytest.approx(1_700_000_002.0)
    assert (two["model"], two["temperature"], two["seed"]) == ("fast", 0.5, 7)
    sent = [(a["provider"], a["error_class"]) for a in two["attempts"]]
    assert sent[-1] == ("b", None) and len(sent) >= 3  # a's retries, then b
    assert set(sent[:-1]) == {("a", "server_error")}
    assert "output_tokens" not in three and {a["error_class"] for a in three["attempts"]} == {
        "auth"
    }
    assert three["ts"] >= two["ts"]
    # the file reads back as traffic (and would replay in the simulator)
    records = list(read_traffic(out, validate=True))
    assert [r.id for r in records] == ["one", "req-1", "req-2"]


def test_bodies_only_when_asked_and_never_a_key(
    emulator: Emulator, emulator_clock: ManualClock, tmp_path: Path
) -> None:
    config, policy = _setup(emulator, tmp_path)
    stream = io.StringIO()
    pool = _pool(config, policy, emulator_clock, record=stream, record_bodies=True)
    _run(pool, emulator_clock, emulator)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    for line in lines:
        SCHEMA.validate(line)
    assert lines[0]["bodies"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hello there"},
    ]
    # the caller's own text is theirs to record; the configured keys never are
    assert "please fail" in lines[2]["bodies"][0]["content"]
    assert stream.getvalue().count(MARKER) == 1  # only inside the caller's message text
    assert MARKER + "-b" not in stream.getvalue()


def test_records_stay_in_arrival_order_when_requests_overlap(tmp_path: Path) -> None:
    from llmpool_policy.messages import ChatRequest
    from llmpool_policy.recorder import TrafficRecorder
    from llmpool_policy.runtime import AttemptRecord

    out = io.StringIO()
    rec = TrafficRecorder(out)
    req = ChatRequest(messages=(text_message("user", "x"),))
    kw: dict[str, Any] = {"tags": (), "metadata": {}, "model": None, "seed": None}
    h1 = rec.begin(1.0, req, request_id="first", **kw)
    h2 = rec.begin(2.0, req, request_id="second", **kw)
    h3 = rec.begin(3.0, req, request_id="third", **kw)
    ok = AttemptRecord("p", "d", 1, None, 200, 0.5)
    rec.end(h3, attempts=[ok], input_tokens=1, output_tokens=2)
    rec.end(h2, attempts=[ok], input_tokens=1, output_tokens=2)
    assert out.getvalue() == ""  # "first" is still in flight
    rec.abandon(h1)  # cancelled: never written, and no longer holds the others back
    assert [json.loads(x)["id"] for x in out.getvalue().splitlines()] == ["second", "third"]
