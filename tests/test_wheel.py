"""The wheel carries the grammar and the default policy: `pip install .` works from anywhere."""

from __future__ import annotations

import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from .conftest import ROOT


@pytest.mark.network
def test_installed_wheel_checks_a_policy_from_any_folder(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("llmpool_policy-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "llmpool_policy/_data/grammar/policy.lark" in names
    assert "llmpool_policy/_data/grammar/policy.lark.tables" in names  # the parser loads these
    assert "llmpool_policy/_data/policies/default.policy" in names

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(wheel)], check=True,
                   timeout=300)  # fmt: skip

    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "mine.policy").write_text('policy "mine"\nroute default { use all }\n')
    tool = env_dir / "bin" / "llmpool-policy"
    ok = subprocess.run([str(tool), "check", "mine.policy"], cwd=work, capture_output=True,
                        text=True, timeout=60)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    # The shipped default policy is found inside the installed package, not the checkout.
    code = "from llmpool_policy._resources import data_path as p; print(p('policies'))"
    located = subprocess.run(
        [str(python), "-c", code], cwd=work, capture_output=True, text=True, check=True, timeout=60
    )
    assert "site-packages" in located.stdout
    default_policy = located.stdout.strip() + "/default.policy"
    shipped = subprocess.run(
        [str(tool), "check", "--strict", default_policy],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shipped.returncode == 0, shipped.stdout + shipped.stderr
