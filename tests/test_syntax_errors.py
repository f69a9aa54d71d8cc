"""Layer 3: syntax errors in plain words, all of them, sorted by position."""

from __future__ import annotations

from llmpool_policy.diagnostics import Source, render_text
from llmpool_policy.syntax import try_parse


def errors(text: str) -> list[tuple[str, int, int, str]]:
    policy, diagnostics = try_parse(text, "t.policy")
    assert policy is None
    return [(d.code, d.span.line, d.span.column, d.message) for d in diagnostics if d.span]


def test_no_lark_terminal_names_leak() -> None:
    text = "route r { use [a, b }\nroute s when x > { use all }\nretry q { attempts }\n"
    _, diagnostics = try_parse(text, "t.policy")
    assert diagnostics
    for d in diagnostics:
        rendered = render_text(d, Source("t.policy", text))
        for leak in ("LSQB", "RSQB", "__ANON", "RBRACE", "LBRACE", "COMP_OP", "$END", "NAME"):
            assert leak not in rendered, rendered


def test_independent_errors_are_all_reported_in_order() -> None:
    text = (
        'policy "x"\n'
        'route a when request.model = "gpt" {\n'
        "  use all\n"
        "}\n"
        "retry r { attempts 3 backoff exponential 5 .. 8s }\n"
        "route c { skip when x > 'a' }\n"
    )
    found = errors(text)
    assert [(code, line) for code, line, _, _ in found] == [("E001", 2), ("E001", 5), ("E003", 6)]


def test_single_equals_gets_a_hint() -> None:
    _, diagnostics = try_parse('route a when request.model = "x" { use all }', "t.policy")
    assert diagnostics[0].help == "compare with == (two equals signs)"
    assert diagnostics[0].span is not None and diagnostics[0].span.column == 28


def test_duration_without_unit() -> None:
    _, diagnostics = try_parse("retry r { backoff constant 5 }\nroute d { use all }", "t.policy")
    (d,) = diagnostics
    assert d.message == "unexpected '5': expected a duration, like 500ms or 30s"
    assert d.help is not None and "5s" in d.help


def test_missing_closing_brace_blames_the_block_before() -> None:
    text = "route b { use all\nroute c { use all }\n"
    _, diagnostics = try_parse(text, "t.policy")
    (d,) = diagnostics
    assert d.span is not None and d.span.line == 2
    assert d.help is not None and "closing '}'" in d.help


def test_end_of_file_inside_a_block() -> None:
    _, diagnostics = try_parse("route b {\n  use all\n", "t.policy")
    (d,) = diagnostics
    assert d.code == "E002"
    assert "ends too early" in d.message


def test_single_quotes_and_unterminated_strings() -> None:
    _, diagnostics = try_parse("route c when request.user == 'bob' { use all }", "t.policy")
    assert diagnostics[0].code == "E003"
    assert diagnostics[0].help == 'strings use double quotes: "like this"'
    _, diagnostics = try_parse('policy "never closed\nroute d { use all }', "t.policy")
    assert diagnostics[0].code == "E003"
    assert diagnostics[0].message == "this string is never closed"


def test_rendering_has_snippet_caret_and_help() -> None:
    text = 'route a when request.model = "gpt" { use all }\n'
    _, diagnostics = try_parse(text, "p.policy")
    rendered = render_text(diagnostics[0], Source("p.policy", text))
    assert rendered.splitlines() == [
        "error[E001]: unexpected '=' here",
        "  --> p.policy:1:28",
        "  |",
        '1 | route a when request.model = "gpt" { use all }',
        "  |                            ^",
        "  = help: compare with == (two equals signs)",
    ]


def _help(text: str) -> str | None:
    _, diagnostics = try_parse(text, "t.policy")
    return diagnostics[0].help


def test_misspelt_keywords_get_did_you_mean() -> None:
    """Among the keywords that fit where the word stands, as unknown names do."""
    assert _help("route d {\n  use all\n  retyr standard\n}") == "did you mean 'retry'?"
    assert _help("route d {\n  use all\n  failvoer on 429\n}") == "did you mean 'failover'?"
    assert _help("route d whne request.stream { use all }") == "did you mean 'when'?"
    assert _help('polcy "x"\nroute d { use all }') == "did you mean 'policy'?"
    assert _help("route d {\n  use all\n  zzz\n}") is None  # nothing close: no guess


def test_status_class_in_capitals_says_how_it_is_written() -> None:
    assert _help("route d { use all failover on 429, 5XX }") == (
        "status classes are written in lower case: 5xx"
    )
