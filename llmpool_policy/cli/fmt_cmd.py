"""`llmpool-policy fmt`: rewrite policies in the canonical layout, or report which would change.

Every file named is handled (one bad file does not stop the rest); the exit code is the worst
seen: 0 nothing to do (or everything rewritten), 1 a file would change under --check or --diff,
or does not parse (it is left untouched), 2 a file cannot be read or written.
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from ..diagnostics import Source
from ..syntax import try_parse
from ..syntax.formatter import format_policy
from ._output import print_diagnostics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "fmt",
        help="format policy files in the canonical layout",
        description="Rewrite policies in the canonical layout (in place, only files that change). "
        "Comments and meaning are kept. Exit 0 when done, 1 when --check/--diff find a file "
        "that would change or a file does not parse, 2 on I/O errors.",
    )
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="list files that would change; write nothing"
    )
    mode.add_argument("--diff", action="store_true", help="print a unified diff; write nothing")
    parser.add_argument(
        "files", nargs="+", metavar="POLICY", help="policy files, or folders (every *.policy)"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text (a line per file acted on) or JSON (every file with its status)",
    )
    parser.set_defaults(func=run)


def _expand(paths: list[str]) -> list[str]:
    """Folders stand for every ``*.policy`` below them, in a stable order."""
    out: list[str] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.rglob("*.policy")))
        else:
            out.append(name)
    return out


def run(args: argparse.Namespace) -> int:
    status = 0
    # --format json: one object per file: path, status and (under --diff) the diff
    files: list[dict[str, str]] = []
    text_out = args.format == "text"

    def say(name: str, what: str, line: str, **extra: str) -> None:
        files.append({"path": name, "status": what, **extra})
        if text_out and line:
            sys.stdout.write(line)

    for name in _expand(args.files):
        try:
            # newline="" so CRLF line endings count as a difference (the layout uses "\n").
            with open(name, encoding="utf-8", newline="") as src:
                text = src.read()
        except (OSError, UnicodeDecodeError) as exc:
            print(f"llmpool-policy: cannot read {name}: {exc}", file=sys.stderr)
            files.append({"path": name, "status": "unreadable"})
            status = 2
            continue
        policy, diagnostics = try_parse(text, name)
        if policy is None:
            # A file that does not parse is never touched: there is no AST to print from.
            print_diagnostics(diagnostics, {name: Source(name, text)}, "text", sys.stderr)
            print(f"llmpool-policy: {name} was not formatted: it does not parse", file=sys.stderr)
            files.append({"path": name, "status": "does_not_parse"})
            status = max(status, 1)
            continue
        formatted = format_policy(policy)
        if formatted == text:
            say(name, "unchanged", "")
            continue
        if args.check:
            say(name, "would_reformat", f"would reformat {name}\n")
            status = max(status, 1)
        elif args.diff:
            patch = _unified_diff(name, text, formatted)
            say(name, "would_reformat", patch, diff=patch)
            status = max(status, 1)
        else:
            try:
                _replace(name, formatted)
            except OSError as exc:
                print(f"llmpool-policy: cannot write {name}: {exc}", file=sys.stderr)
                files.append({"path": name, "status": "unwritable"})
                status = 2
                continue
            say(name, "reformatted", f"reformatted {name}\n")
    if not text_out:
        sys.stdout.write(json.dumps({"files": files}, indent=2) + "\n")
    return status


def _replace(name: str, text: str) -> None:
    """Write through a temporary file and an atomic rename: a failed write (disk full, no
    permission) leaves the original untouched, never half-written."""
    path = Path(name)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # newline="" so the file gets exactly our "\n" endings on every platform.
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _unified_diff(name: str, before: str, after: str) -> str:
    """A unified diff that `patch` accepts, marking a last line with no newline as diff does."""
    lines = difflib.unified_diff(
        _lines(before),
        _lines(after),
        fromfile=name,
        tofile=name,
    )
    return "".join(
        line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines
    )


def _lines(text: str) -> list[str]:
    """Lines split at "\n" only (str.splitlines also splits at form feeds and the like)."""
    parts = text.split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
