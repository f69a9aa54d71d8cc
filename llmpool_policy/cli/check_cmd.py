"""`llmpool-policy check`: parse and check policies, print findings and bounds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..diagnostics import Diagnostic, Source
from ..syntax import try_parse
from ._output import FORMATS, print_diagnostics, summary


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("check", help="check policy files for errors")
    parser.add_argument("files", nargs="+", metavar="POLICY")
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--strict", action="store_true", help="warnings fail the check too")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    diagnostics: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    for name in args.files:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"llmpool-policy: cannot read {name}: {exc}", file=sys.stderr)
            return 2
        sources[name] = Source(name, text)
        _, found = try_parse(text, name)
        diagnostics.extend(found)
    print_diagnostics(diagnostics, sources, args.format)
    failed = any(d.is_error for d in diagnostics) or (args.strict and bool(diagnostics))
    if args.format != "json":
        print(summary(diagnostics), file=sys.stderr)
    return 1 if failed else 0
