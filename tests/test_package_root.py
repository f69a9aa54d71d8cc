"""What ``import llmpool_policy`` offers: the pool, the policy, message builders and every typed
error a caller catches (issue 12: ``from llmpool_policy import ProviderError``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import llmpool_policy
from llmpool_policy import errors, messages

ROOT = Path(__file__).resolve().parent.parent


def test_every_public_error_is_importable_from_the_root() -> None:
    from llmpool_policy import (
        BudgetExceededError,
        ConfigurationError,
        DeadlineExceededError,
        ImageError,
        LLMPoolError,
        MessageError,
        NoProviderAvailableError,
        PolicyError,
        PolicySyntaxError,
        ProviderError,
        RateLimitError,
    )

    assert ProviderError is errors.ProviderError
    assert issubclass(RateLimitError, ProviderError)
    for cls in (BudgetExceededError, DeadlineExceededError, NoProviderAvailableError,
                ConfigurationError, PolicyError, PolicySyntaxError):  # fmt: skip
        assert issubclass(cls, LLMPoolError)
    assert (MessageError, ImageError) == (messages.MessageError, messages.ImageError)
    every_error = {n for n in errors.__all__ if n.endswith("Error")}
    assert every_error <= set(llmpool_policy.__all__)


def test_every_name_in_all_resolves() -> None:
    for name in llmpool_policy.__all__:
        assert getattr(llmpool_policy, name) is not None, name
    assert set(llmpool_policy.__all__) <= set(dir(llmpool_policy))


def test_the_errors_docs_import_what_they_list_from_the_root() -> None:
    text = (ROOT / "docs" / "pool.md").read_text(encoding="utf-8")
    section = text.split("## Errors", 1)[1].split("\n## ", 1)[0]
    imported = re.search(r"from llmpool_policy import \(?([A-Za-z,\s]+)", section)
    assert imported, "docs/pool.md, Errors: show the import"
    named = set(re.findall(r"^\| `(\w+Error)`", section, re.M))
    assert named and named <= {n.strip() for n in imported.group(1).split(",")}
    for name in named:
        assert getattr(llmpool_policy, name) is getattr(errors, name)


def test_importing_an_error_stays_cheap() -> None:
    code = "import sys; from llmpool_policy import ProviderError; print(' '.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(out.stdout.split())
    assert "httpx" not in loaded and "llmpool_policy.pool" not in loaded
