"""The secret suite (issue 13): marker keys planted in every configuration field that can hold
one, and in the environment, never appear in any output — validate-config, check --config,
explain, LLMPool (construction, chat over real HTTP, reload, stats, health), their exceptions
(str, repr, traceback), events and logs."""

from __future__ import annotations

import asyncio
import json
import logging
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.cli import main
from llmpool_policy.emulator import Emulator
from llmpool_policy.events import EVENTS
from llmpool_policy.messages import text_message
from llmpool_policy.pool import LLMPool

CORE = "MARKERz9Q"  # searched for: every planted key contains it
KEYS = {
    "openai": f"sk-proj-{CORE}0123456789abcdef",
    "groq": f"gsk_{CORE}0123456789abcdefXY",
    "bare": f"{CORE}0123456789abcdefABCDEF01",
}
POLICY = 'policy "t"\nroute d { use all }\n'
REQUEST = {"id": "r1", "messages": 1, "input_tokens": 10, "max_tokens": 5}

Edit = Callable[[dict[str, Any], dict[str, Any], str], None]


def _set(field: str) -> Edit:
    def edit(document: dict[str, Any], entry: dict[str, Any], key: str) -> None:
        entry[field] = key

    return edit


def _top(field: str) -> Edit:
    def edit(document: dict[str, Any], entry: dict[str, Any], key: str) -> None:
        document[field] = key

    return edit


# Every place a key can be put, right or wrong. The right places load; the wrong ones are
# refused; either way the key is never shown.
PLACES: dict[str, Edit] = {
    "api_key": _set("api_key"),
    "api_key placeholder": lambda d, e, k: e.update(api_key="${LLMPOOL_T_SECRET}"),
    "api_key_env": _set("api_key_env"),
    "api_key_env variable": lambda d, e, k: (
        e.pop("api_key", None),
        e.update(api_key_env="LLMPOOL_T_SECRET"),
    ),
    "api_key and api_key_env": lambda d, e, k: e.update(api_key_env="LLMPOOL_T_SECRET"),
    "header value": lambda d, e, k: e.update(headers={"Authorization": f"Bearer {k}"}),
    "header value placeholder": lambda d, e, k: e.update(headers={"X-Key": "${LLMPOOL_T_SECRET}"}),
    "header value with CRLF": lambda d, e, k: e.update(headers={"X-Key": k + "\r\nX-Evil: 1"}),
    "header name": lambda d, e, k: e.update(headers={k: "v"}),
    "header value not a string": lambda d, e, k: e.update(headers={"X-Key": [k]}),
    "name": _set("name"),
    "type": _set("type"),
    "base_url": _set("base_url"),
    "base_url userinfo": lambda d, e, k: e.update(base_url=f"https://u:{k}@api.example.com/v1"),
    "base_url query": lambda d, e, k: e.update(base_url=f"http://example.com/v1?key={k}"),
    "object key": lambda d, e, k: e.update({k: 1}),
    "top-level key": lambda d, e, k: d.update({k: 1}),
    "model": _set("model"),
    "region": _set("region"),
    "tags array": lambda d, e, k: e.update(tags=[k, ""]),
    "priority": lambda d, e, k: e.update(priority=k),
    "supports": lambda d, e, k: e.update(supports={"vision": k}),
    "policy": _top("policy"),
    "$schema": lambda d, e, k: d.update({"$schema": 5, "policy": None, "timeout": k}),
    "malformed placeholder": lambda d, e, k: e.update(model="${" + k),
    "duplicate key": lambda d, e, k: e.update({"region": k}),
}


def _document(emulator: Emulator, kind: str, place: str, key: str) -> str:
    whole: dict[str, Any] = emulator.config_document()
    document = {**whole, "providers": [p for p in whole["providers"] if p["name"] == kind]}
    entry = document["providers"][0]
    PLACES[place](document, entry, key)
    text = json.dumps(document)
    if place == "duplicate key":
        text = text.replace('"region"', f'"{key}": 1, "{key}"', 1)
    return text


def _exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def test_no_planted_key_in_any_output(
    emulator: Emulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for kind, key in KEYS.items():
        emulator.add(kind, "openai", api_key=key)  # each answers only to its planted key
    shown: list[str] = []
    (tmp_path / "p.policy").write_text(POLICY)
    (tmp_path / "req.json").write_text(json.dumps(REQUEST))
    caplog.set_level(logging.DEBUG, logger="llmpool_policy")
    loaded = 0
    kinds = sorted(KEYS)
    config = tmp_path / "config.json"
    for number, place in enumerate(PLACES):
        # validate-config with every shape of key; the heavier runs with one shape in turn.
        for kind in [*kinds[number % 3 + 1 :], *kinds[: number % 3 + 1]]:
            key = KEYS[kind]
            monkeypatch.setenv("LLMPOOL_T_SECRET", key)
            config.write_text(_document(emulator, kind, place, key))
            shown.append(_run_cli(["validate-config", str(config)], place, capsys))
        # The last shape written is the one the emulated provider `kind` answers to.
        for argv in (
            ["validate-config", str(config), "--format", "json"],
            ["check", "--config", str(config), "--bounds", str(tmp_path / "p.policy")],
            ["explain", "--config", str(config), "--request", str(tmp_path / "req.json"),
             str(tmp_path / "p.policy")],
        ):  # fmt: skip
            shown.append(_run_cli(argv, place, capsys))
        loaded += _run_pool(config, tmp_path, shown)
    shown += [record.getMessage() for record in caplog.records]
    shown += [
        "".join(traceback.format_exception(*r.exc_info)) for r in caplog.records if r.exc_info
    ]
    leaks = [text for text in shown if CORE in text]
    assert leaks == []
    assert loaded >= 5  # the places a key belongs: the pool ran with them


def _run_cli(argv: list[str], place: str, capsys: pytest.CaptureFixture[str]) -> str:
    crash = ""
    try:
        main(argv)
    except BaseException as exc:  # a crash is a finding: its text is searched too
        crash = f"{place}: {argv[0]} raised\n" + _exception_text(exc)
    out, err = capsys.readouterr()
    return out + err + crash


def _run_pool(config: Path, tmp_path: Path, shown: list[str]) -> int:
    """Build a pool from ``config``; if it loads, chat over HTTP, reload a bad version and the
    good one again, and collect everything it says."""
    events: list[tuple[str, object]] = []
    good = config.read_text()

    async def run() -> None:
        async with LLMPool(str(config), str(tmp_path / "p.policy"), check_interval_s=0) as pool:
            for name in EVENTS:
                pool.on(name, lambda payload, name=name: events.append((name, payload)))  # type: ignore[misc]
            response = await pool.chat([text_message("user", "hi")], max_tokens=5)
            shown.append(repr(response) + repr(pool.stats()) + repr(pool.health()))
            shown.append(repr(pool.config) + repr(pool.config.providers))
            config.write_text(good.replace('"providers"', '"providers": [], "x"', 1))
            await pool.reload()
            config.write_text(good.replace('"model"', '"timeout": 1e400, "model"', 1))
            await pool.reload()
            config.write_text(good)

    try:
        asyncio.run(run())
    except Exception as exc:
        shown.append(_exception_text(exc))
        return 0
    finally:
        shown.append(repr(events))
    return 1
