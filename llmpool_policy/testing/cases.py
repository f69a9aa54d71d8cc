"""The policy test format: a JSON sidecar, ``tests/NAME.tests.json`` beside ``NAME.policy``.

JSON rather than YAML because the runtime depends on nothing that reads YAML, and rather than a
``test`` block in the language because tests are data about a policy, not part of it: the
policy a pool loads stays exactly what was reviewed, and a team can keep its tests in another
repository. The file follows ``schemas/policy-tests.schema.json``; every problem is reported at
once with a JSON pointer.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from .._resources import data_path

__all__ = [
    "SCHEMA_FILE",
    "SUFFIX",
    "Case",
    "Suite",
    "TestFormatError",
    "discover",
    "load_suite",
    "merge_metrics",
]

SCHEMA_FILE: Final = "policy-tests.schema.json"
SUFFIX: Final = ".tests.json"
ANY: Final = "*"


class TestFormatError(Exception):
    """A tests file that cannot be used; ``problems`` lists every one, each with its pointer."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = tuple(problems)
        super().__init__("\n".join(f"{path}: {p}" for p in self.problems))


@dataclass(frozen=True)
class Case:
    """One request under one metrics state, with what is expected of its decision."""

    __test__ = False

    name: str
    request: Mapping[str, Any]
    metrics: Mapping[str, Any]
    expect: Mapping[str, Any] | None = None
    snapshot: bool = False
    description: str = ""


@dataclass(frozen=True)
class Suite:
    """The cases of one policy, and where its policy, config and snapshots are."""

    path: Path
    policy: Path
    config: Path | None
    cases: tuple[Case, ...] = field(default=())

    @property
    def name(self) -> str:
        return self.path.name.removesuffix(SUFFIX)

    @property
    def snapshot_dir(self) -> Path:
        return self.path.parent / "__snapshots__" / self.name

    def snapshot_path(self, case: Case) -> Path:
        return self.snapshot_dir / f"{case.name}.txt"


@functools.cache
def _validator() -> Draft202012Validator:
    schema = json.loads(data_path("schemas", SCHEMA_FILE).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def _pointer(parts: Sequence[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise TestFormatError(path, [f"cannot read: {exc}"]) from exc
    except json.JSONDecodeError as exc:
        raise TestFormatError(
            path, [f"not valid JSON: {exc.msg} at {exc.lineno}:{exc.colno}"]
        ) from exc


def merge_metrics(layers: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Later layers win, object by object: ``healthy`` + ``{"providers": {"a": {...}}}`` changes
    only provider ``a``, so a state reads as a base and what differs from it."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged = _merge(merged, layer)
    return merged


def _merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


class _Names:
    """Named requests or metric states, collecting unknown names as problems."""

    def __init__(self, kind: str, named: Mapping[str, Any], problems: list[str]) -> None:
        self.kind = kind
        self.named = named
        self.problems = problems

    def resolve(self, ref: object, pointer: str) -> dict[str, Any]:
        if isinstance(ref, str):
            if ref not in self.named:
                known = ", ".join(sorted(self.named)) or "none"
                self.problems.append(f"{pointer}: unknown {self.kind} {ref!r} (known: {known})")
                return {}
            return dict(self.named[ref])
        assert isinstance(ref, Mapping)
        return dict(ref)

    def select(self, names: object, pointer: str) -> list[str]:
        if names == ANY:
            return list(self.named)
        assert isinstance(names, list)
        for i, name in enumerate(names):
            self.resolve(name, f"{pointer}/{i}")
        return [n for n in names if n in self.named]


def load_suite(path: str | Path) -> Suite:
    """Read, validate and resolve a tests file: named requests and metric states are looked up
    (corpus files first, then the file's own), matrix snapshots expanded to cases."""
    path = Path(path)
    document = _read_json(path)
    errors = sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.path)))
    if errors:
        raise TestFormatError(
            path, [f"{_pointer(list(e.absolute_path)) or '/'}: {e.message}" for e in errors]
        )
    base = path.parent
    problems: list[str] = []
    requests: dict[str, Any] = {}
    metrics: dict[str, Any] = {}
    for i, corpus_name in enumerate(document.get("corpus", [])):
        corpus = _read_json(base / corpus_name)
        if not isinstance(corpus, dict) or set(corpus) - {"$schema", "requests", "metrics"}:
            problems.append(f"/corpus/{i}: {corpus_name} must hold only requests and metrics")
            continue
        requests.update(corpus.get("requests", {}))
        metrics.update(corpus.get("metrics", {}))
    requests.update(document.get("requests", {}))
    metrics.update(document.get("metrics", {}))
    named_requests = _Names("request", requests, problems)
    named_metrics = _Names("metrics state", metrics, problems)

    cases: list[Case] = []
    for i, raw in enumerate(document.get("cases", [])):
        pointer = f"/cases/{i}"
        layers = raw.get("metrics", [])
        if not isinstance(layers, list):
            layers = [layers]
        cases.append(
            Case(
                name=raw["name"],
                request=named_requests.resolve(raw["request"], f"{pointer}/request"),
                metrics=merge_metrics(
                    [named_metrics.resolve(m, f"{pointer}/metrics") for m in layers]
                ),
                expect=raw.get("expect"),
                snapshot=bool(raw.get("snapshot", False)),
                description=raw.get("description", ""),
            )
        )
    matrix = document.get("snapshots")
    if matrix is not None:
        for request_name in named_requests.select(matrix["requests"], "/snapshots/requests"):
            for metrics_name in named_metrics.select(matrix["metrics"], "/snapshots/metrics"):
                cases.append(
                    Case(
                        name=f"{request_name}.{metrics_name}",
                        request=dict(requests[request_name]),
                        metrics=dict(metrics[metrics_name]),
                        snapshot=True,
                    )
                )
    seen: set[str] = set()
    for case in cases:
        if case.name in seen:
            problems.append(f"two cases are named {case.name!r}")
        seen.add(case.name)
    if problems:
        raise TestFormatError(path, problems)

    policy_ref = document.get("policy")
    policy = base / policy_ref if policy_ref else _default_policy(path)
    config = base / document["config"] if "config" in document else None
    return Suite(path=path, policy=policy, config=config, cases=tuple(cases))


def _default_policy(path: Path) -> Path:
    """``policies/tests/NAME.tests.json`` tests ``policies/NAME.policy``."""
    name = path.name.removesuffix(SUFFIX) + ".policy"
    beside = path.parent / name
    return beside if beside.exists() else path.parent.parent / name


_SKIP_DIRS: Final = frozenset({"__snapshots__", "node_modules", "__pycache__"})


def discover(paths: Sequence[str | Path]) -> Iterator[Path]:
    """Tests files under ``paths``: a tests file itself, a policy's sidecar
    (``tests/NAME.tests.json`` beside it or next to it), or every tests file under a folder."""
    seen: set[Path] = set()
    for given in paths:
        p = Path(given)
        found: list[Path]
        if p.is_dir():
            found = sorted(
                f
                for f in p.rglob(f"*{SUFFIX}")
                if not any(part.startswith(".") or part in _SKIP_DIRS
                           for part in f.relative_to(p).parts[:-1])
            )  # fmt: skip
        elif p.name.endswith(".policy"):
            stem = p.name.removesuffix(".policy")
            candidates = [p.parent / "tests" / f"{stem}{SUFFIX}", p.parent / f"{stem}{SUFFIX}"]
            found = [c for c in candidates if c.exists()][:1]
            if not found:
                raise FileNotFoundError(f"no tests for {p}: expected {candidates[0]}")
        elif p.exists():
            found = [p]
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                yield f
