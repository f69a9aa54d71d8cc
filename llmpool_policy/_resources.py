"""Where the shipped grammar, schemas and policies are, installed or in a checkout.

In a wheel they sit in ``llmpool_policy/_data``; in a source checkout (editable install, tests)
they sit at the repository's top level, where people edit them.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    """The path of a shipped file, e.g. ``data_path("grammar", "policy.lark")``."""
    installed = _PACKAGE_DIR / "_data"
    for root in (installed, _PACKAGE_DIR.parent):
        candidate = root.joinpath(*parts)
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"shipped file not found: {'/'.join(parts)}")
