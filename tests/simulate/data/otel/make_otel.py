"""Writes two-instrumentations.json: GenAI spans made by the OpenTelemetry Python SDK, encoded
by its OTLP exporter's own encoder and written as OTLP/JSON. Not imported by the tests; run it
in a scratch venv (never a project dependency):

    python3 -m venv /tmp/imp-venv
    /tmp/imp-venv/bin/pip install opentelemetry-sdk opentelemetry-exporter-otlp-proto-common
    /tmp/imp-venv/bin/python make_otel.py

Two instrumentations of one service, as when an agent framework and the OpenAI client
instrumentation both trace: the framework's scope writes the current semantic conventions
(`gen_ai.provider.name`), the client's the older ones (`gen_ai.system`, its deprecated values
such as `az.ai.openai`). Times are given explicitly, so the file only changes when the SDK does.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict  # type: ignore[import-not-found]
from opentelemetry import trace  # type: ignore[import-not-found]
from opentelemetry.exporter.otlp.proto.common.trace_encoder import (  # type: ignore[import-not-found]
    encode_spans,
)
from opentelemetry.sdk.resources import Resource  # type: ignore[import-not-found]
from opentelemetry.sdk.trace import TracerProvider  # type: ignore[import-not-found]
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # type: ignore[import-not-found]
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # type: ignore[import-not-found]
    InMemorySpanExporter,
)
from opentelemetry.trace import SpanKind, Status, StatusCode  # type: ignore[import-not-found]

OUT = Path(__file__).with_name("two-instrumentations.json")
T0 = 1_796_400_000_000_000_000  # ns
MS = 1_000_000


def main() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": "support-bot"}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    framework = provider.get_tracer("acme.agent_framework", "2.1.0")
    client = provider.get_tracer("opentelemetry.instrumentation.openai_v2", "2.0b0")

    # 1. one call seen by both: the framework's span around the client's (same response id)
    outer = framework.start_span(
        "chat gpt-4o-mini",
        kind=SpanKind.CLIENT,
        start_time=T0,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.request.max_tokens": 200,
            "gen_ai.response.id": "chatcmpl-AAA111",
            "gen_ai.usage.input_tokens": 512,
            "gen_ai.usage.output_tokens": 128,
        },
    )
    with trace.use_span(outer, end_on_exit=False):
        inner = client.start_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            start_time=T0 + 3 * MS,
            attributes={
                "gen_ai.operation.name": "chat",
                "gen_ai.system": "openai",
                "gen_ai.request.model": "gpt-4o-mini",
                "gen_ai.request.temperature": 0.3,
                "gen_ai.response.id": "chatcmpl-AAA111",
                "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
                "gen_ai.usage.input_tokens": 512,
                "gen_ai.usage.output_tokens": 128,
                "server.address": "api.openai.com",
            },
        )
        inner.end(end_time=T0 + 903 * MS)
    outer.end(end_time=T0 + 910 * MS)

    # 2. a call traced by an instrumentation in transition: both attributes, old and new value
    both = framework.start_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        start_time=T0 + 2_000 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": "azure.ai.openai",
            "gen_ai.system": "az.ai.openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.id": "chatcmpl-BBB222",
            "gen_ai.usage.input_tokens": 90,
            "gen_ai.usage.output_tokens": 30,
        },
    )
    both.end(end_time=T0 + 2_700 * MS)

    # 3. a call traced by the old instrumentation only, with the deprecated value
    old = client.start_span(
        "chat gpt-4o",
        kind=SpanKind.CLIENT,
        start_time=T0 + 4_000 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "az.ai.openai",
            "gen_ai.request.model": "gpt-4o",
            "gen_ai.response.id": "chatcmpl-CCC333",
            "gen_ai.usage.input_tokens": 40,
            "gen_ai.usage.output_tokens": 12,
        },
    )
    old.end(end_time=T0 + 4_500 * MS)

    # 4. a rate-limited call (no response, so no response id)
    failed = client.start_span(
        "chat gpt-4o-mini",
        kind=SpanKind.CLIENT,
        start_time=T0 + 6_000 * MS,
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.system": "openai",
            "gen_ai.request.model": "gpt-4o-mini",
            "error.type": "429",
            "http.response.status_code": 429,
        },
    )
    failed.set_status(Status(StatusCode.ERROR, "Rate limit reached"))
    failed.end(end_time=T0 + 6_120 * MS)

    # 5. an HTTP span without gen_ai.* attributes (not a request for the importer)
    http = framework.start_span(
        "GET /healthz", start_time=T0 + 7_000 * MS, attributes={"http.request.method": "GET"}
    )
    http.end(end_time=T0 + 7_002 * MS)

    request = encode_spans(exporter.get_finished_spans())
    data = MessageToDict(request, use_integers_for_enums=True)
    OUT.write_text(json.dumps(_hex_ids(data), indent=1) + "\n", encoding="utf-8")


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants trace and span ids as
    hex (what the collector's file exporter writes)."""
    if isinstance(value, dict):
        return {
            k: base64.b64decode(v).hex()
            if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
            else _hex_ids(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


if __name__ == "__main__":
    main()
