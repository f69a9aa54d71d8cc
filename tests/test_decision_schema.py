"""schemas/decision.schema.json describes exactly what Decision.to_json() produces.

Real decisions, with the trace on and off: a plain plan, a split, avoided and excluded
providers, a budget fallback and a budget denial, an empty plan (nothing survives the gates),
status ranges and an uncapped Retry-After. Each must validate; the schema
itself must be a valid 2020-12 schema; and its closed objects must name exactly the keys
to_json() writes (so a key added to one and not the other fails here).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from llmpool_policy.decision import Decision
from llmpool_policy.metrics import StaticSnapshot
from llmpool_policy.policy import Policy
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts
from llmpool_policy.semantics.signals import ERROR_CLASSES

ROOT = Path(__file__).resolve().parent.parent
SCHEMA: dict[str, Any] = json.loads(
    (ROOT / "schemas" / "decision.schema.json").read_text(encoding="utf-8")
)
VALIDATOR = Draft202012Validator(SCHEMA)


def facts(name: str, type_: str, priority: int, **extra: object) -> ProviderFacts:
    attributes: dict[str, object] = {
        "name": name,
        "type": type_,
        "priority": priority,
        "context_window": 128_000,
        "supports.vision": type_ in ("openai", "anthropic"),
        "supports.tools": True,
        "input_price": 0.0025,
        "output_price": 0.01,
        "timeout": 30.0,
    }
    attributes.update(extra)
    return ProviderFacts(name, attributes)


PROVIDERS = [
    facts("openai-gpt4o", "openai", 1),
    facts("anthropic-sonnet", "anthropic", 2),
    facts("groq-llama", "groq", 3, input_price=0.0006, output_price=0.0008, context_window=8000),
    facts("together-llama", "together", 3, input_price=0.0009, output_price=0.0009),
]

HEALTHY = StaticSnapshot.from_dict(
    {
        "providers": {
            "openai-gpt4o": {"error_rate": {"5m": 0.01}, "latency": {"p50": 0.8, "p95": 2.1}},
            "anthropic-sonnet": {"error_rate": {"5m": 0.3}, "latency": {"p50": 1.1}},
            "groq-llama": {"error_rate": 0.0, "rpm_remaining": 0},
            "together-llama": {"breaker_state": "open"},
        }
    }
)
ALL_OPEN = StaticSnapshot.from_dict(
    {"providers": {p.name: {"breaker_state": "open"} for p in PROVIDERS}}
)
TEAM_SPENT = StaticSnapshot.from_dict({"budgets": {"team_daily": {"day": {"x": 150.0}}}})
ALL_SPENT = StaticSnapshot.from_dict({"budgets": {"total": {"month": 1000.0}}})

EVERYTHING = """
policy "everything"

retry careful {
  attempts 3
  backoff exponential 250ms .. 4s jitter equal
  on rate_limited, timeout, 502, 5xx, 520..524
  honor retry_after
}

limits {
  deadline 30s
  max attempts 5
  max cost $0.20 per request
}

budget total = $1000 per month on breach deny
budget team_daily = $100 per day per request.metadata.team on breach fallback cheap

route vision when request.images > 0 {
  use all
  skip when breaker.open
  avoid when error_rate(5m) > 10%
  order by latency.p50(5m), priority
  retry careful
  failover on rate_limited, server_error, 429, 500..599
}

route cheap when "batch" in request.tags {
  use [groq-llama, together-llama]
  order by cost
  failover off
}

route tenant when request.metadata.tenant == "acme" {
  use [openai-gpt4o, anthropic-sonnet]
  split openai-gpt4o 80%, anthropic-sonnet 20% by request.user
  timeout 10s
  on exhausted fallback cheap
}

route rest {
  use [openai-gpt4o]
  skip when breaker.open
}
"""


def requests() -> Iterator[tuple[str, RoutingRequest]]:
    yield "vision", RoutingRequest(id="r1", model="gpt-4o", images=1, input_tokens=2000)
    yield "batch", RoutingRequest(id="r2", tags=("batch",), max_tokens=100, seed=42)
    yield "split", RoutingRequest(id="r3", user="u7", metadata={"tenant": "acme", "team": "x"})
    yield "unmatched", RoutingRequest(id="r4", model="gpt-4o")
    yield "too big", RoutingRequest(id="r5", tags=("batch",), input_tokens=50_000)


def decisions() -> Iterator[tuple[str, Decision]]:
    everything = Policy.from_text(EVERYTHING, "<everything>", config=PROVIDERS)
    shipped = {
        name: Policy.from_file(ROOT / "policies" / f"{name}.policy", config=PROVIDERS)
        for name in ("default", "canary", "team-budgets")
    }
    for trace in (False, True):
        tag = "trace" if trace else "plain"
        for label, request in requests():
            snapshots = (("healthy", HEALTHY), ("team spent", TEAM_SPENT), ("all spent", ALL_SPENT))
            for snap_name, snapshot in snapshots:
                decision = everything.decide(
                    request, snapshot, trace=trace, raise_if_unroutable=False
                )
                yield f"everything/{label}/{snap_name}/{tag}", decision
        for name, policy in shipped.items():
            for label, request in requests():
                for snap_name, snapshot in (("healthy", HEALTHY), ("all open", ALL_OPEN)):
                    decision = policy.decide(
                        request, snapshot, trace=trace, raise_if_unroutable=False
                    )
                    yield f"{name}/{label}/{snap_name}/{tag}", decision
        # no snapshot at all: every metric reads as no data
        yield (
            f"default/no snapshot/{tag}",
            shipped["default"].decide(RoutingRequest(id="r6"), None, trace=trace),
        )


DECISIONS = list(decisions())


def test_the_schema_is_a_valid_2020_12_schema() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_error_classes_are_the_languages() -> None:
    assert tuple(SCHEMA["$defs"]["errorClass"]["enum"]) == ERROR_CLASSES


@pytest.mark.parametrize(("label", "decision"), DECISIONS, ids=[label for label, _ in DECISIONS])
def test_to_json_follows_the_schema(label: str, decision: Decision) -> None:
    data = decision.to_json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in VALIDATOR.iter_errors(data)]
    assert not errors, errors
    assert ("trace" in data) == label.endswith("/trace")
    # and the same through JSON text, as `explain --format json` prints it
    assert not list(VALIDATOR.iter_errors(json.loads(decision.to_json_text())))


def test_the_cases_cover_every_shape() -> None:
    """The decisions above include each kind the schema describes."""
    found = {label: d for label, d in DECISIONS if label.endswith("/trace")}
    values = list(found.values())
    assert any(d.denied is not None for d in values), "a denied decision"
    assert any(d.route is not None and not d.attempts for d in values), "an empty plan"
    assert any(d.excluded for d in values), "excluded providers"
    assert any(d.trace is not None and d.trace.splits for d in values), "a split draw"
    assert any(d.trace is not None and d.trace.budgets for d in values), "a budget check"
    assert any(
        d.trace is not None and any(c.avoided for c in d.trace.candidates) for d in values
    ), "an avoided provider"
    assert any(len(d.plans) > 1 for d in values), "a fallback chain"
    attempts = [a for d in values for a in d.attempts]
    assert any(a.retry_statuses for a in attempts), "retry statuses"
    assert any(a.retry_after_cap_s == float("inf") for a in attempts), "uncapped retry_after"
    assert any(p.failover_on is None for d in values for p in d.plans), "failover off"


def _keys(schema: dict[str, Any]) -> set[str]:
    return set(schema["properties"])


def test_closed_objects_name_exactly_what_to_json_writes() -> None:
    """Every object in to_json() output has all and only the keys its schema lists."""
    defs = SCHEMA["$defs"]
    trace_props = defs["trace"]["properties"]
    decision = next(d for label, d in DECISIONS if d.trace is not None and d.trace.splits)
    data = decision.to_json()
    assert set(data) == _keys(SCHEMA)
    assert set(SCHEMA["required"]) == _keys(SCHEMA) - {"trace"}
    assert set(data["plans"][0]) == _keys(defs["routePlan"]) == set(defs["routePlan"]["required"])
    attempt = data["plans"][0]["attempts"][0]
    assert set(attempt) == _keys(defs["plannedAttempt"])
    assert set(data["trace"]) == set(trace_props)
    for part in ("routes", "candidates", "splits"):
        assert data["trace"][part], part
        assert set(data["trace"][part][0]) == _keys(trace_props[part]["items"]), part
    budgeted = next(d for _l, d in DECISIONS if d.trace is not None and d.trace.budgets)
    budget = budgeted.to_json()["trace"]["budgets"][0]
    assert set(budget) == _keys(trace_props["budgets"]["items"])
    excluded = next(d for _l, d in DECISIONS if d.excluded).to_json()["excluded"][0]
    assert set(excluded) == _keys(defs["exclusion"])


def test_the_schema_rejects_what_to_json_never_writes() -> None:
    good = DECISIONS[0][1].to_json()
    for bad in (
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "seed"},
        {**good, "route": 3},
        {**good, "trace": None},
        {**good, "excluded": [{"provider": "a"}]},
    ):
        assert list(VALIDATOR.iter_errors(bad)), bad


def test_to_json_text_is_strict_json() -> None:
    """No Infinity or NaN tokens: any JSON parser reads what to_json_text() writes."""

    def refuse(token: str) -> None:
        raise ValueError(f"non-standard JSON token {token}")

    for _label, decision in decisions():
        json.loads(decision.to_json_text(), parse_constant=refuse)


def test_the_fast_builders_equal_the_constructors() -> None:
    """``Decision.make`` and ``RoutePlan.make`` list the fields by hand (the decision path's
    speed): a field added to the class and forgotten there fails here."""
    import dataclasses

    from llmpool_policy.decision import PlannedAttempt, RoutePlan, Trace

    attempt = PlannedAttempt("p", 2, 30.0, (1.0,), "full", ("timeout",), ((500, 599),), 20.0)
    plan_values = ("main", (attempt,), ("timeout",), ((500, 599),))
    plan = RoutePlan.make(*plan_values)
    assert plan == RoutePlan(*plan_values)
    assert vars(plan) == vars(RoutePlan(*plan_values))
    assert list(vars(plan)) == [f.name for f in dataclasses.fields(RoutePlan)]
    values = ("pol", "main", (plan,), 60.0, 9, 0.5, 42, (("q", "why"),), None, Trace())
    decision = Decision.make(*values)
    assert vars(decision) == vars(Decision(*values))
    assert list(vars(decision)) == [f.name for f in dataclasses.fields(Decision)]
    assert decision.trace == Trace()
    trace_values = ((), (), (), ())
    assert vars(Trace.make(*trace_values)) == vars(Trace(*trace_values))
    assert list(vars(Trace.make(*trace_values))) == [f.name for f in dataclasses.fields(Trace)]
