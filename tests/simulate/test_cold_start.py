"""Cold start in the simulator (issue 11, item 5): the same compiled policy as live, on virtual
time. A provider without data is tried; once measured slow, it loses the traffic."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from llmpool_policy.emulator.profiles import LatencyProfile
from llmpool_policy.policy import Policy
from llmpool_policy.simulate import Simulator, TrafficRecord
from llmpool_policy.simulate.models import ProviderModel

from .conftest import two_providers


def steady(n: int, every: float) -> Iterator[TrafficRecord]:
    for i in range(n):
        yield TrafficRecord(f"r{i:04d}", 1_700_000_000.0 + i * every, 500, 50)


def run(order: str) -> list[tuple[float, str | None]]:
    """300 requests a second apart; `primary` (first in policy order) answers in 2 s, `backup`
    in 0.2 s: (arrival, provider that served) per request."""
    config = two_providers()
    policy = Policy.from_text(
        f'policy "fastest"\nroute default {{ use [primary, backup]  order by {order} }}',
        config=config,
    )
    models = {
        "primary": ProviderModel("primary", LatencyProfile(2.0, 2.0, 1e6)),
        "backup": ProviderModel("backup", LatencyProfile(0.2, 0.2, 1e6)),
    }
    result = Simulator(policy, config, seed=1, models=models).run(steady(300, 1.0))
    return [(result.arrival[i], result.served_by(i)) for i in range(len(result))]


def test_cold_providers_get_traffic_and_the_slow_one_loses_it_once_measured() -> None:
    served = run("latency.p50(1m)")
    primary = [t for t, p in served if p == "primary"]
    # both start cold: `primary` takes the requests (policy order among the unknown) while its
    # first answer is under way (just over 2 s); `backup`, still unknown, is tried as soon as
    # `primary` is measured
    assert primary[:3] == [0.0, 1.0, 2.0]
    first_backup = next(t for t, p in served if p == "backup")
    assert first_backup == 3.0
    # measured at 2 s against 0.2 s, `primary` loses the traffic: only when its one-minute
    # window has emptied (about once a minute) is it unknown again, and it takes the requests
    # that arrive while that one answer is under way (three), then loses them again
    episodes: list[list[float]] = []
    for t in primary:
        if episodes and t - episodes[-1][-1] <= 1.0:
            episodes[-1].append(t)
        else:
            episodes.append([t])
    assert len(episodes) >= 2, "a provider whose data expired is explored again"
    assert all(len(e) <= 3 for e in episodes), episodes
    starts = [e[0] for e in episodes]
    assert all(b - a >= 55.0 for a, b in itertools.pairwise(starts)), starts
    assert sum(p == "backup" for _t, p in served) >= 280  # 15 to `primary`: 5 episodes


def test_unknown_last_starves_the_cold_provider() -> None:
    served = run("latency.p50(1m) unknown last")
    assert {p for _t, p in served} == {"primary"}
