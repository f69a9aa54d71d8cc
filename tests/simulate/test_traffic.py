"""Traffic records, the schema, and the Azure importer on the real trace."""

from __future__ import annotations

import io
import itertools
import json
import statistics
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from llmpool_policy.simulate import (
    TrafficError,
    TrafficRecord,
    import_azure,
    read_traffic,
    synthetic_traffic,
    write_traffic,
)
from llmpool_policy.simulate.traffic import ObservedAttempt, record_from_json

from .conftest import EXAMPLES, ROOT

SCHEMA = json.loads((ROOT / "schemas" / "traffic-record.schema.json").read_text())


def test_azure_conv_trace_imports_whole(azure_conv: Path) -> None:
    records = list(import_azure(azure_conv))
    assert len(records) == 19_366
    first = records[0]
    assert first.id == "azure-conv-000001"
    # 2023-11-16 18:15:46.6805900 read as UTC
    assert first.ts == pytest.approx(1_700_158_546.68059, abs=1e-6)
    assert (first.input_tokens, first.output_tokens) == (374, 44)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(records))
    span = records[-1].ts - records[0].ts
    assert 3_400 < span < 3_510  # the README measures ~3,502 s
    context = [r.input_tokens for r in records]
    generated = [r.output_tokens or 0 for r in records]
    assert statistics.median(context) == pytest.approx(1_020, abs=5)
    assert max(context) == 14_050
    assert max(generated) == 1_000
    assert len({r.id for r in records}) == len(records)


def test_imported_records_follow_the_schema(azure_conv: Path) -> None:
    validator = Draft202012Validator(SCHEMA)
    for record in list(import_azure(azure_conv))[:500]:
        validator.validate(record.to_json())


def test_shipped_excerpt_is_the_head_of_the_trace(azure_conv: Path) -> None:
    excerpt = (EXAMPLES / "azure-conv-excerpt.csv").read_text().splitlines()
    upstream = azure_conv.read_text().splitlines()
    assert len(excerpt) == 2_001
    assert excerpt == upstream[:2_001]
    attribution = (EXAMPLES / "ATTRIBUTION.md").read_text()
    assert "CC-BY-4.0" in attribution and "Splitwise" in attribution
    assert (
        (EXAMPLES / "LICENSE-azure-conv-excerpt")
        .read_text()
        .lstrip("\ufeff")
        .startswith("Attribution 4.0 International")
    )


def test_round_trip_through_json_lines() -> None:
    records = [
        TrafficRecord(
            "a",
            1.0,
            100,
            20,
            max_tokens=64,
            tenant="acme",
            tags=("batch",),
            metadata={"team": "search"},
            user="u1",
            images=1,
            attempts=(
                ObservedAttempt("p", "rate_limited", 429, 0.2, retry_after_s=2),
                ObservedAttempt("q", None, 200, 1.5, 0.3, 100, 20),
            ),
        ),
        TrafficRecord("b", 2.5, 7),
    ]
    out = io.StringIO()
    assert write_traffic(records, out) == 2
    validator = Draft202012Validator(SCHEMA)
    for line in out.getvalue().splitlines():
        validator.validate(json.loads(line))
    back = list(read_traffic(io.StringIO(out.getvalue()), validate=True))
    assert back == records
    routing = back[0].routing_request()
    assert routing.metadata == {"team": "search", "tenant": "acme"}
    assert (routing.max_tokens, routing.images, routing.tags) == (64, 1, ("batch",))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x", "ts": 1}', "a size is required"),
        ('{"id": "x", "ts": 1, "input_tokens": 5, "colour": 1}', "unknown field(s): colour"),
        ('{"ts": 1, "input_tokens": 5}', "id must be a non-empty string"),
        ('{"id": "x", "input_tokens": 5}', "ts (arrival time, seconds) is required"),
        ('{"id": "x", "ts": 1, "input_tokens": -5}', "non-negative integer"),
        ("not json", "not JSON"),
    ],
)
def test_bad_lines_are_reported_with_their_place(line: str, message: str) -> None:
    text = '{"id": "ok", "ts": 0, "input_tokens": 1}\n' + line + "\n"
    with pytest.raises(TrafficError) as info:
        list(read_traffic(io.StringIO(text)))
    assert ":2:" in str(info.value)
    assert message in str(info.value)


def test_out_of_order_traffic_is_refused() -> None:
    text = '{"id": "a", "ts": 5, "input_tokens": 1}\n{"id": "b", "ts": 4, "input_tokens": 1}\n'
    with pytest.raises(TrafficError, match="arrival order"):
        list(read_traffic(io.StringIO(text)))


def test_azure_importer_refuses_other_csv(tmp_path: Path) -> None:
    bad = tmp_path / "x.csv"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(TrafficError, match="expected the header"):
        list(import_azure(bad))
    worse = tmp_path / "y.csv"
    worse.write_text("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:15:46.1,12,x\n")
    with pytest.raises(TrafficError, match=r"y.csv:2: token counts"):
        list(import_azure(worse))


def test_synthetic_traffic_is_seeded_and_shaped_like_azure() -> None:
    a = list(synthetic_traffic(5_000, seed=3))
    assert a == list(synthetic_traffic(5_000, seed=3))
    assert a != list(synthetic_traffic(5_000, seed=4))
    assert statistics.median(r.input_tokens for r in a) == pytest.approx(1_020, rel=0.1)
    rate = len(a) / (a[-1].ts - a[0].ts)
    assert rate == pytest.approx(5.5, rel=0.1)
    record_from_json(a[0].to_json())
