"""W107: the config's numbers are the defaults of the built-in behaviour, a policy that sets
its own wins, and the checker says where it does so over a value the config writes out."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmpool_policy.config import PoolConfig, validate_config_data
from llmpool_policy.diagnostics import Diagnostic, render_short
from llmpool_policy.policy import Policy, pool_defaults, provider_facts
from llmpool_policy.pool import LLMPool
from llmpool_policy.semantics import check
from llmpool_policy.syntax import parse


def _provider(name: str, **fields: object) -> dict[str, object]:
    return {"name": name, "type": "openai-compatible", "model": "m",
            "base_url": "http://127.0.0.1:9/v1", **fields}  # fmt: skip


def config(*providers: dict[str, object], **pool: object) -> PoolConfig:
    return validate_config_data({"providers": list(providers or [_provider("a")]), **pool})


def w107(text: str, cfg: PoolConfig) -> list[Diagnostic]:
    checked = check(parse('policy "t"\n' + text, "t.policy"), provider_facts(cfg),
                    pool_defaults(cfg))  # fmt: skip
    return [d for d in checked.diagnostics if d.code == "W107"]


def lines(found: list[Diagnostic]) -> list[int]:
    return [d.span.line for d in found if d.span is not None]


RETRY = "route d {\n  use all\n  retry {\n    attempts 3\n  }\n}"


def test_retry_attempts_warn_only_where_the_config_writes_max_retries() -> None:
    found = w107(RETRY, config(max_retries=1))
    assert lines(found) == [5]  # the `attempts 3` line
    assert found[0].message == (
        "`attempts 3` overrides the config's `max_retries: 1` (2 tries per provider)"
    )
    assert not found[0].is_error
    assert w107(RETRY, config()) == []  # left out: the seed's 3 is no one's choice
    assert w107(RETRY, config(max_retries=2)) == []  # the same number: nothing overridden


def test_retry_backoff_and_missing_settings_against_retry_delay() -> None:
    text = "route d { use all retry { attempts 2 backoff constant 1s } }"
    assert [d.message for d in w107(text, config(retry_delay=10))] == [
        "`backoff constant 1s` overrides the config's `retry_delay: 10` (ms)"]  # fmt: skip
    assert w107(text, config(retry_delay=1000)) == []
    bare = "route d { use all retry { on timeout } }"  # 1 try, no sleep
    assert [d.message.split(" overrides")[0] for d in w107(bare, config(max_retries=1))] == [
        "this retry block, without `attempts`, makes 1 try per provider and"]  # fmt: skip


def test_a_from_config_block_warns_only_about_what_it_sets() -> None:
    cfg = config(max_retries=1, retry_delay=10)
    assert w107("route d { use all retry from config { honor retry_after up to 5s } }", cfg) == []
    own = w107("retry r from config {\n  attempts 4\n}\nroute d { use all retry r }", cfg)
    assert [d.message for d in own] == [
        "`attempts 4` overrides the config's `max_retries: 1` (2 tries per provider)"]  # fmt: skip
    assert w107("route d { use all }", cfg) == []  # no retry block: the config's numbers run


BREAKER = (
    "breaker default {\n  open after 5 failures within 1m\n  cool down 1m\n}\nroute d { use all }"
)


def test_breaker_threshold_and_timeout_warn_per_written_field() -> None:
    cfg = config(_provider("a", circuit_breaker_threshold=1, circuit_breaker_timeout=500),
                 _provider("b"))  # fmt: skip
    found = w107(BREAKER, cfg)
    assert [(d.span.line if d.span else 0, d.message) for d in found] == [
        (3, "breaker 'default' opens after 5 failures, overriding the config's "
            "`circuit_breaker_threshold: 1` of provider 'a'"),
        (4, "breaker 'default' cools down for 1m, overriding the config's "
            "`circuit_breaker_timeout: 500` (ms) of provider 'a'"),
    ]  # fmt: skip
    assert w107(BREAKER, config(_provider("a"), _provider("b"))) == []
    only_threshold = config(_provider("a", circuit_breaker_threshold=1))
    assert lines(w107(BREAKER, only_threshold)) == [3]
    from_config = "breaker default from config { probe 1 }\nroute d { use all }"
    assert w107(from_config, cfg) == []
    seed = "breaker default { probe 1 }\nroute d { use all }"  # the seed's 5 and 60 s
    assert [d.message.split(",")[0] for d in w107(seed, cfg)] == [
        "breaker 'default' opens after the seed's 5 failures (it has no `open after`)",
        "breaker 'default' cools down for the seed's 60s (it has no `cool down`)"]  # fmt: skip


def test_a_breaker_warns_only_for_the_providers_it_runs_for() -> None:
    cfg = config(_provider("a", circuit_breaker_threshold=1), _provider("b"))
    text = (
        "breaker strict { open after 2 failures within 1m }\n"
        "route r when request.stream { use [b] breaker strict }\n"
        "route d { use all }"
    )
    assert w107(text, cfg) == []  # strict runs for b only; a keeps its config's breaker
    on_a = text.replace("use [b]", "use [a]")
    assert [d.message for d in w107(on_a, cfg)] == [
        "breaker 'strict' opens after 2 failures, overriding the config's "
        "`circuit_breaker_threshold: 1` of provider 'a'"]  # fmt: skip


def test_route_timeout_against_pool_and_provider_timeouts() -> None:
    cfg = config(_provider("a"), _provider("b", timeout=2000), timeout=300)
    text = "route d {\n  use all\n  timeout 5s\n}"
    assert [d.message for d in w107(text, cfg)] == [
        "route 'd': `timeout 5s` (5000 ms) overrides the config's pool `timeout: 300` (ms), "
        "`timeout: 2000` (ms) of provider 'b'"]  # fmt: skip
    only_b = "route d { use [b] timeout 5s }"  # b has its own: the pool's does not apply to it
    assert [d.message.split("overrides ")[1] for d in w107(only_b, cfg)] == [
        "the config's `timeout: 2000` (ms) of provider 'b'"]  # fmt: skip
    assert w107("route d { use all timeout 5s }", config(_provider("a"))) == []


def test_policy_from_text_and_check_cli_report_the_same(tmp_path: Path) -> None:
    data = {"max_retries": 1, "providers": [_provider("a", circuit_breaker_threshold=1)]}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    text = (
        'policy "t"\nretry default { attempts 3 }\nbreaker default { probe 1 }\n'
        "route d { use all }\n"
    )
    policy_file = tmp_path / "p.policy"
    policy_file.write_text(text)
    policy = Policy.from_file(policy_file, config=path)
    ours = [render_short(d) for d in policy.checked.warnings]
    assert len(ours) == 2  # `attempts 3`; the breaker's seed threshold (no cool-down written)
    out = subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "check", "--format", "short", "--config",
         str(path), str(policy_file)],
        capture_output=True, text=True, timeout=60,
    ).stdout  # fmt: skip
    assert out.splitlines() == ours


def test_the_pool_logs_the_checker_warnings(tmp_path: Path, caplog: Any) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text('policy "t"\nroute d { use all retry { attempts 3 } }\n')
    with caplog.at_level(logging.WARNING, logger="llmpool_policy.pool"):
        pool = LLMPool(config(max_retries=1), str(policy), check_interval_s=0)
    assert [d.code for d in pool.policy.checked.warnings] == ["W107"]
    assert any("W107" in r.getMessage() and "max_retries: 1" in r.getMessage()
               for r in caplog.records)  # fmt: skip
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="llmpool_policy.pool"):
        LLMPool(config(max_retries=1), check_interval_s=0)  # the built-in policy: from config
    assert not [r for r in caplog.records if "W107" in r.getMessage()]


def test_the_shipped_default_policy_never_overrides_the_config() -> None:
    root = Path(__file__).resolve().parent.parent
    cfg = config(_provider("a", circuit_breaker_threshold=1, circuit_breaker_timeout=500,
                           timeout=200), max_retries=1, retry_delay=10, timeout=300)  # fmt: skip
    policy = Policy.from_file(root / "policies" / "default.policy", config=cfg)
    assert policy.checked.diagnostics == ()
