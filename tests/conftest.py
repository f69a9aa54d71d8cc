from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICIES = sorted((ROOT / "policies").glob("*.policy"))


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _plain_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pool tests run on plain httpx, what `pip install llmpool-policy` users get; the dev extra
    also installs httpx-aiohttp (the default when present), which tests/pool/test_transport.py
    exercises explicitly, so CI covers both."""
    monkeypatch.setenv("LLMPOOL_HTTP_TRANSPORT", "httpx")
