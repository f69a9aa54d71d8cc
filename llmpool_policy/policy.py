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
from .diagnostics import Diagnostic
from .errors import PolicyError
from .metrics.snapshot import MetricsSnapshot
from .metrics.static import StaticSnapshot
from .request import RoutingRequest
from .semantics import CheckedPolicy, PolicyBounds, PoolDefaults, ProviderFacts, check
from .syntax import parse

__all__ = ["Policy", "pool_defaults", "provider_facts", "read_policy_file"]

ConfigLike = str | Path | Sequence[ProviderFacts] | Any | None


def _load(config: ConfigLike) -> Any:
    """A loaded ``PoolConfig`` for a path; anything else as it is."""
    if isinstance(config, str | Path):
        from .config import load_config

        return load_config(config)
    return config


def provider_facts(config: ConfigLike) -> list[ProviderFacts]:
    """The providers of a config (a path, a loaded ``PoolConfig``, or facts), in config order."""
    if config is None:
        return []
    loaded = _load(config)
    if isinstance(loaded, Sequence):
        return [p for p in loaded if isinstance(p, ProviderFacts)]
    return [
        ProviderFacts(p.name, p.static_attributes(), p.explicit_settings())
        for p in loaded.providers
    ]


def pool_defaults(config: ConfigLike) -> PoolDefaults:
    """The pool settings of a config (a path or a loaded ``PoolConfig``): ``max_retries``,
    ``retry_delay``, ``timeout``. Provider facts alone, or no config, give the seed's."""
    loaded = _load(config)
    if loaded is None or isinstance(loaded, Sequence):
        return PoolDefaults()
    return PoolDefaults.from_config(loaded)


def read_policy_file(path: str | Path) -> str:
    """The text of a policy file, or :class:`PolicyError` (E009) saying why it cannot be read."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        why, help = "no such file", f"looked in {Path.cwd()}"
    except UnicodeDecodeError as exc:
        why, help = f"not UTF-8 text (byte {exc.start})", "save the policy as UTF-8"
    except OSError as exc:
        why, help = (exc.strerror or type(exc).__name__).lower(), None
    message = f"cannot read the policy file: {why}"
    raise PolicyError([Diagnostic("E009", message, None, str(path), help=help)])


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
    def from_text(
        cls,
        text: str,
        path: str = "<policy>",
        *,
        config: ConfigLike = None,
        defaults: PoolDefaults | None = None,
    ) -> Policy:
        """Parse, check and compile ``text``. ``config`` (a path, a ``PoolConfig`` or provider
        facts) gives the providers and, unless ``defaults`` is given, the pool settings a route
        without a retry block (and a provider without a timeout) runs with."""
        loaded = _load(config)
        facts = provider_facts(loaded)
        pool = defaults if defaults is not None else pool_defaults(loaded)
        # No config: provider names are not checked (as `check` without `--config`), rather
        # than checked against no providers at all, which made every name unknown.
        known = None if loaded is None else facts
        return cls(check(parse(text, path), known, pool), facts)

    @classmethod
    def from_file(
        cls,
        path: str | Path,
        *,
        config: ConfigLike = None,
        defaults: PoolDefaults | None = None,
    ) -> Policy:
        """:meth:`from_text` on the file at ``path``; a file that cannot be read raises
        :class:`PolicyError` with E009 (never a bare ``OSError``)."""
        return cls.from_text(read_policy_file(path), str(path), config=config, defaults=defaults)

    @property
    def defaults(self) -> PoolDefaults:
        """The pool settings this policy was checked and compiled against."""
        return self.checked.defaults

    def with_defaults(self, defaults: PoolDefaults) -> Policy:
        """This policy, re-checked and compiled against other pool settings (itself when they
        are the same)."""
        if defaults == self.defaults:
            return self
        known = None if self.checked.symbols.providers is None else self.providers
        return type(self)(check(self.checked.policy, known, defaults), self.providers)

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
