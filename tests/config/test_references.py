"""Files a configuration names are found beside it (llmpool_policy.config.references)."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmpool_policy.config import validate_config_data
from llmpool_policy.config.references import config_base, read_reference, resolve_reference
from llmpool_policy.config.sources import FileSource, UrlSource
from llmpool_policy.errors import ConfigurationError

from .corpus import doc, provider


@pytest.mark.parametrize(
    ("base", "reference", "resolved"),
    [
        ("/etc/llm/config.json", "p.policy", "/etc/llm/p.policy"),
        ("/etc/llm/config.json", "../shared/p.policy", "/etc/llm/../shared/p.policy"),
        ("/etc/llm/config.json", "/opt/p.policy", "/opt/p.policy"),
        ("/etc/llm/config.json", "https://cfg.example/p.policy", "https://cfg.example/p.policy"),
        ("https://cfg.example/team/config.json", "p.policy", "https://cfg.example/team/p.policy"),
        ("https://cfg.example/team/config.json?t=1", "../p.policy", "https://cfg.example/p.policy"),
        ("https://cfg.example/team/config.json", "/root.policy", "https://cfg.example/root.policy"),
    ],
)
def test_references_resolve_against_the_config(base: str, reference: str, resolved: str) -> None:
    assert resolve_reference(base, reference) == resolved


def test_the_base_is_the_config_files_absolute_path_or_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = validate_config_data(doc(provider()), path="conf/config.json", env={})
    assert config_base(FileSource("conf/config.json"), config) == str(tmp_path / "conf/config.json")
    assert config_base(None, config) == str(tmp_path / "conf/config.json")  # from its origin
    url = "http://127.0.0.1:9/c/config.json"
    assert config_base(UrlSource(url), config) == url
    bare = validate_config_data(doc(provider()), env={})  # built from data: the cwd
    assert resolve_reference(config_base(None, bare), "p.policy") == str(tmp_path / "p.policy")


def test_an_unreadable_reference_never_shows_credentials() -> None:
    with pytest.raises(ConfigurationError) as info:
        read_reference(
            "http://user:sk-SECRET@127.0.0.1:9/c/config.json?token=sk-SECRET",
            "p.policy",
            pointer="/policy",
            config_name="http://127.0.0.1:9/c/config.json",
        )
    (found,) = info.value.diagnostics
    assert found.code == "C019" and found.pointer == "/policy"
    assert "http://127.0.0.1:9/c/p.policy" in found.message
    assert "SECRET" not in str(info.value) and "SECRET" not in repr(found)


def test_a_reference_that_is_not_text_is_refused(tmp_path: Path) -> None:
    (tmp_path / "p.policy").write_bytes(b"\xff\xfe policy")
    with pytest.raises(ConfigurationError) as info:
        read_reference(str(tmp_path / "c.json"), "p.policy", pointer="/policy", config_name="c")
    assert info.value.diagnostics[0].message.endswith("not UTF-8 text")
