"""Every bad version ends a reload in `reload_failed`, never an exception, while the last good
version keeps serving traffic (issue 13, item 7). Over real HTTP: the emulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock

from .harness import PoolHarness

KEY = "gsk_MARKERr8Q0123456789abcdef"


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


def _provider_with(document: dict[str, object], **changes: object) -> bytes:
    providers = document["providers"]
    assert isinstance(providers, list)
    return json.dumps({**document, "providers": [{**providers[0], **changes}]}).encode()


# name -> (the config's bytes from the good document, the code the reload must report)
BAD_CONFIGS: dict[str, tuple[Callable[[dict[str, object]], bytes], str]] = {
    "nested 5000 deep": (
        lambda d: b'{"providers": [], "x": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        "C020",
    ),
    "nested 200 deep": (
        lambda d: json.dumps({**d, "x": json.loads("[" * 200 + "]" * 200)}).encode(),
        "C020",
    ),
    "lone surrogate": (
        lambda d: _provider_with(d, model="m\ud800").replace(b"\\ud800", b"\\ud800"),
        "C021",
    ),
    "lone surrogate key": (lambda d: json.dumps({**d, "\udc00": 1}).encode(), "C021"),
    "infinite price": (
        lambda d: _provider_with(d, input_token_price=1.0, output_token_price=1.0).replace(
            b"1.0", b"1e400", 1
        ),
        "C004",
    ),
    "huge integer": (
        lambda d: _provider_with(d, priority=1).replace(
            b'"priority": 1', b'"priority": ' + b"9" * 5000
        ),
        "C003",
    ),
    "placeholder in api_key_env": (
        lambda d: _provider_with(d, api_key_env="${GROQ_API_KEY}", api_key=None),
        "C008",
    ),
    "key in api_key_env": (lambda d: _provider_with(d, api_key_env=KEY), "C008"),
    "not UTF-8": (lambda d: b'{"providers": [{"name": "\xff"}]}', "C001"),
    "NaN": (lambda d: b'{"providers": [], "timeout": NaN}', "C001"),
    "empty file": (lambda d: b"", "C001"),
    "a list": (lambda d: b"[]", "C003"),
}


def _drop_nulls(raw: bytes) -> bytes:
    data = json.loads(raw)
    for p in data.get("providers", []) if isinstance(data, dict) else []:
        for key in [k for k, v in p.items() if v is None]:
            del p[key]
    return json.dumps(data).encode()


def test_bad_configs_fail_the_reload_under_traffic(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GROQ_API_KEY", KEY)
    emulator.add("a", "openai")
    good: dict[str, object] = emulator.config_document()
    config = tmp_path / "config.json"
    config.write_text(json.dumps(good))
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    results: dict[str, bool] = {}
    served: list[str] = []

    async def traffic(pool: object, stop: asyncio.Event) -> None:
        while not stop.is_set():
            r = await pool.chat([text_message("user", "hi")], max_tokens=5)  # type: ignore[attr-defined]
            served.append(r.provider)
            await asyncio.sleep(0)

    async def main() -> None:
        async with rig.pool() as pool:
            stop = asyncio.Event()
            task = asyncio.create_task(traffic(pool, stop))
            for name, (make, _) in BAD_CONFIGS.items():
                raw = make(good)
                if name.startswith(("placeholder", "key in")):
                    raw = _drop_nulls(raw)
                config.write_bytes(raw)
                results[name] = await pool.reload()
                await asyncio.sleep(0.01)
            stop.set()
            await task

    asyncio.run(main())
    assert results == {name: False for name in BAD_CONFIGS}
    failed = rig.named("reload_failed")
    assert len(failed) == len(BAD_CONFIGS)
    for (name, (_, code)), event in zip(BAD_CONFIGS.items(), failed, strict=True):
        assert event["error"] == "ConfigurationError", (name, event)
        assert any(f"[{code}]" in d for d in event["diagnostics"]), (name, event)
        # where: a JSON pointer (": /...") or a position (":line:col:")
        assert all(": /" in d or ".json:" in d for d in event["diagnostics"]), (name, event)
        assert "MARKER" not in json.dumps(event)
    assert served and set(served) == {"a"}
    assert not rig.named("config_changed")


def test_bad_policy_files_fail_the_reload_under_traffic(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "openai")
    (tmp_path / "config.json").write_text(json.dumps(emulator.config_document()))
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    policy = rig.policy("route d { use all }")
    bad: dict[str, bytes] = {
        "not UTF-8": b'policy "t"\nroute d {\n  use \xe9all }\n',
        "syntax error": b'policy "t"\nroute d { use }\n',
        "unknown provider": b'policy "t"\nroute d { use nobody }\n',
        "empty": b"",
    }
    results: dict[str, bool] = {}
    served: list[str] = []

    async def main() -> None:
        async with rig.pool(policy) as pool:

            async def traffic(stop: asyncio.Event) -> None:
                while not stop.is_set():
                    r = await pool.chat([text_message("user", "hi")], max_tokens=5)
                    served.append(r.decision.policy)
                    await asyncio.sleep(0)

            stop = asyncio.Event()
            task = asyncio.create_task(traffic(stop))
            for name, content in bad.items():
                policy.write_bytes(content)
                results[name] = await pool.reload()
                await asyncio.sleep(0.01)
            stop.set()
            await task

    asyncio.run(main())
    assert results == {name: False for name in bad}
    failed = rig.named("reload_failed")
    assert [e["error"] for e in failed][:1] == ["PolicySyntaxError"]
    assert all(e["error"] in {"PolicyError", "PolicySyntaxError"} for e in failed), failed
    (utf8,) = failed[0]["diagnostics"]
    assert utf8.startswith(f"{policy}:3:7: error[E003]: the file is not UTF-8 text"), utf8
    assert served and set(served) == {"t"}


def test_an_unexpected_exception_is_a_reload_failed_event_too(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever a future loader bug raises stays inside reload(), its text masked."""
    from llmpool_policy import pool as pool_module

    emulator.add("a", "openai")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(emulator.config_document()))
    rig = PoolHarness(emulator, tmp_path, emulator_clock)

    def broken(*args: object, **kwargs: object) -> object:
        raise KeyError(KEY)

    async def main() -> bool:
        async with rig.pool() as pool:
            monkeypatch.setattr(pool_module, "poll_config", broken)
            changed = await pool.reload()
            await pool.chat([text_message("user", "hi")], max_tokens=5)
            return changed

    assert asyncio.run(main()) is False
    (event,) = rig.named("reload_failed")
    assert event["error"] == "InternalError"
    assert event["diagnostics"] == ["unexpected KeyError: '**********'"]
