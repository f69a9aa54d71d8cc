"""Writes router-calls.jsonl: LiteLLM's own StandardLoggingPayload, one per call, as a custom
callback receives it. Not imported by the tests; run it in a scratch venv (never a project
dependency), no network needed (every call is a mock_response):

    python3 -m venv /tmp/imp-venv && /tmp/imp-venv/bin/pip install litellm
    LITELLM_LOCAL_MODEL_COST_MAP=True /tmp/imp-venv/bin/python make_litellm.py

The calls: a Router success; a Router call whose deployment is rate limited, retried once and
then answered by the fallback group (three payloads, one trace_id); a Router call that fails on
every retry (two payloads, one trace_id, no usage); a streamed Router call; a direct
litellm.acompletion (no Router: empty model_id and model_group).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import litellm  # type: ignore[import-not-found]
from litellm import Router
from litellm.integrations.custom_logger import CustomLogger  # type: ignore[import-not-found]

OUT = Path(__file__).with_name("router-calls.jsonl")
LONG = (
    "Summarise the attached incident report for the on-call channel in three bullet points, "
    "naming the failing region, the first alert and what was rolled back. " * 4
)


class Writer(CustomLogger):  # type: ignore[misc]
    """Writes kwargs["standard_logging_object"] as each call ends (success or failure)."""

    def __init__(self, stream: Any) -> None:
        super().__init__()
        self.stream = stream

    def _write(self, kwargs: dict[str, Any]) -> None:
        payload = dict(kwargs["standard_logging_object"])
        info = payload.get("error_information")
        if isinstance(info, dict) and info.get("traceback"):
            # two edits only: the traceback holds this machine's paths and is large
            payload["error_information"] = {**info, "traceback": ""}
        mapped = payload.get("model_map_information")
        if isinstance(mapped, dict) and mapped.get("model_map_value"):
            # and LiteLLM's price-map entry for the model (9 kB of prices, the same each line)
            payload["model_map_information"] = {**mapped, "model_map_value": None}
        self.stream.write(json.dumps(payload, default=str, sort_keys=True) + "\n")

    async def async_log_success_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._write(kwargs)

    async def async_log_failure_event(self, kwargs, response_obj, start_time, end_time):  # type: ignore[no-untyped-def]
        self._write(kwargs)


async def main() -> None:
    with open(OUT, "w", encoding="utf-8") as stream:
        litellm.callbacks = [Writer(stream)]
        key = "sk-not-a-real-key"
        router = Router(
            model_list=[
                {
                    "model_name": "fast",
                    "litellm_params": {
                        "model": "openai/gpt-4o-mini",
                        "api_key": key,
                        "mock_response": "Here is the short answer.",
                    },
                    "model_info": {"id": "dep-openai-1"},
                },
                {
                    "model_name": "smart",
                    "litellm_params": {
                        "model": "anthropic/claude-3-haiku-20240307",
                        "api_key": key,
                        "mock_response": "litellm.RateLimitError",
                    },
                    "model_info": {"id": "dep-anthropic-1"},
                },
                {
                    "model_name": "down",
                    "litellm_params": {
                        "model": "groq/llama-3.1-8b-instant",
                        "api_key": key,
                        "mock_response": "litellm.InternalServerError",
                    },
                    "model_info": {"id": "dep-groq-1"},
                },
            ],
            num_retries=1,
            retry_after=0,
            fallbacks=[{"smart": ["fast"]}],
        )
        messages = [{"role": "user", "content": "What is the capital of France?"}]
        await router.acompletion(
            model="fast", messages=messages, user="u-1", max_tokens=20, temperature=0.2
        )
        await asyncio.sleep(0.2)
        await router.acompletion(model="smart", messages=messages, user="u-2", max_tokens=64)
        await asyncio.sleep(0.2)
        with contextlib.suppress(litellm.InternalServerError):
            await router.acompletion(
                model="down",
                messages=[
                    {"role": "system", "content": "You are a terse incident assistant."},
                    {"role": "user", "content": LONG},
                ],
                user="u-3",
            )
        await asyncio.sleep(0.2)
        reply = await router.acompletion(model="fast", messages=messages, stream=True)
        async for _chunk in reply:
            pass
        await asyncio.sleep(0.2)
        await litellm.acompletion(
            model="gpt-4o-mini",
            messages=messages,
            api_key=key,
            mock_response="Paris.",
        )
        await asyncio.sleep(1.0)  # the callbacks run after the calls return


if __name__ == "__main__":
    asyncio.run(main())
