"""Test results for people (text), for tools (JSON) and for CI dashboards (JUnit XML)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from .coverage import KINDS, percent
from .runner import ERROR, FAILED, WRITTEN, SuiteResult

__all__ = ["format_json", "format_junit", "format_text", "total_coverage"]


def total_coverage(results: Sequence[SuiteResult]) -> tuple[int, int, int]:
    """(covered, total, percent rounded down) over every suite that ran."""
    covered = sum(r.coverage.covered for r in results if r.coverage is not None)
    total = sum(r.coverage.total for r in results if r.coverage is not None)
    return covered, total, percent(covered, total)


def _counts(results: Sequence[SuiteResult]) -> dict[str, int]:
    cases = [c for r in results for c in r.cases]
    return {
        "suites": len(results),
        "cases": len(cases),
        "passed": sum(1 for c in cases if c.ok),
        "failed": sum(1 for c in cases if c.status == FAILED),
        "errors": sum(1 for c in cases if c.status == ERROR) + sum(1 for r in results if r.error),
        "written": sum(1 for c in cases if c.status == WRITTEN),
        "obsolete": sum(len(r.obsolete) for r in results),
    }


def format_text(results: Sequence[SuiteResult], *, coverage: bool = False) -> str:
    lines: list[str] = []
    for r in results:
        if r.error is not None:
            lines.append(f"ERROR {r.path}: {r.error}")
            continue
        for c in r.cases:
            if c.status in (FAILED, ERROR):
                lines.append(f"{c.status.upper()} {r.name}::{c.case}")
                lines.extend("  " + line for line in c.message.split("\n"))
                lines.append("")
            elif c.status == WRITTEN:
                lines.append(f"snapshot written: {r.name}::{c.case}")
        for p in r.obsolete:
            lines.append(f"OBSOLETE {p}: no case records it; --update-snapshots deletes it")
        for p in r.removed:
            lines.append(f"snapshot deleted: {p}")
    for r in results:
        if r.error is None:
            passed = sum(1 for c in r.cases if c.ok)
            lines.append(f"{r.name}: {passed}/{len(r.cases)} passed ({r.seconds * 1000:.0f} ms)")
    if coverage:
        lines.append("")
        lines.append("coverage (rounded down):")
        for r in results:
            if r.coverage is None:
                continue
            cov = r.coverage
            kinds = ", ".join(
                f"{k}s {c}/{t}" for k, (c, t) in cov.by_kind().items() if t and k in KINDS
            )
            lines.append(f"  {r.name}: {cov.percent}% ({cov.covered}/{cov.total}: {kinds})")
            lines.extend(f"    not covered: {item.describe()}" for item in cov.missed)
        covered, total, pct = total_coverage(results)
        lines.append(f"  total: {pct}% ({covered}/{total})")
    n = _counts(results)
    tail = f"{n['passed']} passed, {n['failed']} failed, {n['errors']} errors"
    if n["written"]:
        tail += f", {n['written']} snapshots written"
    if n["obsolete"]:
        tail += f", {n['obsolete']} obsolete snapshots"
    lines.append(tail)
    return "\n".join(lines) + "\n"


def format_json(results: Sequence[SuiteResult], *, coverage: bool = False) -> str:
    suites = []
    for r in results:
        entry: dict[str, object] = {
            "file": str(r.path),
            "name": r.name,
            "policy": r.policy,
            "ok": r.ok,
            "error": r.error,
            "seconds": round(r.seconds, 6),
            "cases": [
                {"name": c.case, "status": c.status, "message": c.message,
                 "seconds": round(c.seconds, 6)}
                for c in r.cases
            ],
            "obsolete_snapshots": [str(p) for p in r.obsolete],
            "deleted_snapshots": [str(p) for p in r.removed],
        }  # fmt: skip
        if coverage and r.coverage is not None:
            entry["coverage"] = r.coverage.to_json()
        suites.append(entry)
    document: dict[str, object] = {"suites": suites, "summary": _counts(results)}
    if coverage:
        covered, total, pct = total_coverage(results)
        document["coverage"] = {"covered": covered, "total": total, "percent": pct}
    return json.dumps(document, indent=2) + "\n"


def format_junit(results: Sequence[SuiteResult]) -> str:
    """One ``testsuite`` per tests file, one ``testcase`` per case; a suite that could not run is
    one errored ``testcase`` named after its file, and obsolete snapshots one failed case each."""
    root = ET.Element("testsuites", name="llmpool-policy test")
    for r in results:
        suite = ET.SubElement(root, "testsuite", name=r.name, file=str(r.path),
                              time=f"{r.seconds:.6f}")  # fmt: skip
        failures = errors = count = 0
        if r.error is not None:
            case = ET.SubElement(suite, "testcase", classname=r.name, name=r.path.name, time="0")
            ET.SubElement(case, "error", message="the suite could not run").text = r.error
            errors, count = 1, 1
        for c in r.cases:
            count += 1
            case = ET.SubElement(suite, "testcase", classname=r.name, name=c.case,
                                 time=f"{c.seconds:.6f}")  # fmt: skip
            if c.status == FAILED:
                failures += 1
                first = c.message.split("\n", 1)[0]
                ET.SubElement(case, "failure", message=first).text = c.message
            elif c.status == ERROR:
                errors += 1
                first = c.message.split("\n", 1)[0]
                ET.SubElement(case, "error", message=first).text = c.message
        for p in r.obsolete:
            count += 1
            failures += 1
            case = ET.SubElement(suite, "testcase", classname=r.name, name=f"obsolete {p.name}")
            ET.SubElement(case, "failure", message="obsolete snapshot").text = str(p)
        suite.set("tests", str(count))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
