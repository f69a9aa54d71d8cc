"""`llmpool-policy explain`: why would this request go where it goes?

A metrics file turns it into a what-if: "what if openai had 30% errors and anthropic were
rate-limited?" (see docs/metrics.md for the format).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..codes import IO_CODES
from ..diagnostics import Source
from ..errors import ConfigurationError, PolicyError
from ..metrics.static import StaticSnapshot
from ..policy import Policy
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
    parser.add_argument(
        "--request", metavar="REQ.json", required=True,
        help="the request: an OpenAI chat-completions body (as an SDK sends it), one recorded "
        "traffic record (a line of simulate's JSON lines), or request features "
        "(docs/decisions.md); which form was read is said on stderr",
    )  # fmt: skip
    parser.add_argument(
        "--metrics", metavar="M.json",
        help="a metrics snapshot (what-if); without it, providers read as a freshly started "
        "pool reads them (the config's rate limits in full, no errors, breakers closed)",
    )  # fmt: skip
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..compile.runtime_specs import provider_limits
    from ..config import load_config
    from ._request_input import RequestInputError, parse_documents, read_request

    try:
        config = load_config(args.config)
        policy = Policy.from_file(args.policy, config=config)
    except PolicyError as exc:
        if any(d.code in IO_CODES for d in exc.diagnostics):
            print_diagnostics(exc.diagnostics, {}, "text", sys.stderr)
            return 2
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
        text = Path(args.request).read_text(encoding="utf-8")
        read = read_request(parse_documents(text), exact_tokens=config.token_counting)
    except (OSError, UnicodeDecodeError, RequestInputError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        print(f"llmpool-policy: bad request file {args.request}: {reason}", file=sys.stderr)
        return 2
    print(f"llmpool-policy: {read.describe(args.request)}", file=sys.stderr)
    snapshot = StaticSnapshot({})
    if args.metrics is not None:
        try:
            snapshot = StaticSnapshot.from_file(args.metrics)
        except ConfigurationError as exc:
            print_diagnostics(exc.diagnostics, {}, "short", sys.stderr)
            return 2
    limits = provider_limits({p.name: p for p in config.providers})
    decision = policy.decide(read.request, snapshot.with_limits(limits), trace=True,
                             raise_if_unroutable=False)  # fmt: skip
    if args.format == "json":
        print(decision.to_json_text())
    else:
        print(decision.explain())
    return 0 if decision.ok else 1
