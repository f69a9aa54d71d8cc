"""`llmpool-policy emulate`: serve emulated providers on 127.0.0.1 until Ctrl-C or SIGTERM.

Prints one line per provider (name, type, base URL) and, with --write-config, writes a provider
config.json pointing at them. Exit 0 after Ctrl-C, SIGTERM or SIGHUP (the journal is written
either way: `kill` is how a background job, whose SIGINT the shell ignores, is stopped); 2 when
the emulator config is unusable.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType

_STOP_SIGNALS = ("SIGTERM", "SIGHUP")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "emulate",
        help="serve emulated LLM providers on 127.0.0.1 (OpenAI, Anthropic, Cohere wire formats)",
        description="Start loopback HTTP servers speaking the providers' wire formats with the "
        "scripted, seeded behaviour in EMU.json (see docs/emulator.md); print their base URLs; "
        "run until Ctrl-C or SIGTERM, then write --journal.",
    )
    parser.add_argument("--config", metavar="EMU.json", required=True, help="emulator config")
    parser.add_argument(
        "--write-config", metavar="OUT.json", help="write a provider config.json for these servers"
    )
    parser.add_argument(
        "--latency-scale", type=float, metavar="X", help="multiply every latency (0: at once)"
    )
    parser.add_argument(
        "--journal", metavar="FILE.jsonl", help="write the request journal here on exit"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="the providers as tab-separated lines (default) or one JSON object",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # Imported here: the other subcommands need not load asyncio and the servers.
    from ..emulator import BehaviourError, Emulator

    if args.latency_scale is not None and not args.latency_scale >= 0:
        print("error: --latency-scale must be >= 0", file=sys.stderr)
        return 2
    try:
        emulator = Emulator.from_config(args.config, latency_scale=args.latency_scale)
    except OSError as exc:
        print(f"error: cannot read {args.config}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except BehaviourError as exc:
        print(f"error: {args.config}: {exc}", file=sys.stderr)
        return 2
    try:
        emulator.start()
    except OSError as exc:
        print(f"error: cannot listen: {exc}", file=sys.stderr)
        return 2
    try:
        if args.write_config:
            emulator.write_config(args.write_config)
        if args.format == "json":
            served = [{"name": p.name, "type": p.type, "base_url": p.base_url} for p in emulator]
            print(json.dumps({"providers": served, "config": args.write_config}), flush=True)
        else:
            for provider in emulator:
                print(f"{provider.name}\t{provider.type}\t{provider.base_url}", flush=True)
            if args.write_config:
                print(f"wrote provider config to {args.write_config}", flush=True)
        print("emulating; press Ctrl-C (or send SIGTERM) to stop", file=sys.stderr, flush=True)
        stopped = threading.Event()
        restore = _stop_on_signals(stopped)
        try:
            while not stopped.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            restore()
    except KeyboardInterrupt:  # Ctrl-C while the lines above print: as clean a stop
        pass
    finally:
        emulator.stop()
        if args.journal:
            with open(args.journal, "w", encoding="utf-8") as handle:
                for entry in emulator.journal:
                    handle.write(json.dumps(entry.to_json()) + "\n")
    return 0


def _stop_on_signals(stopped: threading.Event) -> Callable[[], None]:
    """Make SIGTERM and SIGHUP set ``stopped`` (a clean stop, journal written) instead of
    killing the process; returns what puts the previous handlers back. Outside the main thread
    (``main()`` called from a test's thread) signals cannot be handled and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    previous: dict[int, Callable[[int, FrameType | None], object] | int | None] = {}
    for name in _STOP_SIGNALS:
        number = getattr(signal, name, None)  # SIGHUP does not exist on Windows
        if number is not None:
            previous[number] = signal.signal(number, handler)

    def restore() -> None:
        for number, old in previous.items():
            signal.signal(number, old)

    return restore
