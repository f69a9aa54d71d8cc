"""LiteLLM ``Router.acompletion`` over the emulator: the comparison half of ``bench_pool.py``.

Runs inside ``bench/.venv-litellm`` (created by ``bench_decide.py``'s helper; never a project
dependency): it imports litellm, which the project itself never does, and it talks to the
emulator that ``bench_pool.py`` started, over loopback.

Run (by bench_pool.py): bench/.venv-litellm/bin/python bench/litellm_pool.py SPEC_JSON
       or: bench/.venv-litellm/bin/python bench/litellm_pool.py --rss

In one event loop, interleaved as in bench_pool.py, with a raw ``httpx.AsyncClient`` baseline
timed back to back in this same process:
(a) ``Router.acompletion`` to one deployment (``num_retries=0``, the OpenAI client's own
    retries off) against a raw post of the same body;
(b) the failover path: a "primary" deployment that answers 500, ``fallbacks`` to a "secondary"
    that answers 200, cooldowns disabled (so every request tries the primary first), against
    two raw posts;
(c) requests per second at the given concurrency, both contenders, rounds alternating.
``--rss``: the resident memory after building a 10-deployment Router (nothing sent).
Prints one JSON object on the last line of stdout.
"""

from __future__ import annotations

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

Call = Callable[[], Awaitable[object]]


def quiet() -> Any:
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)
    import litellm

    litellm.suppress_debug_info = True
    litellm.telemetry = False
    litellm.turn_off_message_logging = True
    return litellm


def deployment(name: str, target: dict[str, Any], model: str) -> dict[str, Any]:
    base_url = target["url"].rsplit("/chat/completions", 1)[0]
    key = target["headers"]["authorization"].split(" ", 1)[1]
    return {
        "model_name": name,
        "litellm_params": {
            "model": f"openai/{model}",
            "api_key": key,
            "api_base": base_url,
            "max_retries": 0,
        },
    }


def summary_ms(rounds: list[list[int]]) -> float:
    return statistics.median(x for r in rounds for x in r) / 1e6


async def sequential(
    calls: list[tuple[str, Call]], requests: int, rounds: int, warmup: int
) -> dict[str, list[list[int]]]:
    for _ in range(warmup):
        for _, call in calls:
            await call()
    out: dict[str, list[list[int]]] = {name: [] for name, _ in calls}
    clock = time.perf_counter_ns
    m = len(calls)
    for _ in range(rounds):
        samples = {name: [0] * requests for name, _ in calls}
        for i in range(requests):
            for k in range(m):
                name, call = calls[(i + k) % m]
                t0 = clock()
                await call()
                samples[name][i] = clock() - t0
        for name, values in samples.items():
            out[name].append(values)
    return out


def overhead_ms(series: dict[str, list[list[int]]], name: str, base: str) -> float:
    diffs = [
        a - b
        for mine, theirs in zip(series[name], series[base], strict=True)
        for a, b in zip(mine, theirs, strict=True)
    ]
    return statistics.median(diffs) / 1e6


async def burst(call: Call, requests: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(requests)))
    return requests / (time.perf_counter() - t0)


async def run(spec: dict[str, Any]) -> dict[str, Any]:
    import httpx

    litellm = quiet()
    from litellm import Router

    urls = spec["urls"]
    model = spec["config"]["providers"][0]["model"]
    router = Router(
        model_list=[
            deployment("one", urls["ok"], model),
            deployment("primary", urls["bad"], model),
            deployment("secondary", urls["good"], model),
        ],
        fallbacks=[{"primary": ["secondary"]}],
        num_retries=0,
        disable_cooldowns=True,
    )
    client = httpx.AsyncClient(timeout=None)
    messages = [{"role": "user", "content": "hello"}]
    body = {"model": model, "messages": messages, "max_tokens": 16}

    async def post(target: dict[str, Any]) -> int:
        response = await client.post(target["url"], headers=target["headers"], json=body)
        response.json()
        return response.status_code

    async def raw_one() -> object:
        status = await post(urls["ok"])
        assert status == 200, status
        return status

    async def raw_two() -> object:
        first, second = await post(urls["bad"]), await post(urls["good"])
        assert (first, second) == (500, 200), (first, second)
        return second

    async def lite_one() -> object:
        return await router.acompletion(model="one", messages=messages, max_tokens=16)

    async def lite_failover() -> object:
        response = await router.acompletion(model="primary", messages=messages, max_tokens=16)
        return response

    requests, rounds, warmup = spec["requests"], spec["rounds"], spec["warmup"]
    seq = await sequential([("raw", raw_one), ("litellm", lite_one)], requests, rounds, warmup)
    fo = await sequential([("raw", raw_two), ("litellm", lite_failover)], requests, rounds, warmup)
    n, c = spec["throughput_requests"], spec["concurrency"]
    for call in (raw_one, lite_one):
        await burst(call, c * 4, c)
    tp: dict[str, list[float]] = {"raw": [], "litellm": []}
    for r in range(spec["throughput_rounds"]):
        order = [("raw", raw_one), ("litellm", lite_one)]
        if r % 2:
            order.reverse()
        for name, call in order:
            tp[name].append(await burst(call, n, c))
    await client.aclose()
    return {
        "litellm": _version(litellm),
        "httpx": httpx.__version__,
        "python": sys.version.split()[0],
        "sequential": {
            "raw_ms": summary_ms(seq["raw"]),
            "litellm_ms": summary_ms(seq["litellm"]),
            "overhead_ms": overhead_ms(seq, "litellm", "raw"),
        },
        "failover": {
            "raw_ms": summary_ms(fo["raw"]),
            "litellm_ms": summary_ms(fo["litellm"]),
            "overhead_ms": overhead_ms(fo, "litellm", "raw"),
        },
        "throughput": {
            "raw_rps": statistics.median(tp["raw"]),
            "litellm_rps": statistics.median(tp["litellm"]),
            "raw_rounds": tp["raw"],
            "litellm_rounds": tp["litellm"],
        },
    }


def rss() -> int:
    quiet()
    from litellm import Router

    Router(
        model_list=[
            {
                "model_name": "m",
                "litellm_params": {
                    "model": "openai/gpt-4o",
                    "api_key": f"sk-fake-{i}",
                    "api_base": f"http://127.0.0.1:{9000 + i}/v1",
                },
            }
            for i in range(10)
        ]
    )
    found: dict[str, float] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0]) / 1024
    print(found["VmRSS"], found["VmHWM"])
    return 0


def _version(litellm: Any) -> str:
    version = getattr(litellm, "version", None)
    if isinstance(version, str):
        return version
    from importlib.metadata import version as dist_version

    return dist_version("litellm")


def main() -> int:
    if sys.argv[1:] == ["--rss"]:
        return rss()
    spec = json.loads(sys.argv[1])
    if spec.get("cpu") is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {spec["cpu"]})
    print(json.dumps(asyncio.run(run(spec))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
