"""`llmpool-policy test`: run policy test cases and decision snapshots.

The format and the CI set-up are in docs/testing-policies.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..testing.cases import TestFormatError, discover, load_suite
from ..testing.report import format_json, format_junit, format_text, total_coverage
from ..testing.runner import run_suite


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "test",
        help="run policy test cases and decision snapshots",
        description="Run the test cases of policies (tests/NAME.tests.json beside NAME.policy): "
        "expected routes and plans, and snapshots of whole decisions. Exit 0 when every case "
        "passes (and coverage reaches --fail-under), 1 on a failing case, an obsolete snapshot, "
        "a policy that does not check or coverage below the threshold, 2 on usage errors or "
        "invalid tests files.",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="tests files, policies (their sidecar is found) or folders; default: policies/ "
        "if it exists, else the current folder",
    )  # fmt: skip
    parser.add_argument(
        "--update-snapshots", action="store_true",
        help="write snapshots that are missing or differ; delete obsolete ones",
    )  # fmt: skip
    parser.add_argument(
        "--coverage", action="store_true",
        help="report routes, skip/avoid rules and split arms never exercised",
    )  # fmt: skip
    parser.add_argument(
        "--fail-under", type=int, metavar="PERCENT",
        help="exit 1 when total coverage (rounded down) is below PERCENT",
    )  # fmt: skip
    parser.add_argument("--format", choices=("text", "json", "junit"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = args.paths or (["policies"] if Path("policies").is_dir() else ["."])
    if args.fail_under is not None and not 0 <= args.fail_under <= 100:
        print("llmpool-policy: --fail-under takes a percentage, 0 to 100", file=sys.stderr)
        return 2
    try:
        files = list(discover(paths))
        suites = [load_suite(f) for f in files]
    except FileNotFoundError as exc:
        print(f"llmpool-policy: {exc}", file=sys.stderr)
        return 2
    except TestFormatError as exc:
        print(f"llmpool-policy: invalid tests file\n{exc}", file=sys.stderr)
        return 2
    if not suites:
        print(f"llmpool-policy: no tests files (*.tests.json) under {', '.join(paths)}",
              file=sys.stderr)  # fmt: skip
        return 2
    results = [run_suite(s, update_snapshots=args.update_snapshots) for s in suites]
    show_coverage = args.coverage or args.fail_under is not None
    if args.format == "json":
        sys.stdout.write(format_json(results, coverage=show_coverage))
    elif args.format == "junit":
        sys.stdout.write(format_junit(results))
    else:
        sys.stdout.write(format_text(results, coverage=show_coverage))
    failed = not all(r.ok for r in results)
    if args.fail_under is not None:
        _, _, pct = total_coverage(results)
        if pct < args.fail_under:
            print(f"llmpool-policy: coverage {pct}% is under --fail-under {args.fail_under}%",
                  file=sys.stderr)  # fmt: skip
            failed = True
    return 1 if failed else 0
