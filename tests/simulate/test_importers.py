"""The OpenAI Batch, LiteLLM and OpenTelemetry importers on small hand-made files
(tests/simulate/data/), through the Python API and `llmpool-policy import`."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from llmpool_policy.cli import main
from llmpool_policy.messages import ChatRequest, text_message
from llmpool_policy.providers.tokens import estimate_request_tokens, estimate_wire_messages_tokens
from llmpool_policy.simulate import (
    TrafficError,
    TrafficRecord,
    import_litellm,
    import_openai_batch,
    import_otel,
    read_traffic,
    write_traffic,
)
from llmpool_policy.simulate.external import error_class_of

from .conftest import ROOT

DATA = Path(__file__).parent / "data"
SCHEMA = Draft202012Validator(
    json.loads((ROOT / "schemas" / "traffic-record.schema.json").read_text())
)


def _valid(records: list[TrafficRecord]) -> None:
    for record in records:
        SCHEMA.validate(record.to_json())


def test_openai_batch_joins_input_and_output_on_custom_id() -> None:
    records = list(
        import_openai_batch(DATA / "batch-input.jsonl", DATA / "batch-output.jsonl", rate=2.0)
    )
    _valid(records)
    assert [r.id for r in records] == ["req-1", "req-2", "req-3", "req-4", "req-5"]  # input order
    assert [r.ts for r in records] == [0.0, 0.5, 1.0, 1.5, 2.0]  # evenly spaced at 2/s
    assert all(r.ts_synthesised for r in records)
    one, two, three, four, five = records
    # the output file is in another order; the join is by custom_id
    assert (one.input_tokens, one.output_tokens, one.max_tokens) == (28, 12, 64)
    assert (one.model, one.messages, one.temperature) == ("gpt-4o-mini", 2, 0.2)
    assert one.attempts[0].to_json() == {
        "provider": "openai", "error_class": None, "status": 200,
        "input_tokens": 28, "output_tokens": 12,
    }  # fmt: skip
    assert (two.images, two.max_tokens, two.output_tokens) == (1, 100, 3)  # max_completion_tokens
    assert three.tools == 1
    assert [(a.error_class, a.status) for a in three.attempts] == [("rate_limited", 429)]
    # no usage on a 429: estimated from the messages by the pool's estimator, and flagged
    sent = json.loads((DATA / "batch-input.jsonl").read_text().splitlines()[2])
    assert three.input_tokens == estimate_wire_messages_tokens(sent["body"]["messages"]) > 0
    assert three.input_tokens_estimated and not one.input_tokens_estimated
    assert four.attempts == ()  # batch_expired: a batch-level error, not a provider attempt
    assert five.attempts == () and five.output_tokens is None  # no output line


def test_openai_batch_poisson_arrivals_are_seeded() -> None:
    def times(seed: int) -> list[float]:
        path = DATA / "batch-input.jsonl"
        return [r.ts for r in import_openai_batch(path, arrivals="poisson", rate=4, seed=seed)]

    assert times(1) == times(1) != times(2)
    gaps = [b - a for a, b in zip(times(1), times(1)[1:], strict=False)]
    assert all(g > 0 for g in gaps) and len(set(gaps)) == len(gaps)


def test_bad_lines_fail_with_file_and_line_or_are_skipped() -> None:
    path = DATA / "batch-input-bad.jsonl"
    with pytest.raises(TrafficError, match=r"batch-input-bad\.jsonl:2: body\.messages"):
        list(import_openai_batch(path))
    errors: list[TrafficError] = []
    kept = list(import_openai_batch(path, on_error=errors.append))
    assert [r.id for r in kept] == ["ok-1", "ok-4"]
    assert [str(e).split(": ")[0].rsplit("/", 1)[-1] for e in errors] == [
        "batch-input-bad.jsonl:2", "batch-input-bad.jsonl:3", "batch-input-bad.jsonl:4",
    ]  # fmt: skip
    assert "not JSON" in str(errors[1]) and "got -5" in str(errors[2])


def test_litellm_payloads_become_attempts_without_bodies_or_key_hashes() -> None:
    records = list(import_litellm(DATA / "litellm-payloads.jsonl"))
    _valid(records)
    assert [r.id for r in records] == [
        "chatcmpl-l1",
        "chatcmpl-l2",
        "chatcmpl-l3",
        "chatcmpl-l4",
        "chatcmpl-l5",
    ]  # fmt: skip  (sorted by startTime: the file has l3 before l2)
    first = records[0]
    assert (first.tenant, first.user, first.tags, first.model) == (
        "team-search", "u-7", ("search",), "fast",
    )  # fmt: skip
    assert first.metadata == {
        "key_alias": "search-prod", "team_alias": "Search", "feature": "autocomplete",
    }  # fmt: skip
    a = first.attempts[0]
    assert (a.provider, a.error_class, a.status) == ("openai/gpt-4o-mini", None, 200)
    assert a.latency_s == pytest.approx(1.2)
    assert (a.input_tokens, a.output_tokens, first.max_tokens) == (120, 40, 64)
    streamed = records[2].attempts[0]
    assert streamed.ttft_s == pytest.approx(0.1) and records[2].stream
    assert [r.attempts[0].error_class for r in records[1:]] == [
        "rate_limited", None, "timeout", "context_window",
    ]  # fmt: skip
    text = "".join(json.dumps(r.to_json()) for r in records)
    assert "SECRET PROMPT TEXT" not in text  # message bodies are never copied
    assert "88dc28d0" not in text  # nor the key hash
    by_deployment = list(import_litellm(DATA / "litellm-payloads.jsonl", provider_key="model_id"))
    assert {r.attempts[0].provider for r in by_deployment} == {"dep-openai-1", "dep-anthropic-1"}


def test_litellm_bad_lines() -> None:
    path = DATA / "litellm-bad.jsonl"
    with pytest.raises(TrafficError, match=r"litellm-bad\.jsonl:2: status must be"):
        list(import_litellm(path))
    errors: list[TrafficError] = []
    assert [r.id for r in import_litellm(path, on_error=errors.append)] == [
        "chatcmpl-l1", "chatcmpl-l2",
    ]  # fmt: skip
    assert len(errors) == 2 and "litellm-bad.jsonl:3: not JSON" in str(errors[1])


def test_otel_genai_spans() -> None:
    records = list(import_otel(DATA / "otel-genai.json"))
    _valid(records)
    # the HTTP span without gen_ai.* attributes is left out; sorted by start time
    assert [r.id for r in records] == [
        "a1b2c3d4e5f60718", "00f067aa0ba902b7", "ffeeddccbbaa0099", "1111222233334444",
    ]  # fmt: skip
    first, second, limited, timed_out = records
    assert first.ts == 1_717_000_000.0 and first.user == "u-42"
    assert first.attempts[0].provider == "anthropic"
    assert first.metadata == {"service": "support-bot", "operation": "chat"}
    assert (second.input_tokens, second.output_tokens, second.max_tokens) == (512, 128, 200)
    assert (second.model, second.temperature) == ("gpt-4o", 0.7)
    assert second.attempts[0].latency_s == pytest.approx(0.9)
    assert (limited.attempts[0].error_class, limited.attempts[0].status) == ("rate_limited", 429)
    assert timed_out.attempts[0].error_class == "timeout"
    assert timed_out.attempts[0].latency_s == pytest.approx(30.0)


def test_otel_file_exporter_lines_and_bad_spans() -> None:
    path = DATA / "otel-genai-lines.jsonl"
    with pytest.raises(TrafficError, match=r"otel-genai-lines\.jsonl:2: expected an OTLP"):
        list(import_otel(path))
    errors: list[TrafficError] = []
    records = list(import_otel(path, on_error=errors.append))
    assert len(records) == 7
    assert "otel-genai-lines.jsonl:3: resourceSpans[0].scopeSpans[0].spans[1]" in str(errors[1])


@pytest.mark.parametrize(
    ("status", "name", "expected"),
    [
        (429, "RateLimitError", "rate_limited"),
        (400, "ContextWindowExceededError", "context_window"),
        (None, "APIConnectionError", "connection"),
        (503, None, "overloaded"),
        (401, None, "auth"),
        (None, None, "server_error"),
    ],
)
def test_error_classes(status: int | None, name: str | None, expected: str) -> None:
    assert error_class_of(status, name) == expected


def test_cli_imports_each_format(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["import", "openai-batch", str(DATA / "batch-input.jsonl"),
            "--output", str(DATA / "batch-output.jsonl"), "--rate", "4"]  # fmt: skip
    assert main(argv) == 0
    out, err = capsys.readouterr()
    records = list(read_traffic(io.StringIO(out), validate=True))
    assert [r.ts for r in records] == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert "arrival times are synthesised" in err
    for fmt, name in (("litellm", "litellm-payloads.jsonl"), ("otel", "otel-genai.json")):
        assert main(["import", fmt, str(DATA / name)]) == 0
        out, _err = capsys.readouterr()
        assert len(list(read_traffic(io.StringIO(out), validate=True))) in (4, 5)
    assert main(["import", "litellm", str(DATA / "litellm-bad.jsonl")]) == 2
    _out, err = capsys.readouterr()
    assert "litellm-bad.jsonl:2: status must be" in err
    assert main(["import", "litellm", str(DATA / "litellm-bad.jsonl"), "--skip-bad"]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 2 and "2 bad line(s) skipped" in err


def test_written_records_read_back() -> None:
    records = list(import_litellm(DATA / "litellm-payloads.jsonl"))
    buf = io.StringIO()
    write_traffic(records, buf)
    buf.seek(0)
    assert list(read_traffic(buf, validate=True)) == records


# ---- fixtures written by LiteLLM itself (tests/simulate/data/litellm/README.md) -------------

LITELLM_REAL = DATA / "litellm" / "router-calls.jsonl"


def _payloads() -> list[dict[str, object]]:
    return [json.loads(line) for line in LITELLM_REAL.read_text().splitlines() if line.strip()]


def test_litellm_router_model_is_not_prefixed_twice() -> None:
    # a Router deployment's `model` is already `openai/gpt-4o-mini`; a direct call's is bare
    records = list(import_litellm(LITELLM_REAL))
    _valid(records)
    assert {a.provider for r in records for a in r.attempts} == {
        "openai/gpt-4o-mini", "anthropic/claude-3-haiku-20240307", "groq/llama-3.1-8b-instant",
    }  # fmt: skip


@pytest.mark.parametrize("key", ["model_id", "model_group"])
def test_litellm_direct_call_without_deployment_is_named_under_provider_key(key: str) -> None:
    # a direct litellm.acompletion has model_id "" and model_group ""; the error says so
    line = 1 + next(i for i, p in enumerate(_payloads()) if p["model_id"] == "")
    with pytest.raises(TrafficError) as caught:
        list(import_litellm(LITELLM_REAL, provider_key=key))
    message = str(caught.value)
    assert f"router-calls.jsonl:{line}: {key} is empty" in message
    assert "--provider-key provider/model" in message and "missing" not in message
    errors: list[TrafficError] = []
    records = list(import_litellm(LITELLM_REAL, provider_key=key, on_error=errors.append))
    assert len(errors) == 1 and len(records) == len(list(import_litellm(LITELLM_REAL))) - 1
    deployments = {"model_id": {"dep-openai-1", "dep-anthropic-1", "dep-groq-1"},
                   "model_group": {"fast", "smart", "down"}}  # fmt: skip
    assert {a.provider for r in records for a in r.attempts} == deployments[key]


def test_litellm_user_parameter_is_the_request_user() -> None:
    # router.acompletion(..., user="u-1") reaches the payload as model_parameters.user only
    sent = {p["id"]: p["model_parameters"].get("user") for p in _payloads()}
    records = list(import_litellm(LITELLM_REAL))
    assert {r.user for r in records} == {"u-1", "u-2", "u-3", None}
    assert all(r.user == sent[r.id] for r in records)


def test_wire_messages_are_estimated_like_the_pools_requests() -> None:
    wire = [{"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Count these words, please."}]},
            {"role": "assistant", "content": "Four."}]  # fmt: skip
    request = ChatRequest(
        messages=(
            text_message("system", "You are terse."),
            text_message("user", "Count these words, please."),
            text_message("assistant", "Four."),
        )
    )
    assert estimate_wire_messages_tokens(wire) == estimate_request_tokens(request)
    with_image = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]}]  # fmt: skip
    assert estimate_wire_messages_tokens(with_image) == 3 + 3 + 1000  # an image by URL


def test_litellm_failed_call_input_tokens_are_estimated_and_flagged() -> None:
    # LiteLLM logs prompt_tokens 0 for a failed call, with the messages it sent
    failed = [p for p in _payloads() if p["status"] == "failure" and p["model_group"] == "down"]
    assert failed and all(p["prompt_tokens"] == 0 for p in failed)
    expected = estimate_wire_messages_tokens(failed[0]["messages"])  # type: ignore[arg-type]
    records = list(import_litellm(LITELLM_REAL))
    down = [r for r in records if r.model == "down"]
    assert down and all(r.input_tokens == expected > 100 for r in down)
    assert all(r.input_tokens_estimated and r.to_json()["input_tokens_estimated"] for r in down)
    answered = [r for r in records if r.attempts[-1].error_class is None]
    assert answered and not any(r.input_tokens_estimated for r in answered)
    assert all("input_tokens_estimated" not in r.to_json() for r in answered)
    _valid(records)
    buf = io.StringIO()
    write_traffic(records, buf)
    buf.seek(0)
    assert list(read_traffic(buf, validate=True)) == records


def test_litellm_router_retries_and_fallbacks_of_one_call_are_one_request() -> None:
    payloads = _payloads()
    traces: dict[object, list[dict[str, object]]] = {}
    for p in payloads:
        traces.setdefault(p["trace_id"], []).append(p)
    records = list(import_litellm(LITELLM_REAL))
    assert len(records) == len(traces) < len(payloads)  # one request per trace_id
    by_model = {r.model: r for r in records}
    # smart: rate limited, retried once, answered by the fallback group fast (one trace_id)
    smart = by_model["smart"]
    assert [(a.provider, a.error_class) for a in smart.attempts] == [
        ("anthropic/claude-3-haiku-20240307", "rate_limited"),
        ("anthropic/claude-3-haiku-20240307", "rate_limited"),
        ("openai/gpt-4o-mini", None),
    ]
    (trace,) = [t for t in traces.values() if t[0]["model_group"] == "smart"]
    answer = next(p for p in trace if p["status"] == "success")
    assert smart.id == answer["id"] and smart.ts == min(p["startTime"] for p in trace)
    assert (smart.input_tokens, smart.output_tokens) == (
        answer["prompt_tokens"], answer["completion_tokens"],
    )  # fmt: skip
    assert not smart.input_tokens_estimated and smart.max_tokens == 64 and smart.user == "u-2"
    # down: both tries failed; one request, two attempts, no answer
    down = by_model["down"]
    assert [a.error_class for a in down.attempts] == ["server_error", "server_error"]
    assert down.output_tokens is None
    _valid(records)


# ---- spans made by the OpenTelemetry SDK (tests/simulate/data/otel/README.md) ---------------

OTEL_REAL = DATA / "otel" / "two-instrumentations.json"


def _spans_by_response_id() -> dict[str, list[dict[str, object]]]:
    doc = json.loads(OTEL_REAL.read_text())
    out: dict[str, list[dict[str, object]]] = {}
    for rs in doc["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            for span in ss["spans"]:
                attrs = {a["key"]: a["value"] for a in span.get("attributes", [])}
                rid = attrs.get("gen_ai.response.id", {}).get("stringValue", "")
                out.setdefault(rid, []).append({"span": span, "attrs": attrs})
    return out


def test_otel_provider_name_is_read_first_and_old_system_values_are_renamed() -> None:
    spans = _spans_by_response_id()
    both = spans["chatcmpl-BBB222"][0]["attrs"]
    assert both["gen_ai.system"] == {"stringValue": "az.ai.openai"}
    assert both["gen_ai.provider.name"] == {"stringValue": "azure.ai.openai"}
    records = list(import_otel(OTEL_REAL))
    _valid(records)
    # the two gpt-4o calls: one span with both attributes, one with the old (deprecated) value
    azure = [r.attempts[0].provider for r in records if r.model == "gpt-4o"]
    assert azure == ["azure.ai.openai", "azure.ai.openai"]
    assert {r.attempts[0].provider for r in records if r.model == "gpt-4o-mini"} == {"openai"}


def test_otel_one_call_seen_by_two_instrumentations_imports_once() -> None:
    spans = _spans_by_response_id()
    pair = spans["chatcmpl-AAA111"]
    assert len(pair) == 2  # the framework's span and the client's, inside it
    (inner,) = [s["span"] for s in pair if s["span"].get("parentSpanId")]
    (outer,) = [s["span"] for s in pair if s["span"] is not inner]
    assert inner["parentSpanId"] == outer["spanId"]
    records = list(import_otel(OTEL_REAL))
    genai = [
        s for v in spans.values() for s in v if any(k.startswith("gen_ai.") for k in s["attrs"])
    ]
    assert len(records) == len(genai) - 1  # every GenAI span but one of the pair
    (call,) = [r for r in records if r.id in (inner["spanId"], outer["spanId"])]
    # the client's span, nearer the wire: its own duration; what only the framework set is kept
    assert call.id == inner["spanId"]
    assert call.attempts[0].latency_s == pytest.approx(0.9)
    assert (call.temperature, call.max_tokens) == (0.3, 200)
    assert (call.input_tokens, call.output_tokens) == (512, 128)
    _valid(records)


def test_cli_import_says_how_many_input_sizes_are_estimated(
    capsys: pytest.CaptureFixture[str],
) -> None:
    records = list(import_litellm(LITELLM_REAL))
    estimated = sum(r.input_tokens_estimated for r in records)
    assert 0 < estimated < len(records)
    assert main(["import", "litellm", str(LITELLM_REAL)]) == 0
    out, err = capsys.readouterr()
    assert list(read_traffic(io.StringIO(out), validate=True)) == records
    assert f"{estimated} of {len(records)} records have input_tokens estimated" in err
    assert main(["import", "litellm", str(DATA / "litellm-payloads.jsonl")]) == 0
    assert "estimated" not in capsys.readouterr().err  # every call there reported its usage
