"""The emulator's time source: injected, so tests control rate-limit buckets and timed phases.

The same protocol as the pool's (:mod:`llmpool_policy.metrics.clock`): one
:class:`~llmpool_policy.metrics.ManualClock` can drive both the pool and the emulator in a test.
The emulator never sleeps on this clock: latency is real time.
"""

from __future__ import annotations

from ..metrics.clock import Clock, MonotonicClock

__all__ = ["Clock", "SystemClock"]

# The real clock, under the name the emulator's API has always used.
SystemClock = MonotonicClock
