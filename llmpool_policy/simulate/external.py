"""Importers for traffic recorded by other tools: OpenAI Batch API files, LiteLLM's standard
logging payloads, OpenTelemetry GenAI spans (OTLP/JSON).

Each yields :class:`TrafficRecord` in arrival order, with the observed attempt the source saw.
A line (or span) that cannot be read raises :class:`TrafficError` naming ``file:line`` and what
is wrong — unless ``on_error`` is given: then it is called with that error and the line is
skipped (the CLI's ``--skip-bad`` prints each to stderr and says how many at the end). Message
bodies and keys are never copied into a record: only counts and sizes.

- ``openai-batch``: the input JSONL (``{custom_id, method, url, body: {model, messages,
  max_tokens, ...}}``) joined on ``custom_id`` with the output JSONL (``{custom_id, response:
  {status_code, body: {model, usage, ...}}, error}``). A batch has no arrival times: they are
  synthesised (``ts_synthesised: true`` in every record), evenly spaced at ``rate`` per second
  or Poisson at ``rate`` with ``seed``, from ``start``; records follow the input file's order.
- ``litellm``: ``StandardLoggingPayload`` JSON lines (one try each; the tries of one call
  share a ``trace_id`` and make one request): ``startTime`` is the arrival, ``model_group`` the
  model asked for, the attempt's provider is ``custom_llm_provider/model`` (or ``model_id``
  with ``provider_key="model_id"``), the team (``metadata.user_api_key_team_id``, else its
  alias) the tenant. A failure reports no usage: its input tokens are estimated from the
  logged messages (``input_tokens_estimated: true``).
- ``otel``: an OTLP/JSON ``ExportTraceServiceRequest`` (one document, or one per line as the
  collector's file exporter writes): every span with ``gen_ai.*`` attributes is a request
  (spans sharing a ``gen_ai.response.id`` are one); others are left out. The provider is
  ``gen_ai.provider.name`` (else the older ``gen_ai.system``, renamed values mapped to the
  current ones); ``error.type`` (a status code or an error name) or an error status makes the
  attempt a failure.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Final

from ..providers.base import classify_status
from ..providers.tokens import estimate_wire_messages_tokens
from .traffic import ObservedAttempt, TrafficError, TrafficRecord

__all__ = ["error_class_of", "import_litellm", "import_openai_batch", "import_otel"]

OnError = Callable[[TrafficError], None]

# Exception / error-type names (LiteLLM's OpenAI-style exceptions, OTel `error.type`) -> class.
_NAMED: Final[tuple[tuple[str, str], ...]] = (
    ("contextwindow", "context_window"),
    ("context_length", "context_window"),
    ("contentpolicy", "content_policy"),
    ("content_filter", "content_policy"),
    ("ratelimit", "rate_limited"),
    ("rate_limit", "rate_limited"),
    ("timeout", "timeout"),
    ("serviceunavailable", "overloaded"),
    ("overloaded", "overloaded"),
    ("connection", "connection"),
    ("authentication", "auth"),
    ("permissiondenied", "auth"),
    ("notfound", "not_found"),
    ("badrequest", "bad_request"),
    ("unprocessable", "bad_request"),
    ("internalserver", "server_error"),
    ("apierror", "server_error"),
    ("cancel", "cancelled"),
)


def error_class_of(status: int | None, name: str | None = None, message: str = "") -> str:
    """The error class of a failure seen by another tool: a known error name first (it says
    more than a status: ``ContextWindowExceededError`` is a 400), else the HTTP status as the
    adapters classify it, else ``server_error``."""
    if name:
        key = re.sub(r"[^a-z_]", "", name.lower())
        for needle, cls in _NAMED:
            if needle in key:
                return cls
    if status is not None and status >= 300:
        return classify_status(status, message)
    return "server_error"


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _fail(error: TrafficError, on_error: OnError | None) -> None:
    if on_error is None:
        raise error
    on_error(error)


def _lines(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, parsed JSON) per non-blank line; a line that is not JSON gives an exception."""
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                yield where, json.loads(line)
            except json.JSONDecodeError as exc:
                yield where, TrafficError(f"{where}: not JSON: {exc.msg}")


def _count(value: Any, key: str, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise TrafficError(f"{where}: {key} must be a non-negative integer (got {value!r})")
    return value


def _number(value: Any, key: str, where: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise TrafficError(f"{where}: {key} must be a number (got {value!r})") from None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise TrafficError(f"{where}: {key} must be a number (got {value!r})")
    return float(value)


def _images(messages: list[Any]) -> int:
    n = 0
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list):
            n += sum(
                1
                for part in content
                if isinstance(part, dict) and part.get("type") in ("image_url", "image")
            )
    return n


# ---- OpenAI Batch API ------------------------------------------------------------------------


def import_openai_batch(
    input_path: str | Path,
    output_path: str | Path | None = None,
    *,
    provider: str = "openai",
    rate: float = 1.0,
    arrivals: str = "even",
    seed: int = 0,
    start: float = 0.0,
    on_error: OnError | None = None,
) -> Iterator[TrafficRecord]:
    """Records from a Batch API input file (and its output file, joined on ``custom_id``).

    Arrival times are synthesised (a batch has none): ``arrivals="even"`` spaces them
    ``1/rate`` s apart, ``"poisson"`` draws exponential gaps at ``rate`` from ``seed``; the
    first is at ``start``. Every record says ``ts_synthesised: true``. An output line's answer
    becomes the record's one observed attempt at ``provider`` (status, error class, usage; no
    latency: the file has none); a line with a batch-level ``error`` and no response (e.g.
    ``batch_expired``) has no attempt."""
    if arrivals not in ("even", "poisson"):
        raise ValueError(f"arrivals must be 'even' or 'poisson', not {arrivals!r}")
    if not rate > 0:
        raise ValueError("rate must be > 0")
    input_path = Path(input_path)
    outputs: dict[str, tuple[str, dict[str, Any]]] = {}
    if output_path is not None:
        output_path = Path(output_path)
        for where, data in _lines(output_path):
            try:
                if isinstance(data, TrafficError):
                    raise data
                if not isinstance(data, dict) or not isinstance(data.get("custom_id"), str):
                    raise TrafficError(f"{where}: an output line needs a string custom_id")
                if data["custom_id"] in outputs:
                    raise TrafficError(f"{where}: custom_id {data['custom_id']!r} repeats")
                outputs[data["custom_id"]] = (where, data)
            except TrafficError as exc:
                _fail(exc, on_error)
    rng = random.Random(seed)
    ts = start
    seen: set[str] = set()
    first = True
    for where, data in _lines(input_path):
        try:
            if isinstance(data, TrafficError):
                raise data
            record = _batch_record(where, data, outputs, provider, seen)
        except TrafficError as exc:
            _fail(exc, on_error)
            continue
        if not first:
            ts += 1.0 / rate if arrivals == "even" else rng.expovariate(rate)
        first = False
        yield _with_ts(record, ts)


def _with_ts(record: TrafficRecord, ts: float) -> TrafficRecord:
    return replace(record, ts=round(ts, 6), ts_synthesised=True)


def _batch_record(
    where: str,
    data: Any,
    outputs: Mapping[str, tuple[str, dict[str, Any]]],
    provider: str,
    seen: set[str],
) -> TrafficRecord:
    if not isinstance(data, dict):
        raise TrafficError(f"{where}: an input line is a JSON object")
    cid = data.get("custom_id")
    if not isinstance(cid, str) or not cid:
        raise TrafficError(f"{where}: custom_id must be a non-empty string")
    if cid in seen:
        raise TrafficError(f"{where}: custom_id {cid!r} repeats")
    body = data.get("body")
    if not isinstance(body, dict):
        raise TrafficError(f"{where}: body must be an object (the request)")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise TrafficError(f"{where}: body.messages must be a list (only chat completions)")
    max_tokens = _count(
        body.get("max_completion_tokens", body.get("max_tokens")), "body.max_tokens", where
    )
    temperature = _number(body.get("temperature"), "body.temperature", where)
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise TrafficError(f"{where}: body.tools must be a list")
    input_tokens: int | None = None
    output_tokens: int | None = None
    attempts: tuple[ObservedAttempt, ...] = ()
    found = outputs.get(cid)
    if found is not None:
        out_where, out = found
        response = out.get("response")
        if isinstance(response, dict):
            status = _count(response.get("status_code"), "response.status_code", out_where)
            rbody = _obj(response.get("body"))
            usage = _obj(rbody.get("usage"))
            input_tokens = _count(usage.get("prompt_tokens"), "usage.prompt_tokens", out_where)
            output_tokens = _count(
                usage.get("completion_tokens"), "usage.completion_tokens", out_where
            )
            error_class: str | None = None
            if status is None or status >= 300:
                err = _obj(rbody.get("error"))
                error_class = error_class_of(
                    status,
                    str(err.get("type") or err.get("code") or ""),
                    str(err.get("message", "")),
                )
            attempts = (
                ObservedAttempt(
                    provider=provider,
                    error_class=error_class,
                    status=status,
                    input_tokens=input_tokens if error_class is None else None,
                    output_tokens=output_tokens if error_class is None else None,
                ),
            )
        elif out.get("error") is None:
            raise TrafficError(f"{out_where}: an output line needs a response or an error")
    seen.add(cid)
    estimated = input_tokens is None
    if input_tokens is None:
        input_tokens = estimate_wire_messages_tokens(messages)
    model = body.get("model")
    return TrafficRecord(
        id=cid,
        ts=0.0,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        max_tokens=max_tokens,
        model=model if isinstance(model, str) else None,
        messages=len(messages),
        images=_images(messages),
        tools=len(tools),
        stream=body.get("stream") is True,
        temperature=temperature,
        seed=body.get("seed") if isinstance(body.get("seed"), int) else None,
        user=body.get("user") if isinstance(body.get("user"), str) else None,
        attempts=attempts,
        input_tokens_estimated=estimated,
    )


# ---- LiteLLM StandardLoggingPayload ----------------------------------------------------------


def import_litellm(
    path: str | Path, *, provider_key: str = "provider/model", on_error: OnError | None = None
) -> Iterator[TrafficRecord]:
    """Records from LiteLLM ``StandardLoggingPayload`` JSON lines (e.g. a custom logger's
    ``json.dumps(kwargs["standard_logging_object"])`` per call), sorted by ``startTime`` (a
    logger writes them as calls *end*). Payloads sharing a ``trace_id`` (a Router's retries
    and fallbacks of one call) are one request with an attempt each. ``provider_key``:
    ``"provider/model"`` names the attempt's provider ``custom_llm_provider/model``;
    ``"model_id"`` uses the deployment id; ``"model_group"`` the public model name (a call
    made without a Router has neither: a bad line)."""
    if provider_key not in ("provider/model", "model_id", "model_group"):
        raise ValueError(f"unknown provider_key {provider_key!r}")
    traces: dict[str, list[TrafficRecord]] = {}
    for where, data in _lines(Path(path)):
        try:
            if isinstance(data, TrafficError):
                raise data
            record = _litellm_record(where, data, provider_key)
        except TrafficError as exc:
            _fail(exc, on_error)
            continue
        trace = data.get("trace_id")
        key = f"trace:{trace}" if isinstance(trace, str) and trace else f"{where}"
        traces.setdefault(key, []).append(record)
    requests = [_one_request(calls) for calls in traces.values()]
    yield from sorted(requests, key=lambda r: r.ts)  # stable: file order among equal starts


def _one_request(calls: list[TrafficRecord]) -> TrafficRecord:
    """The payloads of one call (a Router's retries and fallbacks share its ``trace_id``) as one
    request: the first try's features and arrival, every attempt in start order, the last
    try's id and answer, the prompt usage a provider reported (else the estimate)."""
    if len(calls) == 1:
        return calls[0]
    calls = sorted(calls, key=lambda r: r.ts)
    first, last = calls[0], calls[-1]
    sized = next((c for c in calls if c.input_tokens and not c.input_tokens_estimated), first)
    return replace(
        first,
        id=last.id,
        input_tokens=sized.input_tokens,
        input_tokens_estimated=sized.input_tokens_estimated,
        output_tokens=last.output_tokens,
        attempts=tuple(a for c in calls for a in c.attempts),
    )


def _provider_model(llm_provider: Any, model: str | None) -> str:
    """``custom_llm_provider/model``, without doubling the prefix: a Router deployment's
    ``model`` already reads ``openai/gpt-4o-mini`` (a direct call's reads ``gpt-4o-mini``)."""
    prefix = llm_provider if isinstance(llm_provider, str) else ""
    if not model:
        return prefix
    if not prefix or model.startswith(f"{prefix}/"):
        return model
    return f"{prefix}/{model}"


def _litellm_record(where: str, data: Any, provider_key: str) -> TrafficRecord:
    if not isinstance(data, dict):
        raise TrafficError(f"{where}: a LiteLLM payload is a JSON object")
    rid = data.get("id")
    if not isinstance(rid, str) or not rid:
        raise TrafficError(f"{where}: id must be a non-empty string")
    start = _number(data.get("startTime"), "startTime", where)
    if start is None:
        raise TrafficError(f"{where}: startTime (epoch seconds) is required")
    end = _number(data.get("endTime"), "endTime", where)
    first_token = _number(data.get("completionStartTime"), "completionStartTime", where)
    status = data.get("status")
    if status not in ("success", "failure"):
        raise TrafficError(f"{where}: status must be 'success' or 'failure' (got {status!r})")
    model = data.get("model") if isinstance(data.get("model"), str) else None
    group = data.get("model_group") if isinstance(data.get("model_group"), str) else None
    llm_provider = data.get("custom_llm_provider")
    if provider_key in ("model_id", "model_group"):
        provider = data.get(provider_key)
        if not isinstance(provider, str) or not provider:
            raise TrafficError(
                f"{where}: {provider_key} is empty: the call did not go through a Router "
                f"deployment (a direct litellm call); import with --provider-key provider/model "
                f"to name providers custom_llm_provider/model, or --skip-bad to leave such calls "
                f"out"
            )
    else:
        provider = _provider_model(llm_provider, model)
    if not provider:
        raise TrafficError(f"{where}: no provider: custom_llm_provider and model are missing")
    prompt = _count(data.get("prompt_tokens"), "prompt_tokens", where)
    completion = _count(data.get("completion_tokens"), "completion_tokens", where)
    meta = _obj(data.get("metadata"))
    params = _obj(data.get("model_parameters"))
    tenant = meta.get("user_api_key_team_id") or meta.get("user_api_key_team_alias")
    # the end user: the proxy's, else the request's own `user` parameter, else the key's user
    user = data.get("end_user") or meta.get("user_api_key_end_user_id")
    user = user or params.get("user") or meta.get("user_api_key_user_id")
    tags = data.get("request_tags") or []
    if not isinstance(tags, list):
        raise TrafficError(f"{where}: request_tags must be a list")
    metadata: dict[str, Any] = {}
    for src, dst in (
        ("user_api_key_alias", "key_alias"),  # an alias names a key; the hash is never copied
        ("user_api_key_org_id", "org"),
        ("user_api_key_team_alias", "team_alias"),
    ):
        if isinstance(meta.get(src), str) and meta[src]:
            metadata[dst] = meta[src]
    spend = meta.get("spend_logs_metadata")
    if isinstance(spend, dict):
        metadata.update({k: v for k, v in spend.items() if isinstance(v, str | int | float)})
    latency = None if end is None else max(0.0, end - start)
    ttft = None
    if data.get("stream") and first_token is not None and first_token > start:
        ttft = first_token - start
    error_class: str | None = None
    http_status: int | None = 200
    if status == "failure":
        info = _obj(data.get("error_information"))
        code = info.get("error_code")
        http_status = int(code) if isinstance(code, str | int) and str(code).isdigit() else None
        error_class = error_class_of(
            http_status, str(info.get("error_class") or ""), str(data.get("error_str") or "")
        )
    messages = data.get("messages")
    input_tokens, estimated = prompt or 0, False
    if not prompt and isinstance(messages, list) and messages:
        # a failed call reports no usage (prompt_tokens 0) but logs the messages: estimate them
        input_tokens, estimated = estimate_wire_messages_tokens(messages), True
    return TrafficRecord(
        id=rid,
        ts=start,
        input_tokens=input_tokens,
        input_tokens_estimated=estimated,
        output_tokens=completion if status == "success" else None,
        max_tokens=_count(params.get("max_tokens"), "model_parameters.max_tokens", where),
        model=group or model,
        tenant=str(tenant) if tenant else None,
        user=str(user) if user else None,
        tags=tuple(str(t) for t in tags),
        metadata=metadata,
        messages=len(messages) if isinstance(messages, list) else 1,
        stream=data.get("stream") is True,
        temperature=_number(params.get("temperature"), "model_parameters.temperature", where),
        attempts=(
            ObservedAttempt(
                provider=provider,
                error_class=error_class,
                status=http_status,
                latency_s=None if latency is None else round(latency, 6),
                ttft_s=None if ttft is None else round(ttft, 6),
                input_tokens=prompt if error_class is None else None,
                output_tokens=completion if error_class is None else None,
            ),
        ),
    )


# ---- OpenTelemetry GenAI spans (OTLP/JSON) ---------------------------------------------------


def _any_value(value: Any) -> Any:
    """An OTLP/JSON AnyValue as a Python value (intValue is a string in OTLP/JSON)."""
    if not isinstance(value, dict):
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        try:
            return int(value["intValue"])
        except (TypeError, ValueError):
            return None
    if "doubleValue" in value:
        return value["doubleValue"]
    if "boolValue" in value:
        return value["boolValue"]
    if "arrayValue" in value:
        items = (
            value["arrayValue"].get("values", []) if isinstance(value["arrayValue"], dict) else []
        )
        return [_any_value(v) for v in items]
    return None


def _attributes(items: Any, where: str) -> dict[str, Any]:
    if items is None:
        return {}
    if not isinstance(items, list):
        raise TrafficError(f"{where}: attributes must be a list of {{key, value}}")
    out: dict[str, Any] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise TrafficError(f"{where}: an attribute needs a string key")
        out[item["key"]] = _any_value(item.get("value"))
    return out


def import_otel(path: str | Path, *, on_error: OnError | None = None) -> Iterator[TrafficRecord]:
    """Records from OTLP/JSON trace exports: the GenAI spans (semantic conventions
    ``gen_ai.*``), sorted by start time. Ids are the span ids; spans with the same
    ``gen_ai.response.id`` (one call seen by two instrumentations) are one record."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    documents: list[tuple[str, Any]] = []
    try:
        documents.append((f"{path}:1", json.loads(text)))
    except json.JSONDecodeError:
        for where, data in _lines(path):  # the collector's file exporter: one per line
            if isinstance(data, TrafficError):
                _fail(data, on_error)
                continue
            documents.append((where, data))
    records: list[tuple[float, int, TrafficRecord]] = []
    seen: set[str] = set()
    calls: dict[str, int] = {}  # gen_ai.response.id -> its record's index in records
    for where, doc in documents:
        try:
            spans = list(_spans(where, doc))
        except TrafficError as exc:
            _fail(exc, on_error)
            continue
        for span_where, resource, span in spans:
            try:
                found = _otel_record(span_where, resource, span)
                if found is None:
                    continue
                record, response_id = found
                if record.id in seen:
                    raise TrafficError(f"{span_where}: span id {record.id} repeats")
            except TrafficError as exc:
                _fail(exc, on_error)
                continue
            seen.add(record.id)
            if response_id is not None and response_id in calls:
                i = calls[response_id]
                merged = _same_call(records[i][2], record)
                records[i] = (merged.ts, records[i][1], merged)
                continue
            if response_id is not None:
                calls[response_id] = len(records)
            records.append((record.ts, len(records), record))
    records.sort(key=lambda r: (r[0], r[1]))
    for _ts, _n, record in records:
        yield record


def _same_call(a: TrafficRecord, b: TrafficRecord) -> TrafficRecord:
    """One call traced by two instrumentations (the same ``gen_ai.response.id``), e.g. an agent
    framework's span around the client library's: the span that starts later, nearer the wire
    (its duration is the call's own), with what it lacks taken from the other."""
    inner, outer = (b, a) if b.ts >= a.ts else (a, b)
    attempt, other = inner.attempts[0], outer.attempts[0]

    def first(x: Any, y: Any) -> Any:
        return y if x is None else x

    return replace(
        inner,
        input_tokens=inner.input_tokens or outer.input_tokens,
        output_tokens=first(inner.output_tokens, outer.output_tokens),
        max_tokens=first(inner.max_tokens, outer.max_tokens),
        model=first(inner.model, outer.model),
        user=first(inner.user, outer.user),
        temperature=first(inner.temperature, outer.temperature),
        metadata={**outer.metadata, **inner.metadata},
        attempts=(
            replace(
                attempt,
                input_tokens=first(attempt.input_tokens, other.input_tokens),
                output_tokens=first(attempt.output_tokens, other.output_tokens),
            ),
        ),
    )


def _spans(where: str, doc: Any) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    if not isinstance(doc, dict) or not isinstance(doc.get("resourceSpans"), list):
        raise TrafficError(f"{where}: expected an OTLP/JSON object with resourceSpans")
    for i, rs in enumerate(doc["resourceSpans"]):
        at = f"{where}: resourceSpans[{i}]"
        if not isinstance(rs, dict):
            raise TrafficError(f"{at}: not an object")
        resource = _obj(rs.get("resource"))
        attrs = _attributes(resource.get("attributes"), f"{at}.resource")
        for j, ss in enumerate(rs.get("scopeSpans") or []):
            spans = ss.get("spans") if isinstance(ss, dict) else None
            if not isinstance(spans, list):
                raise TrafficError(f"{at}.scopeSpans[{j}]: spans must be a list")
            for k, span in enumerate(spans):
                span_at = f"{at}.scopeSpans[{j}].spans[{k}]"
                if not isinstance(span, dict):
                    raise TrafficError(f"{span_at}: a span is an object")
                yield span_at, attrs, span


# gen_ai.system values the semantic conventions renamed (gen_ai.provider.name takes the new).
_RENAMED_SYSTEMS: Final[Mapping[str, str]] = {
    "az.ai.inference": "azure.ai.inference",
    "az.ai.openai": "azure.ai.openai",
    "gemini": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
}


def _otel_provider(attrs: Mapping[str, Any]) -> str | None:
    """``gen_ai.provider.name`` (current conventions), else ``gen_ai.system`` (the older name,
    its deprecated values mapped to their replacements, so two instrumentations of different
    ages name a provider alike), else ``server.address``."""
    current = attrs.get("gen_ai.provider.name")
    if isinstance(current, str) and current:
        return current
    system = attrs.get("gen_ai.system")
    if isinstance(system, str) and system:
        return _RENAMED_SYSTEMS.get(system, system)
    address = attrs.get("server.address")
    return address if isinstance(address, str) and address else None


def _otel_record(
    where: str, resource: Mapping[str, Any], span: Mapping[str, Any]
) -> tuple[TrafficRecord, str | None] | None:
    """The span's record and its ``gen_ai.response.id`` (None: not a GenAI span)."""
    attrs = _attributes(span.get("attributes"), where)
    if not any(k.startswith("gen_ai.") for k in attrs):
        return None  # not a GenAI span (an HTTP span, a tool call's parent, ...)
    sid = span.get("spanId")
    if not isinstance(sid, str) or not sid:
        raise TrafficError(f"{where}: spanId must be a non-empty string")
    start_ns = _count(span.get("startTimeUnixNano"), "startTimeUnixNano", where)
    if start_ns is None:
        raise TrafficError(f"{where}: startTimeUnixNano is required")
    end_ns = _count(span.get("endTimeUnixNano"), "endTimeUnixNano", where)
    provider = _otel_provider(attrs)
    if provider is None:
        raise TrafficError(
            f"{where}: no provider (gen_ai.provider.name, gen_ai.system or server.address)"
        )
    tin = attrs.get("gen_ai.usage.input_tokens", attrs.get("gen_ai.usage.prompt_tokens"))
    tout = attrs.get("gen_ai.usage.output_tokens", attrs.get("gen_ai.usage.completion_tokens"))
    input_tokens = _count(tin, "gen_ai.usage.input_tokens", where)
    output_tokens = _count(tout, "gen_ai.usage.output_tokens", where)
    status = _obj(span.get("status"))
    http = _count(attrs.get("http.response.status_code"), "http.response.status_code", where)
    error_type = attrs.get("error.type")
    failed = status.get("code") in (2, "STATUS_CODE_ERROR") or error_type is not None
    error_class: str | None = None
    if failed:
        name = str(error_type) if error_type is not None else ""
        code = int(name) if name.isdigit() else http
        error_class = error_class_of(code, name, str(status.get("message", "")))
        http = code
    elif http is None:
        http = 200
    latency = None if end_ns is None else max(0, end_ns - start_ns) / 1e9
    user = attrs.get("enduser.id") or attrs.get("user.id")
    metadata: dict[str, Any] = {}
    service = resource.get("service.name")
    if isinstance(service, str) and service:
        metadata["service"] = service
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str):
        metadata["operation"] = operation
    model = attrs.get("gen_ai.request.model")
    response_id = attrs.get("gen_ai.response.id")
    record = TrafficRecord(
        id=sid,
        ts=start_ns / 1e9,
        input_tokens=input_tokens or 0,
        output_tokens=output_tokens if error_class is None else None,
        max_tokens=_count(
            attrs.get("gen_ai.request.max_tokens"), "gen_ai.request.max_tokens", where
        ),
        model=model if isinstance(model, str) else None,
        user=str(user) if user else None,
        metadata=metadata,
        temperature=_number(
            attrs.get("gen_ai.request.temperature"), "gen_ai.request.temperature", where
        ),
        attempts=(
            ObservedAttempt(
                provider=provider,
                error_class=error_class,
                status=http,
                latency_s=None if latency is None else round(latency, 6),
                input_tokens=input_tokens if error_class is None else None,
                output_tokens=output_tokens if error_class is None else None,
            ),
        ),
    )
    return record, response_id if isinstance(response_id, str) and response_id else None
