"""The journal (redacted, queryable, clearable), the provider config.json writer, and the
emulator config (EMU.json) reader."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from llmpool_policy.config import load_config
from llmpool_policy.emulator import REDACTED, Behaviour, BehaviourError, Emulator, Phase
from llmpool_policy.emulator.journal import redact_headers

from .conftest import chat_body, post


def test_journal_redacts_keys(emulator: Emulator, client: httpx.Client) -> None:
    openai = emulator.add("o", "openai", api_key="sk-very-secret-1")
    anthropic = emulator.add("a", "anthropic", api_key="sk-ant-very-secret-2")
    post(client, openai)
    post(client, anthropic)
    client.post(
        openai.url,
        headers={"Authorization": "Bearer sk-wrong-secret-3", "X-Custom-Token": "t0k"},
        json={},
    )
    entries = emulator.journal.entries()
    assert [e.provider for e in entries] == ["o", "a", "o"]
    assert entries[0].headers["authorization"] == REDACTED
    assert entries[1].headers["x-api-key"] == REDACTED
    assert entries[1].headers["anthropic-version"] == "2023-06-01"
    assert entries[2].headers["x-custom-token"] == REDACTED
    dumped = json.dumps([e.to_json() for e in entries]) + repr(entries)
    for secret in ("sk-very-secret-1", "sk-ant-very-secret-2", "sk-wrong-secret-3", "t0k"):
        assert secret not in dumped
    assert entries[0].body == chat_body(openai)
    assert (entries[0].status, entries[2].status) == (200, 401)


def test_redact_headers() -> None:
    assert redact_headers({"Api-Key": "k", "Cookie": "c", "Accept": "*/*"}) == {
        "api-key": REDACTED,
        "cookie": REDACTED,
        "accept": "*/*",
    }


def test_journal_queries_and_clear(emulator: Emulator, client: httpx.Client) -> None:
    a = emulator.add("a", "openai")
    b = emulator.add("b", "cohere")
    a.queue_faults("server_error")
    for provider in (a, a, b):
        post(client, provider)
    journal = emulator.journal
    assert len(journal) == 3
    assert journal.count("a") == 2
    assert journal.count(fault="server_error") == 1
    assert journal.count(status=200) == 2
    assert journal.faults("a") == ["server_error", None]
    assert [e.index for e in journal.entries("a")] == [0, 1]
    assert journal.entries(path="/v2/chat")[0].provider == "b"
    assert all(e.time > 0 and e.wall > 1e9 for e in journal)
    journal.clear("a")
    assert [e.provider for e in journal] == ["b"]
    journal.clear()
    assert len(journal) == 0


def test_config_document_loads_as_our_provider_config(emulator: Emulator, tmp_path: Path) -> None:
    for kind in ("openai", "anthropic", "cohere", "groq", "together"):
        emulator.add(f"emu-{kind}", kind, config={"priority": 2})
    emulator.add("emu-local", "openai-compatible", api_key=None)
    path = emulator.write_config(
        tmp_path / "config.json", overrides={"emu-openai": {"priority": 1}}
    )
    config = load_config(str(path))
    assert [p.name for p in config.providers] == [p.name for p in emulator]
    for provider in emulator:
        loaded = config.provider(provider.name)
        assert loaded.base_url == provider.base_url
        assert loaded.model == provider.model
        assert loaded.type == provider.type
    assert config.provider("emu-openai").priority == 1
    assert config.provider("emu-groq").priority == 2
    assert config.provider("emu-groq").base_url.endswith("/openai/v1")


def test_config_document_needs_a_running_emulator() -> None:
    emu = Emulator()
    emu.add("p")
    with pytest.raises(RuntimeError, match="not started"):
        emu.config_document()


EMU = {
    "seed": 10,
    "latency_scale": 0,
    "providers": [
        {"name": "openai-main", "type": "openai", "api_key": "sk-emu-1", "model": "gpt-4o",
         "behaviour": {"faults": {"server_error": 0.1}, "requests_per_minute": 100,
                       "latency": "openai/gpt-4-turbo",
                       "phases": [{"name": "outage", "requests": [5, 10],
                                   "faults": {"service_unavailable": 1}}]}},
        {"name": "claude", "type": "anthropic", "seed": 99,
         "behaviour": {"latency": {"ttft_p50": 0.1, "ttft_p95": 0.2, "tokens_per_s": 50}}},
        {"name": "local", "type": "openai-compatible", "api_key": None, "path_prefix": "/api",
         "config": {"priority": 3}},
    ],
}  # fmt: skip


def test_from_config(tmp_path: Path) -> None:
    path = tmp_path / "emu.json"
    path.write_text(json.dumps(EMU))
    emu = Emulator.from_config(path)
    assert emu.latency_scale == 0
    openai, claude, local = emu
    assert (openai.seed, claude.seed, local.seed) == (10, 99, 12)
    assert openai.api_key == "sk-emu-1" and local.api_key is None
    assert openai.behaviour.requests_per_minute == 100
    assert openai.behaviour.phases == (
        Phase(requests=(5, 10), faults={"service_unavailable": 1.0}, name="outage"),
    )
    assert openai.profile().ttft_p50 == 0.5567
    assert claude.profile().tokens_per_s == 50
    assert Behaviour.from_json(openai.behaviour.to_json()) == openai.behaviour
    with emu, httpx.Client() as client:
        assert post(client, local).status_code == 200
        assert local.url.endswith("/api/chat/completions")
        assert emu.config_document()["providers"][2]["priority"] == 3  # type: ignore[index]


def _one(**spec: object) -> dict[str, object]:
    return {"providers": [{"name": "x", **spec}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"providers": []}, "non-empty list"),
        (_one(typo=1), "unknown key 'typo'"),
        (_one(type="mystery"), "unknown type 'mystery'"),
        (_one(behaviour={"faults": {"gremlins": 0.1}}), "unknown fault"),
        (_one(behaviour={"faults": {"hang": 0.6, "reset": 0.6}}), "more than 1"),
        (_one(behaviour={"latency": "warp"}), "unknown profile"),
        (_one(behaviour={"phases": [{"faults": {}}]}), "requests"),
        (_one(behaviour={"phases": [{"requests": [5, 2]}]}), "ends before"),
        (_one(behaviour={"requests_per_minute": -1}), ">= 0"),
        ({"providers": [{"name": "x"}, {"name": "x"}]}, "already exists"),
        (_one(path_prefix="v1/"), "path_prefix"),
        ({"latency_scale": -1, "providers": [{"name": "x"}]}, "latency_scale"),
    ],
)
def test_bad_emulator_configs(document: dict[str, object], message: str) -> None:
    with pytest.raises(BehaviourError, match=message):
        Emulator.from_config(document)


def test_the_documented_example_loads() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "emulator.md").read_text()
    block = text.split("```json\n", 1)[1].split("```", 1)[0]
    emu = Emulator.from_config(json.loads(block), latency_scale=0)
    assert [p.name for p in emu] == ["openai-main", "claude", "groq-llama", "local"]
    assert emu["openai-main"].behaviour.phases[1].seconds == (90.0, 120.0)
    assert emu["claude"].seed == 7 and emu["groq-llama"].seed == 44
