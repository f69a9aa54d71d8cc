"""`llmpool-policy check` starts fast (issue 13, item 16): the CLI imports only the verb's
module, and the parser loads its LALR tables instead of building them. The time itself is
measured by bench/bench_cli_check.py (docs/benchmarks.md), not here."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from llmpool_policy.cli import build_parser
from llmpool_policy.syntax import _parser as _parser_module
from llmpool_policy.syntax import parse, try_parse
from llmpool_policy.syntax._parser import _build, load_tables, write_tables

from .conftest import ROOT

GRAMMAR = ROOT / "grammar" / "policy.lark"
TABLES = ROOT / "grammar" / "policy.lark.tables"
HEAVY = ("llmpool_policy.simulate", "llmpool_policy.emulator", "llmpool_policy.pool",
         "llmpool_policy.compile", "llmpool_policy.providers", "llmpool_policy.testing",
         "httpx", "aiohttp")  # fmt: skip


def _modules_after(argv: list[str]) -> list[str]:
    code = (
        "import json, sys\n"
        "from llmpool_policy.cli import main\n"
        f"code = main({argv!r})\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    exit_code, modules = json.loads(done.stdout.splitlines()[-1])
    assert exit_code == 0, done.stderr
    return list(modules)


def test_check_imports_neither_simulator_nor_emulator_nor_pool() -> None:
    modules = _modules_after(["check", "policies/default.policy"])
    assert "llmpool_policy.cli.check_cmd" in modules
    loaded = [m for m in modules if m.startswith(HEAVY)]
    assert loaded == []
    others = [m for m in modules if m.startswith("llmpool_policy.cli.") and "check" not in m]
    assert others == ["llmpool_policy.cli._output"]


def test_import_llmpool_policy_alone_is_light() -> None:
    code = "import json, sys, llmpool_policy; print(json.dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    modules = json.loads(done.stdout)
    assert [m for m in modules if m.startswith(("llmpool_policy.", "lark", *HEAVY))] == []


def _verb_helps(parser: argparse.ArgumentParser) -> dict[str, str | None]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {a.dest: a.help for a in sub._choices_actions}


def _options(parser: argparse.ArgumentParser, verb: str) -> list[str]:
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [a.dest for a in sub.choices[verb]._actions]


def test_every_verb_is_listed_with_its_own_help_whichever_verb_runs() -> None:
    full = _verb_helps(build_parser())
    assert len(full) >= 11 and all(full.values())
    for verb in full:
        lazy = build_parser([verb, "--help"])
        assert _verb_helps(lazy) == full  # same verbs, same order, the modules' own help
        assert _options(lazy, verb) == _options(build_parser(), verb), f"{verb} in full"
    assert _verb_helps(build_parser(["--help"])) == full


def test_the_shipped_tables_match_the_grammar() -> None:
    """Fails after an edit to grammar/policy.lark until `make tables` is run."""
    fresh = load_tables(GRAMMAR.read_text(encoding="utf-8"), TABLES)
    assert fresh is not None, "grammar/policy.lark changed: run `make tables` and commit them"


def test_stale_or_missing_tables_are_detected_and_the_parser_built(tmp_path: Path) -> None:
    edited = GRAMMAR.read_text(encoding="utf-8") + "\n// one more comment\n"
    assert load_tables(edited, TABLES) is None  # the key is the grammar's hash
    assert load_tables(edited, tmp_path / "missing.tables") is None
    garbage = tmp_path / "garbage.tables"
    garbage.write_bytes(b"not a key\n\x00\x01")
    assert load_tables(edited, garbage) is None


def test_loaded_tables_parse_as_the_built_parser(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tables = write_tables(tmp_path / "policy.lark.tables")
    grammar = GRAMMAR.read_text(encoding="utf-8")
    loaded = load_tables(grammar, tables)
    assert loaded is not None
    text = (ROOT / "policies" / "default.policy").read_text(encoding="utf-8")
    broken = text.replace("use all", "use [x", 1) + "\nroute r when " + "not " * 70 + "true {}"
    parse('policy "warm"')  # the real parser first: it sets which tokens the AST drops
    results = []
    for parser in (loaded, _build(grammar)):
        monkeypatch.setattr(_parser_module, "_parser", lambda parser=parser: parser)
        results.append((parse(text), try_parse(broken)[1]))
    assert results[0] == results[1]
    assert results[0][0].decls and [d.code for d in results[0][1]] == ["E001", "E004"]
