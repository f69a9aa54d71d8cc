from __future__ import annotations

import json
from pathlib import Path

import pytest

from .corpus import SEED_QUICK_START


@pytest.fixture
def seed_config(tmp_path: Path) -> Path:
    """The seed README's Quick Start config.json, written byte for byte."""
    path = tmp_path / "config.json"
    path.write_text(SEED_QUICK_START, encoding="utf-8")
    return path


@pytest.fixture
def write_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a document (a dict, or raw text) as ``config.json`` and return its path."""

    def write(data: object, name: str = "config.json") -> Path:
        path = tmp_path / name
        text = data if isinstance(data, str) else json.dumps(data, indent=2)
        path.write_text(text, encoding="utf-8")
        return path

    return write
