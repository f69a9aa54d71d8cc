"""Every CLI example in README.md and docs/*.md works (issue 12, the docs check).

An example is a line of a code block (fenced or indented) or an inline code span that starts
with ``llmpool-policy`` (also ``$ ``, ``.venv/bin/``, ``python3 -m llmpool_policy``, a CI
``- run:``), continued over ``\\`` lines. Synopsis lines (``[--check | --diff]``) are skipped.

- An example whose files all exist in the repository is **run**, in-process through ``main()``
  from the repository root (``--report`` files go to a temporary folder, a ``> file`` redirect
  becomes captured stdout). It must not fail on usage or input (exit 2) nor crash; where the
  docs show its output after a ``$ `` line (and do not abbreviate it with ``...``), the output
  must be exactly that.
- An inline mention in prose (``llmpool-policy check`` finds...) may leave arguments out: its
  subcommand and every flag it names must exist (and it runs like any other when complete).
- An example that names placeholder files (``my.policy``, ``TRACE.csv``), a URL, or that would
  serve (``emulate``, ``demo``) or write files (``fmt`` in place, ``test --update-snapshots``)
  is **parsed**: its flags and arguments must be ones the CLI accepts.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import io
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmpool_policy.cli import build_parser, main

from .conftest import ROOT

PREFIX = re.compile(
    r"^(?:\$ |- run: )?(?:\.venv/bin/)?(?:llmpool-policy|python3? -m llmpool_policy)(?= |$)"
)
INLINE = re.compile(r"`((?:\.venv/bin/)?(?:llmpool-policy|python3? -m llmpool_policy) [^`]+)`")
PATHLIKE = re.compile(r"(/|\.(policy|json|jsonl|csv|html|txt|xml)$)")
NEVER_RUN = {"emulate", "demo"}  # they serve until stopped


@dataclass(frozen=True)
class Example:
    where: str
    command: str
    output: tuple[str, ...] = ()  # what the docs show it printing, if they do
    inline: bool = False  # a mention in prose: its verb and flags must exist


def _examples() -> Iterator[Example]:
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        lines = path.read_text(encoding="utf-8").splitlines()
        where = path.relative_to(ROOT)
        fenced = False
        i = 0
        while i < len(lines):
            raw = lines[i]
            if raw.lstrip().startswith("```"):
                fenced = not fenced
                i += 1
                continue
            text = raw.strip()
            indented = raw.startswith("    ")
            if (fenced or indented) and PREFIX.match(text):
                start, command = i, text
                while command.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    command = command[:-1].rstrip() + " " + lines[i].strip()
                output: list[str] = []
                if text.startswith("$ "):  # what follows, up to the next prompt or block end
                    j = i + 1
                    while j < len(lines) and not lines[j].strip().startswith(("$ ", "```")):
                        if not fenced and not lines[j].startswith("    "):
                            break
                        output.append(lines[j][0 if fenced else 4 :])
                        j += 1
                while output and not output[-1].strip():
                    output.pop()
                yield Example(f"{where}:{start + 1}", command, tuple(output))
            elif not fenced and not indented:
                for match in INLINE.finditer(raw):
                    yield Example(f"{where}:{i + 1}", match.group(1), inline=True)
            i += 1


EXAMPLES = [e for e in _examples() if "[" not in e.command]


def _argv(command: str) -> list[str]:
    words = shlex.split(PREFIX.sub("", command.removeprefix("$ ")), comments=True)
    for stop in (">", "|"):
        if stop in words:
            words = words[: words.index(stop)]
    argv: list[str] = []
    for word in words:
        matches = sorted(glob.glob(word, root_dir=ROOT)) if "*" in word else []
        argv.extend(matches or [word])
    return argv


def _runnable(argv: list[str]) -> bool:
    if not argv or argv[0] in NEVER_RUN or any(w.startswith(("http://", "https://")) for w in argv):
        return False
    if argv[0] == "test" and "--update-snapshots" in argv:
        return False
    if argv[0] == "fmt" and not {"--check", "--diff"} & set(argv):
        return False
    outputs = {argv[k + 1] for k, w in enumerate(argv[:-1]) if w == "--report"}
    return all((ROOT / w).exists() for w in argv[1:] if PATHLIKE.search(w) and w not in outputs)


def _parses(argv: list[str]) -> bool:
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            build_parser().parse_args(argv)
    except SystemExit:
        return False
    return True


def _verbs() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def test_the_docs_have_examples_of_every_verb() -> None:
    verbs = {_argv(e.command)[0] for e in EXAMPLES if _argv(e.command)}
    assert {"check", "explain", "fmt", "test", "simulate", "diff", "import"} <= verbs
    assert sum(_runnable(_argv(e.command)) for e in EXAMPLES) >= 15


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.where for e in EXAMPLES])
def test_every_cli_example_in_the_docs_works(
    example: Example,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = _argv(example.command)
    assert argv, f"{example.where}: no subcommand in {example.command!r}"
    if example.inline and not (_runnable(argv) and _parses(argv)):
        verbs = _verbs()
        assert argv[0] in verbs, f"{example.where}: no subcommand {argv[0]!r}"
        known = {o for a in verbs[argv[0]]._actions for o in a.option_strings}
        unknown = [w for w in argv if w.startswith("--") and w.split("=")[0] not in known]
        assert not unknown, f"{example.where}: {argv[0]} has no {', '.join(unknown)}"
        return
    if not _runnable(argv):
        try:
            build_parser().parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{example.where}: the CLI refuses {example.command!r} (exit {exc.code})")
        return
    argv = [
        str(tmp_path / Path(w).name) if k and argv[k - 1] == "--report" else w
        for k, w in enumerate(argv)
    ]
    monkeypatch.chdir(ROOT)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 0, f"{example.where}: {example.command!r} exited {code}:\n{out}\n{err}"
    assert "Traceback" not in err
    shown = [line.rstrip() for line in example.output]
    if shown and not any("..." in line or "…" in line for line in shown):
        assert [line.rstrip() for line in out.splitlines()] == shown, example.where
