"""`llmpool-policy explain`: why would this request go where it goes?

A metrics file turns it into a what-if: "what if openai had 30% errors and anthropic were
rate-limited?" (see docs/metrics.md for the format).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..diagnostics import Source
from ..errors import ConfigurationError, PolicyError
from ..metrics.static import StaticSnapshot
from ..policy import Policy
from ..request import RoutingRequest
from ._output import print_diagnostics


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser(
        "explain",
        help="show the decision for one request, and why",
        description="Decide one request and explain it: route conditions with their values, "
        "each provider removed and why, order keys, split draws, the plan and the limits. "
        "Exit 0 when the request can be routed, 1 when nothing is available (or a budget "
        "denies it), 2 on usage or input errors.",
    )
    parser.add_argument("policy", metavar="POLICY")
    parser.add_argument("--config", metavar="FILE", required=True, help="provider config")
    parser.add_argument("--request", metavar="REQ.json", required=True,
                        help="request features as JSON (see docs/decisions.md)")  # fmt: skip
    parser.add_argument("--metrics", metavar="M.json", help="a metrics snapshot (what-if)")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        policy = Policy.from_file(args.policy, config=args.config)
    except PolicyError as exc:
        text = Path(args.policy).read_text(encoding="utf-8")
        print_diagnostics(exc.diagnostics, {args.policy: Source(args.policy, text)}, "text",
                          sys.stderr)  # fmt: skip
        return 1
    except ConfigurationError as exc:
        print_diagnostics(exc.diagnostics, {}, "short", sys.stderr)
        return 2
    except OSError as exc:
        print(f"llmpool-policy: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        data = json.loads(Path(args.request).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("a request is a JSON object")
        request = RoutingRequest.from_dict(data)
    except (OSError, ValueError, TypeError) as exc:
        print(f"llmpool-policy: bad request file {args.request}: {exc}", file=sys.stderr)
        return 2
    snapshot = None
    if args.metrics is not None:
        try:
            snapshot = StaticSnapshot.from_file(args.metrics)
        except ConfigurationError as exc:
            print_diagnostics(exc.diagnostics, {}, "short", sys.stderr)
            return 2
    decision = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
    if args.format == "json":
        print(decision.to_json_text())
    else:
        print(decision.explain())
    return 0 if decision.ok else 1
