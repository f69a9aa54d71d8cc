"""Benchmark: what marking "the request went out" costs per attempt (issue 13, item 5).

Run: python bench/bench_sent_body.py [--requests 2000] [--rounds 5]

The pool now hands each request's body to the transport as a ``SentBody`` (an async iterable
that notes when the transport starts reading it, plus an explicit content-length) instead of
bytes, so a cancelled attempt knows whether the provider saw it. Measured against the
emulator (``latency_scale=0``, in-process, loopback, keep-alive): the same OpenAI chat body
posted as bytes and as a ``SentBody``, paired and interleaved (the order alternating per
pair), on httpx's own transport and on httpx-aiohttp when installed. Reported: the median of
the per-pair differences (SentBody minus bytes) over all rounds, and each side's median; plus
the cost of building and draining one SentBody alone (timeit).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import statistics
import time
import timeit
from collections.abc import Callable

import httpx

from llmpool_policy.emulator import Emulator
from llmpool_policy.providers.sent_body import SentBody

BODY = json.dumps(
    {"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 5}
).encode()


def transports() -> list[tuple[str, Callable[[], httpx.AsyncBaseTransport]]]:
    found: list[tuple[str, Callable[[], httpx.AsyncBaseTransport]]] = [
        ("httpx", httpx.AsyncHTTPTransport)
    ]
    if importlib.util.find_spec("httpx_aiohttp") is not None:
        from httpx_aiohttp import AiohttpTransport

        found.append(("aiohttp", AiohttpTransport))
    return found


async def pairs(
    url: str, make: Callable[[], httpx.AsyncBaseTransport], n: int
) -> list[tuple[float, float]]:
    headers = {"content-type": "application/json", "authorization": "Bearer k"}
    marked_headers = {**headers, "content-length": str(len(BODY))}
    out: list[tuple[float, float]] = []
    async with httpx.AsyncClient(transport=make(), timeout=10) as client:

        async def plain() -> float:
            t = time.perf_counter()
            (await client.post(url, headers=headers, content=BODY)).raise_for_status()
            return time.perf_counter() - t

        async def marked() -> float:
            t = time.perf_counter()
            body = SentBody(BODY)
            (await client.post(url, headers=marked_headers, content=body)).raise_for_status()
            assert body.sent
            return time.perf_counter() - t

        for _ in range(50):  # warm the connection and the code paths
            await plain()
            await marked()
        for i in range(n):
            if i % 2:
                b = await plain()
                m = await marked()
            else:
                m = await marked()
                b = await plain()
            out.append((b, m))
    return out


def drain_one() -> None:
    async def run() -> None:
        async for _ in SentBody(BODY):
            pass

    with contextlib.suppress(StopIteration):
        run().send(None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with Emulator(latency_scale=0.0) as emulator:
        emulator.add("a", "openai", api_key=None)
        url = emulator["a"].url
        for name, make in transports():
            results: list[tuple[float, float]] = []
            for _ in range(args.rounds):
                results += asyncio.run(pairs(url, make, args.requests))
            diff = statistics.median(m - b for b, m in results) * 1e6
            plain = statistics.median(b for b, _ in results) * 1e6
            marked = statistics.median(m for _, m in results) * 1e6
            print(
                f"{name:8s} bytes {plain:7.1f} us  SentBody {marked:7.1f} us  "
                f"median paired difference {diff:+6.1f} us  ({len(results)} pairs)"
            )
    loops = 100_000
    alone = min(timeit.repeat(drain_one, number=loops, repeat=5)) / loops * 1e6
    print(f"SentBody built and drained alone: {alone:.2f} us")


if __name__ == "__main__":
    main()
