"""The formatter on examples: canonical layout, comments kept, minimal parentheses, stability."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from llmpool_policy.errors import PolicySyntaxError
from llmpool_policy.syntax import ast, parse
from llmpool_policy.syntax.formatter import format_expr, format_policy, format_text, quote_string

from .conftest import POLICIES


def fmt(text: str) -> str:
    """Format, and hold every promise on the way: meaning, comments, idempotence."""
    out = format_text(text)
    assert parse(out) == parse(text)
    assert [c.text for c in parse(out).comments] == [c.text for c in parse(text).comments]
    assert format_text(out) == out
    return out


@pytest.mark.parametrize("path", POLICIES, ids=lambda p: p.name)
def test_example_policies_are_in_canonical_form(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert format_text(text, str(path)) == text


# ---- layout -----------------------------------------------------------------------------------

MESSY = """policy   "all"
group a=[x,y]   group b = providers where type in ["groq","together"]
group c = all
group d = a
retry r { attempts 3 backoff exponential 500ms..8s jitter full on rate_limited, 429, 5xx, 500..504
honor retry_after up to 20s }
retry s { backoff constant 1s  honor retry_after cool down at most 2m }
retry t   from   config{honor retry_after up to 20s}
breaker br { open after 5 failures within 1m  cool down 30s extend on failure up to 5m probe 1
  count overloaded, 503 }
breaker rate { open at 50% errors within 1m min 20 requests cool down 1m, extend on failure }
breaker calm { cool down 10s }
breaker seed from config { probe 1 }
limits { deadline 60s  max attempts 6  max cost $0.50 per request }
budget b1 = $100 per day per request.metadata.team on breach fallback cheap
budget b2 = $5 per hour on breach deny
budget b3 = $1.50 per month
route vision when request.images > 0 and not (request.stream or request.tools) {
use vision skip when breaker.open or rpm.remaining == 0 avoid when latency.p95(5m) > 4s
order by cost , success_rate(5m) desc, latency.p50(5m) asc
split x 90%, y 10% by request.user retry r breaker br failover on timeout, 5xx
on exhausted fallback cheap timeout 20s limits { deadline 30s } retry from config { attempts 2 }
assert max_calls <= 4 }
route cheap { use [x] failover off }
assert max_time <= 2m
"""

CANONICAL = """policy "all"

group a = [x, y]
group b = providers where type in ["groq", "together"]
group c = all
group d = a

retry r {
  attempts 3
  backoff exponential 500ms .. 8s jitter full
  on rate_limited, 429, 5xx, 500..504
  honor retry_after up to 20s
}

retry s {
  backoff constant 1s
  honor retry_after, cool down at most 2m
}

retry t from config {
  honor retry_after up to 20s
}

breaker br {
  open after 5 failures within 1m
  cool down 30s, extend on failure up to 5m
  probe 1
  count overloaded, 503
}

breaker rate {
  open at 50% errors within 1m min 20 requests
  cool down 1m, extend on failure
}

breaker calm {
  cool down 10s
}

breaker seed from config {
  probe 1
}

limits {
  deadline 60s
  max attempts 6
  max cost $0.50 per request
}

budget b1 = $100 per day per request.metadata.team on breach fallback cheap
budget b2 = $5 per hour on breach deny
budget b3 = $1.50 per month

route vision when request.images > 0 and not (request.stream or request.tools) {
  use vision
  skip when breaker.open or rpm.remaining == 0
  avoid when latency.p95(5m) > 4s
  order by cost, success_rate(5m) desc, latency.p50(5m) asc
  split x 90%, y 10% by request.user
  retry r
  breaker br
  failover on timeout, 5xx
  on exhausted fallback cheap
  timeout 20s
  limits {
    deadline 30s
  }
  retry from config {
    attempts 2
  }
  assert max_calls <= 4
}

route cheap {
  use [x]
  failover off
}

assert max_time <= 2m
"""


def test_every_construct_gets_the_canonical_layout() -> None:
    assert fmt(MESSY) == CANONICAL


def test_canonical_layout_is_a_fixed_point() -> None:
    assert format_text(CANONICAL) == CANONICAL


def test_same_kind_one_liners_stay_together_other_kinds_are_separated() -> None:
    out = fmt(
        'policy "p"\ngroup a = all\ngroup b = all\nbudget x = $1 per day\nassert max_calls <= 3'
    )
    assert out == (
        'policy "p"\n\ngroup a = all\ngroup b = all\n\nbudget x = $1 per day\n\n'
        "assert max_calls <= 3\n"
    )


def test_empty_blocks_open_and_close_on_their_own_lines() -> None:
    assert fmt("route r {}") == "route r {\n}\n"
    assert fmt("retry r { }  limits {}") == "retry r {\n}\n\nlimits {\n}\n"


def test_file_ends_with_exactly_one_newline() -> None:
    assert fmt('policy "p"') == 'policy "p"\n'
    assert fmt('\n\n  policy "p"\n\n\n\n') == 'policy "p"\n'
    assert format_text("") == ""
    assert format_text("\n \n") == ""


def test_literals_keep_their_spelling() -> None:
    out = fmt("route r when a > 1.50 and b < 0.5s and c == 32k and d > 1M and e >= 7% { }")
    assert "a > 1.50 and b < 0.5s and c == 32k and d > 1M and e >= 7%" in out
    assert fmt("route r when x == true or y == false or z in [4xx, 1] {}").startswith(
        "route r when x == true or y == false or z in [4xx, 1] {"
    )


def test_strings_are_printed_so_they_read_back_the_same() -> None:
    text = r'route r when a == "say \"hi\"\\ #not a comment" { }'
    out = fmt(text)
    assert r'"say \"hi\"\\ #not a comment"' in out
    assert parse(out).comments == ()


@pytest.mark.parametrize("value", ["plain", 'a "quote"', "back\\slash", "new\nline", "tab\there"])
def test_quote_string_reads_back(value: str) -> None:
    policy = parse(f"policy {quote_string(value)}")
    assert policy.name == value


def test_policy_name_with_escapes_is_requoted_safely() -> None:
    policy = ast.Policy((ast.PolicyHeader('x"y\\z\n'),))
    out = format_policy(policy)
    assert out == 'policy "x\\"y\\\\z\\n"\n'
    assert parse(out) == policy


def test_a_string_literal_whose_text_is_not_a_token_is_requoted() -> None:
    lit = ast.Literal(ast.LiteralKind.STRING, 'a"b', "bogus")
    assert format_expr(lit) == '"a\\"b"'


# ---- expressions and parentheses --------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("(a or b) or c", "a or b or c"),
        ("a or (b or c)", "a or (b or c)"),
        ("(a and b) or c", "a and b or c"),
        ("a and (b or c)", "a and (b or c)"),
        ("(a or b) and c", "(a or b) and c"),
        ("not (a and b)", "not (a and b)"),
        ("(not a) and b", "not a and b"),
        ("not (not a)", "not not a"),
        ("not (a == b)", "not a == b"),
        ("(a == b) == c", "(a == b) == c"),
        ("a == (b == c)", "a == (b == c)"),
        ("a == (not b)", "a == (not b)"),
        ("(a in b) in c", "(a in b) in c"),
        ("a not in (b + c)", "a not in b + c"),
        ("(a + b) == c", "a + b == c"),
        ("(a - b) - c", "a - b - c"),
        ("a - (b - c)", "a - (b - c)"),
        ("a - (b + c)", "a - (b + c)"),
        ("a + (b - c)", "a + (b - c)"),
        ("(a + b) * c", "(a + b) * c"),
        ("a * (b + c)", "a * (b + c)"),
        ("(a * b) * c", "a * b * c"),
        ("a / (b * c)", "a / (b * c)"),
        ("a * (b / c)", "a * (b / c)"),
        ("(a / b) / c", "a / b / c"),
        ("-(a + b)", "-(a + b)"),
        ("-(-a)", "--a"),
        ("(-a) * b", "-a * b"),
        ("-(a * b)", "-(a * b)"),
        ("a - -b", "a - -b"),
        ("(((a)))", "a"),
        ("f((a or b), [(c), (d and e)])", "f(a or b, [c, d and e])"),
        ("x.y(5m) > (1s)", "x.y(5m) > 1s"),
        ("(a or b) in [c]", "(a or b) in [c]"),
        ("-(5)", "-5"),
    ],
)
def test_parentheses_only_where_precedence_needs_them(source: str, expected: str) -> None:
    out = fmt(f"route r when {source} {{ }}")
    assert out == f"route r when {expected} {{\n}}\n"


OPERATORS = ["or", "and", "==", "<", "in", "not in", "+", "-", "*", "/"]
NESTINGS = [
    *(f"(a {o} b) {p} c" for o in OPERATORS for p in OPERATORS),
    *(f"a {o} (b {p} c)" for o in OPERATORS for p in OPERATORS),
    *(f"{u} (a {o} b)" for u in ["not", "-"] for o in OPERATORS),
    *(f"({u} a) {o} b" for u in ["not", "-"] for o in OPERATORS),
    *(f"a {o} ({u} b)" for u in ["not", "-"] for o in OPERATORS),
    *(f"{u} ({v} a)" for u in ["not", "-"] for v in ["not", "-"]),
]


@pytest.mark.parametrize("source", NESTINGS)
def test_every_pair_of_operators_nests_correctly(source: str) -> None:
    """Each operator inside each other, on each side: the tree survives, extra parens go."""
    out = fmt(f"route r when {source} {{ }}")
    printed = out.removeprefix("route r when ").removesuffix(" {\n}\n")
    if printed.count("(") == source.count("("):
        # Kept the parentheses: they must be needed (dropping them changes or breaks the tree).
        bare = printed.replace("(", "").replace(")", "")
        with contextlib.suppress(PolicySyntaxError):
            assert parse(f"route r when {bare} {{ }}") != parse(out)


# ---- comments ---------------------------------------------------------------------------------


def test_own_line_comment_goes_before_the_next_statement_at_its_indentation() -> None:
    text = "route r {\n# about use\n        use all\n   # about skip\nskip when breaker.open\n}\n"
    assert fmt(text) == (
        "route r {\n  # about use\n  use all\n  # about skip\n  skip when breaker.open\n}\n"
    )


def test_trailing_comment_stays_on_its_statement_line() -> None:
    text = "retry r { attempts 3 # first try included\n backoff constant 1s}#end of r\n"
    assert fmt(text) == (
        "retry r {\n  attempts 3  # first try included\n  backoff constant 1s\n}  #end of r\n"
    )


def test_comment_after_an_opening_brace_stays_on_the_opener() -> None:
    assert fmt("route r when a {   # why\n use all }") == "route r when a {  # why\n  use all\n}\n"
    assert fmt("limits { # l\n deadline 1s }") == "limits {  # l\n  deadline 1s\n}\n"


def test_comment_at_the_end_of_a_one_line_block_trails_its_closing_brace() -> None:
    assert fmt("limits { deadline 60s  max attempts 4 }  # global\n") == (
        "limits {\n  deadline 60s\n  max attempts 4\n}  # global\n"
    )


def test_comments_before_a_closing_brace_stay_inside_the_block() -> None:
    text = (
        "route r {\n  use all\n  # last words\n}\n"
        "route s { retry { attempts 1\n# inner\n}\n# outer\n}"
    )
    assert fmt(text) == (
        "route r {\n  use all\n  # last words\n}\n\n"
        "route s {\n  retry {\n    attempts 1\n    # inner\n  }\n  # outer\n}\n"
    )


def test_comments_at_end_of_file_stay_at_the_end() -> None:
    assert fmt('policy "p"\n# one\n# two\n') == 'policy "p"\n# one\n# two\n'
    assert fmt('policy "p"\n\n\n# after a gap') == 'policy "p"\n\n# after a gap\n'
    assert fmt("# only a comment") == "# only a comment\n"


def test_comment_inside_a_statement_moves_above_it() -> None:
    text = (
        "route r {\n  skip when a or  # why a\n    b\n  order by cost,  # cheap first\n  x desc\n}"
    )
    assert fmt(text) == (
        "route r {\n  # why a\n  skip when a or b\n  # cheap first\n  order by cost, x desc\n}\n"
    )


def test_comment_in_a_multi_line_route_header() -> None:
    text = "route r when a # why a\n  and b {\n use all }"
    assert fmt(text) == "# why a\nroute r when a and b {\n  use all\n}\n"


def test_blank_lines_between_comments_and_before_a_declaration_are_kept_once() -> None:
    text = '# header\n\n\n\npolicy "p"\n# ---- groups\n\n# a\ngroup a = all\ngroup b = all\n'
    assert fmt(text) == (
        '# header\n\npolicy "p"\n\n# ---- groups\n\n# a\ngroup a = all\ngroup b = all\n'
    )


def test_blank_lines_between_statements_in_a_block_are_dropped() -> None:
    assert fmt("route r {\n\n  use all\n\n\n  failover off\n\n}") == (
        "route r {\n  use all\n  failover off\n}\n"
    )


def test_comment_text_is_kept_exactly() -> None:
    text = '#no space  \n#    wide\t# inner hash "quoted"\npolicy "p"  #!weird ## \n'
    out = fmt(text)
    assert out == '#no space\n#    wide\t# inner hash "quoted"\npolicy "p"  #!weird ##\n'


def test_many_comments_everywhere_are_neither_lost_nor_duplicated() -> None:
    text = (
        '# 1\npolicy "p" # 2\n# 3\nretry r # 4\n{ # 5\n attempts 2 # 6\n # 7\n} # 8\n'
        "# 9\nroute x when a # 10\n or b # 11\n{ # 12\n use [a, # 13\n b] # 14\n"
        " limits { # 15\n deadline 1s # 16\n # 17\n } # 18\n # 19\n} # 20\n# 21\n"
    )
    out = fmt(text)
    numbers = [c.text for c in parse(out).comments]
    assert numbers == [f"# {i}" for i in range(1, 22)]


# ---- errors -----------------------------------------------------------------------------------


def test_format_text_raises_the_syntax_error_for_broken_text() -> None:
    with pytest.raises(PolicySyntaxError):
        format_text("route r { use }")
