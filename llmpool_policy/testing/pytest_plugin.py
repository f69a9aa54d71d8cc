"""pytest fixtures for routing decisions (registered as a ``pytest11`` entry point).

    def test_routing(routing_snapshot, snapshot):
        policy = Policy.from_file("policies/default.policy", config="providers.json")
        assert routing_snapshot(policy, {"chat": {...}}, {"healthy": {...}}) == snapshot

``routing_snapshot`` renders every request under every metrics state as the text of
``llmpool-policy test`` snapshots (route, plan, excluded providers with reasons, split draws), so
syrupy stores and diffs readable lines. Use ``snapshot.use_extension(RoutingTextExtension)``
(or the ``routing_text_snapshot`` fixture) for one ``.txt`` file per assertion instead of an
``.ambr`` file. Importing this module stays cheap: syrupy and the engine load when a test asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..metrics.snapshot import MetricsSnapshot
    from ..policy import Policy
    from ..request import RoutingRequest

__all__ = ["RoutingSnapshot", "routing_snapshot", "routing_text_snapshot"]

_DOCUMENT_KEYS = frozenset({"$schema", "now", "providers", "budgets"})


class RoutingSnapshot:
    """Renders decisions for a snapshot assertion; ``policy`` may be a :class:`Policy` or a
    path (compiled against ``config``, keys replaced by placeholders)."""

    def __call__(
        self,
        policy: Policy | str,
        requests: Mapping[str, Any] | Sequence[Any] | Any,
        metrics: Mapping[str, Any] | MetricsSnapshot | None = None,
        *,
        config: str | None = None,
    ) -> str:
        from ..policy import Policy
        from .render import render_decision
        from .runner import load_policy

        if not isinstance(policy, Policy):
            from pathlib import Path

            policy = load_policy(Path(policy), None if config is None else Path(config))
        blocks: list[str] = []
        named_requests = _named_requests(requests)
        named_metrics = _named_metrics(metrics)
        for request_name, request in named_requests:
            for metrics_name, state in named_metrics:
                decision = policy.decide(request, state, trace=True, raise_if_unroutable=False)
                header = f"## {request_name}" + (f" under {metrics_name}" if metrics_name else "")
                blocks.append(f"{header}\n{render_decision(decision)}")
        return "\n".join(blocks)


def _named_requests(requests: Any) -> list[tuple[str, RoutingRequest]]:
    from ..request import RoutingRequest

    def one(value: Any) -> RoutingRequest:
        return value if isinstance(value, RoutingRequest) else RoutingRequest.from_dict(value)

    if isinstance(requests, RoutingRequest):
        return [(requests.id or "request", requests)]
    if isinstance(requests, Mapping):
        if set(requests) and not all(isinstance(v, Mapping | RoutingRequest)
                                     for v in requests.values()):  # fmt: skip
            request = one(requests)  # a single request document
            return [(request.id or "request", request)]
        return [(str(name), one(value)) for name, value in requests.items()]
    out = []
    for i, value in enumerate(requests):
        request = one(value)
        out.append((request.id or f"request {i + 1}", request))
    return out


def _named_metrics(metrics: Any) -> list[tuple[str, MetricsSnapshot | None]]:
    """None (no data), a snapshot, one metrics document, or states by name."""
    from ..metrics.static import StaticSnapshot

    if metrics is None:
        return [("", None)]
    if not isinstance(metrics, Mapping):
        return [("", metrics)]
    if not metrics or set(metrics) <= _DOCUMENT_KEYS:
        return [("", StaticSnapshot.from_dict(metrics))]
    return [
        (str(name), v if not isinstance(v, Mapping) else StaticSnapshot.from_dict(v))
        for name, v in metrics.items()
    ]


@pytest.fixture
def routing_snapshot() -> RoutingSnapshot:
    """Render decisions as readable text: ``assert routing_snapshot(p, reqs, m) == snapshot``."""
    return RoutingSnapshot()


@pytest.fixture
def routing_text_snapshot(snapshot: Any) -> Any:
    """syrupy's ``snapshot`` writing one ``.txt`` file per assertion (needs syrupy)."""
    from .syrupy_ext import RoutingTextExtension

    return snapshot.use_extension(RoutingTextExtension)
