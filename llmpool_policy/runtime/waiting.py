"""When no provider can take a request, when the first one frees up.

Decide and the executor never read the clock, so they cannot say *when*; the live gate can
(:meth:`~llmpool_policy.metrics.registry.ProviderMetrics.available_in`). Both drivers put that
time on the error with :func:`note_when_free`; a policy's `when none available wait up to D`
waits for it (the pool's :class:`~llmpool_policy.wait_line.WaitLine`).
"""

from __future__ import annotations

import math

from ..decision import Decision
from ..errors import NoProviderAvailableError
from ..metrics.registry import MetricsRegistry

__all__ = ["note_when_free", "wait_ends"]


def wait_ends(decision: Decision, arrived: float) -> float | None:
    """When a request that arrived at ``arrived`` stops waiting for a provider: its
    `when none available wait up to D`, capped by its deadline (which counts from arrival);
    None when the policy does not wait."""
    if decision.wait_s is None:
        return None
    end = arrived + decision.wait_s
    if decision.deadline_s is not None:
        end = min(end, arrived + decision.deadline_s)
    return end


def note_when_free(error: NoProviderAvailableError, registry: MetricsRegistry, tokens: int) -> None:
    """Set ``error.retry_after`` to the seconds until the first provider it names is admitted
    by the live gate again. A provider the gate does not hold (passed over for another reason:
    a policy rule, a missing capability) frees up at no known time and is left out."""
    best: tuple[float, str] | None = None
    for name in error.reasons:
        metrics = registry.get(name)
        if metrics is None:
            continue
        wait = metrics.available_in(tokens)
        if 0.0 < wait < math.inf and (best is None or wait < best[0]):
            best = (wait, name)
    if best is not None:
        error.frees_up(*best)
