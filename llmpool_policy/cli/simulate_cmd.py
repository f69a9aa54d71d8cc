"""`llmpool-policy simulate`, `diff` and `import`: dry runs of policies over recorded traffic.

Exit codes: 0 done (and, for diff, every gate passed), 1 a diff gate failed, 2 usage or input
error (unreadable or invalid policy, config, traffic or scenario).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

from ..errors import ConfigurationError, PolicyError
from ..simulate import (
    FORMATS_HELP,
    ScenarioError,
    SimulationResult,
    TrafficError,
    TrafficRecord,
    build_diff,
    build_report,
    check_gates,
    import_file,
    load_simulation,
    load_traffic,
    parse_gate,
    render_diff_text,
    render_html,
    render_text,
    report_json,
    write_traffic,
)
from ..simulate.importers import FORMATS
from ._output import print_diagnostics

__all__ = ["register_diff", "register_import", "register_simulate"]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", required=True, help="provider config")
    parser.add_argument(
        "--traffic",
        metavar="FILE",
        required=True,
        help="recorded traffic: JSON lines (schemas/traffic-record.schema.json) "
        "or an Azure LLM inference trace .csv",
    )
    parser.add_argument("--scenario", metavar="FILE", help="scenario JSON (docs/simulation.md)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--fit",
        action="store_true",
        help="fit provider models from the traffic's observed attempts",
    )
    progress = parser.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress",
        dest="progress",
        action="store_true",
        default=None,
        help="show progress on stderr (default: when stderr is a terminal)",
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false")


def register_simulate(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "simulate",
        help="replay recorded traffic through a policy (dry run)",
        description="Replay recorded traffic through POLICY against modelled providers, in "
        "virtual time, with the same decide/executor/metrics code as the live pool. Prints the "
        "report (--format text or json); --report also writes it to files: JSON (.json), text "
        "(.txt) or a self-contained HTML page (.html). Exit 0 done, 2 usage or input error.",
    )
    parser.add_argument("policy", metavar="POLICY")
    _common(parser)
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="what stdout gets: the text report (default) or the JSON report",
    )
    parser.add_argument(
        "--report",
        metavar="FILE",
        action="append",
        default=[],
        help="also write the report to FILE.json, FILE.html or FILE.txt; repeatable "
        "(- is the old spelling of --format json)",
    )
    parser.set_defaults(func=run_simulate)


def register_diff(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "diff",
        help="what changes between two policies over the same traffic",
        description="Simulate OLD and NEW over the same traffic, scenario and seed; print the "
        "per-request decision changes (old -> new route/provider with examples), aggregate "
        "deltas, and gates. Exit 0 when every gate passes, 1 when one fails, 2 on usage or "
        "input errors.",
    )
    parser.add_argument("old", metavar="OLD")
    parser.add_argument("new", metavar="NEW")
    _common(parser)
    parser.add_argument(
        "--max-cost-increase",
        metavar="PCT",
        help="fail if total cost rises by more than PCT (relative), e.g. 5%%",
    )
    parser.add_argument(
        "--max-failure-increase",
        metavar="PCT",
        help="fail if the failure rate rises by more than PCT points, e.g. 0.1%%",
    )
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="the diff as text (default) or JSON, gates included")  # fmt: skip
    parser.set_defaults(func=run_diff)


def register_import(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "import",
        help="convert traffic from another format to traffic JSON lines",
        description=f"Convert FILE to traffic JSON lines on stdout. Formats: {FORMATS_HELP}",
    )
    parser.add_argument("format", metavar="FORMAT", choices=FORMATS)
    parser.add_argument("file", metavar="FILE")
    parser.add_argument(
        "--output",
        metavar="OUTPUT",
        help="openai-batch: the batch's output JSONL, joined with FILE on custom_id",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=1.0,
        help="openai-batch: synthesised arrivals per second (default 1)",
    )
    parser.add_argument(
        "--arrivals",
        choices=("even", "poisson"),
        default="even",
        help="openai-batch: evenly spaced (default) or Poisson arrivals (seeded by --seed)",
    )
    parser.add_argument("--seed", type=int, default=0, help="openai-batch: Poisson seed")
    parser.add_argument(
        "--start", type=float, default=0.0, help="openai-batch: first arrival (epoch s)"
    )
    parser.add_argument(
        "--provider",
        default="openai",
        help="openai-batch: the provider name of the observed attempts (default openai)",
    )
    parser.add_argument(
        "--provider-key",
        choices=("provider/model", "model_id", "model_group"),
        default="provider/model",
        help="litellm: what names an attempt's provider (default custom_llm_provider/model)",
    )
    parser.add_argument(
        "--skip-bad",
        action="store_true",
        help="report bad lines on stderr and skip them (default: stop at the first, exit 2)",
    )
    parser.set_defaults(func=run_import)


def _error(message: str) -> int:
    print(f"llmpool-policy: {message}", file=sys.stderr)
    return 2


class _Progress:
    """``\\r``-rewritten progress on stderr, at most ten times a second."""

    def __init__(self, label: str, total: int | None, stream: TextIO) -> None:
        self.label = label
        self.total = total
        self.stream = stream
        self.last = 0.0
        self.start = time.perf_counter()

    def __call__(self, arrived: int, finished: int) -> None:
        now = time.perf_counter()
        if now - self.last < 0.1 and (self.total is None or arrived < self.total):
            return
        self.last = now
        rate = arrived / max(now - self.start, 1e-9)
        if self.total:
            filled = int(30 * arrived / self.total)
            bar = "#" * filled + "." * (30 - filled)
            text = f"{self.label} [{bar}] {arrived:,}/{self.total:,} ({rate:,.0f} req/s)"
        else:
            text = f"{self.label} {arrived:,} requests ({rate:,.0f} req/s)"
        self.stream.write("\r" + text)
        self.stream.flush()

    def done(self) -> None:
        self.stream.write("\n")
        self.stream.flush()


def _count_lines(path: str) -> int | None:
    try:
        with open(path, "rb") as f:
            n = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 20), b""))
    except OSError:
        return None
    return n - 1 if path.lower().endswith(".csv") else n


def _run_one(args: argparse.Namespace, policy: str, label: str) -> SimulationResult:
    sim = load_simulation(policy, args.config, scenario=args.scenario, seed=args.seed)
    if args.fit:
        sim.fit(load_traffic(args.traffic))
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = _Progress(label, _count_lines(args.traffic), sys.stderr) if show else None
    sim.progress = progress
    result = sim.run(load_traffic(args.traffic))
    if progress is not None:
        progress.done()
    return result


def _guarded(args: argparse.Namespace, work: Callable[[], int]) -> int:
    try:
        return work()
    except PolicyError as exc:
        print_diagnostics(exc.diagnostics, {}, "short", sys.stderr)
        return 2
    except ConfigurationError as exc:
        print_diagnostics(exc.diagnostics, {}, "short", sys.stderr)
        return 2
    except (TrafficError, ScenarioError, ValueError) as exc:
        return _error(str(exc))
    except BrokenPipeError:
        raise
    except OSError as exc:
        return _error(f"cannot read {exc.filename}: {exc.strerror}")


def _write(path: str, text: str) -> None:
    Path(path).write_text(text, encoding="utf-8")


def run_simulate(args: argparse.Namespace) -> int:
    def work() -> int:
        for out in args.report:
            if out != "-" and Path(out).suffix.lower() not in (".json", ".html", ".htm", ".txt"):
                return _error(f"--report {out}: use a .json, .html or .txt file (or -)")
        result = _run_one(args, args.policy, "simulate")
        report = build_report(result)
        text = render_text(report)
        as_json = args.format == "json" or "-" in args.report
        sys.stdout.write(report_json(report) if as_json else text)
        for out in args.report:
            suffix = Path(out).suffix.lower()
            if out == "-":
                continue
            if suffix == ".json":
                _write(out, report_json(report))
            elif suffix == ".txt":
                _write(out, text)
            else:
                _write(out, render_html(report))
        return 0

    return _guarded(args, work)


def run_diff(args: argparse.Namespace) -> int:
    def work() -> int:
        try:
            gates = [
                parse_gate(name, value)
                for name, value in (
                    ("max-cost-increase", args.max_cost_increase),
                    ("max-failure-increase", args.max_failure_increase),
                )
                if value is not None
            ]
        except ValueError as exc:
            return _error(str(exc))
        old = _run_one(args, args.old, "old")
        new = _run_one(args, args.new, "new")
        diff: dict[str, Any] = build_diff(old, new, old_file=args.old, new_file=args.new)
        failed = check_gates(diff, gates)
        if args.format == "json":
            diff["gates"] = {"checked": [g.name for g in gates], "failed": failed}
            sys.stdout.write(json.dumps(diff, indent=2, sort_keys=True) + "\n")
        else:
            sys.stdout.write(render_diff_text(diff, failed if gates else None))
        return 1 if failed else 0

    return _guarded(args, work)


def run_import(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {}
    if args.format == "openai-batch":
        options = {
            "output_path": args.output,
            "provider": args.provider,
            "rate": args.rate,
            "arrivals": args.arrivals,
            "seed": args.seed,
            "start": args.start,
        }
        if not args.rate > 0:
            return _error("--rate must be > 0")
    elif args.output is not None:
        return _error("--output is for openai-batch only")
    if args.format == "litellm":
        options = {"provider_key": args.provider_key}
    skipped: list[TrafficError] = []

    def report(exc: TrafficError) -> None:
        skipped.append(exc)
        print(f"llmpool-policy: skipped {exc}", file=sys.stderr)

    on_error = report if args.skip_bad else None
    if args.skip_bad and args.format == "azure":
        return _error("--skip-bad is not available for azure (a bad row always stops)")
    estimated = 0

    def counted(records: Iterator[TrafficRecord]) -> Iterator[TrafficRecord]:
        nonlocal estimated
        for record in records:
            estimated += record.input_tokens_estimated
            yield record

    try:
        n = write_traffic(counted(import_file(args.format, args.file, on_error=on_error,
                                              **options)), sys.stdout)  # fmt: skip
    except TrafficError as exc:
        return _error(str(exc))
    except BrokenPipeError:
        raise
    except OSError as exc:
        return _error(f"cannot read {exc.filename}: {exc.strerror}")
    if args.format == "openai-batch":
        how = "evenly spaced" if args.arrivals == "even" else f"Poisson (seed {args.seed})"
        print(
            f"llmpool-policy: {n} records; arrival times are synthesised ({how}, "
            f"{args.rate:g}/s from {args.start:g}): a batch file has none",
            file=sys.stderr,
        )
    if estimated:
        print(
            f"llmpool-policy: {estimated} of {n} records have input_tokens estimated from their "
            "messages (input_tokens_estimated: true): the source reported no usage",
            file=sys.stderr,
        )
    if skipped:
        print(f"llmpool-policy: {len(skipped)} bad line(s) skipped", file=sys.stderr)
    return 0
