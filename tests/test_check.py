"""Layer 4: the checker — names, types and units, scopes, values, structure, bounds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from llmpool_policy import Policy
from llmpool_policy.errors import PolicyError
from llmpool_policy.semantics import CheckedPolicy, ProviderFacts, check
from llmpool_policy.syntax import parse, parse_partial
from llmpool_policy.syntax.formatter import format_policy

PROVIDERS = [
    ProviderFacts(
        "openai-gpt4o",
        {"name": "openai-gpt4o", "type": "openai", "priority": 1, "context_window": 128_000,
         "supports.vision": True, "input_price": 0.005, "timeout": 30.0},
    ),
    ProviderFacts(
        "anthropic-sonnet",
        {"name": "anthropic-sonnet", "type": "anthropic", "priority": 2, "context_window": 200_000,
         "supports.vision": True, "input_price": 0.003, "timeout": 60.0},
    ),
    ProviderFacts(
        "groq-llama",
        {"name": "groq-llama", "type": "groq", "priority": 3, "context_window": 8_000,
         "supports.vision": False, "input_price": 0.0005, "timeout": 10.0},
    ),
]  # fmt: skip


def run(text: str, providers: list[ProviderFacts] | None = None) -> CheckedPolicy:
    return check(parse('policy "t"\n' + text, "t.policy"), providers)


def codes(text: str, providers: list[ProviderFacts] | None = None) -> list[str]:
    return [d.code for d in run(text, providers).diagnostics]


CATCH_ALL = "\nroute default { use all }"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # types and units
        ("route r when request.input_tokens > 100k { use all }", []),
        ("route r when request.input_tokens > 100000 { use all }", []),
        ("route r when request.input_tokens > 1m { use all }", []),  # 1m reads as a million here
        ("route r when request.input_tokens > 5s { use all }", ["E201"]),
        ("route r when request.images > 5% { use all }", ["E201"]),
        ("route r when request.model == 3 { use all }", ["E201"]),
        ("route r when request.tags > 1 { use all }", ["E201"]),
        ("route r when request.images { use all }", ["E202"]),
        ("route r when request.stream and request.images > 0 { use all }", []),
        ('route r when "batch" in request.tags { use all }', []),
        ('route r when "b" in request.model { use all }', []),
        ("route r when 3 in request.images { use all }", ["E206"]),
        ('route r when request.metadata.team == "x" { use all }', []),
        ("route r when request.metadata == 1 { use all }", ["E106"]),
        ("route r when request.imgaes > 0 { use all }", ["E106"]),
        # scopes
        ("route r when error_rate(5m) > 5% { use all }", ["E204"]),
        ("route r when priority < 2 { use all }", ["E204"]),
        ("group g = providers where request.images > 0\nroute r { use g }", ["E204"]),
        ("group g = providers where error_rate > 1%\nroute r { use g }", ["E204"]),
        ("route r { use providers where context_window >= request.input_tokens }", []),
        ("route r { use providers where breaker.open }", ["E204"]),
        ("route r { use all skip when error_rate(5m) > 5% or latency.p95(5m) > 3s }", []),
        ("route r { use all skip when error_rate(5m) > 0.05 }", ["E201"]),
        ("route r { use all skip when latency.p95 > 3 }", ["E201"]),
        ("route r { use all skip when spend(1h) > $10 }", []),
        ("route r { use all skip when spend(1h) > 10s }", ["E201"]),
        (
            "route r { use all order by cost, success_rate(5m) desc unknown first,"
            " latency.p50 unknown last }",
            [],
        ),
        ("route r { use all order by cost, success_rate(5m) desc, latency.p50 }", ["N101"] * 2),
        ("route r { use all order by error_rate(1m) * 2 desc, priority }", ["N101"]),
        ("route r { use all order by cost, priority desc, requests(5m) }", []),
        # orders that order nothing (issue 13, item 14)
        ("route r { use [a, b] split a 50%, b 50% order by priority }", ["W108"]),
        ("route r { split a 50%, b 50% order by cost, latency.p95(5m) unknown last }", ["W108"]),
        ("route r { use [a, b] split a 50%, b 50% }", []),
        ("route r { use all order by request.max_tokens }", ["W109"]),
        ("route r { use all order by request.max_tokens * 2 desc, priority }", ["W109"]),
        ("route r { use all order by request.metadata.rank }", ["W109"]),
        ("route r { use all order by 1 }", ["W109"]),
        ("route r { use all order by context_window - request.input_tokens }", []),
        ("route r { use all order by request.imgaes }", ["E106"]),  # its own error, not W109
        ("route r { use all order by priority, request.model, cost }", ["W109"]),
        # metric windows
        ("route r { use all skip when in_flight(5m) > 3 }", ["E203"]),
        ("route r { use all skip when error_rate(5m, 1m) > 3% }", ["E203"]),
        ("route r { use all skip when error_rate(5) > 3% }", ["E203"]),
        ("route r { use all skip when eror_rate(5m) > 3% }", ["E107"]),
        # values
        ("route r { use all split a 60%, b 30% }", ["E302"]),
        ("route r { use all split a 60%, b 40% }", []),
        ("retry q { attempts 0 }\nroute r { use all retry q }", ["E303"]),
        ("retry q { attempts 2.5 }\nroute r { use all retry q }", ["E303"]),
        ("retry q { backoff exponential 8s .. 1s }\nroute r { use all retry q }", ["E304"]),
        ("retry q { backoff constant 0s }\nroute r { use all retry q }", ["E301"]),
        (
            "retry q { honor retry_after up to 20s, cool down at most 0s }\n"
            "route r { use all retry q }",
            ["E301"],
        ),
        ("retry q { honor retry_after, cool down at most 5m }\nroute r { use all retry q }", []),
        ("retry q { on 600 }\nroute r { use all retry q }", ["E306"]),
        ("retry q { on 504..500 }\nroute r { use all retry q }", ["E306"]),
        ("retry q { on rate_limted }\nroute r { use all retry q }", ["E108"]),
        ("retry q { on auth }\nroute r { use all retry q }", ["W105"]),
        ("route r { use all failover on 401 }", ["N102", "W105"]),
        # failover on statuses alone leaves timeouts and lost connections out (a note)
        ("route r { use all failover on 429, 5xx }", ["N102"]),
        ("route r { use all failover on 429, 500..504, timeout }", []),
        ("route r { use all failover on 503, connection }", []),
        ("route r { use all failover on server_error }", []),
        ("route r { use all failover off }", []),
        ("breaker b { open at 150% errors within 1m }\nroute r { use all breaker b }", ["E305"]),
        ("limits { max cost $0 per request }\nroute r { use all }", ["E307"]),
        ("budget b = $0 per day\nroute r { use all }", ["E307"]),
        ("retry q { attempts 2 attempts 3 }\nroute r { use all retry q }", ["E111"]),
        ("route r { use all use all }", ["E111"]),
        # names
        ("route r { use fsat }", ["E102"]),
        ("route r { use all retry standrd }", ["E103"]),
        ("route r { use all breaker dflt }", ["E104"]),
        ("route r { use all on exhausted fallback nowhere }", ["E105"]),
        ("route r when request.stream { use all }\nroute r { use all }", ["E110"]),
        ("route r { use all }\nassert max_cals <= 3", ["E109"]),
        ("group g = [a]\nroute r { use all }", ["W101"]),
        ("retry q { attempts 2 }\nroute r { use all }", ["W101"]),
        ("retry default { attempts 2 }\nroute r { use all }", []),  # applies to every route
        # structure
        ("route a { use all }\nroute b when request.images > 0 { use all }", ["E401"]),
        ("route a when request.images > 0 { use all }", ["E402"]),
        ("", ["E402"]),
        (
            "route a when request.images > 0 { use all }\n"
            "route b when request.images > 0 { use all }\nroute c { use all }",
            ["W102"],
        ),
        ("route a when false { use all }\nroute c { use all }", ["E401"]),
        ("route a { use all on exhausted fallback a }", ["E403"]),
        (
            "route a when request.images > 0 { use all on exhausted fallback b }\n"
            "route b { use all on exhausted fallback a }",
            ["E403"],
        ),
    ],
)
def test_rules(text: str, expected: list[str]) -> None:
    if text.startswith("route r when") and "\nroute" not in text:
        text += CATCH_ALL
    assert codes(text) == expected


def test_missing_header_is_a_warning() -> None:
    checked = check(parse("route d { use all }"))
    assert [d.code for d in checked.diagnostics] == ["W103"]
    assert checked.ok


def test_fallback_cycle_prints_the_cycle() -> None:
    checked = run(
        "route a when request.images > 0 { use all on exhausted fallback b }\n"
        "route b when request.stream { use all on exhausted fallback c }\n"
        "route c { use all on exhausted fallback a }"
    )
    (d,) = checked.diagnostics
    assert d.message == "fallback cycle: a -> b -> c -> a"


def test_fallback_only_routes_may_follow_the_catch_all() -> None:
    assert codes("route a { use all on exhausted fallback b }\nroute b { use all }") == []


def test_did_you_mean_against_config() -> None:
    checked = run("route r { use [opnai-gpt4o] }", PROVIDERS)
    (d,) = checked.diagnostics
    assert (d.code, d.message, d.help) == (
        "E101",
        "unknown provider 'opnai-gpt4o'",
        "did you mean 'openai-gpt4o'?",
    )
    assert d.span is not None and d.span.column == 16


def test_split_arms_checked_against_config_and_use() -> None:
    assert codes("route r { split openai-gpt4o 50%, groq-lama 50% }", PROVIDERS) == ["E101"]
    assert codes(
        "route r { use [openai-gpt4o] split openai-gpt4o 50%, groq-llama 50% }", PROVIDERS
    ) == ["E405"]


def test_group_shadowing_a_provider() -> None:
    text = "group groq-llama = [openai-gpt4o]\nroute r { use groq-llama }"
    assert codes(text, PROVIDERS) == ["E112"]


def test_groups_cannot_take_the_words_use_reads_first() -> None:
    """`use all` and `use providers where` never mean a group: such a group is an error, with or
    without a config (a list such as `[all]` would take it, `use all` would not)."""
    for word in ("all", "providers"):
        text = f"group {word} = [openai-gpt4o]\nroute r {{ use [{word}] }}"
        assert codes(text) == ["E113"]
        assert codes(text, PROVIDERS) == ["E113"]
    assert codes("group everyone = [openai-gpt4o]\nroute r { use [everyone] }") == []


def test_empty_selection_warns_with_config() -> None:
    text = "route r { use providers where context_window > 1M }"
    assert codes(text, PROVIDERS) == ["W104"]
    assert codes(text) == []


# ---- bounds -----------------------------------------------------------------------------------

RETRY = "retry standard { attempts 3 backoff exponential 1s .. 4s on timeout }\n"


def test_bounds_multiply_attempts_candidates_and_hops() -> None:
    checked = run(
        RETRY + "route a when request.images > 0 { use [openai-gpt4o, groq-llama] retry standard "
        "on exhausted fallback b }\n"
        "route b { use [anthropic-sonnet] retry standard timeout 10s }",
        PROVIDERS,
    )
    a = checked.bounds.for_route("a")
    b = checked.bounds.for_route("b")
    assert a is not None and b is not None
    assert (a.candidates, a.tries_per_provider, a.hops) == (2, 3, 1)
    assert a.calls.value == 2 * 3 + 1 * 3
    # a: 3 tries on openai (30s) and on groq (10s), each provider sleeping 1s + 2s between
    # tries; then b: 3 x 10s (the route's timeout) + 1s + 2s
    assert a.time.value == 3 * (30 + 10) + 2 * 3 + (3 * 10 + 3)
    assert b.calls.value == 3
    assert checked.bounds.calls.value == 9


def test_max_attempts_caps_the_whole_chain() -> None:
    checked = run(
        RETRY
        + "limits { max attempts 4 deadline 50s }\n"
        + "route a { use [openai-gpt4o, groq-llama] retry standard on exhausted fallback b }\n"
        "route b { use [anthropic-sonnet] retry standard }",
        PROVIDERS,
    )
    a = checked.bounds.for_route("a")
    assert a is not None
    assert a.calls.value == 4
    assert a.time.value == 50


def test_failover_off_tries_one_provider() -> None:
    checked = run(RETRY + "route a { use all retry standard failover off }", PROVIDERS)
    assert checked.bounds.calls.value == 3


def test_unknown_without_config_then_known_with_it() -> None:
    text = RETRY + "route a { use all retry standard }\nassert max_calls <= 6"
    without = run(text)
    assert without.bounds.calls.value is None
    assert [d.code for d in without.diagnostics] == ["W106"]
    with_config = run(text, PROVIDERS)
    assert with_config.bounds.calls.value == 9
    (d,) = with_config.diagnostics
    assert d.code == "E404"
    assert "worst case is 9" in d.message


def test_assert_passes_and_fails_on_time() -> None:
    base = RETRY + "limits { deadline 45s }\nroute a { use all retry standard }\n"
    assert codes(base + "assert max_time <= 45s", PROVIDERS) == []
    assert codes(base + "assert max_time <= 44s", PROVIDERS) == ["E404"]
    assert codes(base + "assert max_time <= 3", PROVIDERS) == ["E201"]


def test_route_level_assert_uses_route_bounds() -> None:
    # no retry block: the pool's max_retries 3 -> 4 tries of the one provider
    text = "route a { use [openai-gpt4o] assert max_calls <= 4 assert max_hops <= 0 }"
    assert codes(text) == []


def test_retry_after_cap_counts_as_sleep() -> None:
    text = (
        "retry r { attempts 2 backoff constant 1s honor retry_after up to 20s }\n"
        "route a { use [openai-gpt4o] retry r timeout 5s }"
    )
    checked = run(text)
    assert checked.bounds.time.value == 2 * 5 + 20


def test_slowest_candidate_sets_the_time_and_unconfigured_ones_get_the_default() -> None:
    partial = [*PROVIDERS, ProviderFacts("no-timeout", {"name": "no-timeout"})]
    once = "retry { attempts 1 } failover on timeout"
    checked = run(f"route a {{ use [anthropic-sonnet, no-timeout] {once} }}", partial)
    assert checked.bounds.time.value == 60 + 30  # anthropic's 60s, then the 30s default
    checked = run(f"route a {{ use [groq-llama, no-timeout] {once} }}", partial)
    assert checked.bounds.time.value == 10 + 30


def test_uncapped_retry_after_makes_time_unbounded_unless_a_deadline_caps_it() -> None:
    text = "retry r { attempts 2 honor retry_after }\nroute a { use [openai-gpt4o] retry r }"
    checked = run(text)
    assert checked.bounds.time.value is None
    assert "no `up to` cap" in checked.bounds.time.why
    assert checked.bounds.calls.value == 2
    capped = run("limits { deadline 90s }\n" + text)
    assert capped.bounds.time.value == 90


def test_order_warnings_say_what_to_do() -> None:
    """W108 names both fixes; W109 points at the provider's attribute of the same name."""
    (split,) = run("route r { use [a, b] split a 50%, b 50% order by priority }").warnings
    assert split.message == (
        "`split` in route 'r' overrides `order by priority`: the drawn arm is tried first "
        "whatever the order says"
    )
    assert split.help == (
        "to divide traffic by weight, delete `order by priority`; to send it by priority, "
        "delete `split a 50%, b 50%`"
    )
    (model,) = run("route r { use all order by request.model }").warnings
    assert model.help is not None and model.help.startswith("did you mean the provider's `model`?")
    (tokens,) = run("route r { use all order by request.max_tokens }").warnings
    assert tokens.message == (
        "order key `request.max_tokens` is the same for every provider: it reads only the "
        "request, so it orders nothing"
    )
    assert tokens.help is not None and "route's `when`" in tokens.help


def test_policy_from_file_without_a_config_checks_like_check(tmp_path: Path) -> None:
    """No config: provider names are not checked, as `check` without `--config` (it reported
    E101 on every provider name)."""
    path = tmp_path / "named.policy"
    path.write_text('policy "n"\nroute r when request.stream { use [openai-gpt4o, groq] }\n'
                    "route default { use all split openai-gpt4o 50%, groq 50% }\n")  # fmt: skip
    policy = Policy.from_file(path)
    checked = check(parse(path.read_text(), str(path)))
    assert policy.checked.diagnostics == checked.diagnostics == ()
    assert policy.name == "n"
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path, config=PROVIDERS)
    unknown = {d.message for d in info.value.diagnostics if d.code == "E101"}
    assert unknown == {"unknown provider 'groq'"}


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda p: None, "cannot read the policy file: no such file"),
        (lambda p: p.mkdir(), "cannot read the policy file: is a directory"),
        (lambda p: p.write_bytes(b'policy "\xff"'), "cannot read the policy file: not UTF-8"),
    ],
)
def test_policy_file_that_cannot_be_read_is_a_typed_error(
    tmp_path: Path, make: Callable[[Path], object], why: str
) -> None:
    path = tmp_path / "p.policy"
    make(path)
    with pytest.raises(PolicyError) as info:
        Policy.from_file(path)
    (found,) = info.value.diagnostics
    assert (found.code, found.path) == ("E009", str(path))
    assert found.message.startswith(why)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "help"),
    [
        (
            "route r when request.metadata.kind == search { use all }",
            'to compare with the text search, put it in double quotes: "search"',
        ),
        (
            'route r when request.metadata.kind in [search, "chat"] { use all }',
            'to compare with the text search, put it in double quotes: "search"',
        ),
        (
            "budget daily = $50 per day per team\nroute r when request.stream { use all }",
            "to keep the budget per team, write `per request.metadata.team`",
        ),
        (
            "route r when vision { use all }",
            "see docs/language.md#signals for what a policy can read",
        ),
    ],
)
def test_unknown_bare_words_get_hints_that_teach(text: str, help: str) -> None:
    (found,) = run(text + CATCH_ALL).errors
    assert found.code == "E106"
    assert found.help == help


def partial_codes(text: str) -> tuple[list[str], list[str]]:
    """(syntax codes, checker codes) of `text` read in part, as `check` reads it."""
    policy, syntax = parse_partial('policy "t"\n' + text, "t.policy")
    assert policy is not None
    return [d.code for d in syntax], [d.code for d in check(policy).diagnostics]


def test_syntax_errors_do_not_hide_the_checker_findings() -> None:
    policy, syntax = parse_partial(
        'policy "t"\nretry standard { attempts 3 backoff constant 5 }\n'
        "route a when request.stream { use all retry standard retry standrd }\n"
        "route b when request.images > 0 { use all split x 50% }\n"
        "route default { use fast = 1 }\n",
        "t.policy",
    )
    assert policy is not None
    assert [(d.code, d.span.line if d.span else 0) for d in syntax] == [("E001", 2), ("E001", 5)]
    assert [(s.keyword, s.name) for s in policy.skipped] == [("retry", "standard"),
                                                               ("route", "default")]  # fmt: skip
    found = check(policy).diagnostics
    # `retry standard` was declared by the block that failed: not unknown; the misspelt
    # `standrd` is still reported, as are the split's sum and the retry given twice. No E402:
    # the catch-all is the route that failed.
    assert [(d.code, d.message) for d in found] == [
        ("E111", "`retry` is given twice in route 'a'"),
        ("E103", "unknown retry policy 'standrd'"),
        ("E302", "split weights sum to 50%, not 100%"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a retry used only by a route that failed is not "never used"
        ("retry q { attempts 2 }\nroute a { use all retry q order by = }", (["E001"], [])),
        # ... but one no statement names still is
        ("retry q { attempts 2 }\nroute a when { use all }\nroute d { use all }",
         (["E001"], ["W101"])),
        # bounds of a policy read in part are not asserted on
        ("route a { use all retry { attempts 9 } assert max_calls <= 2 }\n"
         "limits { deadline }", (["E001"], [])),
    ],
)  # fmt: skip
def test_findings_echoing_a_failed_statement_are_dropped(
    text: str, expected: tuple[list[str], list[str]]
) -> None:
    assert partial_codes(text) == expected


FAILS_OVER_ON_404 = "route r when request.stream {\n  use all\n  failover on 404, timeout\n}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (FAILS_OVER_ON_404, ["W105"]),
        # on the warning's own line
        (FAILS_OVER_ON_404.replace("timeout\n", "timeout  # allow W105\n"), []),
        # on the route's header line, or its closing brace: the whole route
        (FAILS_OVER_ON_404.replace("{\n", "{  # allow W105: 404 is a stale replica here\n"), []),
        (FAILS_OVER_ON_404 + "  # allow W105", []),
        # several codes, lower case
        (FAILS_OVER_ON_404.replace("{\n", "{  # allow n102, w105\n").replace(", timeout", ""),
         []),
        # on another line of the route: its own line only, so it allows nothing
        (FAILS_OVER_ON_404.replace("use all\n", "use all  # allow W105\n"), ["W110", "W105"]),
        # errors cannot be allowed; a code that does not exist is reported
        (FAILS_OVER_ON_404.replace("use all\n", "use alll  # allow E102\n"), ["E102", "W110",
                                                                            "W105"]),
        ("route r when request.stream { use all }  # allow W999", ["W110"]),
        ("route r when request.stream { use all }  # allowed: W105", []),  # not an allow
    ],
)  # fmt: skip
def test_allow_comments_accept_deliberate_warnings(text: str, expected: list[str]) -> None:
    assert codes(text + CATCH_ALL) == expected


def test_allow_that_allows_nothing_says_why() -> None:
    found = run("route d { use all }  # allow E402, W998, W101").diagnostics
    assert [(d.code, d.message) for d in found] == [
        ("W110", "`allow E402` cannot allow an error: only warnings and notes can be allowed"),
        ("W110", "`allow W998` names no diagnostic code"),
        ("W110", "`allow W101` allows nothing: no W101 is reported on line 2"),
    ]
    assert found[1].help == "see docs/diagnostics.md for the codes"


def test_fmt_keeps_what_an_allow_allows() -> None:
    """`fmt` keeps the comments where they apply: the same findings before and after."""
    for text in (
        FAILS_OVER_ON_404.replace("timeout\n", "timeout  # allow W105\n"),
        FAILS_OVER_ON_404.replace("{\n", "{  # allow W105\n"),
        "route r when request.stream { use all failover on 404, timeout }  # allow W105",
        "route r when request.stream { use all\nfailover on 404, timeout }  # allow W105",
    ):
        source = 'policy "t"\n' + text + CATCH_ALL
        laid_out = format_policy(parse(source))
        assert "# allow W105" in laid_out
        assert check(parse(laid_out)).diagnostics == check(parse(source)).diagnostics == ()
