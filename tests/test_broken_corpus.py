"""The broken-policy corpus: every file yields exactly the codes its `# expect:` line names.

Each file in tests/policies/broken/ is a small, realistic slip. Its first line lists the codes it
must produce; a second line `# config: FILE` checks it against a provider config. A line
`# grow to N characters` has comment lines appended up to that size, for the size limit (E005),
which no file in the repository should reach. The rendered diagnostics are snapshot-tested, so
wording, carets and help lines are reviewed like code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from syrupy.assertion import SnapshotAssertion

from llmpool_policy.cli.check_cmd import load_checker_inputs
from llmpool_policy.codes import CODES, IO_CODES
from llmpool_policy.diagnostics import Diagnostic, Source, render_text, sort_diagnostics
from llmpool_policy.semantics import PoolDefaults, ProviderFacts, check
from llmpool_policy.syntax import parse_partial, try_parse

ROOT = Path(__file__).resolve().parent.parent
BROKEN = ROOT / "tests" / "policies" / "broken"
FILES = sorted(BROKEN.glob("*.policy"))
DIAGNOSTICS_DOC = ROOT / "docs" / "diagnostics.md"

_EXPECT = re.compile(r"^# expect: ([EWN]\d{3}(?:, [EWN]\d{3})*)\s*$")
_CONFIG = re.compile(r"^# config: (\S+)\s*$")
_GROW = re.compile(r"^# grow to (\d+) characters\s*$", re.M)


def grown(text: str) -> str:
    """``text`` with `# filler` lines appended up to the size its `# grow to` line asks for."""
    match = _GROW.search(text)
    if match is None:
        return text
    size = int(match.group(1))
    filler = "# filler\n"
    text += filler * max(0, (size - len(text)) // len(filler))
    return text + "#" * max(0, size - len(text))


@dataclass(frozen=True)
class Case:
    path: Path
    text: str
    expected: frozenset[str]
    config: Path | None


def load_case(path: Path) -> Case:
    text = grown(path.read_text(encoding="utf-8"))
    lines = text.splitlines()
    match = _EXPECT.match(lines[0]) if lines else None
    assert match is not None, f"{path.name}: the first line must be `# expect: CODE[, CODE ...]`"
    config = None
    if len(lines) > 1 and (cmatch := _CONFIG.match(lines[1])) is not None:
        config = path.parent / cmatch.group(1)
    return Case(path, text, frozenset(match.group(1).split(", ")), config)


_INPUTS: dict[Path, tuple[list[ProviderFacts], PoolDefaults]] = {}


def checker_inputs(config: Path) -> tuple[list[ProviderFacts], PoolDefaults]:
    """The config's providers and pool settings, as `check --config` reads them."""
    if config not in _INPUTS:
        _INPUTS[config] = load_checker_inputs(str(config))
    return _INPUTS[config]


def diagnose(case: Case) -> list[Diagnostic]:
    """Parse, then check what parsed (syntax errors do not hide the rest): what
    `llmpool-policy check` reports for the file, in its order."""
    policy, diagnostics = parse_partial(case.text, case.path.name)
    if policy is None:
        return diagnostics
    inputs = checker_inputs(case.config) if case.config is not None else (None, None)
    checked = check(policy, *inputs)
    return sort_diagnostics([*diagnostics, *checked.diagnostics])


CASES = [load_case(path) for path in FILES]


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 45
    names = [case.path.name for case in CASES]
    assert all(re.fullmatch(r"\d{3}-[a-z0-9-]+\.policy", name) for name in names), names
    assert len({name[:3] for name in names}) == len(names), "numbers are unique"


@pytest.mark.parametrize("case", CASES, ids=[case.path.name for case in CASES])
def test_broken_policy(case: Case, snapshot: SnapshotAssertion) -> None:
    diagnostics = diagnose(case)
    assert {d.code for d in diagnostics} == case.expected
    source = Source(case.path.name, case.text)
    for d in diagnostics:
        assert d.code in CODES
        assert d.is_error == d.code.startswith("E"), d
    rendered = "\n\n".join(render_text(d, source) for d in diagnostics)
    assert rendered == snapshot


CONFIGURED = [case for case in CASES if case.config is not None]


@pytest.mark.parametrize("case", CONFIGURED, ids=[case.path.name for case in CONFIGURED])
def test_config_marked_only_where_needed(case: Case) -> None:
    """A file marked with a config must report something different without it."""
    unconfigured = Case(case.path, case.text, case.expected, None)
    assert {d.code for d in diagnose(unconfigured)} != case.expected


def test_every_code_has_a_broken_policy() -> None:
    """Every code but those about reading the file (IO_CODES: tested in test_check.py)."""
    covered = set().union(*(case.expected for case in CASES))
    assert sorted(set(CODES) - IO_CODES - covered) == []
    assert sorted(covered - set(CODES)) == []


def test_every_code_is_documented() -> None:
    doc = DIAGNOSTICS_DOC.read_text(encoding="utf-8")
    for code, title in CODES.items():
        assert f"## {code} — {title}\n" in doc, f"docs/diagnostics.md lacks `## {code} — {title}`"


def test_the_example_policies_stay_clean() -> None:
    for path in sorted((ROOT / "policies").glob("*.policy")):
        policy, diagnostics = try_parse(path.read_text(encoding="utf-8"), path.name)
        assert policy is not None, diagnostics
        checked = check(policy)
        assert checked.errors == () and checked.warnings == ()
        assert checked.notes == (), path.name


_SECTION = re.compile(r"^## ([EWN]\d{3}) — .*?(?=^## |\Z)", re.S | re.M)
_POLICY_BLOCK = re.compile(r"```policy\n(.*?)```", re.S)


def _doc_sections() -> list[tuple[str, str]]:
    doc = DIAGNOSTICS_DOC.read_text(encoding="utf-8")
    return [(m.group(1), m.group(0)) for m in _SECTION.finditer(doc)]


SECTIONS = [
    s for s in (_doc_sections() if DIAGNOSTICS_DOC.exists() else []) if s[0] not in IO_CODES
]


@pytest.mark.parametrize(("code", "section"), SECTIONS, ids=[code for code, _ in SECTIONS])
def test_documented_examples_fail_and_fixes_pass(code: str, section: str) -> None:
    """Each entry's failing example reports its code, and its fixed example reports nothing."""
    failing, fixed = _POLICY_BLOCK.findall(section)
    named = re.search(r"Checked with `--config (\S+)`", section)
    config = (
        BROKEN / named.group(1)
        if named is not None
        else BROKEN / "config.json"
        if "Checked with `--config`" in section
        else None
    )
    bad = diagnose(Case(Path("policy.policy"), grown(failing), frozenset(), config))
    assert code in {d.code for d in bad}
    rendered = render_text(next(d for d in bad if d.code == code), Source("p", grown(failing)))
    assert rendered.split("\n", 1)[0] in section
    assert diagnose(Case(Path("policy.policy"), fixed, frozenset(), config)) == []
