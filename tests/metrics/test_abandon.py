"""An attempt sent but never answered (the caller cancelled) keeps its rate-limit slot and
frees its probe slot; one never sent gives both back (issue 13, item 5)."""

from __future__ import annotations

import pytest

from llmpool_policy.metrics import BreakerSpec, LimitSpec, ManualClock, MetricsRegistry
from llmpool_policy.metrics.registry import Attempt


def registry() -> tuple[ManualClock, MetricsRegistry]:
    clock = ManualClock(0.0)
    metrics = MetricsRegistry(clock)
    metrics.reconcile(
        ["a"],
        limits={"a": LimitSpec(rpm=2, tpm=1000)},
        breakers={"a": BreakerSpec(failures=1, cool_down_s=10.0, probes=1)},
    )
    return clock, metrics


def dispatch(metrics: MetricsRegistry, tokens: int = 100) -> Attempt:
    attempt = metrics.provider("a").on_dispatch(tokens)
    assert isinstance(attempt, Attempt)
    return attempt


@pytest.mark.parametrize(
    ("how", "rpm_left", "tpm_left"), [("abandon", 1, 900), ("cancel", 2, 1000)]
)
def test_a_sent_attempt_keeps_its_slot_an_unsent_one_gives_it_back(
    how: str, rpm_left: int, tpm_left: int
) -> None:
    _, metrics = registry()
    getattr(dispatch(metrics), how)()
    view = metrics.snapshot().provider("a")
    assert (view.rpm_remaining, view.tpm_remaining) == (rpm_left, tpm_left)
    provider = metrics.provider("a")
    assert provider.in_flight == 0 and provider.totals().requests == 0  # no outcome recorded


def test_an_abandoned_probe_frees_the_probe_slot() -> None:
    clock, metrics = registry()
    dispatch(metrics).complete("server_error")  # opens the breaker
    clock.advance(61.0)  # a new minute: the rpm window is fresh
    probe = dispatch(metrics)
    assert probe.probe
    assert not isinstance(metrics.provider("a").on_dispatch(1), Attempt)  # probes_busy
    probe.abandon()
    assert dispatch(metrics).probe  # the next probe may go
    with pytest.raises(RuntimeError, match="already completed or cancelled"):
        probe.abandon()
