"""What the live state takes from a policy: each provider's breaker, its limits, latency windows."""

from __future__ import annotations

from llmpool_policy.compile.runtime_specs import (
    latency_windows,
    provider_breakers,
    provider_limits,
)
from llmpool_policy.config import validate_config_data
from llmpool_policy.policy import Policy

CONFIG = validate_config_data(
    {
        "providers": [
            {"name": n, "type": "openai", "api_key": "sk-test", "model": "m",
             "circuit_breaker_threshold": 7, "requests_per_minute": rpm}
            for n, rpm in (("a", 0), ("b", 10), ("c", None))
        ]
    }
)  # fmt: skip
PROVIDERS = {p.name: p for p in CONFIG.providers}


def breakers(text: str) -> dict[str, tuple[int | None, float]]:
    policy = Policy.from_text('policy "t"\n' + text, config=CONFIG)
    found = provider_breakers(policy.checked, policy.graph.spec, PROVIDERS)
    return {n: (b.failures, b.cool_down_s) for n, b in found.items()}


def test_a_route_breaker_governs_its_providers_and_default_the_rest() -> None:
    got = breakers(
        "breaker strict { open after 2 failures within 1m cool down 10s }\n"
        "breaker default { open after 4 failures within 1m cool down 20s }\n"
        "route r when request.stream { use [a] breaker strict }\n"
        "route d { use all }"
    )
    assert got == {"a": (2, 10.0), "b": (4, 20.0), "c": (4, 20.0)}


def test_the_first_route_using_a_provider_decides_its_breaker() -> None:
    got = breakers(
        "breaker one { open after 1 failures within 1m }\n"
        "breaker two { open after 9 failures within 1m }\n"
        "route r when request.stream { use [b] breaker one }\n"
        "route d { use [a, b] breaker two }"
    )
    assert got["b"][0] == 1 and got["a"][0] == 9


def test_without_policy_breakers_the_config_fields_apply() -> None:
    got = breakers("route d { use all }")
    assert got == {"a": (7, 60.0), "b": (7, 60.0), "c": (7, 60.0)}


def test_limits_keep_zero_as_a_value() -> None:
    limits = provider_limits(PROVIDERS)
    assert (limits["a"].rpm, limits["b"].rpm, limits["c"].rpm) == (0, 10, None)


def test_latency_windows_of_a_policy() -> None:
    policy = Policy.from_text(
        'policy "t"\nroute d { use all skip when latency.p95(10m) > 3s order by latency.p50 }',
        config=CONFIG,
    )
    assert latency_windows(policy.graph.spec) == {600.0, 300.0}


def test_statuses_in_count_are_counted_as_their_classes() -> None:
    policy = Policy.from_text(
        'policy "t"\nbreaker default { count timeout, 5xx }\nroute d { use all }', config=CONFIG
    )
    spec = provider_breakers(policy.checked, policy.graph.spec, PROVIDERS)["a"]
    assert spec.counted == {"timeout", "server_error", "overloaded"}


def test_a_from_config_breaker_reads_each_providers_fields() -> None:
    config = validate_config_data(
        {
            "providers": [
                {"name": "a", "type": "openai", "api_key": "k", "model": "m",
                 "circuit_breaker_threshold": 1, "circuit_breaker_timeout": 500},
                {"name": "b", "type": "openai", "api_key": "k", "model": "m"},
                {"name": "c", "type": "openai", "api_key": "k", "model": "m",
                 "circuit_breaker_timeout": 0},  # zero is a value: a probe at once
            ]
        }
    )  # fmt: skip
    providers = {p.name: p for p in config.providers}

    def run(text: str) -> dict[str, tuple[int | None, float, int]]:
        policy = Policy.from_text('policy "t"\n' + text, config=config)
        found = provider_breakers(policy.checked, policy.graph.spec, providers)
        return {n: (b.failures, b.cool_down_s, b.probes) for n, b in found.items()}

    route = "\nroute d { use all }"
    assert run("breaker default from config { probe 2 }" + route) == {
        "a": (1, 0.5, 2), "b": (5, 60.0, 2), "c": (5, 0.0, 2)}  # fmt: skip
    assert run("breaker default from config { cool down 10s }" + route) == {
        "a": (1, 10.0, 1), "b": (5, 10.0, 1), "c": (5, 10.0, 1)}  # fmt: skip
    assert run("breaker default { probe 2 }" + route)["a"] == (5, 60.0, 2)  # not from config
    rate = run("breaker default from config { open at 50% errors within 1m }" + route)
    assert rate["a"][0] == 1  # the config's count stays beside the rate
    assert run(route)["c"] == (5, 0.0, 1)  # no breaker block: the seed fields, 0 included
