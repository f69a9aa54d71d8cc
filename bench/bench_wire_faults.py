"""Benchmark: the wire-fault matrix (issue 13) — every fault of tests/providers/fault_server.py,
on both transports, alone and with a healthy failover target (the emulator): how long each
request takes against its bound, and what it ends in.

Run: python bench/bench_wire_faults.py [--tries 20] [--timeout 0.3]

Alone: one provider, ``retry { attempts 1 } timeout T failover off``: a request must end in a
typed error within T + 100 ms. With failover: the faulty provider first, the emulator second,
``failover on timeout, connection, invalid_response``: it must end answered by the emulator
within T + 100 ms plus the healthy answer. Reported per row: the outcomes seen, the worst
elapsed, the worst overshoot past the bound; the script exits 1 when any request ends untyped,
hangs (10 s), or overshoots by more than 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmpool_policy.emulator import Emulator  # noqa: E402
from llmpool_policy.errors import LLMPoolError  # noqa: E402
from llmpool_policy.messages import text_message  # noqa: E402
from llmpool_policy.pool import LLMPool  # noqa: E402
from tests.providers.fault_server import FAULTS, FaultServer  # noqa: E402


def _transports() -> dict[str, type[httpx.AsyncBaseTransport]]:
    from httpx_aiohttp import AiohttpTransport

    return {"httpx": httpx.AsyncHTTPTransport, "aiohttp": AiohttpTransport}


async def _requests(
    config: Path, policy: Path, make: type[httpx.AsyncBaseTransport], tries: int
) -> list[tuple[str, float]]:
    out = []
    async with LLMPool(config, policy, transport=make(), check_interval_s=0) as pool:
        for _ in range(tries):
            started = time.perf_counter()
            try:
                response = await asyncio.wait_for(
                    pool.chat([text_message("user", "hi")], max_tokens=5), 10
                )
                what = f"ok:{response.provider}"
            except LLMPoolError as exc:
                what = getattr(exc, "error_class", type(exc).__name__)
            except TimeoutError:
                what = "HANG"
            except Exception as exc:  # what must never happen: an untyped error
                what = f"RAW {type(exc).__name__}"
            out.append((what, time.perf_counter() - started))
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tries", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=0.3)
    args = parser.parse_args()
    bound = args.timeout
    ms = round(bound * 1000)
    failed = False
    with tempfile.TemporaryDirectory() as tmp, Emulator(latency_scale=0) as emulator:
        emulator.add("good", "openai", config={"priority": 2})
        server = FaultServer(tick_s=0.05).start()
        faulty = {"name": "faulty", "type": "openai-compatible", "base_url": server.url,
                  "model": "m", "priority": 1}  # fmt: skip
        alone, both = Path(tmp, "alone.json"), Path(tmp, "both.json")
        alone.write_text(json.dumps({"providers": [faulty]}))
        document = emulator.config_document()
        document["providers"] = [faulty, *document["providers"]]  # type: ignore[misc]
        both.write_text(json.dumps(document))
        policies = {}
        for name, rule in (
            ("alone", "failover off"),
            ("failover", "failover on timeout, connection, invalid_response"),
        ):
            policies[name] = Path(tmp, f"{name}.policy")
            policies[name].write_text(
                f'policy "b"\nroute d {{ use all order by priority retry {{ attempts 1 }} '
                f"timeout {ms}ms {rule} }}\n"
            )  # fmt: skip
        print(f"| fault | transport | setup | outcomes ({args.tries} each) | worst | over bound |")
        print("|---|---|---|---|---|---|")
        worst_over = -1.0
        for fault in FAULTS:
            server.fault = fault
            for tname, make in _transports().items():
                for setup, config in (("alone", alone), ("failover", both)):
                    rows = asyncio.run(_requests(config, policies[setup], make, args.tries))
                    outcomes = sorted({w for w, _ in rows})
                    worst = max(e for _, e in rows)
                    over = worst - bound
                    worst_over = max(worst_over, over)
                    bad = any(w.startswith(("RAW", "HANG")) for w in outcomes) or over > 0.1
                    failed |= bad
                    flag = " FAIL" if bad else ""
                    print(f"| {fault} | {tname} | {setup} | {', '.join(outcomes)} | "
                          f"{worst * 1000:.0f} ms | {over * 1000:+.0f} ms{flag} |")  # fmt: skip
        server.stop()
        print(f"\nworst overshoot past the {ms} ms bound: {worst_over * 1000:+.0f} ms")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
