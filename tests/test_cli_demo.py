"""`llmpool-policy demo` as `make demo` runs it: a subprocess against the emulator, its output
(a failover line, breaker events, the summary table) and its exit code."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from .conftest import ROOT


def demo(*args: str, encoding: str = "utf-8") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    return subprocess.run(
        [sys.executable, "-m", "llmpool_policy", "demo", *args],
        capture_output=True,
        text=True,
        encoding=encoding,
        cwd=ROOT,
        env=env,
        timeout=60,
    )


def test_demo_shows_failover_breaker_and_summary() -> None:
    result = demo("--requests", "15", "--fast")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    assert "sk-emulator" not in out + result.stderr  # the made-up keys stay in the config
    lines = [line for line in out.splitlines() if re.match(r"\s+#\d+\s", line)]
    assert len(lines) == 15  # one line per request
    # a failover: failed tries at the primary, then the backup answered
    assert any(re.search(r"openai-main( ✗\d{3})+ → anthropic-backup ✓", line) for line in lines)
    assert all(re.search(r"\d+ ms\s+\$\d+\.\d{6}\s+spend \$\d+\.\d{6}$", line) for line in lines)
    assert "breaker OPEN for openai-main" in out
    assert "emulator: openai-main is down" in out
    summary = out[out.index("summary") :]
    for name in ("openai-main", "anthropic-backup", "groq-fast", "cohere-r"):
        assert re.search(rf"{name}\s+\d+\s+\d+\s+\d+\s+(closed|open|half_open)\s+\$", summary)
    assert re.search(r"15 requests: \d+ answered, \d+ failed, [1-9]\d* after a failover", out)


def test_demo_falls_back_to_ascii_where_unicode_cannot_be_printed() -> None:
    result = demo("--requests", "10", "--fast", encoding="ascii")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"openai-main( x\d{3})+ -> anthropic-backup ok", result.stdout)


def test_demo_rejects_a_bad_request_count() -> None:
    result = demo("--requests", "0", "--fast")
    assert result.returncode == 2
    assert "--requests must be at least 1" in result.stderr
