"""`llmpool-policy check`: parse and check policies; print findings and worst-case bounds."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..diagnostics import Diagnostic, Severity, Source
from ..errors import ConfigurationError
from ..semantics import PoolDefaults, ProviderFacts, check, format_bounds
from ..syntax import parse_partial
from ._output import FORMATS, print_diagnostics, summary


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "check",
        help="check policy files for errors",
        description="Check policies: syntax, names, types and units, structure, bounds. "
        "Exit 0 when clean (warnings allowed unless --strict; notes always), 1 on findings, "
        "2 on usage or I/O errors.",
    )
    parser.add_argument("files", nargs="+", metavar="POLICY")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="provider config to check names against; its timeout, max_retries and "
        "retry_delay set the bounds of routes without a retry block",
    )
    parser.add_argument("--format", choices=FORMATS, default="text")
    parser.add_argument("--strict", action="store_true", help="warnings fail the check too")
    parser.add_argument(
        "--bounds", action="store_true", help="print worst-case calls and time per route"
    )
    parser.add_argument(
        "--graph", action="store_true", help="print the compiled decision graph of each policy"
    )
    parser.set_defaults(func=run)


def load_provider_facts(config_path: str) -> list[ProviderFacts]:
    """The config's providers as the checker sees them (names and static attributes)."""
    return load_checker_inputs(config_path)[0]


def load_checker_inputs(config_path: str) -> tuple[list[ProviderFacts], PoolDefaults]:
    """The config's providers and its pool settings, as the checker and the pool see them."""
    from ..config import load_config
    from ..policy import provider_facts

    config = load_config(config_path)
    return provider_facts(config), PoolDefaults.from_config(config)


def run(args: argparse.Namespace) -> int:
    providers: list[ProviderFacts] | None = None
    defaults: PoolDefaults | None = None
    diagnostics: list[Diagnostic] = []
    sources: dict[str, Source] = {}
    if args.config is not None:
        try:
            providers, defaults = load_checker_inputs(args.config)
        except ConfigurationError as exc:
            print_diagnostics(
                exc.diagnostics, {}, args.format if args.format != "json" else "short", sys.stderr
            )
            print(f"llmpool-policy: the config {args.config} is not valid", file=sys.stderr)
            return 2
        except OSError as exc:
            print(f"llmpool-policy: cannot read {args.config}: {exc.strerror}", file=sys.stderr)
            return 2
    reports: list[str] = []
    for name in args.files:
        try:
            text = Path(name).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(f"llmpool-policy: cannot read {name}: {exc}", file=sys.stderr)
            return 2
        sources[name] = Source(name, text)
        # Syntax errors do not hide the rest: what parsed is checked too.
        policy, found = parse_partial(text, name)
        diagnostics.extend(found)
        if policy is None:
            continue
        checked = check(policy, providers, defaults)
        diagnostics.extend(checked.diagnostics)
        if found:
            continue  # no bounds or graph of a policy read in part
        if args.bounds:
            reports.append(format_bounds(name, checked.bounds))
        if args.graph and checked.ok:
            from ..compile.compiler import compile_policy

            reports.append(compile_policy(checked, providers or []).describe())
    print_diagnostics(diagnostics, sources, args.format)
    if args.format != "json":
        for report in reports:
            print(report)
            print()
        print(summary(diagnostics), file=sys.stderr)
    failed = any(d.is_error for d in diagnostics) or (
        args.strict and any(d.severity is not Severity.NOTE for d in diagnostics)
    )
    return 1 if failed else 0
