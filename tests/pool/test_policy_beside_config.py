"""A config's `policy` is read beside the config, not from the working directory (issue 11,
item 7): a file's directory, a URL's base; a missing one is a typed ConfigurationError naming
`/policy` and the path as resolved. Over real HTTP: the emulator, and http.server serving the
config and its policy on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy.emulator import Emulator
from llmpool_policy.errors import ConfigurationError
from llmpool_policy.messages import text_message
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

from .harness import PoolHarness


@pytest.fixture
def emulator_clock() -> ManualClock:
    return ManualClock(0.0)


def write_config(emulator: Emulator, where: Path, **extra: object) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    path = where / "config.json"
    path.write_text(json.dumps({**emulator.config_document(), **extra}))
    return path


def pool_at(rig: PoolHarness, config: str | Path) -> LLMPool:
    return rig.listen(
        LLMPool(str(config), None, clock=rig.clock, sleep=rig.sleep, check_interval_s=0)
    )


async def ask(pool: LLMPool) -> str:
    r = await pool.chat([text_message("user", "hello")], max_tokens=5)
    assert r.decision is not None
    return r.decision.policy


def test_a_relative_policy_is_read_beside_the_config_not_the_cwd(
    emulator: Emulator,
    tmp_path: Path,
    emulator_clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emulator.add("a", "openai")
    conf_dir = tmp_path / "etc" / "llmpool"
    config = write_config(emulator, conf_dir, policy="p.policy")
    (conf_dir / "p.policy").write_text('policy "beside"\nroute d { use all }')
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()
    (cwd / "p.policy").write_text('policy "in-the-cwd"\nroute d { use all }')  # a decoy
    monkeypatch.chdir(cwd)
    rig = PoolHarness(emulator, tmp_path, emulator_clock)

    async def main() -> tuple[str, str, bool]:
        async with pool_at(rig, config) as pool:
            first = await ask(pool)
            (conf_dir / "p.policy").write_text('policy "edited"\nroute d { use all }')
            changed = await pool.reload()  # the same resolved place
            return first, await ask(pool), changed

    first, second, changed = asyncio.run(main())
    assert (first, second, changed) == ("beside", "edited", True)
    (event,) = rig.named("policy_changed")
    assert event["path"] == str(conf_dir / "p.policy")


def test_an_absolute_policy_path_stays_absolute(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "openai")
    policy = tmp_path / "policies" / "abs.policy"
    policy.parent.mkdir()
    policy.write_text('policy "absolute"\nroute d { use all }')
    config = write_config(emulator, tmp_path / "conf", policy=str(policy))
    rig = PoolHarness(emulator, tmp_path, emulator_clock)

    async def main() -> str:
        async with pool_at(rig, config) as pool:
            return await ask(pool)

    assert asyncio.run(main()) == "absolute"


def test_a_missing_policy_is_a_typed_error_naming_the_field_and_the_resolved_path(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "openai")
    config = write_config(emulator, tmp_path / "conf", policy="policies/missing.policy")
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    with pytest.raises(ConfigurationError) as info:
        pool_at(rig, config)
    (found,) = info.value.diagnostics
    resolved = tmp_path / "conf" / "policies" / "missing.policy"
    assert (found.code, found.pointer, found.path) == ("C019", "/policy", str(config))
    assert found.message == (
        f"cannot read 'policies/missing.policy' (resolved to {resolved}): no such file"
    )
    assert found.help is not None and "configuration's own directory" in found.help
    assert f"{config}: /policy" in str(info.value)


def test_a_policy_that_disappears_later_fails_the_reload_and_keeps_serving(
    emulator: Emulator, tmp_path: Path, emulator_clock: ManualClock
) -> None:
    emulator.add("a", "openai")
    config = write_config(emulator, tmp_path / "conf", policy="p.policy")
    policy = tmp_path / "conf" / "p.policy"
    policy.write_text('policy "first"\nroute d { use all }')
    rig = PoolHarness(emulator, tmp_path, emulator_clock)

    async def main() -> tuple[bool, str]:
        async with pool_at(rig, config) as pool:
            await ask(pool)
            policy.unlink()
            return await pool.reload(), await ask(pool)

    assert asyncio.run(main()) == (False, "first")
    (failed,) = rig.named("reload_failed")
    assert failed["error"] == "ConfigurationError"
    assert any(
        "C019" in d and "/policy" in d and "no such file" in d for d in failed["diagnostics"]
    )


# ---- a config served over HTTP, its policy beside it ------------------------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_a_remote_configs_relative_policy_is_fetched_from_its_url(
    emulator: Emulator,
    tmp_path: Path,
    emulator_clock: ManualClock,
    served: tuple[str, Path],
) -> None:
    url, root = served
    emulator.add("a", "openai")
    write_config(emulator, root / "team", policy="../policies/remote.policy")
    (root / "policies").mkdir()
    (root / "policies" / "remote.policy").write_text('policy "remote"\nroute d { use all }')
    rig = PoolHarness(emulator, tmp_path, emulator_clock)

    async def main() -> tuple[str, bool, str]:
        async with pool_at(rig, f"{url}/team/config.json") as pool:
            first = await ask(pool)
            (root / "policies" / "remote.policy").write_text('policy "v2"\nroute d { use all }')
            return first, await pool.reload(), await ask(pool)

    assert asyncio.run(main()) == ("remote", True, "v2")
    (event,) = rig.named("policy_changed")
    assert event["path"] == f"{url}/policies/remote.policy"


def test_a_remote_configs_missing_policy_names_the_url_and_the_field(
    emulator: Emulator,
    tmp_path: Path,
    emulator_clock: ManualClock,
    served: tuple[str, Path],
) -> None:
    url, root = served
    emulator.add("a", "openai")
    write_config(emulator, root, policy="nowhere.policy")
    rig = PoolHarness(emulator, tmp_path, emulator_clock)
    with pytest.raises(ConfigurationError) as info:
        pool_at(rig, f"{url}/config.json")
    (found,) = info.value.diagnostics
    assert (found.code, found.pointer, found.path) == ("C019", "/policy", f"{url}/config.json")
    assert found.message == (
        f"cannot read 'nowhere.policy' (resolved to {url}/nowhere.policy): server answered HTTP 404"
    )
