"""The language's limits (docs/language.md, "Limits"): any text ends in an AST or a typed
diagnostic with a position, in time linear in its size."""

from __future__ import annotations

import math
import re
import time

import pytest

from llmpool_policy import Policy
from llmpool_policy.semantics import PoolDefaults, ProviderFacts, check, format_bounds
from llmpool_policy.semantics.defaults import doubling_steps
from llmpool_policy.syntax import MAX_EXPR_DEPTH, MAX_SOURCE_CHARS, ast, parse, try_parse
from llmpool_policy.syntax.formatter import format_text

ROUTE = "route default { use all }\n"


def _parse_seconds(text: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        policy, diagnostics = try_parse(text)
        best = min(best, time.perf_counter() - start)
        assert policy is not None, diagnostics
    return best


def test_comments_are_kept_with_their_positions() -> None:
    text = '# one\npolicy "a # not a comment"  # two\n\n  # three\n' + ROUTE
    policy, _ = try_parse(text)
    assert policy is not None
    assert [(c.text, c.span.line, c.span.column, c.span.start) for c in policy.comments] == [
        ("# one", 1, 1, 0),
        ("# two", 2, 29, 34),
        ("# three", 4, 3, 43),
    ]


def test_comment_handling_is_linear() -> None:
    """Ten times the comment lines costs about ten times the time (it was a hundred: 60k lines
    took 3.1 s, 1 MB ~50 s). Compared with itself, so a loaded machine does not matter."""
    line = "# a comment that says why, as comments in ops policies do\n"
    small = _parse_seconds(line * 1_500 + ROUTE, runs=5)
    large = _parse_seconds(line * 15_000 + ROUTE, runs=2)
    assert large < 30 * small, (small, large)


def test_a_policy_at_the_size_limit_parses() -> None:
    filler = "# filler\n"
    text = ROUTE + filler * ((MAX_SOURCE_CHARS - len(ROUTE)) // len(filler))
    text += "#" * (MAX_SOURCE_CHARS - len(text))
    assert len(text) == MAX_SOURCE_CHARS
    policy, diagnostics = try_parse(text)
    assert policy is not None, diagnostics


def test_a_20_mb_policy_is_refused_at_once_where_it_crosses_the_limit() -> None:
    line = "route r when request.stream { use all }  # padding\n"  # 51 characters
    text = line * (20_000_000 // len(line))
    start = time.perf_counter()
    policy, diagnostics = try_parse(text, "big.policy")
    elapsed = time.perf_counter() - start
    assert policy is None
    assert elapsed < 2.0
    ((d,),) = (diagnostics,)
    assert d.code == "E005"
    assert d.span is not None and d.path == "big.policy"
    assert (d.span.line, d.span.column) == (
        MAX_SOURCE_CHARS // len(line) + 1,
        MAX_SOURCE_CHARS % len(line) + 1,
    )
    assert f"{len(text):,} characters" in d.message and "1,000,000" in d.message


# ---- issue 13, item 3: what `check` accepts, the pool can load; nothing recurses unbounded


def _depth(expr: ast.Expr) -> int:
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(node, ast.Binary):
            stack += [(node.left, depth + 1), (node.right, depth + 1)]
        elif isinstance(node, ast.Unary):
            stack.append((node.operand, depth + 1))
    return deepest


def _condition(text: str) -> ast.Expr:
    policy, diagnostics = try_parse(text)
    assert policy is not None, diagnostics
    route = policy.decls[0]
    assert isinstance(route, ast.RouteDecl) and route.condition is not None
    return route.condition


def test_a_long_or_chain_is_checked_loaded_formatted_and_decided() -> None:
    """3,000 tenants in one condition: on main, 199 terms made the compiled code a raw
    SyntaxError and ~496 made check and fmt die with RecursionError."""
    terms = [f'request.metadata.tenant == "t{i}"' for i in range(3_000)]
    text = f"route tenants when {' or '.join(terms)} {{ use all }}\n{ROUTE}"
    assert check(parse(text)).ok
    assert format_text(text).startswith(f"route tenants when {' or '.join(terms)} {{\n")
    policy = Policy.from_text(text)
    assert _route(policy, {"metadata": {"tenant": "t2999"}}) == "tenants"
    assert _route(policy, {"metadata": {"tenant": "t3000"}}) == "default"


def _route(policy: Policy, request: dict[str, object]) -> str | None:
    return policy.decide(request, raise_if_unroutable=False).route


def test_chains_are_balanced_trees_that_format_back_flat() -> None:
    n = 5_000
    for op in ("or", "and"):
        chain = f" {op} ".join(["request.stream"] * n)
        condition = _condition(f"route r when {chain} {{ use all }}\n{ROUTE}")
        assert _depth(condition) == 1 + math.ceil(math.log2(n))
        assert format_text(f"route r when {chain} {{ use all }}\n").startswith(
            f"route r when {chain} {{\n"
        )


@pytest.mark.parametrize(
    "condition",
    [
        "(a or b) or c",
        "a or (b or c)",
        "(a or b) or (c or d) or e",
        "a or (b or c or d) or e",
        "(a and b or c) and (d or e or f) and g",
        "not (a or b) or (c and d and e) or f",
    ],
)
def test_bracketed_chains_keep_their_tree_through_fmt(condition: str) -> None:
    condition = re.sub(r"\b([a-g])\b", r"request.metadata.\1", condition)
    text = f"route r when {condition} {{ use all }}\n{ROUTE}"
    formatted = format_text(text)
    assert _condition(formatted) == _condition(text)
    assert format_text(formatted) == formatted


AT_LIMIT = {
    "not": "route r when " + "not " * (MAX_EXPR_DEPTH - 1) + "request.stream { use all }",
    "unary minus": "route r when request.max_tokens > " + "- " * (MAX_EXPR_DEPTH - 2) + "1 "
    "{ use all }",
    "sum": "route r when request.max_tokens > "
    + " + ".join(["1"] * (MAX_EXPR_DEPTH - 1))
    + " { use all }",
    # error_rate(5m) is two levels (a call of a literal), its comparison a third.
    "gate": "route r when request.stream { use all skip when "
    + "not " * (MAX_EXPR_DEPTH - 3)
    + "error_rate(5m) > 5% }",
}


@pytest.mark.parametrize("kind", AT_LIMIT)
def test_an_expression_at_the_depth_limit_goes_all_the_way(kind: str) -> None:
    text = AT_LIMIT[kind] + "\n" + ROUTE
    assert check(parse(text)).ok
    assert format_text(format_text(text)) == format_text(text)
    assert _route(Policy.from_text(text), {"max_tokens": 5}) in ("r", "default")


@pytest.mark.parametrize("kind", AT_LIMIT)
def test_one_level_more_is_e004_where_the_expression_starts(kind: str) -> None:
    deeper = AT_LIMIT[kind].replace("not ", "not not ", 1).replace("- ", "- - ", 1)
    deeper = deeper.replace(" + ", " + 1 + ", 1)
    policy, diagnostics = try_parse("\n" + deeper + "\n" + ROUTE, "deep.policy")
    assert policy is None
    ((d,),) = (diagnostics,)
    assert d.code == "E004" and d.path == "deep.policy" and d.span is not None
    assert d.span.line == 2
    assert deeper[d.span.column - 1 :].startswith(("not", "request.max_tokens", "-", "1"))
    assert f"nests {MAX_EXPR_DEPTH + 1} levels deep" in d.message


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("not", "route r when " + "not " * 10_000 + "request.stream { use all }"),
        ("unary minus", "route r when request.max_tokens > " + "- " * 10_000 + "1 { use all }"),
        ("sum", "route r when request.max_tokens > " + " + ".join(["1"] * 10_000) + " { use all }"),
        (
            "parens",
            "route r when " + "(" * 10_000 + "request.stream" + ")" * 10_000 + " { use all }",
        ),
    ],
)
def test_ten_thousand_levels_end_typed_and_fast(kind: str, text: str) -> None:
    start = time.perf_counter()
    policy, diagnostics = try_parse(text + "\n" + ROUTE)
    if kind == "parens":  # brackets make no tree nodes: `((x))` is `x`
        assert policy is not None, diagnostics
        assert format_text(text).startswith("route r when request.stream {\n")
        assert _route(Policy.from_text(text + "\n" + ROUTE), {"stream": True}) == "r"
    else:
        assert [d.code for d in diagnostics] == ["E004"]
        span = diagnostics[0].span
        assert span is not None and span.column == 14  # where the condition starts
    assert time.perf_counter() - start < 3.0


def test_depth_findings_join_syntax_errors_in_order() -> None:
    text = "route a when " + "not " * 100 + "request.stream { use all }\nroute b { use [x }\n"
    _, diagnostics = try_parse(text + ROUTE)
    assert [(d.code, d.span.line if d.span else 0) for d in diagnostics] == [
        ("E004", 1),
        ("E001", 2),
    ]


# ---- issue 13, item 9 (policy half): numbers beyond sane ranges, bounds that saturate


@pytest.mark.parametrize(
    "setting",
    [
        "timeout " + "9" * 400 + "s",
        "skip when error_rate(5m) > " + "1" * 309 + ".5%",
        "limits { max cost $" + "1" * 16 + " per request }",
        "skip when request.max_tokens > " + "7" * 5_000,
        "retry { attempts 2 on " + "5" * 5_000 + " }",
        "retry { attempts 2 on 500.." + "5" * 5_000 + " }",
    ],
)
def test_a_number_beyond_15_digits_is_e006_where_it_stands(setting: str) -> None:
    """Main: OverflowError from the parser (309 digits), ValueError past 4,300 digits."""
    line = f"  use all {setting}"
    policy, diagnostics = try_parse(f"route default {{\n{line}\n}}\n", "n.policy")
    assert policy is None
    ((d,),) = (diagnostics,)
    assert d.code == "E006" and d.path == "n.policy" and d.span is not None
    number = re.search(r"\$?\d{16,}", line)
    assert number is not None
    assert (d.span.line, d.span.column) == (2, number.start() + 1)
    assert "digits before its point" in d.message


def test_15_digits_are_fine() -> None:
    policy, diagnostics = try_parse("route default { use all timeout 999999999999999s }")
    assert policy is not None, diagnostics


def test_attempts_beyond_1000_is_e006() -> None:
    text = "retry r { attempts 1100 backoff exponential 1s }\nroute default { use all retry r }"
    _, diagnostics = try_parse(text)
    assert [(d.code, d.span.column if d.span else 0) for d in diagnostics] == [("E006", 20)]


def test_bounds_saturate_instead_of_overflowing() -> None:
    """1,000 attempts of an uncapped exponential backoff: 2**999 of the base is past a float
    (main: OverflowError from bounds.py); the bound stays a number, printed readably."""
    providers = [ProviderFacts("a", {"name": "a", "timeout": 30.0})]
    text = (
        "retry r { attempts 1000 backoff exponential 1000000s }\n"
        "route default { use [a] retry r }\n"
    )
    checked = check(parse(text), providers)
    assert checked.ok
    time_bound = checked.bounds.routes[0].time.value
    assert time_bound is not None and math.isfinite(time_bound) and time_bound > 1e300
    assert "e+" in format_bounds("p", checked.bounds)
    assert PoolDefaults(attempts=5_000).sleeps()[-1] == PoolDefaults().backoff_cap_s
    assert doubling_steps(1.0, math.inf, 1_100)[-1] == math.inf


def test_a_huge_sum_of_sleeps_is_unbounded_with_the_backoffs_reason() -> None:
    providers = [ProviderFacts("a", {"name": "a", "timeout": 30.0})]
    text = (
        "retry r { attempts 1000 backoff exponential 100000000000000d }\n"
        "route default { use [a] retry r }\n"
    )
    bound = check(parse(text), providers).bounds.routes[0].time
    assert bound.value is None and "give it a cap" in bound.why
