"""A thin synchronous wrapper for scripts: the async pool on a private event-loop thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import LLMPoolError
from .pool import Health, LLMPool, PoolResponse, ProviderStats

__all__ = ["SyncLLMPool"]

T = TypeVar("T")


class SyncLLMPool:
    """``with SyncLLMPool(config="config.json") as pool: pool.chat([...])``.

    Takes the same arguments as :class:`LLMPool`; every call blocks until it is done.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True,
                                        name="llmpool-sync")  # fmt: skip
        self._thread.start()
        try:
            self._pool: LLMPool = self._run(self._make(*args, **kwargs))
            self._run(self._pool.start())
        except BaseException:  # a bad config or policy: no loop thread left behind
            self._stop_loop()
            raise

    async def _make(self, *args: Any, **kwargs: Any) -> LLMPool:
        return LLMPool(*args, **kwargs)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop.is_closed():
            coro.close()  # never scheduled: no "coroutine was never awaited" warning
            raise LLMPoolError("the pool is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def chat(self, messages: Any, **kwargs: Any) -> PoolResponse:
        return self._run(self._pool.chat(messages, **kwargs))

    def reload(self) -> bool:
        return self._run(self._pool.reload())

    def health(self) -> Health:
        return self._pool.health()

    def stats(self) -> dict[str, ProviderStats]:
        return self._pool.stats()

    def on(self, name: str, handler: Any) -> None:
        self._pool.on(name, handler)

    @property
    def pool(self) -> LLMPool:
        return self._pool

    def close(self) -> None:
        if self._loop.is_closed():
            return
        try:
            self._run(self._pool.close())
        finally:
            self._stop_loop()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def __enter__(self) -> SyncLLMPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
