"""Property tests: no input makes the parser or checker fail other than with a PolicyError.

Arbitrary text, keyword soup and mutated example policies go through `try_parse`, `parse` and
`check`. Each must finish quickly, raise nothing outside the PolicyError family, and report only
known codes at positions inside the text.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmpool_policy.cli.check_cmd import load_provider_facts
from llmpool_policy.codes import CODES
from llmpool_policy.diagnostics import Diagnostic
from llmpool_policy.errors import PolicyError
from llmpool_policy.semantics import ProviderFacts, check
from llmpool_policy.syntax import parse, try_parse

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = [p.read_text(encoding="utf-8") for p in sorted((ROOT / "policies").glob("*.policy"))]
PROVIDERS: list[ProviderFacts] = load_provider_facts(
    str(ROOT / "tests" / "policies" / "broken" / "config.json")
)
SECONDS_PER_EXAMPLE = 1.0

_KEYWORD_TEXT = (
    "policy group retry breaker limits budget route assert when use skip avoid order by split "
    "failover fallback on exhausted off timeout attempts backoff exponential linear constant "
    "jitter full equal none honor retry_after up to open after failures within at errors min "
    "requests cool down extend failure probe count deadline max cost per request minute hour "
    "day week month breach deny providers where all and or not in true false asc desc unknown "
    "first last "
    "request.input_tokens request.metadata.team error_rate latency.p95 breaker.open cost "
    "supports.vision priority max_calls max_time max_hops default openai-gpt4o groq-llama"
)
KEYWORDS = tuple(_KEYWORD_TEXT.split())
SYMBOLS = (*"{}[](),.=<>!+-*/%$#\"'\n", "==", "<=", "..", "5m", "30s", "$0.5", "10%", "32k")

PROPERTY_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


def _assert_sane(diagnostics: list[Diagnostic] | tuple[Diagnostic, ...], text: str) -> None:
    lines = text.split("\n")
    for d in diagnostics:
        assert d.code in CODES, d
        if d.span is None:
            continue
        assert 1 <= d.span.line <= len(lines), (d, len(lines))
        assert 1 <= d.span.column <= len(lines[d.span.line - 1]) + 1, d
        assert (d.span.end_line, d.span.end_column) >= (d.span.line, d.span.column), d


def _run(text: str) -> None:
    """Everything `check` does to one text, timed; only PolicyError may escape `parse`."""
    started = time.perf_counter()
    policy, diagnostics = try_parse(text, "fuzz.policy")
    _assert_sane(diagnostics, text)
    try:
        parsed = parse(text, "fuzz.policy")
    except PolicyError as exc:
        assert policy is None
        assert list(exc.diagnostics) == diagnostics
    else:
        assert policy is not None and diagnostics == []
        assert parsed == policy
    if policy is not None:
        for providers in (None, PROVIDERS):
            checked = check(policy, providers)
            _assert_sane(checked.diagnostics, text)
    elapsed = time.perf_counter() - started
    assert elapsed < SECONDS_PER_EXAMPLE, f"{elapsed:.2f}s for {text!r}"


@PROPERTY_SETTINGS
@given(st.text(max_size=400))
def test_arbitrary_text(text: str) -> None:
    _run(text)


_words = st.one_of(
    st.sampled_from(KEYWORDS),
    st.sampled_from(SYMBOLS),
    st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=6),
)


@PROPERTY_SETTINGS
@given(st.lists(_words, max_size=80), st.sampled_from([" ", "\n", "  "]))
def test_printable_text_with_keywords(words: list[str], sep: str) -> None:
    _run(sep.join(words))


def _tokens(text: str) -> list[str]:
    return re.findall(r"\s+|\w[\w.-]*|\S", text)


@st.composite
def mutated_examples(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(EXAMPLES))
    for _ in range(draw(st.integers(1, 4))):
        unit = draw(st.sampled_from(["char", "token", "line"]))
        parts: list[str] = (
            list(text)
            if unit == "char"
            else _tokens(text)
            if unit == "token"
            else text.splitlines(keepends=True)
        )
        if not parts:
            break
        i = draw(st.integers(0, len(parts) - 1))
        j = draw(st.integers(0, len(parts) - 1))
        op = draw(st.sampled_from(["delete", "duplicate", "swap"]))
        if op == "delete":
            del parts[i]
        elif op == "duplicate":
            parts.insert(j, parts[i])
        else:
            parts[i], parts[j] = parts[j], parts[i]
        text = "".join(parts)
    return text


@PROPERTY_SETTINGS
@given(mutated_examples())
def test_mutated_example_policies(text: str) -> None:
    _run(text)


def test_examples_are_the_unmutated_baseline() -> None:
    assert EXAMPLES
    for text in EXAMPLES:
        policy, diagnostics = try_parse(text, "example.policy")
        assert policy is not None and diagnostics == []
        _run(text)
