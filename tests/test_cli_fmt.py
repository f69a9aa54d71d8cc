"""`llmpool-policy fmt` as a user runs it: a subprocess on real files, its exit codes and output."""

from __future__ import annotations

import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import POLICIES, ROOT

MESSY = 'policy  "p"\nlimits { deadline 60s  max attempts 4 }  # global\nroute r {use all}\n'
TIDY = (
    'policy "p"\n\n'
    "limits {\n  deadline 60s\n  max attempts 4\n}  # global\n\n"
    "route r {\n  use all\n}\n"
)
BROKEN = 'policy "b"\nroute r { use all\n  skip when a = 1\n}\n'


def fmt(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "fmt", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def test_rewrites_files_in_place_and_names_them(tmp_path: Path) -> None:
    messy = write(tmp_path / "messy.policy", MESSY)
    tidy = write(tmp_path / "tidy.policy", TIDY)
    before = tidy.stat().st_mtime_ns
    result = fmt(str(messy), str(tidy))
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"reformatted {messy}\n"
    assert messy.read_text() == TIDY
    assert tidy.stat().st_mtime_ns == before  # unchanged files are not written at all
    again = fmt(str(messy))
    assert (again.returncode, again.stdout) == (0, "")


def test_check_lists_files_that_would_change_and_writes_nothing(tmp_path: Path) -> None:
    messy = write(tmp_path / "messy.policy", MESSY)
    tidy = write(tmp_path / "tidy.policy", TIDY)
    result = fmt("--check", str(messy), str(tidy))
    assert result.returncode == 1
    assert result.stdout == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY
    clean = fmt("--check", str(tidy))
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")


def test_check_passes_on_the_shipped_examples() -> None:
    result = fmt("--check", *map(str, POLICIES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    messy = write(tmp_path / "messy.policy", MESSY)
    result = fmt("--diff", str(messy))
    assert result.returncode == 1
    assert messy.read_text() == MESSY
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"--- {messy}", f"+++ {messy}"]
    assert "-limits { deadline 60s  max attempts 4 }  # global" in lines
    assert "+}  # global" in lines
    assert "+  max attempts 4" in lines


def test_diff_applies_with_patch(tmp_path: Path) -> None:
    if shutil.which("patch") is None:
        pytest.skip("no patch program")
    messy = write(tmp_path / "messy.policy", MESSY.rstrip("\n"))  # no newline at the end, too
    diff = fmt("--diff", str(messy)).stdout
    assert "\\ No newline at end of file" in diff
    subprocess.run(["patch", "-s", str(messy)], input=diff, text=True, check=True, timeout=30)
    assert messy.read_text() == TIDY


def test_diff_on_a_formatted_file_is_empty_and_exits_0(tmp_path: Path) -> None:
    tidy = write(tmp_path / "tidy.policy", TIDY)
    result = fmt("--diff", str(tidy))
    assert (result.returncode, result.stdout) == (0, "")


def test_check_and_diff_cannot_be_combined(tmp_path: Path) -> None:
    result = fmt("--check", "--diff", str(write(tmp_path / "t.policy", TIDY)))
    assert result.returncode == 2
    assert "not allowed with" in result.stderr


def test_a_file_that_does_not_parse_is_left_untouched_with_its_errors(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.policy", BROKEN)
    messy = write(tmp_path / "messy.policy", MESSY)
    result = fmt(str(broken), str(messy))
    assert result.returncode == 1
    assert broken.read_text() == BROKEN
    assert "error[E" in result.stderr
    assert f"--> {broken}:3:" in result.stderr
    assert "skip when a = 1" in result.stderr  # the source line, rendered with a caret
    assert f"{broken} was not formatted" in result.stderr
    # The other file is still formatted.
    assert messy.read_text() == TIDY
    assert result.stdout == f"reformatted {messy}\n"


def test_syntax_errors_under_check_also_exit_1(tmp_path: Path) -> None:
    broken = write(tmp_path / "broken.policy", BROKEN)
    result = fmt("--check", str(broken))
    assert result.returncode == 1
    assert broken.read_text() == BROKEN
    assert "error[E" in result.stderr


def test_an_unreadable_file_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    missing = tmp_path / "missing.policy"
    result = fmt(str(missing))
    assert result.returncode == 2
    assert f"cannot read {missing}" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_that_is_not_utf8_exits_2(tmp_path: Path) -> None:
    binary = tmp_path / "latin1.policy"
    binary.write_bytes(b'policy "caf\xe9"\n')
    result = fmt(str(binary))
    assert result.returncode == 2
    assert f"cannot read {binary}" in result.stderr
    assert binary.read_bytes() == b'policy "caf\xe9"\n'


def _no_file_writes() -> None:
    """In the child: any write that grows a file fails (EFBIG), even for root."""
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.mark.skipif(os.name != "posix", reason="uses POSIX resource limits")
def test_a_file_that_cannot_be_written_exits_2_and_keeps_its_content(tmp_path: Path) -> None:
    messy = write(tmp_path / "messy.policy", MESSY)
    result = subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "fmt", str(messy)],
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_no_file_writes,
    )
    assert result.returncode == 2
    assert f"cannot write {messy}" in result.stderr
    assert messy.read_text() == MESSY  # nothing lost, nothing half-written
    assert [p.name for p in tmp_path.iterdir()] == ["messy.policy"]  # no temp file left


def test_crlf_line_endings_are_rewritten_as_lf(tmp_path: Path) -> None:
    crlf = write(tmp_path / "crlf.policy", TIDY.replace("\n", "\r\n"))
    assert fmt("--check", str(crlf)).returncode == 1
    assert fmt(str(crlf)).returncode == 0
    assert crlf.read_bytes() == TIDY.encode("utf-8")


def test_fmt_is_listed_in_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "fmt", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "--check" in result.stdout
    assert "--diff" in result.stdout


def test_a_folder_stands_for_its_policies(tmp_path: Path) -> None:
    nested = tmp_path / "team"
    nested.mkdir()
    messy = write(nested / "messy.policy", MESSY)
    tidy = write(tmp_path / "tidy.policy", TIDY)
    (tmp_path / "notes.txt").write_text("not a policy")
    result = fmt("--check", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"would reformat {messy}"]
    assert fmt(str(tmp_path)).returncode == 0
    assert fmt("--check", str(tmp_path)).returncode == 0
    assert tidy.read_text() == TIDY
