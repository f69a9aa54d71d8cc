"""Hypothesis strategies for the decision engine: policies as source text, provider facts,
requests and metric snapshots.

Policies are built from typed pieces (each expression is well-typed for the place it stands),
so most generated policies check clean; the tests keep only those that do.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from llmpool_policy.metrics.static import StaticSnapshot
from llmpool_policy.request import RoutingRequest
from llmpool_policy.semantics import ProviderFacts

__all__ = [
    "MODELS",
    "TAGS",
    "policies",
    "provider_facts",
    "requests",
    "snapshots",
]

MODELS = ("gpt-4o", "claude", "llama", "mixtral")
TAGS = ("batch", "vip", "eval")
TEAMS = ("search", "ads", "infra")
TYPES = ("openai", "anthropic", "groq", "together", "cohere")

# ---- provider facts -----------------------------------------------------------------------------


@st.composite
def provider_facts(draw: st.DrawFn, min_size: int = 1, max_size: int = 5) -> list[ProviderFacts]:
    """Providers p0, p1, ... with random static attributes (None where a config may omit one)."""
    n = draw(st.integers(min_size, max_size))
    facts = []
    for i in range(n):
        attrs: dict[str, object] = {
            "name": f"p{i}",
            "type": draw(st.sampled_from(TYPES)),
            "model": draw(st.sampled_from(MODELS)),
            "priority": draw(st.integers(0, 3)),
            "weight": draw(st.sampled_from([0.5, 1.0, 2.0])),
            "context_window": draw(st.sampled_from([None, 4_000, 32_000, 128_000, 1_000_000])),
            "supports.vision": draw(st.booleans()),
            "supports.tools": draw(st.booleans()),
            "supports.json": draw(st.booleans()),
            "input_price": draw(st.sampled_from([None, 0.0, 0.0005, 0.003, 0.01])),
            "output_price": draw(st.sampled_from([None, 0.0, 0.0015, 0.015, 0.03])),
            "region": draw(st.sampled_from([None, "us", "eu"])),
            "tags": tuple(draw(st.lists(st.sampled_from(["fast", "cheap"]), unique=True))),
            "timeout": draw(st.sampled_from([None, 10.0, 60.0])),
        }
        facts.append(ProviderFacts(f"p{i}", attrs))
    return facts


# ---- expressions, by the scopes they may read ---------------------------------------------------

REQUEST_ATOMS = (
    'request.model == "gpt-4o"',
    'request.model == "claude"',
    'request.model != "llama"',
    'request.model in ["llama", "mixtral"]',
    '"gpt" in request.model',
    '"batch" in request.tags',
    '"vip" in request.tags',
    '"eval" not in request.tags',
    'request.metadata.team == "search"',
    'request.metadata.tier == "premium"',
    "request.metadata.n > 3",
    "-request.metadata.n < 0",
    "request.metadata.n * 2 >= 4",
    "request.input_tokens > 100k",
    "request.input_tokens > 1m",
    "request.input_tokens >= 1M",
    "request.input_tokens + request.max_tokens > 32k",
    "request.max_tokens <= 1000",
    "request.images > 0",
    "request.tools > 0",
    "request.stream",
    "request.temperature < 0.5",
    'request.user == "u1"',
    "request.messages >= 3",
)
STATIC_ATOMS = (
    "supports.vision",
    "supports.tools",
    "not supports.json",
    "priority <= 1",
    "priority > 2",
    'type in ["groq", "together"]',
    'region == "us"',
    'region != "eu"',
    "context_window >= 32k",
    "input_price < $0.005",
    "output_price * 2 > $0.01",
    '"fast" in tags',
    "timeout > 20s",
    "weight >= 1",
    'name != "p0"',
)
MIXED_SELECTOR_ATOMS = (
    "context_window >= request.input_tokens + request.max_tokens",
    "supports.vision or request.images == 0",
    "supports.tools or request.tools == 0",
    '"fast" in tags or not ("batch" in request.tags)',
)
LIVE_ATOMS = (
    "breaker.open",
    "breaker.half_open",
    'breaker.state == "half_open"',
    "rpm.remaining == 0",
    "rpm.remaining < 5",
    "rpd.remaining == 0",
    "tpm.remaining < request.input_tokens",
    "error_rate(5m) > 5%",
    "error_rate > 20%",
    "error_rate(1m) >= 50%",
    "success_rate(1m) < 90%",
    "latency.p95(5m) > 4s",
    "latency.p95 > 2 * latency.p50",
    "latency.p99(1m) - latency.p50(1m) > 500ms",
    "latency.mean / 2 > 1s",
    "cost / $0.01 > 3",
    "cost > $0.05",
    "estimated_cost * 50% > $0.01",
    "in_flight >= 3",
    "requests(1m) < 10",
    "spend(1h) > $5",
    "rpm.used + 1 > 100",
    "tpm.used > 10k",
)
ORDER_KEYS = (
    "priority",
    "cost",
    "estimated_cost",
    "latency.p50(5m)",
    "latency.p95",
    "success_rate(5m)",
    "error_rate",
    "error_rate(1m)",
    "context_window",
    "weight",
    "name",
    "region",
    "type",
    "in_flight",
    "rpm.remaining",
    "cost * 2",
    "latency.p50 + latency.p95",
    "-priority",
    "request.metadata.n * priority",
    "input_price + output_price",
    "breaker.open",
)


def _combine(atoms: st.SearchStrategy[str], depth: int = 2) -> st.SearchStrategy[str]:
    """Atoms joined by and/or/not, parenthesised so precedence is never in question."""

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["and", "or"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"
            ),
            inner.map(lambda s: f"not ({s})"),
        )

    return st.recursive(atoms, extend, max_leaves=depth + 1)


# Built once: a recursive strategy is costly to build and validate.
_REQUEST_CONDITIONS = _combine(st.sampled_from(REQUEST_ATOMS))
_STATIC_CONDITIONS = _combine(st.sampled_from(STATIC_ATOMS))
_SELECTOR_CONDITIONS = _combine(
    st.sampled_from(STATIC_ATOMS + MIXED_SELECTOR_ATOMS + REQUEST_ATOMS)
)
_GATE_CONDITIONS = _combine(st.sampled_from(LIVE_ATOMS + LIVE_ATOMS + STATIC_ATOMS + REQUEST_ATOMS))


def request_conditions() -> st.SearchStrategy[str]:
    return _REQUEST_CONDITIONS


def static_conditions() -> st.SearchStrategy[str]:
    return _STATIC_CONDITIONS


def selector_conditions() -> st.SearchStrategy[str]:
    return _SELECTOR_CONDITIONS


def gate_conditions() -> st.SearchStrategy[str]:
    """Live metrics weigh double: they are what skip and avoid are for."""
    return _GATE_CONDITIONS


# ---- policies -----------------------------------------------------------------------------------

ERRORS = ("rate_limited", "overloaded", "server_error", "timeout", "connection", "429", "5xx")


@st.composite
def _retry_body(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"attempts {draw(st.integers(1, 3))}")
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["exponential", "linear", "constant"]))
        base = draw(st.sampled_from(["250ms", "500ms", "1s"]))
        cap = draw(st.sampled_from(["", " .. 4s", " .. 8s"]))
        jitter = draw(st.sampled_from(["", " jitter full", " jitter equal", " jitter none"]))
        lines.append(f"backoff {kind} {base}{cap}{jitter}")
    if draw(st.booleans()):
        items = draw(st.lists(st.sampled_from(ERRORS), min_size=1, max_size=3, unique=True))
        lines.append("on " + ", ".join(items))
    if draw(st.booleans()):
        lines.append("honor retry_after" + draw(st.sampled_from(["", " up to 10s"])))
    return "{\n" + "".join(f"    {line}\n" for line in lines) + "  }"


@st.composite
def _limits(draw: st.DrawFn, indent: str) -> str:
    lines = []
    if draw(st.booleans()):
        lines.append(f"deadline {draw(st.sampled_from(['30s', '60s', '2m']))}")
    if draw(st.booleans()):
        lines.append(f"max attempts {draw(st.integers(1, 9))}")
    if draw(st.booleans()):
        lines.append(f"max cost {draw(st.sampled_from(['$0.01', '$0.25', '$2']))} per request")
    body = "".join(f"{indent}  {line}\n" for line in lines)
    return f"limits {{\n{body}{indent}}}"


@st.composite
def _route_body(
    draw: st.DrawFn, names: list[str], groups: list[str], targets: list[str], retries: list[str]
) -> list[str]:
    body: list[str] = []
    use_kind = draw(st.sampled_from(["list", "group", "all", "selector", "none", "split"]))
    use_names: list[str] = []
    if use_kind == "list":
        pool = names + groups
        items = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=4, unique=True))
        body.append(f"use [{', '.join(items)}]")
        use_names = [i for i in items if i in names]
    elif use_kind == "group" and groups:
        body.append(f"use {draw(st.sampled_from(groups))}")
    elif use_kind == "all":
        body.append("use all")
        use_names = list(names)
    elif use_kind == "selector":
        body.append(f"use providers where {draw(selector_conditions())}")
    elif use_kind == "split":
        use_names = list(names)
    if use_kind in ("list", "all", "split") and use_names and draw(st.booleans()):
        arms = draw(st.lists(st.sampled_from(use_names), min_size=1, max_size=3, unique=True))
        cuts = sorted(draw(st.lists(st.integers(1, 99), min_size=len(arms) - 1,
                                    max_size=len(arms) - 1, unique=True)))  # fmt: skip
        bounds = [0, *cuts, 100]
        weights = [bounds[i + 1] - bounds[i] for i in range(len(arms))]
        split = ", ".join(f"{a} {w}%" for a, w in zip(arms, weights, strict=True))
        by = draw(
            st.sampled_from(
                ["", " by request.user", " by request.metadata.team", " by request.id",
                 " by request.metadata.n"]
            )
        )  # fmt: skip
        body.append(f"split {split}{by}")
    for _ in range(draw(st.integers(0, 2))):
        body.append(f"skip when {draw(gate_conditions())}")
    for _ in range(draw(st.integers(0, 2))):
        body.append(f"avoid when {draw(gate_conditions())}")
    if draw(st.booleans()):
        keys = draw(st.lists(st.sampled_from(ORDER_KEYS), min_size=1, max_size=3, unique=True))
        dirs = [
            draw(st.sampled_from(["", " asc", " desc"]))
            + draw(st.sampled_from(["", " unknown first", " unknown last"]))
            for _ in keys
        ]
        body.append("order by " + ", ".join(k + d for k, d in zip(keys, dirs, strict=True)))
    retry = draw(st.sampled_from(["none", "inline", *retries]))
    if retry == "inline":
        body.append(f"retry {draw(_retry_body())}")
    elif retry != "none":
        body.append(f"retry {retry}")
    failover = draw(st.sampled_from(["default", "off", "on"]))
    if failover == "off":
        body.append("failover off")
    elif failover == "on":
        items = draw(st.lists(st.sampled_from(ERRORS), min_size=1, max_size=3, unique=True))
        body.append("failover on " + ", ".join(items))
    if targets and draw(st.booleans()):
        body.append(f"on exhausted fallback {draw(st.sampled_from(targets))}")
    if draw(st.booleans()):
        body.append(f"timeout {draw(st.sampled_from(['5s', '20s', '2m']))}")
    if draw(st.integers(0, 3)) == 0:
        body.append(draw(_limits("  ")))
    return body


@st.composite
def policies(draw: st.DrawFn, names: list[str], every_route: tuple[str, ...] = ()) -> str:
    """Policy source over providers ``names``: guarded routes, a catch-all, fallback-only spares
    after it, groups, retries, limits and budgets; fallback chains only point forward, so they
    never loop. ``every_route`` lines are added to each route."""
    out = ['policy "generated"', ""]
    groups: list[str] = []
    for i in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["list", "selector", "all"]))
        if kind == "list":
            items = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
            value = f"[{', '.join(items)}]"
        elif kind == "selector":
            value = f"providers where {draw(static_conditions())}"
        else:
            value = "all"
        out.append(f"group g{i} = {value}")
        groups.append(f"g{i}")
    retries: list[str] = []
    for name in draw(st.lists(st.sampled_from(["default", "quick"]), unique=True)):
        out.append(f"retry {name} {draw(_retry_body())}")
        if name != "default":
            retries.append(name)
    if draw(st.booleans()):
        out.append(draw(_limits("")))
    guarded = draw(st.integers(0, 4))
    spares = draw(st.integers(0, 2))
    route_names = [f"r{i}" for i in range(guarded)] + ["main"] + [f"s{i}" for i in range(spares)]
    budgets = []
    for i in range(draw(st.integers(0, 2))):
        amount = draw(st.sampled_from(["$10", "$100"]))
        period = draw(st.sampled_from(["hour", "day", "month"]))
        key = draw(
            st.sampled_from(["", " per request.metadata.team", " per request.user",
                             " per request.metadata.n", " per provider"])
        )  # fmt: skip
        target = draw(st.sampled_from(route_names))
        # a per-provider budget refuses the spent provider alone: it cannot fall back (E406)
        deny = key == " per provider" or draw(st.booleans())
        breach = "deny" if deny else f"fallback {target}"
        budgets.append(f"budget b{i} = {amount} per {period}{key} on breach {breach}")
    out.extend(budgets)
    for index, route in enumerate(route_names):
        if route == "main":
            targets = [f"s{i}" for i in range(spares)][:1]
            header = "route main"
        elif route.startswith("s"):
            k = int(route[1:])
            targets = [f"s{k + 1}"] if k + 1 < spares else []
            header = f"route {route}"
        else:
            targets = route_names[index + 1 :]
            header = f"route {route} when {draw(request_conditions())}"
        body = [*every_route, *draw(_route_body(names, groups, targets, retries))]
        if route == "main" and spares and not any(b.startswith("on exhausted") for b in body):
            body.append("on exhausted fallback s0")
        if (
            route.startswith("s")
            and targets
            and not any(b.startswith("on exhausted") for b in body)
        ):
            body.append(f"on exhausted fallback {targets[0]}")
        out.append(header + " {\n" + "".join(f"  {line}\n" for line in body) + "}")
    return "\n".join(out) + "\n"


# ---- requests and snapshots ---------------------------------------------------------------------

_METADATA_VALUES = st.one_of(
    st.sampled_from(TEAMS), st.integers(-3, 10), st.sampled_from([1.5, True, "premium", "x"])
)


@st.composite
def requests(draw: st.DrawFn) -> RoutingRequest:
    metadata = draw(
        st.dictionaries(st.sampled_from(["team", "tier", "n"]), _METADATA_VALUES, max_size=3)
    )
    return RoutingRequest(
        id=draw(st.text("abcdef0123456789", min_size=0, max_size=8)),
        model=draw(st.one_of(st.none(), st.sampled_from(MODELS))),
        messages=draw(st.integers(0, 6)),
        input_tokens=draw(
            st.one_of(
                st.sampled_from(
                    [0, 500, 32_000, 100_000, 100_001, 999_999, 1_000_000, 1_000_001, 2_000_000]
                ),
                st.integers(0, 200_000),
            )
        ),
        max_tokens=draw(st.sampled_from([0, 256, 1000, 4096, 30_000])),
        images=draw(st.integers(0, 2)),
        tools=draw(st.integers(0, 2)),
        stream=draw(st.booleans()),
        temperature=draw(st.one_of(st.none(), st.sampled_from([0.0, 0.3, 0.7, 1.2]))),
        tags=tuple(draw(st.lists(st.sampled_from(TAGS), unique=True, max_size=2))),
        metadata=metadata,
        user=draw(st.one_of(st.none(), st.sampled_from(["u1", "u2", "u3"]))),
        seed=draw(st.one_of(st.none(), st.integers(0, 2**32))),
    )


def _by_window(values: st.SearchStrategy[float]) -> st.SearchStrategy[Any]:
    return st.one_of(
        values,
        st.dictionaries(st.sampled_from(["1m", "5m", "1h", "*"]), values, min_size=1, max_size=3),
    )


_RATE = st.sampled_from([0.0, 0.01, 0.05, 0.2, 0.5, 0.9, 1.0])
_SECONDS = st.sampled_from([0.1, 0.5, 1.0, 2.5, 5.0])
_COUNT = st.sampled_from([0, 1, 4, 5, 50, 100, 20_000])


@st.composite
def _provider_state(draw: st.DrawFn) -> dict[str, Any]:
    state: dict[str, Any] = {}
    if draw(st.booleans()):
        state["error_rate"] = draw(_by_window(_RATE))
    if draw(st.integers(0, 3)) == 0:
        state["success_rate"] = draw(_by_window(_RATE))
    if draw(st.booleans()):
        stats = draw(st.lists(st.sampled_from(["p50", "p95", "p99", "mean"]), unique=True))
        state["latency"] = {s: draw(_by_window(_SECONDS)) for s in stats}
    for name in ("rpm_remaining", "rpd_remaining", "tpm_remaining", "rpm_used", "tpm_used",
                 "in_flight"):  # fmt: skip
        if draw(st.booleans()):
            state[name] = draw(_COUNT)
    if draw(st.booleans()):
        state["requests"] = draw(_by_window(_COUNT))
    if draw(st.booleans()):
        state["spend"] = draw(_by_window(st.sampled_from([0.0, 1.0, 10.0])))
    if draw(st.booleans()):
        state["breaker_state"] = draw(st.sampled_from(["closed", "open", "half_open"]))
    return state


@st.composite
def snapshots(draw: st.DrawFn, names: list[str]) -> StaticSnapshot:
    providers = {name: draw(_provider_state()) for name in names if draw(st.integers(0, 4)) > 0}
    budgets: dict[str, Any] = {}
    for i in range(2):
        if draw(st.booleans()):
            period = draw(st.sampled_from(["hour", "day", "month"]))
            spent = draw(
                st.one_of(
                    st.sampled_from([0.0, 9.99, 10.0, 150.0]),
                    st.dictionaries(
                        st.sampled_from([*TEAMS, "u1", "3", "*", *names]),
                        st.sampled_from([0.0, 10.0, 150.0]),
                        min_size=1,
                        max_size=3,
                    ),
                )
            )
            budgets[f"b{i}"] = {period: spent}
    return StaticSnapshot.from_dict({"providers": providers, "budgets": budgets})
