"""Formatter properties over generated policies: idempotent, meaning kept, every comment kept.

Policies are generated as source text, token by token, so the layout (spaces, tabs, newlines,
comments between any two tokens) is as arbitrary as the grammar allows. Operands of operators are
always bracketed (sometimes twice) so any tree is valid text, and the formatter has to work out
which of those parentheses the tree really needs. Strategies are built once, at import: building
them per draw costs more than the tests themselves.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpool_policy.syntax import parse
from llmpool_policy.syntax.formatter import format_text

from .conftest import POLICIES

Tokens = list[str]

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAMES = ["a", "b", "cost", "x1", "openai-gpt4o", "my_name", "Req", "_z"]
PATH_PARTS = [*NAMES, "open", "p50", "remaining"]  # keywords may follow a dot
COMMENT = st.text(alphabet=st.sampled_from(list('abc XYZ019#"{}()-*/\\\t.,')), max_size=12).map(
    lambda s: ("#" + s).rstrip()
)

NAME = st.sampled_from(NAMES)
NUMBER = st.one_of(
    st.integers(0, 999).map(str),
    st.tuples(st.integers(0, 99), st.integers(0, 99)).map(lambda t: f"{t[0]}.{t[1]:02d}"),
)
DURATION = st.tuples(NUMBER, st.sampled_from(["ms", "s", "m", "h", "d"])).map("".join)
MONEY = NUMBER.map(lambda n: "$" + n)
PERCENT = NUMBER.map(lambda n: n + "%")
STRING = st.lists(
    st.sampled_from(["a", "Z", " ", "#", "{", "'", "é", "\t", '\\"', "\\\\", "\\n", "\\t", "\\q"]),
    max_size=6,
).map(lambda ps: '"' + "".join(ps) + '"')
LITERAL = st.one_of(
    NUMBER,
    DURATION,
    MONEY,
    PERCENT,
    st.tuples(NUMBER, st.sampled_from(["k", "K", "M"])).map("".join),
    st.integers(1, 5).map(lambda d: f"{d}xx"),
    STRING,
    st.sampled_from(["true", "false"]),
)
PATH = st.tuples(NAME, st.lists(st.sampled_from(PATH_PARTS), max_size=2)).map(
    lambda t: ".".join([t[0], *t[1]])
)
BINARY = ["or", "and", "==", "!=", "<", "<=", ">", ">=", "in", "not in", "+", "-", "*", "/"]


def paren(tokens: Tokens) -> Tokens:
    return ["(", *tokens, ")"]


def comma_joined(items: list[Tokens]) -> Tokens:
    out: Tokens = []
    for i, item in enumerate(items):
        out.extend([","] * bool(i) + item)
    return out


def _compound(sub: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    binary = st.tuples(sub, st.sampled_from(BINARY), sub).map(
        lambda t: [*paren(t[0]), *t[1].split(), *paren(t[2])]
    )
    return st.one_of(
        binary,
        binary,
        binary,
        st.tuples(st.sampled_from(["not", "-"]), sub).map(lambda t: [t[0], *paren(t[1])]),
        st.tuples(PATH, st.lists(sub, max_size=2)).map(
            lambda t: [t[0], *paren(comma_joined(t[1]))]
        ),
        st.lists(sub, max_size=3).map(lambda xs: ["[", *comma_joined(xs), "]"]),
        sub.map(paren),
    )


EXPR = st.recursive(st.one_of(LITERAL, PATH).map(lambda t: [t]), _compound, max_leaves=20)
SMALL_EXPR = st.recursive(st.one_of(LITERAL, PATH).map(lambda t: [t]), _compound, max_leaves=4)


def optional(strategy: st.SearchStrategy[Tokens]) -> st.SearchStrategy[Tokens]:
    return st.one_of(st.just([]), strategy)


ERROR_ITEMS = st.lists(
    st.one_of(
        st.sampled_from(["rate_limited", "timeout", "server_error", "context_window"]),
        st.integers(100, 599).map(str),
        st.integers(1, 5).map(lambda d: f"{d}xx"),
        st.tuples(st.integers(100, 599), st.integers(100, 599)).map(lambda r: f"{r[0]} .. {r[1]}"),
    ).map(str.split),
    min_size=1,
    max_size=4,
).map(comma_joined)
GROUP_EXPR = st.one_of(
    st.lists(NAME.map(lambda n: [n]), max_size=3).map(lambda xs: ["[", *comma_joined(xs), "]"]),
    SMALL_EXPR.map(lambda e: ["providers", "where", *e]),
    st.just(["all"]),
    NAME.map(lambda n: [n]),
)
UP_TO = optional(DURATION.map(lambda d: ["up", "to", d]))
COOL_DOWN_CAP = optional(
    st.tuples(st.sampled_from([[], [","]]), DURATION).map(
        lambda t: [*t[0], "cool", "down", "at", "most", t[1]]
    )
)
RETRY_STMTS = st.lists(
    st.one_of(
        NUMBER.map(lambda n: ["attempts", n]),
        st.tuples(
            st.sampled_from(["exponential", "linear", "constant"]),
            DURATION,
            optional(DURATION.map(lambda d: ["..", d])),
            optional(st.sampled_from(["full", "equal", "none"]).map(lambda j: ["jitter", j])),
        ).map(lambda t: ["backoff", t[0], t[1], *t[2], *t[3]]),
        ERROR_ITEMS.map(lambda e: ["on", *e]),
        st.tuples(UP_TO, COOL_DOWN_CAP).map(lambda c: ["honor", "retry_after", *c[0], *c[1]]),
    ),
    max_size=4,
)
BREAKER_STMTS = st.lists(
    st.one_of(
        st.tuples(NUMBER, DURATION).map(
            lambda t: ["open", "after", t[0], "failures", "within", t[1]]
        ),
        st.tuples(PERCENT, DURATION, optional(NUMBER.map(lambda n: ["min", n, "requests"]))).map(
            lambda t: ["open", "at", t[0], "errors", "within", t[1], *t[2]]
        ),
        st.tuples(
            DURATION,
            optional(
                st.tuples(st.sampled_from([[","], []]), UP_TO).map(
                    lambda t: [*t[0], "extend", "on", "failure", *t[1]]
                )
            ),
        ).map(lambda t: ["cool", "down", t[0], *t[1]]),
        NUMBER.map(lambda n: ["probe", n]),
        ERROR_ITEMS.map(lambda e: ["count", *e]),
    ),
    max_size=4,
)
LIMIT_STMTS = st.lists(
    st.one_of(
        DURATION.map(lambda d: ["deadline", d]),
        NUMBER.map(lambda n: ["max", "attempts", n]),
        MONEY.map(lambda m: ["max", "cost", m, "per", "request"]),
    ),
    max_size=3,
)
ASSERT = st.tuples(
    st.sampled_from(["max_calls", "max_time"]),
    st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
    LITERAL,
).map(lambda t: ["assert", *t])


FROM_CONFIG = optional(st.just(["from", "config"]))


def block(header: Tokens, body: list[Tokens]) -> Tokens:
    return [*header, "{", *(t for stmt in body for t in stmt), "}"]


ROUTE_STMTS = st.lists(
    st.one_of(
        GROUP_EXPR.map(lambda g: ["use", *g]),
        EXPR.map(lambda e: ["skip", "when", *e]),
        EXPR.map(lambda e: ["avoid", "when", *e]),
        st.lists(
            st.tuples(
                SMALL_EXPR,
                st.sampled_from([[], ["asc"], ["desc"]]),
                st.sampled_from([[], ["unknown", "first"], ["unknown", "last"]]),
            ).map(lambda t: t[0] + t[1] + t[2]),
            min_size=1,
            max_size=3,
        ).map(lambda ks: ["order", "by", *comma_joined(ks)]),
        st.tuples(
            st.lists(st.tuples(NAME, PERCENT).map(list), min_size=1, max_size=3),
            optional(SMALL_EXPR.map(lambda e: ["by", *e])),
        ).map(lambda t: ["split", *comma_joined(t[0]), *t[1]]),
        NAME.map(lambda n: ["retry", n]),
        st.tuples(FROM_CONFIG, RETRY_STMTS).map(lambda t: block(["retry", *t[0]], t[1])),
        NAME.map(lambda n: ["breaker", n]),
        ERROR_ITEMS.map(lambda e: ["failover", "on", *e]),
        st.just(["failover", "off"]),
        NAME.map(lambda n: ["on", "exhausted", "fallback", n]),
        DURATION.map(lambda d: ["timeout", d]),
        LIMIT_STMTS.map(lambda b: block(["limits"], b)),
        ASSERT,
    ),
    max_size=6,
)
DECL = st.one_of(
    STRING.map(lambda s: ["policy", s]),
    st.tuples(NAME, GROUP_EXPR).map(lambda t: ["group", t[0], "=", *t[1]]),
    st.tuples(NAME, FROM_CONFIG, RETRY_STMTS).map(lambda t: block(["retry", t[0], *t[1]], t[2])),
    st.tuples(NAME, FROM_CONFIG, BREAKER_STMTS).map(
        lambda t: block(["breaker", t[0], *t[1]], t[2])
    ),
    LIMIT_STMTS.map(lambda b: block(["limits"], b)),
    st.tuples(
        NAME,
        MONEY,
        st.sampled_from(["minute", "hour", "day", "week", "month"]),
        st.one_of(optional(SMALL_EXPR.map(lambda e: ["per", *e])), st.just(["per", "provider"])),
        st.sampled_from([[], ["on", "breach", "deny"], ["on", "breach", "fallback", "cheap"]]),
    ).map(lambda t: ["budget", t[0], "=", t[1], "per", t[2], *t[3], *t[4]]),
    st.tuples(NAME, optional(EXPR.map(lambda e: ["when", *e])), ROUTE_STMTS).map(
        lambda t: block(["route", t[0], *t[1]], t[2])
    ),
    ASSERT,
)
SPACING = st.sampled_from([" ", " ", " ", "\n", "  ", "\t", "\n\n  ", " \n"])
# A comment at the end of a line, on its own line, followed by a blank line, after a tab.
COMMENT_LAYOUT = st.sampled_from(["  {}\n", "\n{}\n", "{}\n\n", "\t{}\n"])


@st.composite
def policy_source(draw: st.DrawFn) -> tuple[str, int]:
    """Source text with arbitrary layout, and how many comments it holds."""
    tokens = [t for d in draw(st.lists(DECL, min_size=1, max_size=6)) for t in d]
    parts: list[str] = []
    comments = 0
    for token in ["", *tokens]:
        parts.append(token)
        if draw(st.integers(0, 6)) == 0:
            parts.append(draw(COMMENT_LAYOUT).format(draw(COMMENT)))
            comments += 1
        else:
            parts.append(draw(SPACING))
    if draw(st.booleans()):
        parts.append("\n# end")
        comments += 1
    return "".join(parts), comments


def assert_formatter_laws(text: str) -> str:
    before = parse(text)
    out = format_text(text)
    after = parse(out)
    assert after == before, out
    assert [c.text for c in after.comments] == [c.text for c in before.comments], out
    assert format_text(out) == out
    assert out == "" or (out.endswith("\n") and not out.endswith("\n\n"))
    return out


@SETTINGS
@given(policy_source())
def test_generated_policies(source: tuple[str, int]) -> None:
    text, comments = source
    assert len(parse(text).comments) == comments
    assert_formatter_laws(text)


@settings(max_examples=300, deadline=None)
@given(EXPR)
def test_generated_expressions(tokens: Tokens) -> None:
    """Expressions alone, many and deep: the parentheses the formatter drops must be redundant."""
    out = assert_formatter_laws(f"route r when {' '.join(tokens)} {{ }}")
    assert out.count("(") <= tokens.count("(")


# ---- mutations of the example policies ---------------------------------------------------------

EXAMPLES = [p.read_text(encoding="utf-8") for p in POLICIES]
WHITESPACE = st.sampled_from(["", " ", "\t", "      "])
ACTION = st.sampled_from(["keep"] * 4 + ["indent", "trail", "above", "join", "blank"])


@st.composite
def mutated_example(draw: st.DrawFn) -> tuple[str, str, int]:
    """An example with its layout disturbed and comments added; the meaning is unchanged."""
    original = draw(st.sampled_from(EXAMPLES))
    pieces: list[str] = []
    added = 0
    for line in original.splitlines():
        action = draw(ACTION)
        if action == "indent":
            line = draw(WHITESPACE) + line.lstrip()
        elif action == "above":
            pieces.append(draw(WHITESPACE) + draw(COMMENT) + "\n")
            added += 1
        elif action == "blank":
            pieces.append("\n")
        elif action == "trail" and line.strip() and "#" not in line:
            line += draw(WHITESPACE) + draw(COMMENT)
            added += 1
        joined = action == "join" and "#" not in line
        pieces.append(line + (" " if joined else "\n"))
    return original, "".join(pieces), added


@SETTINGS
@given(mutated_example())
def test_mutated_examples_format_back_to_the_canonical_example(
    case: tuple[str, str, int],
) -> None:
    original, text, added = case
    assert parse(text) == parse(original)
    assert len(parse(text).comments) == len(parse(original).comments) + added
    out = assert_formatter_laws(text)
    # Comments aside, the layout is the example's own (which is canonical).
    assert _code_lines(out) == _code_lines(original)


def _code_lines(text: str) -> list[str]:
    """The non-blank lines of ``text`` without comments (no example has a '#' in a string)."""
    lines = (line.split("#")[0].rstrip() for line in text.splitlines())
    return [line for line in lines if line]
