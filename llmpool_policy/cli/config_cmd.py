"""`llmpool-policy validate-config` and `llmpool-policy schema`: the configuration from the shell.

validate-config exits 0 when the configuration loads (warnings allowed unless --strict), 1 when
it has errors, 2 when it cannot be read or fetched at all.
"""

from __future__ import annotations

import argparse
import re
import sys

from ..config import load_config, schema_path
from ..config.codes import IO_CODES
from ..config.secrets import mask_keys
from ..diagnostics import Diagnostic, Severity, Source
from ..errors import ConfigurationError
from ._output import FORMATS, print_diagnostics, summary


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = sub.add_parser(
        "validate-config",
        help="validate a provider configuration file or URL",
        description="Validate a provider configuration (a file, or an https URL) and report "
        "every problem. ${VAR} placeholders and api_key_env are read from the environment.",
    )
    validate.add_argument("file", metavar="FILE", help="path or https:// URL of config.json")
    validate.add_argument("--format", choices=FORMATS, default="text")
    validate.add_argument("--strict", action="store_true", help="warnings fail the check too")
    validate.add_argument(
        "--checksum", metavar="SHA256", help="refuse the configuration unless its checksum is this"
    )
    validate.set_defaults(func=run_validate)

    schema = sub.add_parser(
        "schema",
        help="print the provider configuration JSON Schema",
        description="Print the JSON Schema (2020-12) of config.json, for editors and CI.",
    )
    schema.set_defaults(func=run_schema)


# A literal key written as the value of a key-holding field, up to its closing quote.
_KEY_VALUE = re.compile(
    r'("(?:api_key|authorization|x-api-key|api-key)"\s*:\s*")((?:[^"\\\n]|\\.)*)', re.IGNORECASE
)


def _masked(text: str) -> str:
    """``text`` with keys hidden at the same width: a source line is shown under a JSON syntax
    error, and that line may hold a key (a literal api_key, or one pasted anywhere)."""
    text = _KEY_VALUE.sub(lambda m: m.group(1) + "*" * len(m.group(2)), text)
    return mask_keys(text, keep_width=True)


def _sources(diagnostics: list[Diagnostic], file: str) -> dict[str, Source]:
    if not any(d.span is not None for d in diagnostics):
        return {}
    try:
        with open(file, encoding="utf-8", errors="replace") as handle:
            return {file: Source(file, _masked(handle.read()))}
    except OSError:
        return {}


def run_validate(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file, expected_checksum=args.checksum)
    except ConfigurationError as exc:
        diagnostics = list(exc.diagnostics)
        print_diagnostics(diagnostics, _sources(diagnostics, args.file), args.format)
        if args.format != "json":
            print(summary(diagnostics), file=sys.stderr)
        return 2 if any(d.code in IO_CODES for d in diagnostics) else 1
    warnings = list(config.warnings)
    print_diagnostics(warnings, {}, args.format)
    if args.format != "json":
        print(summary(warnings), file=sys.stderr)
        count = len(config.providers)
        print(
            f"{config.origin}: ok, {count} provider{'s' if count != 1 else ''}, "
            f"checksum sha256:{config.checksum}"
        )
    return 1 if args.strict and any(d.severity is Severity.WARNING for d in warnings) else 0


def run_schema(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_path().read_text(encoding="utf-8"))
    return 0
