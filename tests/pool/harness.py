"""What the pool tests share: a pool on the emulator's virtual clock, its events recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from llmpool_policy.emulator import Emulator
from llmpool_policy.events import EVENTS
from llmpool_policy.metrics import ManualClock
from llmpool_policy.pool import LLMPool

MARKER = "sk-MARKER-never-printed-0123456789"
PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwAD"
    "hgGAWjR9awAAAABJRU5ErkJggg=="
)


class PoolHarness:
    """A pool on a virtual clock: every sleep advances the clock (and is recorded) instead of
    waiting; every event is recorded."""

    def __init__(self, emulator: Emulator, tmp: Path, clock: ManualClock) -> None:
        self.emulator = emulator
        self.tmp = tmp
        self.clock = clock
        self.sleeps: list[float] = []
        self.events: list[tuple[str, Mapping[str, Any]]] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)
        await asyncio.sleep(0)

    def listen(self, pool: LLMPool) -> LLMPool:
        for name in EVENTS:
            pool.on(name, lambda payload, name=name: self.events.append((name, payload)))  # type: ignore[misc]
        return pool

    def pool(self, policy: Path | None = None, **kw: Any) -> LLMPool:
        kw.setdefault("check_interval_s", 0)
        pool = LLMPool(
            str(self.tmp / "config.json"),
            None if policy is None else str(policy),
            clock=self.clock,
            sleep=self.sleep,
            **kw,
        )
        return self.listen(pool)

    def policy(self, text: str) -> Path:
        """A policy file: ``policy "t"`` then ``text``."""
        path = self.tmp / "p.policy"
        path.write_text('policy "t"\n' + text)
        return path

    def named(self, name: str) -> list[Mapping[str, Any]]:
        return [p for n, p in self.events if n == name]

    def run(self, policy: Path | None, body: Callable[[LLMPool], Awaitable[Any]], **kw: Any) -> Any:
        async def main() -> Any:
            async with self.pool(policy, **kw) as pool:
                return await body(pool)

        return asyncio.run(main())


class Rig(PoolHarness):
    """The harness with the emulator's own config (every provider it holds)."""

    def config(self) -> None:
        self.emulator.write_config(self.tmp / "config.json")
