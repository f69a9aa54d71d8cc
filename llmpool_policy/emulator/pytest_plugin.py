"""pytest fixtures for the emulator (registered as a pytest11 entry point).

    def test_failover(emulator):
        primary = emulator.add("primary", "openai")
        primary.queue_faults("server_error")
        ...

``emulator`` is a running :class:`Emulator` with no providers yet, latency scale 0 (answers at
once) and the clock of the ``emulator_clock`` fixture — override that fixture (for instance with
a ``llmpool_policy.metrics.ManualClock``) to control rate-limit buckets and timed phases. The
emulator is stopped after the test. Importing this module stays cheap: the emulator is imported
only when a test asks for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .clock import Clock
    from .emulator import Emulator

__all__ = ["emulator", "emulator_clock"]


@pytest.fixture
def emulator_clock() -> Clock:
    """The emulator's clock: the system clock unless a test module overrides this fixture."""
    from .clock import SystemClock

    return SystemClock()


@pytest.fixture
def emulator(emulator_clock: Clock) -> Iterator[Emulator]:
    """A running emulator (no providers yet; add them with ``emulator.add``), latency scale 0."""
    from .emulator import Emulator

    emu = Emulator(clock=emulator_clock, latency_scale=0.0)
    emu.start()
    try:
        yield emu
    finally:
        emu.stop()
