"""`llmpool-policy validate-config` and `schema`, run as a user runs them (a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from llmpool_policy.config import load_schema

from .corpus import doc, provider


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("LLMPOOL_T_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=environment,
        timeout=60,
    )


def test_seed_config_is_valid(seed_config: Path) -> None:
    result = run("validate-config", "config.json", cwd=seed_config.parent)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("config.json: ok, 2 providers, checksum sha256:")
    assert "your-groq-api-key" not in result.stdout + result.stderr


def test_errors_text_and_json(write_config: Any) -> None:
    path = write_config(
        doc(provider(requests_per_minute=-5, api_key="${LLMPOOL_T_KEY}"), provider(name="p1"))
    )
    text = run("validate-config", "config.json", cwd=path.parent)
    assert text.returncode == 1
    assert "error[C004]: must be >= 0 (got -5)" in text.stdout
    assert "--> config.json: /providers/0/requests_per_minute" in text.stdout
    assert "3 errors, 0 warnings" in text.stderr
    short = run("validate-config", "config.json", "--format", "short", cwd=path.parent)
    assert short.stdout.splitlines() == [
        "config.json: /providers/0/api_key: error[C012]: environment variable LLMPOOL_T_KEY is "
        "not set (provider 'p1')",
        "config.json: /providers/0/requests_per_minute: error[C004]: must be >= 0 (got -5)",
        "config.json: /providers/1/name: error[C010]: duplicate provider name 'p1' (first used "
        "at /providers/0/name)",
    ]
    as_json = run("validate-config", "config.json", "--format", "json", cwd=path.parent)
    assert as_json.returncode == 1
    found = json.loads(as_json.stdout)
    assert {d["code"] for d in found} == {"C004", "C010", "C012"}
    assert all(d["path"] == "config.json" and d["pointer"] for d in found)


def test_env_comes_from_the_environment(write_config: Any) -> None:
    path = write_config(doc(provider(api_key="${LLMPOOL_T_KEY}")))
    result = run("validate-config", str(path), cwd=path.parent, env={"LLMPOOL_T_KEY": "sk-x"})
    assert result.returncode == 0, result.stdout
    assert "sk-x" not in result.stdout + result.stderr


def test_warnings_pass_unless_strict(write_config: Any) -> None:
    path = write_config(doc(provider(input_token_price=0.1)))
    assert run("validate-config", "config.json", cwd=path.parent).returncode == 0
    strict = run("validate-config", "config.json", "--strict", cwd=path.parent)
    assert strict.returncode == 1 and "warning[W001]" in strict.stdout


def test_invalid_json_shows_the_line(write_config: Any) -> None:
    path = write_config('{"providers": [,]}\n')
    result = run("validate-config", "config.json", cwd=path.parent)
    assert result.returncode == 1
    assert '1 | {"providers": [,]}' in result.stdout and "^" in result.stdout


def test_unreadable_is_exit_2(tmp_path: Path) -> None:
    result = run("validate-config", "missing.json", cwd=tmp_path)
    assert result.returncode == 2 and "C014" in result.stdout


def test_checksum_pin(write_config: Any) -> None:
    path = write_config(doc(provider()))
    ok = run("validate-config", "config.json", cwd=path.parent)
    checksum = ok.stdout.strip().rsplit("sha256:", 1)[1]
    pinned = run("validate-config", "config.json", "--checksum", checksum, cwd=path.parent)
    assert pinned.returncode == 0
    wrong = run("validate-config", "config.json", "--checksum", "f" * 64, cwd=path.parent)
    assert wrong.returncode == 1 and "C013" in wrong.stdout


def test_schema_command_prints_the_schema(tmp_path: Path) -> None:
    result = run("schema", cwd=tmp_path)
    assert result.returncode == 0
    assert json.loads(result.stdout) == load_schema()
