"""The token estimate: the heuristic's calibration, images, tools, and tiktoken's optional path."""

from __future__ import annotations

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


@pytest.mark.usefixtures("heuristic")
def test_heuristic_text() -> None:
    assert estimate_text_tokens("") == 0
    assert estimate_text_tokens("abcd") == 1
    assert estimate_text_tokens("abcde") == 2
    assert estimate_text_tokens("x" * 400) == 100
    assert estimate_text_tokens("日本語") == 3
    assert estimate_text_tokens("café au lait") == 3 + 1
    assert token_counter() == "heuristic"


@pytest.mark.usefixtures("heuristic")
def test_heuristic_request() -> None:
    request = ChatRequest((text_message("system", "x" * 40), text_message("user", "y" * 80)))
    # priming 3 + (3 + 10) + (3 + 20)
    assert estimate_request_tokens(request) == 39
    named = ChatRequest((ChatMessage("user", "y" * 80, name="al"),))
    assert estimate_request_tokens(named) == 3 + 3 + 1 + 20


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


def test_a_failing_encoder_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(text: str) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(tokens, "_encoder", lambda: broken)
    assert estimate_text_tokens("abcdefgh") == 2


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
