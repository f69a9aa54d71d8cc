"""The language's limits (docs/language.md, "Limits"): any text ends in an AST or a typed
diagnostic with a position, in time linear in its size."""

from __future__ import annotations

import time

from llmpool_policy.syntax import MAX_SOURCE_CHARS, try_parse

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
