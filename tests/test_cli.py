"""The CLI as a user runs it: a subprocess, its exit codes and output formats."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import POLICIES, ROOT


def cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


BROKEN = 'policy "b"\nroute r when request.imgaes > 0 { use all retry standrd }\n'


def test_examples_check_clean_with_bounds() -> None:
    result = cli("check", "--strict", "--bounds", *map(str, POLICIES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "bounds for " in result.stdout
    assert "0 errors, 0 warnings" in result.stderr


def test_findings_exit_1_in_text_form(tmp_path: Path) -> None:
    path = tmp_path / "broken.policy"
    path.write_text(BROKEN)
    result = cli("check", str(path))
    assert result.returncode == 1
    assert f"--> {path}:2:14" in result.stdout
    assert "error[E106]: unknown attribute 'request.imgaes'" in result.stdout
    assert "help: did you mean 'request.images'?" in result.stdout
    assert "error[E103]: unknown retry policy 'standrd'" in result.stdout
    assert "3 errors, 0 warnings" in result.stderr


def test_short_format_is_one_line_each(tmp_path: Path) -> None:
    path = tmp_path / "broken.policy"
    path.write_text(BROKEN)
    result = cli("check", "--format", "short", str(path))
    lines = result.stdout.splitlines()
    assert lines[1] == f"{path}:2:14: error[E106]: unknown attribute 'request.imgaes'"
    assert [line.split(": ")[1] for line in lines] == ["error[E402]", "error[E106]", "error[E103]"]


def test_json_format_parses(tmp_path: Path) -> None:
    path = tmp_path / "broken.policy"
    path.write_text(BROKEN)
    result = cli("check", "--format", "json", str(path))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert {d["code"] for d in data} == {"E106", "E103", "E402"}
    first = data[1]
    assert first["line"] == 2 and first["column"] == 14 and first["severity"] == "error"
    assert first["help"] == "did you mean 'request.images'?"


def test_warnings_pass_unless_strict(tmp_path: Path) -> None:
    path = tmp_path / "warn.policy"
    path.write_text("route d { use all }\n")
    assert cli("check", str(path)).returncode == 0
    assert cli("check", "--strict", str(path)).returncode == 1


def test_notes_pass_even_when_strict(tmp_path: Path) -> None:
    path = tmp_path / "note.policy"
    path.write_text('policy "p"\nroute d { use all  order by latency.p50(1m) }\n')
    result = cli("check", "--strict", "--format", "short", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{path}:2:29: note[N101]: order key `latency.p50(1m)`" in result.stdout
    assert "0 errors, 0 warnings, 1 note" in result.stderr


def test_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = cli("check", str(tmp_path / "nope.policy"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_usage_error_is_exit_2() -> None:
    assert cli("check").returncode == 2
    assert cli("no-such-command").returncode == 2
    assert cli().returncode == 2


def test_runs_from_any_folder(tmp_path: Path) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text('policy "p"\nroute d { use all }\n')
    result = cli("check", "p.policy", cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_check_reports_syntax_and_semantic_errors_in_one_run() -> None:
    """Two syntax errors no longer hide the five other findings (fix two, then see five)."""
    path = ROOT / "tests" / "policies" / "broken" / "018-syntax-errors-with-semantic-errors.policy"
    result = cli("check", "--format", "short", str(path))
    assert result.returncode == 1
    codes = [line.split("[", 1)[1][:4] for line in result.stdout.splitlines()]
    assert codes == ["E001", "E301", "E302", "E001", "E102", "E104", "W105"]
    assert "E103" not in result.stdout  # `retry standard`: its block is the first syntax error


def test_strict_fails_on_warnings_unless_allowed(tmp_path: Path) -> None:
    """`check --strict` for CI: a warning fails the run; an allow comment accepts it."""
    path = tmp_path / "p.policy"
    path.write_text('policy "p"\nroute default {\n  use all\n  failover on 404, timeout\n}\n')
    assert cli("check", str(path)).returncode == 0
    strict = cli("check", "--strict", str(path))
    assert strict.returncode == 1
    assert "warning[W105]" in strict.stdout
    path.write_text(path.read_text().replace("timeout\n", "timeout  # allow W105\n"))
    allowed = cli("check", "--strict", str(path))
    assert allowed.returncode == 0, allowed.stdout
    assert "0 errors, 0 warnings" in allowed.stderr
