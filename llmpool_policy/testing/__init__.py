"""Policy tests: the JSON sidecar format, the runner behind `llmpool-policy test`, decision
snapshots, coverage of routes, rules and split arms, and the report formats.

The pytest plugin (``llmpool_policy.testing.pytest_plugin``) is registered as a ``pytest11``
entry point and imports nothing from here until a test asks for it.
"""

from __future__ import annotations

from .cases import Case, Suite, TestFormatError, discover, load_suite
from .coverage import Coverage, CoverageItem, coverage_of
from .render import render_decision
from .runner import CaseResult, SuiteResult, check_expectations, load_policy, run_suite

__all__ = [
    "Case",
    "CaseResult",
    "Coverage",
    "CoverageItem",
    "Suite",
    "SuiteResult",
    "TestFormatError",
    "check_expectations",
    "coverage_of",
    "discover",
    "load_policy",
    "load_suite",
    "render_decision",
    "run_suite",
]
