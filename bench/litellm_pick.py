"""LiteLLM Router deployment selection, timed: the comparison half of ``bench_decide.py --litellm``.

Runs inside the separate venv that ``bench_decide.py`` creates (``bench/.venv-litellm``, never a
project dependency); it imports litellm, which the project itself never does.

Run: bench/.venv-litellm/bin/python bench/litellm_pick.py [--deployments 10] [--runs 3000]

A Router with ``--deployments`` deployments of one model_name (fake keys, api_base
http://127.0.0.1:9, so nothing is ever sent) per routing strategy; each pick is timed alone with
``perf_counter_ns`` after a warm-up, in five rounds (the median reported is the quietest
round's, as in ``bench_decide.py``): the synchronous ``router.get_available_deployment(model=...)``
and, when the router has it, the async ``router.async_get_available_deployment(...)`` awaited in
one running event loop. Prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Awaitable, Callable
from typing import Any

STRATEGIES = ("simple-shuffle", "least-busy", "usage-based-routing", "latency-based-routing")
MODEL = "gpt-4o"


ROUNDS = 5


def summary(rounds: list[list[int]]) -> dict[str, float]:
    """The quietest round's median (the machine is shared), the median, p99 and min of all."""
    every = sorted(x for r in rounds for x in r)
    return {
        "median_us": min(statistics.median(r) for r in rounds) / 1000,
        "median_all_us": statistics.median(every) / 1000,
        "p99_us": every[min(len(every) - 1, int(0.99 * len(every)))] / 1000,
        "min_us": every[0] / 1000,
        "runs": len(every),
    }


def make_router(strategy: str, deployments: int) -> Any:
    from litellm import Router

    model_list = [
        {
            "model_name": MODEL,
            "litellm_params": {
                "model": f"openai/{MODEL}",
                "api_key": f"sk-fake-{i}",
                "api_base": "http://127.0.0.1:9",
                "rpm": 600,
                "tpm": 1_000_000,
            },
            "model_info": {"id": f"deployment-{i}"},
        }
        for i in range(deployments)
    ]
    return Router(model_list=model_list, routing_strategy=strategy)  # type: ignore[arg-type]


def time_sync(pick: Callable[[], object], runs: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        pick()
    clock = time.perf_counter_ns
    rounds: list[list[int]] = []
    for _ in range(ROUNDS):
        samples: list[int] = []
        for _ in range(max(1, runs // ROUNDS)):
            t0 = clock()
            pick()
            samples.append(clock() - t0)
        rounds.append(samples)
    return summary(rounds)


async def time_async(
    pick: Callable[[], Awaitable[object]], runs: int, warmup: int
) -> dict[str, float]:
    for _ in range(warmup):
        await pick()
    clock = time.perf_counter_ns
    rounds: list[list[int]] = []
    for _ in range(ROUNDS):
        samples: list[int] = []
        for _ in range(max(1, runs // ROUNDS)):
            t0 = clock()
            await pick()
            samples.append(clock() - t0)
        rounds.append(samples)
    return summary(rounds)


def bench_strategy(strategy: str, deployments: int, runs: int, warmup: int) -> dict[str, Any]:
    router = make_router(strategy, deployments)
    result: dict[str, Any] = {"strategy": strategy}
    messages = [{"role": "user", "content": "hello"}]

    def sync_pick() -> object:
        picked = router.get_available_deployment(model=MODEL, messages=messages)
        if not picked:
            raise RuntimeError(f"{strategy}: get_available_deployment picked nothing")
        return picked

    result["sync"] = time_sync(sync_pick, runs, warmup)
    async_get = getattr(router, "async_get_available_deployment", None)
    if async_get is None:
        result["async"] = None
        result["async_note"] = "router has no async_get_available_deployment"
        return result

    async def async_pick() -> object:
        picked = await async_get(model=MODEL, request_kwargs={}, messages=messages)
        if not picked:
            raise RuntimeError(f"{strategy}: async_get_available_deployment picked nothing")
        return picked

    result["async"] = asyncio.run(time_async(async_pick, runs, warmup))
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deployments", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    os.environ.setdefault("LITELLM_LOG", "CRITICAL")
    import litellm

    litellm.suppress_debug_info = True
    version = getattr(litellm, "version", None) or _version()
    results: list[dict[str, Any]] = []
    for strategy in STRATEGIES:
        try:
            results.append(bench_strategy(strategy, args.deployments, args.runs, args.warmup))
        except Exception as exc:  # report a strategy that fails, keep the others
            results.append({"strategy": strategy, "error": f"{type(exc).__name__}: {exc}"})
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    print(
        json.dumps(
            {
                "litellm": version,
                "python": sys.version.split()[0],
                "deployments": args.deployments,
                "cpus": cpus,
                "results": results,
            }
        )
    )
    return 0


def _version() -> str:
    from importlib.metadata import version

    return version("litellm")


if __name__ == "__main__":
    sys.exit(main())
