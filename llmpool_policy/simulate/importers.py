"""Traffic from other formats, as :class:`TrafficRecord` streams.

- ``azure``: the Azure LLM inference trace CSV (Patel et al., "Splitwise: Efficient generative
  LLM inference using phase splitting", ISCA 2024; data CC-BY-4.0): columns ``TIMESTAMP``
  (``2023-11-16 18:17:03.9799600``; the timezone is unstated upstream and read here as UTC),
  ``ContextTokens`` (prompt tokens) and ``GeneratedTokens`` (output tokens). There is no model,
  tenant, status or latency column, so records carry sizes and arrival times only.
- ``openai-batch``, ``litellm``, ``otel``: OpenAI Batch API files, LiteLLM standard logging
  payloads, OpenTelemetry GenAI spans (:mod:`.external`).
- ``synthetic``: :func:`synthetic_traffic`, seeded Poisson arrivals with lognormal sizes shaped
  like the Azure conversation trace (for benchmarks and tests; said so in every record's id).
"""

from __future__ import annotations

import calendar
import csv
import math
import random
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from .external import import_litellm, import_openai_batch, import_otel
from .traffic import TrafficError, TrafficRecord

__all__ = ["FORMATS", "FORMATS_HELP", "import_azure", "import_file", "synthetic_traffic"]

FORMATS = ("azure", "openai-batch", "litellm", "otel")
FORMATS_HELP = (
    "azure (the Azure LLM inference trace CSV: TIMESTAMP, ContextTokens, GeneratedTokens); "
    "openai-batch (a Batch API input JSONL, joined with --output on custom_id; arrival times "
    "synthesised); litellm (StandardLoggingPayload JSONL); otel (OpenTelemetry GenAI spans, "
    "OTLP/JSON)"
)
_AZURE_HEADER = ["TIMESTAMP", "ContextTokens", "GeneratedTokens"]


def _azure_ts(text: str, days: dict[str, int], where: str) -> float:
    """``YYYY-MM-DD HH:MM:SS.fffffff`` (UTC) -> epoch seconds; fast (the date is cached)."""
    try:
        date, clock = text.split(" ")
        midnight = days.get(date)
        if midnight is None:
            y, m, d = (int(x) for x in date.split("-"))
            midnight = days[date] = calendar.timegm((y, m, d, 0, 0, 0, 0, 0, 0))
        hh, mm, ss = clock.split(":")
        return midnight + int(hh) * 3600 + int(mm) * 60 + float(ss)
    except ValueError as exc:
        raise TrafficError(f"{where}: bad TIMESTAMP {text!r}") from exc


def import_azure(path: str | Path, *, prefix: str | None = None) -> Iterator[TrafficRecord]:
    """Records from an Azure LLM inference trace CSV, in file order (which is arrival order).

    Ids are ``<prefix>-<row>`` (row 1 is the first data row); the prefix defaults to
    ``azure-<kind>`` where kind is ``conv``/``code`` from the file name, else ``azure``."""
    path = Path(path)
    if prefix is None:
        stem = path.stem.lower()
        kind = "conv" if "conv" in stem else "code" if "code" in stem else ""
        prefix = f"azure-{kind}" if kind else "azure"
    days: dict[str, int] = {}
    with open(path, encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream)
        header = next(reader, None)
        if header is None or [h.strip() for h in header] != _AZURE_HEADER:
            raise TrafficError(
                f"{path}:1: expected the header {','.join(_AZURE_HEADER)} (got {header!r})"
            )
        last = -math.inf
        for row_number, row in enumerate(reader, 1):
            where = f"{path}:{row_number + 1}"
            if not row:
                continue
            if len(row) != 3:
                raise TrafficError(f"{where}: expected 3 columns, got {len(row)}")
            ts = _azure_ts(row[0], days, where)
            try:
                context, generated = int(row[1]), int(row[2])
            except ValueError as exc:
                raise TrafficError(f"{where}: token counts must be integers") from exc
            if context < 0 or generated < 0:
                raise TrafficError(f"{where}: token counts must be >= 0")
            if ts < last:
                raise TrafficError(f"{where}: TIMESTAMP goes backwards")
            last = ts
            yield TrafficRecord(
                id=f"{prefix}-{row_number:06d}",
                ts=ts,
                input_tokens=context,
                output_tokens=generated,
            )


def import_file(
    fmt: str,
    path: str | Path,
    *,
    on_error: Callable[[TrafficError], None] | None = None,
    **options: Any,
) -> Iterator[TrafficRecord]:
    """Records from ``path`` in format ``fmt`` (one of :data:`FORMATS`); ``options`` go to the
    format's importer (``openai-batch``: output_path, provider, rate, arrivals, seed, start;
    ``litellm``: provider_key). ``on_error`` None: a bad line raises; else it is reported to
    ``on_error`` and skipped (not for ``azure``, which always raises)."""
    if fmt == "azure":
        return import_azure(path)
    if fmt == "openai-batch":
        return import_openai_batch(path, on_error=on_error, **options)
    if fmt == "litellm":
        return import_litellm(path, on_error=on_error, **options)
    if fmt == "otel":
        return import_otel(path, on_error=on_error, **options)
    raise ValueError(f"unknown traffic format {fmt!r}: expected one of {', '.join(FORMATS)}")


def synthetic_traffic(
    n: int,
    *,
    rate: float = 5.5,
    seed: int = 0,
    start: float = 1_700_000_000.0,
    tenants: Sequence[str] = ("search", "chat", "batch-jobs"),
    tags: Sequence[Sequence[str]] = ((), (), ("batch",)),
) -> Iterator[TrafficRecord]:
    """``n`` seeded requests: Poisson arrivals at ``rate``/s; prompt and output sizes lognormal
    with the Azure conv trace's medians (1,020 and 129 tokens) and roughly its p95s; tenant
    and tags drawn round-robin-free from ``tenants``/``tags`` (same index)."""
    rng = random.Random(seed)
    ts = start
    # lognormal sigma from p50 and p95: ln(p95/p50) / 1.645
    in_mu, in_sigma = math.log(1020), math.log(4083 / 1020) / 1.645
    out_mu, out_sigma = math.log(129), math.log(451 / 129) / 1.645
    for i in range(n):
        ts += rng.expovariate(rate)
        k = rng.randrange(len(tenants))
        yield TrafficRecord(
            id=f"synthetic-{i:07d}",
            ts=ts,
            input_tokens=min(int(rng.lognormvariate(in_mu, in_sigma)), 14_000),
            output_tokens=min(int(rng.lognormvariate(out_mu, out_sigma)), 1_000),
            tenant=tenants[k],
            tags=tuple(tags[k % len(tags)]),
        )
