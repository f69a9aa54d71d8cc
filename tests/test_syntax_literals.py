"""Layer 1: literals and expressions parse to the AST they should."""

from __future__ import annotations

import pytest

from llmpool_policy.errors import PolicySyntaxError
from llmpool_policy.syntax import ast, parse


def when(expr: str) -> ast.Expr:
    policy = parse(f"route r when {expr} {{ use all }}")
    cond = policy.routes[0].condition
    assert cond is not None
    return cond


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("500ms", ast.LiteralKind.DURATION, 0.5),
        ("30s", ast.LiteralKind.DURATION, 30.0),
        ("1.5h", ast.LiteralKind.DURATION, 5400.0),
        ("1d", ast.LiteralKind.DURATION, 86400.0),
        ("5m", ast.LiteralKind.MINUTES_OR_MILLIONS, 5),
        ("$0.02", ast.LiteralKind.MONEY, 0.02),
        ("$100", ast.LiteralKind.MONEY, 100.0),
        ("5%", ast.LiteralKind.PERCENT, 0.05),
        ("32k", ast.LiteralKind.TOKENS, 32_000),
        ("1M", ast.LiteralKind.TOKENS, 1_000_000),
        ("1.5k", ast.LiteralKind.TOKENS, 1_500),
        ("42", ast.LiteralKind.INT, 42),
        ("0.7", ast.LiteralKind.FLOAT, 0.7),
        ('"acme"', ast.LiteralKind.STRING, "acme"),
        ("true", ast.LiteralKind.BOOL, True),
        ("5xx", ast.LiteralKind.STATUS_CLASS, 5),
    ],
)
def test_literal_values(text: str, kind: ast.LiteralKind, value: object) -> None:
    cond = when(f"request.x == {text}")
    assert isinstance(cond, ast.Binary)
    lit = cond.right
    assert isinstance(lit, ast.Literal)
    assert lit.kind is kind
    assert lit.value == pytest.approx(value) if isinstance(value, float) else lit.value == value
    assert lit.text == text


def test_minutes_or_millions_reads_by_context() -> None:
    lit = ast.Literal(ast.LiteralKind.MINUTES_OR_MILLIONS, 2, "2m")
    assert lit.seconds() == 120.0
    assert lit.tokens() == 2_000_000


def test_zero_is_a_value() -> None:
    cond = when("request.temperature == 0")
    assert isinstance(cond, ast.Binary) and isinstance(cond.right, ast.Literal)
    assert cond.right.value == 0


def test_precedence_and_associativity() -> None:
    cond = when("a or b and not c")
    assert cond == ast.Binary(
        "or",
        ast.Path(("a",)),
        ast.Binary("and", ast.Path(("b",)), ast.Unary("not", ast.Path(("c",)))),
    )
    arith = when("x == 1 - 2 - 3 * 4")
    assert isinstance(arith, ast.Binary)
    assert arith.right == ast.Binary(
        "-",
        ast.Binary("-", lit(1), lit(2)),
        ast.Binary("*", lit(3), lit(4)),
    )


def lit(n: int) -> ast.Literal:
    return ast.Literal(ast.LiteralKind.INT, n, str(n))


def test_in_and_not_in() -> None:
    assert when('"batch" in request.tags') == ast.Binary(
        "in",
        ast.Literal(ast.LiteralKind.STRING, "batch", '"batch"'),
        ast.Path(("request", "tags")),
    )
    cond = when('request.model not in ["a", "b"]')
    assert isinstance(cond, ast.Binary) and cond.op == "not in"


def test_metric_calls_and_paths() -> None:
    cond = when("latency.p95(5m) > 3s")
    assert isinstance(cond, ast.Binary)
    call = cond.left
    assert isinstance(call, ast.Call)
    assert call.func.dotted == "latency.p95"
    assert call.args == (ast.Literal(ast.LiteralKind.MINUTES_OR_MILLIONS, 5, "5m"),)


def test_hyphenated_names_and_spaced_subtraction() -> None:
    policy = parse("route r { use [openai-gpt4o, anthropic-sonnet] }")
    use = policy.routes[0].body[0]
    assert isinstance(use, ast.Use) and isinstance(use.providers, ast.GroupList)
    assert [p.parts for p in use.providers.items] == [("openai-gpt4o",), ("anthropic-sonnet",)]  # type: ignore[union-attr]
    cond = when("request.max_tokens - 1 > 0")
    assert isinstance(cond, ast.Binary) and isinstance(cond.left, ast.Binary)
    assert cond.left.op == "-"


def test_keywords_are_names_where_no_keyword_can_stand() -> None:
    policy = parse("route r { skip when breaker.open or rpm.remaining == 0  order by cost desc }")
    skip, order = policy.routes[0].body
    assert isinstance(skip, ast.Skip) and isinstance(skip.condition, ast.Binary)
    assert skip.condition.left == ast.Path(("breaker", "open"))
    assert isinstance(order, ast.OrderBy)
    assert order.keys == (ast.OrderKey(ast.Path(("cost",)), "desc"),)


def test_spans_point_at_the_source() -> None:
    text = 'policy "p"\nroute r when request.images > 0 {\n  use all\n}\n'
    route = parse(text).routes[0]
    assert (route.span.line, route.span.column) == (2, 1)
    assert route.condition is not None
    assert (route.condition.span.line, route.condition.span.column) == (2, 14)
    assert text[route.condition.span.start : route.condition.span.end] == "request.images > 0"
    assert route.name.span.column == 7


def test_spans_do_not_affect_equality() -> None:
    a = parse("route r { use all }")
    b = parse("\n\n   route   r {\n use   all\n}\n")
    assert a == b


def test_bad_input_raises_typed_error() -> None:
    with pytest.raises(PolicySyntaxError) as info:
        parse("route r { use }")
    assert info.value.diagnostics[0].code == "E001"
