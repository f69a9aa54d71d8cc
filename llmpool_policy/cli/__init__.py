"""The `llmpool-policy` command. Each subcommand lives in its own module and registers here.

Exit codes, for every subcommand: 0 clean (warnings allowed unless --strict), 1 findings,
2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from .. import __version__

__all__ = ["build_parser", "main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

# (module, its register function, the verbs it adds with their one-line help), in the order
# `--help` lists them. Only the module of the verb being run is imported: `check` in a
# pre-commit hook does not pay for the simulator, the emulator or the pool. The help lines
# repeat the modules' own (tests/test_cli.py holds them equal).
_VERBS: tuple[tuple[str, str, dict[str, str]], ...] = (
    ("check_cmd", "register", {"check": "check policy files for errors"}),
    ("fmt_cmd", "register", {"fmt": "format policy files in the canonical layout"}),
    (
        "config_cmd",
        "register",
        {
            "validate-config": "validate a provider configuration file or URL",
            "schema": "print the provider configuration JSON Schema",
        },
    ),
    ("explain_cmd", "register", {"explain": "show the decision for one request, and why"}),
    (
        "emulate_cmd",
        "register",
        {
            "emulate": "serve emulated LLM providers on 127.0.0.1 (OpenAI, Anthropic, Cohere "
            "wire formats)"
        },
    ),
    ("test_cmd", "register", {"test": "run policy test cases and decision snapshots"}),
    (
        "simulate_cmd",
        "register_simulate",
        {"simulate": "replay recorded traffic through a policy (dry run)"},
    ),
    (
        "simulate_cmd",
        "register_diff",
        {"diff": "what changes between two policies over the same traffic"},
    ),
    (
        "simulate_cmd",
        "register_import",
        {"import": "convert traffic from another format to traffic JSON lines"},
    ),
    (
        "demo_cmd",
        "register",
        {"demo": "route a stream of requests over emulated providers and watch failover happen"},
    ),
)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line parser. With ``argv``, only the verb it names is built in full (its
    module imported); the others are listed by name and help alone. Without, every verb."""
    verb = next((a for a in argv if not a.startswith("-")), None) if argv is not None else None
    parser = argparse.ArgumentParser(
        prog="llmpool-policy",
        description="Check, format and run LLM routing policies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, function, verbs in _VERBS:
        if argv is None or verb in verbs:
            register: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]
            register = getattr(importlib.import_module(f".{module}", __name__), function)
            register(sub)
        else:
            for name, help in verbs.items():
                sub.add_parser(name, help=help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments)
    try:
        args = parser.parse_args(arguments)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    func: Callable[[argparse.Namespace], int] | None = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return func(args)
    except BrokenPipeError:  # `llmpool-policy check ... | head`
        return EXIT_OK
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
