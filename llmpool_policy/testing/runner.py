"""Run a policy's test cases: decide each, compare with its expectations and its snapshot.

Pure but for the snapshot files: a suite in, a :class:`SuiteResult` out; the CLI and the pytest
plugin are thin drivers that print or assert it.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..config import load_config
from ..decision import Decision
from ..diagnostics import Source, render_text
from ..errors import ConfigurationError, PolicyError
from ..metrics.static import StaticSnapshot
from ..policy import Policy
from ..request import RoutingRequest
from .cases import Case, Suite
from .coverage import Coverage, coverage_of
from .render import render_decision

__all__ = [
    "PASSED",
    "CaseResult",
    "PlaceholderEnv",
    "SuiteResult",
    "check_expectations",
    "load_policy",
    "run_suite",
]

PASSED: Final = "passed"
FAILED: Final = "failed"
ERROR: Final = "error"
WRITTEN: Final = "written"  # --update-snapshots created or changed the snapshot


class PlaceholderEnv(Mapping[str, str]):
    """Every environment variable reads as a placeholder: policy tests compile against a config
    whose ``api_key_env`` names are not set in CI, and never see a real key."""

    def __getitem__(self, key: str) -> str:
        return "policy-test-placeholder"

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True)
class CaseResult:
    suite: str
    case: str
    status: str  # PASSED | FAILED | ERROR | WRITTEN
    message: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in (PASSED, WRITTEN)


@dataclass(frozen=True)
class SuiteResult:
    """A suite's outcome. ``error`` is set when no case could run (a policy that does not check,
    an invalid config); ``obsolete`` snapshots have no case left and fail the suite."""

    path: Path
    name: str
    policy: str
    cases: tuple[CaseResult, ...] = ()
    error: str | None = None
    coverage: Coverage | None = None
    obsolete: tuple[Path, ...] = ()
    removed: tuple[Path, ...] = ()
    seconds: float = 0.0
    decisions: tuple[Decision, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.obsolete and all(c.ok for c in self.cases)


def load_policy(policy: Path, config: Path | None) -> Policy:
    """The policy compiled against the suite's config (keys replaced by placeholders)."""
    pool_config = None if config is None else load_config(config, env=PlaceholderEnv())
    return Policy.from_file(policy, config=pool_config)


def run_suite(suite: Suite, *, update_snapshots: bool = False) -> SuiteResult:
    start = time.perf_counter()
    try:
        policy = load_policy(suite.policy, suite.config)
    except PolicyError as exc:
        try:
            source: Source | None = Source(str(suite.policy), suite.policy.read_text("utf-8"))
        except OSError:
            source = None
        shown = "\n".join(render_text(d, source) for d in exc.diagnostics)
        return _broken(suite, f"the policy does not check:\n{shown}", start)
    except ConfigurationError as exc:
        return _broken(suite, f"the config {suite.config} is not valid:\n{exc}", start)
    except OSError as exc:
        return _broken(suite, f"cannot read {exc.filename}: {exc.strerror}", start)

    results: list[CaseResult] = []
    decisions: list[Decision] = []
    for case in suite.cases:
        t0 = time.perf_counter()
        status, message, decision = _run_case(policy, suite, case, update_snapshots)
        if decision is not None:
            decisions.append(decision)
        results.append(CaseResult(suite.name, case.name, status, message,
                                  time.perf_counter() - t0))  # fmt: skip

    obsolete, removed = _obsolete(suite, update_snapshots)
    return SuiteResult(
        path=suite.path,
        name=suite.name,
        policy=policy.name,
        cases=tuple(results),
        coverage=coverage_of(policy.graph.spec, decisions),
        obsolete=obsolete,
        removed=removed,
        seconds=time.perf_counter() - start,
        decisions=tuple(decisions),
    )


def _broken(suite: Suite, message: str, start: float) -> SuiteResult:
    return SuiteResult(suite.path, suite.name, suite.policy.stem, error=message,
                       seconds=time.perf_counter() - start)  # fmt: skip


def _run_case(
    policy: Policy, suite: Suite, case: Case, update: bool
) -> tuple[str, str, Decision | None]:
    try:
        request = RoutingRequest.from_dict(case.request)
        snapshot = StaticSnapshot.from_dict(case.metrics, path=f"{suite.path}::{case.name}")
    except (ValueError, TypeError) as exc:
        return ERROR, f"bad request: {exc}", None
    except ConfigurationError as exc:
        return ERROR, f"bad metrics state:\n{exc}", None
    decision = policy.decide(request, snapshot, trace=True, raise_if_unroutable=False)
    problems: list[str] = []
    if case.expect is not None:
        mismatches = check_expectations(decision, case.expect)
        if mismatches:
            problems.append("\n".join(mismatches))
    status = PASSED
    if case.snapshot:
        snap_status, text = _compare_snapshot(suite.snapshot_path(case), decision, update)
        if snap_status == WRITTEN:
            status = WRITTEN
        elif text:
            problems.append(text)
    if problems:
        if case.expect is not None and not case.snapshot:
            problems.append("the decision:\n" + _indent(render_decision(decision)))
        return FAILED, "\n".join(problems), decision
    return status, "", decision


def _indent(text: str, by: str = "  ") -> str:
    return "\n".join(by + line if line else line for line in text.rstrip("\n").split("\n"))


def _compare_snapshot(path: Path, decision: Decision, update: bool) -> tuple[str, str]:
    actual = render_decision(decision)
    try:
        stored: str | None = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        stored = None
    if stored == actual:
        return PASSED, ""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return WRITTEN, ""
    if stored is None:
        return FAILED, f"no snapshot yet ({path}); run with --update-snapshots to record it"
    diff = difflib.unified_diff(
        stored.splitlines(), actual.splitlines(),
        fromfile=f"{path} (snapshot)", tofile="actual decision", lineterm="", n=20,
    )  # fmt: skip
    return FAILED, "the decision differs from its snapshot:\n" + _indent("\n".join(diff))


def _obsolete(suite: Suite, update: bool) -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """Snapshot files no case records any more: deleted under --update-snapshots."""
    if not suite.snapshot_dir.is_dir():
        return (), ()
    wanted = {suite.snapshot_path(c) for c in suite.cases if c.snapshot}
    stale = tuple(sorted(p for p in suite.snapshot_dir.glob("*.txt") if p not in wanted))
    if update:
        for p in stale:
            p.unlink()
        return (), stale
    return stale, ()


def check_expectations(decision: Decision, expect: Mapping[str, Any]) -> list[str]:
    """Each expectation that does not hold, as an expected/actual pair of lines."""
    out: list[str] = []

    def mismatch(what: str, expected: object, actual: object) -> None:
        out.append(f"{what}:\n  - expected: {_show(expected)}\n  + actual:   {_show(actual)}")

    if "route" in expect and expect["route"] != decision.route:
        mismatch("route", expect["route"], decision.route)
    providers = list(decision.providers)
    if "first" in expect:
        first = providers[0] if providers else None
        if expect["first"] != first:
            mismatch("first provider", expect["first"], first)
    if "plan" in expect and list(expect["plan"]) != providers:
        mismatch("plan", expect["plan"], providers)
    if "plan_routes" in expect:
        routes = [p.route for p in decision.plans]
        if list(expect["plan_routes"]) != routes:
            mismatch("plan routes", expect["plan_routes"], routes)
    reasons: dict[str, list[str]] = {}
    for provider, reason in decision.excluded:
        reasons.setdefault(provider, []).append(reason)
    for provider, wanted in expect.get("excluded", {}).items():
        got = reasons.get(provider, [])
        if not any(wanted in r for r in got):
            mismatch(f"{provider} excluded", wanted, "; ".join(got) or "(not excluded)")
    for provider in expect.get("not_excluded", []):
        if provider in reasons:
            mismatch(f"{provider} excluded", "(not excluded)", "; ".join(reasons[provider]))
    if "error" in expect:
        actual = _error_of(decision)
        if expect["error"] != actual:
            detail = f"{actual} ({decision.denied})" if decision.denied else actual
            mismatch("error", expect["error"], detail)
    return out


def _error_of(decision: Decision) -> str:
    if decision.denied is not None:
        return "budget_exceeded"
    return "none" if decision.attempts else "no_provider"


def _show(value: object) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "(empty)"
    if value is None:
        return "(none)"
    return str(value)


def run_suites(suites: Sequence[Suite], *, update_snapshots: bool = False) -> list[SuiteResult]:
    return [run_suite(s, update_snapshots=update_snapshots) for s in suites]
