"""The config's pool settings (`max_retries`, `retry_delay`, `timeout`) reach every reader of a
policy alike: the checker's bounds, the compiled graph, the reference interpreter, the CLI.

A route without a retry block runs `max_retries + 1` tries per provider with exponential
backoff from `retry_delay` (capped at 30 s, full jitter); a provider without a `timeout` gets
the pool's `timeout`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmpool_policy.config import validate_config_data
from llmpool_policy.policy import Policy, pool_defaults
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import PoolDefaults, check
from llmpool_policy.syntax import parse

from .support import CONFIG, decide

ROUTES = """policy "t"
route plain when "plain" in request.tags { use [openai-gpt4o, anthropic-sonnet] }
route own when "own" in request.tags {
  use [openai-gpt4o, anthropic-sonnet]
  retry { attempts 2 }
}
route default { use [anthropic-sonnet] timeout 7s }
"""


def _config(tmp_path: Path, **pool: object) -> Path:
    data = json.loads(CONFIG.read_text())
    data.update(pool)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return path


def test_seed_defaults_without_a_config() -> None:
    d = PoolDefaults()
    assert (d.attempts, d.backoff_base_s, d.timeout_s, d.jitter) == (4, 1.0, 30.0, "full")
    assert d.sleeps() == (1.0, 2.0, 4.0)
    assert pool_defaults(None) == d


def test_from_config_converts_ms_and_counts_the_first_try() -> None:
    data = json.loads(CONFIG.read_text())
    config = validate_config_data({**data, "max_retries": 0, "retry_delay": 250,
                                   "timeout": 5000})  # fmt: skip
    written = frozenset({"max_retries", "retry_delay", "timeout"})
    assert PoolDefaults.from_config(config) == PoolDefaults(1, 0.25, 5.0, written)
    seed = validate_config_data(data)  # the fields omitted: the seed's 3 / 1000 / 30000
    assert PoolDefaults.from_config(seed) == PoolDefaults()


@pytest.mark.parametrize(
    ("attempts", "base", "expected"),
    [(4, 1.0, (1.0, 2.0, 4.0)), (1, 1.0, ()), (3, 0.0, (0.0, 0.0)),
     (5, 20.0, (20.0, 30.0, 30.0, 30.0)),  # doubling stops at 30 s
     (3, 45.0, (45.0, 45.0))],  # a first delay above 30 s is kept, never cut
)  # fmt: skip
def test_backoff_doubles_up_to_its_cap(
    attempts: int, base: float, expected: tuple[float, ...]
) -> None:
    assert PoolDefaults(attempts, base).sleeps() == expected


def test_invalid_defaults_are_refused() -> None:
    for bad in ({"attempts": 0}, {"backoff_base_s": -1.0}, {"timeout_s": 0.0}):
        with pytest.raises(ValueError):
            PoolDefaults(**bad)


def test_config_settings_reach_the_plan_and_the_bounds_alike(tmp_path: Path) -> None:
    path = _config(tmp_path, max_retries=1, retry_delay=500, timeout=12000)
    policy = Policy.from_text(ROUTES, config=path)
    assert policy.defaults == PoolDefaults(2, 0.5, 12.0, frozenset(
        {"max_retries", "retry_delay", "timeout"}))  # fmt: skip

    plain = decide(policy, _request("plain"))
    got = [(a.provider, a.tries, a.timeout_s, a.backoff_s, a.jitter) for a in plain.attempts]
    # openai-gpt4o sets its own 60 s timeout; anthropic-sonnet has none: the pool's 12 s
    assert got == [("openai-gpt4o", 2, 60.0, (0.5,), "full"),
                   ("anthropic-sonnet", 2, 12.0, (0.5,), "full")]  # fmt: skip
    assert all(a.retry_on == ("rate_limited", "overloaded", "server_error", "timeout",
                              "connection") for a in plain.attempts)  # fmt: skip

    own = decide(policy, _request("own"))  # a retry block is the policy's word: unchanged
    assert [(a.tries, a.backoff_s, a.jitter) for a in own.attempts] == [(2, (0.0,), "none")] * 2

    route = decide(policy, _request())  # the route's timeout beats the pool's
    assert [(a.tries, a.timeout_s) for a in route.attempts] == [(2, 7.0)]

    for name, decision in (("plain", plain), ("own", own), ("default", route)):
        bounds = policy.bounds.for_route(name)
        assert bounds is not None
        assert bounds.calls.value == sum(a.tries for a in decision.attempts)
        worst = sum(a.tries * a.timeout_s + sum(a.backoff_s) for a in decision.attempts)
        assert bounds.time.value == pytest.approx(worst)


def test_explicit_is_what_the_document_writes_even_a_default_value() -> None:
    data = json.loads(CONFIG.read_text())
    config = validate_config_data({**data, "max_retries": 3})  # the seed's value, written out
    assert PoolDefaults.from_config(config).explicit == {"max_retries"}
    assert PoolDefaults.from_config(config).setting("max_retries") == 3
    with pytest.raises(ValueError):
        PoolDefaults(explicit=frozenset({"retries"}))


FROM_CONFIG = """policy "t"
route plain when "plain" in request.tags {
  use [anthropic-sonnet]
  retry from config { honor retry_after up to 5s }
}
route own when "own" in request.tags {
  use [anthropic-sonnet]
  retry from config { attempts 4 }
}
route default {
  use [anthropic-sonnet]
  retry from config { backoff constant 2s jitter none }
}
"""


def test_a_from_config_block_takes_what_it_leaves_out_from_the_config(tmp_path: Path) -> None:
    policy = Policy.from_text(FROM_CONFIG, config=_config(tmp_path, max_retries=1,
                                                          retry_delay=10))  # fmt: skip
    plan = {
        tag: [(a.tries, a.backoff_s, a.jitter) for a in decide(policy, _request(tag)).attempts]
        for tag in ("plain", "own", "")
    }
    assert plan == {
        "plain": [(2, (0.01,), "full")],  # max_retries 1, retry_delay 10 ms
        "own": [(4, (0.01, 0.02, 0.04), "full")],  # its attempts, the config's backoff
        "": [(2, (2.0,), "none")],  # its backoff, the config's attempts
    }
    bounds = {r.route: (r.calls.value, r.time.value) for r in policy.bounds.routes}
    # the worst case counts the honoured retry-after's 5 s cap as the sleep
    assert bounds["plain"] == (2, pytest.approx(2 * 30 + 5))
    assert bounds["own"] == (4, pytest.approx(4 * 30 + 0.07))
    assert bounds["default"] == (2, pytest.approx(2 * 30 + 2))
    seed = Policy.from_text(FROM_CONFIG, config=_config(tmp_path))  # nothing written: the seed's
    assert [(a.tries, a.backoff_s) for a in decide(seed, _request("plain")).attempts] == [
        (4, (1.0, 2.0, 4.0))]  # fmt: skip


def test_retry_default_in_the_policy_beats_the_pool(tmp_path: Path) -> None:
    text = ROUTES.replace('policy "t"\n', 'policy "t"\nretry default { attempts 3 }\n')
    policy = Policy.from_text(text, config=_config(tmp_path, max_retries=0))
    assert [a.tries for a in decide(policy, _request("plain")).attempts] == [3, 3]


def test_with_defaults_recompiles_only_when_they_differ(tmp_path: Path) -> None:
    policy = Policy.from_text(ROUTES, config=_config(tmp_path))
    assert policy.with_defaults(PoolDefaults()) is policy
    other = policy.with_defaults(PoolDefaults(1, 0.0, 3.0))
    assert [(a.tries, a.timeout_s) for a in decide(other, _request("plain")).attempts] == [
        (1, 60.0), (1, 3.0)]  # fmt: skip
    plain = other.bounds.for_route("plain")
    assert plain is not None and plain.calls.value == 2


def test_check_without_a_config_assumes_the_seed_defaults() -> None:
    checked = check(parse("route r { use [a, b] }"))
    bounds = checked.bounds.for_route("r")
    assert bounds is not None
    assert (bounds.tries_per_provider, bounds.calls.value) == (4, 8)
    assert bounds.time.value == 2 * (4 * 30 + 1 + 2 + 4)


def test_check_bounds_with_config_uses_its_pool_settings(tmp_path: Path) -> None:
    path = _config(tmp_path, max_retries=0, timeout=5000)
    policy = tmp_path / "p.policy"
    policy.write_text('policy "t"\nroute default { use [anthropic-sonnet] }\n')
    out = subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "check", "--bounds", "--config", str(path),
         str(policy)],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    row = next(line.split() for line in out.splitlines() if line.strip().startswith("default"))
    assert row[1:5] == ["1", "1", "1", "5s"]  # 1 provider, 1 try (max_retries 0), 5 s timeout


def _request(tag: str | None = None) -> RoutingRequest:
    return RoutingRequest(id="r", tags=() if tag is None else (tag,))
