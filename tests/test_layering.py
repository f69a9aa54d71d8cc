"""The architecture's import rules, checked: data flows one way."""

from __future__ import annotations

import subprocess
import sys


def loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_decide_and_runtime_never_load_the_parser() -> None:
    for module in ("llmpool_policy.decide", "llmpool_policy.runtime"):
        loaded = loaded_after(module)
        assert not any(m.startswith("llmpool_policy.syntax") for m in loaded), (module, loaded)
        assert "lark" not in loaded


def test_nothing_but_the_entry_point_imports_the_cli() -> None:
    for module in ("llmpool_policy.pool", "llmpool_policy.simulate", "llmpool_policy.testing",
                   "llmpool_policy.policy", "llmpool_policy.emulator"):  # fmt: skip
        assert not any(m.startswith("llmpool_policy.cli") for m in loaded_after(module)), module
