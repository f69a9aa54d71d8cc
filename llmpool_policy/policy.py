"""`Policy`: a policy file parsed, checked and compiled against a provider config, ready to
decide. The phases stay visible (``.checked``, ``.graph``) in the manner of CEL's
compile -> program -> evaluate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .compile.compiler import CompiledPolicy, compile_policy
from .compile.reference import reference_decide
from .decide import decide as _decide
from .decision import Decision
from .errors import PolicyError
from .metrics.snapshot import MetricsSnapshot
from .metrics.static import StaticSnapshot
from .request import RoutingRequest
from .semantics import CheckedPolicy, PolicyBounds, ProviderFacts, check
from .syntax import parse

__all__ = ["Policy", "provider_facts"]

ConfigLike = str | Path | Sequence[ProviderFacts] | Any | None


def provider_facts(config: ConfigLike) -> list[ProviderFacts]:
    """The providers of a config (a path, a loaded ``PoolConfig``, or facts), in config order."""
    if config is None:
        return []
    if isinstance(config, str | Path):
        from .config import load_config

        config = load_config(config)
    if isinstance(config, Sequence):
        return [p for p in config if isinstance(p, ProviderFacts)]
    return [ProviderFacts(p.name, p.static_attributes()) for p in config.providers]


_EMPTY = StaticSnapshot({})


class Policy:
    """A checked, compiled policy. Construction raises :class:`PolicyError` with every
    error at once; warnings are kept in ``.checked.warnings``."""

    def __init__(self, checked: CheckedPolicy, providers: Sequence[ProviderFacts]) -> None:
        if not checked.ok:
            raise PolicyError(checked.errors)
        self.checked = checked
        self.providers = tuple(providers)
        self.graph: CompiledPolicy = compile_policy(checked, providers)

    @classmethod
    def from_text(cls, text: str, path: str = "<policy>", *, config: ConfigLike = None) -> Policy:
        facts = provider_facts(config)
        return cls(check(parse(text, path), facts), facts)

    @classmethod
    def from_file(cls, path: str | Path, *, config: ConfigLike = None) -> Policy:
        text = Path(path).read_text(encoding="utf-8")
        return cls.from_text(text, str(path), config=config)

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def bounds(self) -> PolicyBounds:
        return self.checked.bounds

    def decide(
        self,
        request: RoutingRequest | Mapping[str, Any],
        snapshot: MetricsSnapshot | None = None,
        *,
        trace: bool = False,
        raise_if_unroutable: bool = True,
    ) -> Decision:
        """The decision for ``request``; raises ``NoProviderAvailableError`` (or
        ``BudgetExceededError``) with the decision attached when nothing can be tried."""
        if not isinstance(request, RoutingRequest):
            request = RoutingRequest.from_dict(request)
        decision = _decide(self.graph, request, snapshot if snapshot is not None else _EMPTY,
                           trace=trace)  # fmt: skip
        return decision.raise_if_unroutable() if raise_if_unroutable else decision

    def decide_reference(
        self, request: RoutingRequest, snapshot: MetricsSnapshot | None = None
    ) -> Decision:
        """The same decision by the slow reference interpreter (for tests and audits)."""
        return reference_decide(self.graph.spec, request,
                                snapshot if snapshot is not None else _EMPTY)  # fmt: skip
