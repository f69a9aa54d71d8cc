"""The reload poll interval: ``check_interval_s`` (seconds) in the constructor, the config's
``check_interval`` (milliseconds, the seed's config.json); the old ``check_interval=`` keeps
working with a DeprecationWarning (issue 12)."""

from __future__ import annotations

import asyncio
import json
import warnings
from pathlib import Path
from typing import Any

import pytest

from llmpool_policy import LLMPool

CONFIG: dict[str, Any] = {
    "providers": [{"name": "a", "type": "openai", "api_key": "k", "model": "m"}],
    "check_interval": 2500,  # ms
}


def first_poll_wait(tmp_path: Path, **kw: Any) -> float | None:
    """How long the poller first sleeps (None: it never started)."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps(CONFIG), encoding="utf-8")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.Event().wait()  # until close() cancels the poller

    async def main() -> float | None:
        async with LLMPool(str(path), sleep=sleep, **kw):
            for _ in range(100):
                if waits:
                    break
                await asyncio.sleep(0)
        return waits[0] if waits else None

    return asyncio.run(main())


def test_without_an_argument_the_config_milliseconds_are_read_as_milliseconds(
    tmp_path: Path,
) -> None:
    assert first_poll_wait(tmp_path) == 2.5


def test_check_interval_s_is_seconds(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert first_poll_wait(tmp_path, check_interval_s=7) == 7
        assert first_poll_wait(tmp_path, check_interval_s=0) is None


def test_the_old_name_still_works_and_says_why_it_is_deprecated(tmp_path: Path) -> None:
    with pytest.warns(DeprecationWarning, match="milliseconds in config.json; use check_int"):
        assert first_poll_wait(tmp_path, check_interval=7) == 7


def test_both_names_at_once_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="check_interval_s only"):
        first_poll_wait(tmp_path, check_interval=7, check_interval_s=7)
