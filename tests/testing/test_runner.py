"""`llmpool-policy test` end to end: exit codes, readable diffs, snapshot updates, exact coverage,
report formats, and the example policies' own suites."""

from __future__ import annotations

import json
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from llmpool_policy.cli import main
from llmpool_policy.testing import TestFormatError, load_suite, run_suite
from llmpool_policy.testing.cases import discover, merge_metrics

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
CONFIG = ROOT / "policies" / "tests" / "config.json"


@pytest.fixture
def known(tmp_path: Path) -> Path:
    """A copy of data/ whose tests file points at the shared config by an absolute path."""
    shutil.copy(HERE / "data" / "known.policy", tmp_path / "known.policy")
    doc = json.loads((HERE / "data" / "known.tests.json").read_text())
    doc["config"] = str(CONFIG)
    (tmp_path / "known.tests.json").write_text(json.dumps(doc))
    return tmp_path / "known.tests.json"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["test", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_update_snapshots_writes_and_a_second_run_passes(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, str(known))
    assert code == 1
    assert "no snapshot yet" in out and "--update-snapshots" in out

    code, out, _ = run(capsys, str(known), "--update-snapshots")
    assert code == 0
    assert "snapshot written: known::vip" in out
    written = (known.parent / "__snapshots__" / "known" / "vip.txt").read_text()
    assert written.startswith("route: vip\nplan:\n  1. ")
    assert "split in vip: key 'u-1' drew" in written

    code, out, _ = run(capsys, str(known))
    assert code == 0
    assert out.endswith("3 passed, 0 failed, 0 errors\n")


def test_failing_case_exits_1_with_a_readable_diff(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(known.read_text())
    doc["cases"][0]["expect"] = {"route": "default", "first": "groq-llama"}
    known.write_text(json.dumps(doc))
    run(capsys, str(known), "--update-snapshots")
    code, out, _ = run(capsys, str(known))
    assert code == 1
    assert "FAILED known::chat-healthy\n" in out
    assert "  first provider:\n    - expected: groq-llama\n    + actual:   openai-gpt4o\n" in out
    assert "  the decision:\n    route: default\n" in out  # the whole decision, for context
    assert out.endswith("2 passed, 1 failed, 0 errors\n")


def test_changed_decision_shows_as_a_unified_diff_of_its_snapshot(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, str(known), "--update-snapshots")
    policy = known.parent / "known.policy"
    policy.write_text(
        policy.read_text().replace(
            "skip when breaker.open\n}", "skip when breaker.open\n  timeout 5s\n}", 1
        )
    )
    code, out, _ = run(capsys, str(known))
    assert code == 1
    assert "the decision differs from its snapshot:" in out
    assert "-  1. " in out and "(4 tries, timeout 60s)" in out  # no retry block: max_retries 3
    assert "+  1. " in out and "(4 tries, timeout 5s)" in out


def test_obsolete_snapshots_fail_until_updated(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, str(known), "--update-snapshots")
    stale = known.parent / "__snapshots__" / "known" / "gone.txt"
    stale.write_text("route: x\n")
    code, out, _ = run(capsys, str(known))
    assert code == 1 and f"OBSOLETE {stale}" in out
    code, out, _ = run(capsys, str(known), "--update-snapshots")
    assert code == 0 and not stale.exists() and "snapshot deleted" in out


def test_coverage_figures_are_exact_on_a_known_policy(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Routes: default planned, vip planned, images never (2/3). Skips: rpm.remaining in default
    # removed groq once; breaker.open never true, in either route (1/3). The avoid never (0/1).
    # Split: u-1 draws one arm of two (1/2). 4 of 9 is 44.4%: rounded down, 44.
    run(capsys, str(known), "--update-snapshots")
    code, out, _ = run(capsys, str(known), "--coverage")
    assert code == 0
    assert "  known: 44% (4/9: routes 2/3, skips 1/3, avoids 0/1, splits 1/2)\n" in out
    assert "    not covered: route images never planned\n" in out
    assert "    not covered: skip when breaker.open (route vip) never true\n" in out
    assert "    not covered: avoid when error_rate(5m) > 10% (route default) never true\n" in out
    assert out.count("not covered:") == 5

    result = run_suite(load_suite(known))
    assert result.coverage is not None
    assert (result.coverage.covered, result.coverage.total, result.coverage.percent) == (4, 9, 44)
    drawn = [i.label for i in result.coverage.items if i.kind == "split" and i.hit]
    assert drawn == [result.decisions[2].trace.splits[0].arm]  # type: ignore[union-attr]

    assert run(capsys, str(known), "--fail-under", "44")[0] == 0
    code, _, err = run(capsys, str(known), "--fail-under", "45")
    assert code == 1 and "coverage 44% is under --fail-under 45%" in err


def test_junit_output_parses(known: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(known), "--format", "junit")
    assert code == 1
    root = ET.fromstring(out.split("\n", 1)[1])  # past the XML declaration
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("name"), suite.get("tests"), suite.get("failures"), suite.get("errors")) == (
        "known", "3", "1", "0",
    )  # fmt: skip
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert set(cases) == {"chat-healthy", "groq-rate-limited", "vip"}
    failure = cases["vip"].find("failure")
    assert failure is not None and "no snapshot yet" in (failure.text or "")
    assert cases["chat-healthy"].find("failure") is None
    assert float(cases["chat-healthy"].get("time", "x")) >= 0


def test_json_output(known: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, str(known), "--update-snapshots")
    code, out, _ = run(capsys, str(known), "--format", "json", "--coverage")
    data = json.loads(out)
    assert code == 0
    assert data["summary"] == {"suites": 1, "cases": 3, "passed": 3, "failed": 0, "errors": 0,
                               "written": 0, "obsolete": 0}  # fmt: skip
    assert data["coverage"] == {"covered": 4, "total": 9, "percent": 44}
    assert [c["status"] for c in data["suites"][0]["cases"]] == ["passed"] * 3
    assert data["suites"][0]["coverage"]["by_kind"]["avoid"] == {"covered": 0, "total": 1}


def test_invalid_tests_file_exits_2_with_every_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "p.tests.json"
    bad.write_text(json.dumps({
        "cases": [{"name": "Bad Name", "request": {}, "expect": {"frist": "x"}},
                  {"name": "ok", "request": "missing", "snapshot": True}],
    }))  # fmt: skip
    code, _, err = run(capsys, str(bad))
    assert code == 2
    assert "/cases/0/name" in err and "/cases/0/expect" in err
    with pytest.raises(TestFormatError) as info:
        load_suite(bad)
    assert len(info.value.problems) == 2

    bad.write_text(json.dumps({"cases": [{"name": "ok", "request": "missing", "snapshot": True}]}))
    with pytest.raises(TestFormatError, match=r"/cases/0/request: unknown request 'missing'"):
        load_suite(bad)


def test_bad_request_or_metrics_is_an_error_of_that_case(
    known: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(known.read_text())
    doc["cases"][0]["request"] = {"id": "x", "tokens": 5}
    doc["cases"][1]["metrics"] = {"providers": {"groq-llama": {"error_rate": 30}}}
    known.write_text(json.dumps(doc))
    code, out, _ = run(capsys, str(known), "--update-snapshots")
    assert code == 1
    assert "ERROR known::chat-healthy\n  bad request: unknown request field(s): tokens" in out
    assert "ERROR known::groq-rate-limited\n  bad metrics state:" in out
    assert "must be <= 1" in out


def test_metrics_layers_merge_object_by_object() -> None:
    base = {"providers": {"a": {"error_rate": 0.1, "rpm_remaining": 5}, "b": {}}}
    top = {"providers": {"a": {"rpm_remaining": 0}}}
    assert merge_metrics([base, top]) == {
        "providers": {"a": {"error_rate": 0.1, "rpm_remaining": 0}, "b": {}}
    }


def test_discovery_from_a_policy_a_folder_or_a_file(tmp_path: Path) -> None:
    (tmp_path / "tests" / "__snapshots__").mkdir(parents=True)
    sidecar = tmp_path / "tests" / "p.tests.json"
    sidecar.write_text("{}")
    (tmp_path / "tests" / "__snapshots__" / "x.tests.json").write_text("{}")
    assert list(discover([tmp_path / "p.policy"])) == [sidecar]
    assert list(discover([tmp_path])) == [sidecar]
    assert list(discover([sidecar, tmp_path])) == [sidecar]
    with pytest.raises(FileNotFoundError):
        list(discover([tmp_path / "q.policy"]))


def test_example_policies_pass_within_5_seconds(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.perf_counter()
    code, out, _ = run(capsys, str(ROOT / "policies"), "--coverage", "--fail-under", "100")
    elapsed = time.perf_counter() - start
    assert code == 0, out
    for name in ("canary", "cost-first", "default", "multimodal", "team-budgets"):
        assert f"\n  {name}: 100% " in out
    assert elapsed < 5.0, f"{elapsed:.2f}s"


def test_every_example_policy_has_tests_and_the_full_corpus() -> None:
    corpus = json.loads((ROOT / "policies" / "tests" / "corpus.json").read_text())
    assert set(corpus["metrics"]) == {"healthy", "one-down", "rate-limited", "over-budget",
                                      "degraded-latency", "none-left"}  # fmt: skip
    for policy in sorted((ROOT / "policies").glob("*.policy")):
        suite = load_suite(ROOT / "policies" / "tests" / f"{policy.stem}.tests.json")
        assert suite.policy.resolve() == policy.resolve()
        snaps = {c.name for c in suite.cases if c.snapshot}
        expected = {f"{r}.{m}" for r in corpus["requests"] for m in corpus["metrics"]}
        assert expected <= snaps
        assert any(c.expect for c in suite.cases)
