"""The `llmpool-policy` command. Each subcommand lives in its own module and registers here.

Exit codes, for every subcommand: 0 clean (warnings allowed unless --strict), 1 findings,
2 usage or I/O error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from . import (
    check_cmd,
    config_cmd,
    demo_cmd,
    emulate_cmd,
    explain_cmd,
    fmt_cmd,
    simulate_cmd,
    test_cmd,
)

__all__ = ["main"]

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2

# Each module exposes `register(subparsers)`, which adds its parser and sets `func`.
_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    check_cmd.register,
    fmt_cmd.register,
    config_cmd.register,
    explain_cmd.register,
    emulate_cmd.register,
    test_cmd.register,
    simulate_cmd.register_simulate,
    simulate_cmd.register_diff,
    simulate_cmd.register_import,
    demo_cmd.register,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llmpool-policy",
        description="Check, format and run LLM routing policies.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for register in _COMMANDS:
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
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
