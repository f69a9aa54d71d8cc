"""Hostile policy texts end fast (issue 13, items 3 and 10): comments, size, long and deep
expressions, through parse, check, fmt and load (parse + check + compile).

Run: python bench/bench_parse_limits.py
One process; the parser is built before timing. Each figure is the fastest of 3.
"""

from __future__ import annotations

import contextlib
import os
import platform
import time
from collections.abc import Callable

from llmpool_policy import Policy
from llmpool_policy.errors import PolicyError
from llmpool_policy.semantics import check
from llmpool_policy.syntax import try_parse
from llmpool_policy.syntax.formatter import format_text

DEFAULT = "route default { use all }\n"


def _best(fn: Callable[[], object], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _outcome(text: str) -> str:
    policy, diagnostics = try_parse(text)
    return "parses" if policy is not None else ", ".join(sorted({d.code for d in diagnostics}))


def _load(text: str) -> None:
    with contextlib.suppress(PolicyError):
        Policy.from_text(text)


def main() -> None:
    comment = "# a comment that says why, as comments in ops policies do\n"
    cases = {
        "15,000 comment lines": comment * 15_000 + DEFAULT,
        "1 MB of comments (just under the limit)": comment * (999_000 // len(comment)) + DEFAULT,
        "20 MB policy": ("route r when request.stream { use all }  # padding\n") * 392_156,
        "`or` of 100,000 terms": "route r when " + " or ".join(["true"] * 100_000)
        + " { use all }\n" + DEFAULT,
        "10,000 nested `not`": "route r when " + "not " * 10_000 + "true { use all }\n" + DEFAULT,
        "10,000 unary minus": "route r when request.max_tokens > " + "- " * 10_000 + "1 "
        "{ use all }\n" + DEFAULT,
        "10,000 nested brackets": "route r when " + "(" * 10_000 + "true" + ")" * 10_000
        + " { use all }\n" + DEFAULT,
    }  # fmt: skip
    try_parse(DEFAULT)
    print(f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores")
    print(f"{'input':42} {'outcome':8} {'parse':>8} {'check':>8} {'fmt':>8} {'load':>8}")
    for label, text in cases.items():
        outcome = _outcome(text)
        row = [_best(lambda t=text: try_parse(t))]
        if outcome == "parses":
            policy = try_parse(text)[0]
            assert policy is not None
            row += [_best(lambda p=policy: check(p)), _best(lambda t=text: format_text(t))]
            row.append(_best(lambda t=text: _load(t), runs=1))
        cells = " ".join(f"{s * 1000:6.0f}ms" for s in row)
        print(f"{label:42} {outcome:8} {cells}")


if __name__ == "__main__":
    main()
