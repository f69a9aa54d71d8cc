"""Messages: validated images with their real media type, roles, requests where zero is a value."""

from __future__ import annotations

import base64

import pytest

from llmpool_policy.messages import (
    ChatMessage,
    ChatRequest,
    ImageError,
    ImagePart,
    MessageError,
    TextPart,
    Tool,
    ToolCall,
    image_message,
    text_message,
)

from .helpers import (
    HTTPS_URL,
    JPEG_URL,
    PNG_URL,
    data_url,
    gif_bytes,
    jpeg_bytes,
    png_bytes,
    webp_bytes,
)


@pytest.mark.parametrize(
    ("url", "media_type", "size"),
    [
        (PNG_URL, "image/png", (2, 3)),
        (JPEG_URL, "image/jpeg", (640, 480)),
        (data_url("image/gif", gif_bytes()), "image/gif", (10, 20)),
        (data_url("image/webp", webp_bytes()), "image/webp", (300, 200)),
        (data_url("image/jpg", jpeg_bytes(32, 16)), "image/jpeg", (32, 16)),
        (data_url("IMAGE/PNG", png_bytes(7, 9)), "image/png", (7, 9)),
        ("data:image/png;charset=binary;base64," + PNG_URL.split(",", 1)[1], "image/png", (2, 3)),
    ],
)
def test_data_urls_keep_their_real_media_type(
    url: str, media_type: str, size: tuple[int, int]
) -> None:
    part = ImagePart.from_url(url)
    assert part.media_type == media_type
    assert (part.width, part.height) == size
    assert part.is_inline
    assert base64.b64decode(part.data or "")[:2] in (b"\x89P", b"\xff\xd8", b"GI", b"RI")


def test_data_url_round_trips() -> None:
    assert ImagePart.from_url(PNG_URL).as_url() == PNG_URL


def test_https_url_is_kept_as_url() -> None:
    part = ImagePart.from_url(HTTPS_URL, detail="low")
    assert (part.url, part.media_type, part.data, part.detail) == (HTTPS_URL, None, None, "low")
    assert not part.is_inline


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("data:image/png;base64,@@@not base64@@@", "not valid base64"),
        ("data:image/png," + PNG_URL.split(",", 1)[1], "must be base64"),
        ("data:text/plain;base64,aGVsbG8=", "not an image type"),
        ("data:;base64,aGVsbG8=", "not an image type"),
        ("data:image/svg+xml;base64,PHN2Zy8+", "unsupported image media type"),
        ("data:image/tiff;base64,SUkqAA==", "unsupported image media type"),
        ("data:image/png;base64,", "carries no data"),
        ("data:image/png;base64,aGVsbG8gd29ybGQ=", "not a PNG, JPEG, GIF or WebP"),
        (data_url("image/jpeg", png_bytes()), "declares image/jpeg but its bytes are image/png"),
        (data_url("image/png", jpeg_bytes()), "declares image/png but its bytes are image/jpeg"),
        ("data:image/png;base64", "malformed data URL"),
        ("http://example.com/cat.png", "https://"),
        ("ftp://example.com/cat.png", "https://"),
        ("/tmp/cat.png", "https://"),
        ("https://", "https://"),
        ("", "https://"),
    ],
)
def test_bad_images_are_refused_clearly(url: str, words: str) -> None:
    with pytest.raises(ImageError, match=words.replace("+", r"\+")):
        ImagePart.from_url(url)


def test_image_error_is_a_value_error() -> None:
    assert issubclass(ImageError, MessageError)
    assert issubclass(MessageError, ValueError)


def test_image_repr_is_short() -> None:
    big = data_url("image/png", png_bytes(500, 500) + b"\x00" * 100_000)
    text = repr(ImagePart.from_url(big))
    assert text.startswith("ImagePart(image/png,") and "500x500" in text
    assert len(text) < 100


def test_text_and_image_message_helpers() -> None:
    message = text_message("user", "hi")
    assert message == ChatMessage("user", "hi")
    assert (message.text, message.images, message.parts) == ("hi", (), (TextPart("hi"),))
    image = image_message("user", "look", PNG_URL)
    assert image.text == "look"
    assert [type(p).__name__ for p in image.parts] == ["TextPart", "ImagePart"]
    assert image_message("user", "", PNG_URL).parts == (ImagePart.from_url(PNG_URL),)


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: text_message("robot", "x"), "role must be one of"),  # type: ignore[arg-type]
        (lambda: text_message("user", 3), "text must be a string"),  # type: ignore[arg-type]
        (lambda: image_message("system", "x", PNG_URL), "only be sent in user messages"),
        (lambda: image_message("assistant", "x", PNG_URL), "only be sent in user messages"),
        (lambda: ChatMessage("user", ("x",)), "TextPart or ImagePart"),  # type: ignore[arg-type]
        (lambda: ChatMessage("user", None), "must be a string"),  # type: ignore[arg-type]
        (lambda: ChatMessage("tool", "42"), "tool_call_id"),
        (lambda: ChatMessage("user", "x", tool_call_id="c1"), "only tool messages"),
        (lambda: ChatMessage("user", "x", tool_calls=(ToolCall("c", "f"),)), "only assistant"),
        (lambda: Tool("bad name!"), "1-64 letters"),
    ],
)
def test_bad_messages(build: object, words: str) -> None:
    with pytest.raises(MessageError, match=words):
        build()  # type: ignore[operator]


def test_lists_become_tuples() -> None:
    message = ChatMessage("user", [TextPart("a")])  # type: ignore[arg-type]
    assert message.content == (TextPart("a"),)
    request = ChatRequest([message], stop=["x"], tools=[Tool("f")])  # type: ignore[arg-type]
    assert isinstance(request.messages, tuple)
    assert request.stop == ("x",)
    assert request.tools == (Tool("f"),)
    assert ChatRequest((message,), stop="END").stop == ("END",)  # type: ignore[arg-type]


def test_zero_is_a_value() -> None:
    request = ChatRequest((text_message("user", "x"),), temperature=0, top_p=0)
    assert request.temperature == 0 and request.temperature is not None
    assert request.top_p == 0


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": True}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": "0.5"}, "temperature must be a number"),
        ({"top_p": 1.1}, "top_p"),
        ({"stop": ("",)}, "stop"),
        ({"tools": ("f",)}, "tools"),
        ({"tools": (Tool("f"), Tool("f"))}, "unique"),
        ({"tool_choice": "g", "tools": (Tool("f"),)}, "tool_choice"),
        ({"stream": "yes"}, "stream"),
    ],
)
def test_bad_requests(kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(MessageError, match=words):
        ChatRequest((text_message("user", "x"),), **kwargs)  # type: ignore[arg-type]


def test_request_needs_messages() -> None:
    with pytest.raises(MessageError, match="at least one message"):
        ChatRequest(())
    with pytest.raises(MessageError, match="build one with text_message"):
        ChatRequest(({"role": "user", "content": "x"},))  # type: ignore[arg-type]


def test_image_count() -> None:
    request = ChatRequest(
        (image_message("user", "a", PNG_URL), image_message("user", "b", HTTPS_URL))
    )
    assert request.image_count == 2


def test_tool_call_arguments() -> None:
    assert ToolCall("c", "f", '{"a": 1}').parsed_arguments() == {"a": 1}
    with pytest.raises(MessageError, match="not JSON"):
        ToolCall("c", "f", "{oops").parsed_arguments()


def test_tool_call_arguments_from_a_dict() -> None:
    # Issue 13, item 12: a dict is serialised to JSON text (non-ASCII kept as written).
    call = ToolCall("c", "f", {"q": 1, "city": "Zürich", "tags": ["a"], "x": None})
    assert call.arguments == '{"q": 1, "city": "Zürich", "tags": ["a"], "x": null}'
    assert call.parsed_arguments() == {"q": 1, "city": "Zürich", "tags": ["a"], "x": None}
    assert call == ToolCall("c", "f", call.arguments)
    assert ToolCall("c", "f").arguments == "{}"


def _circular() -> dict[str, object]:
    loop: dict[str, object] = {}
    loop["self"] = loop
    return loop


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (1, r"arguments must be JSON text or a dict \(got int\)"),
        ([1], r"arguments must be JSON text or a dict \(got list\)"),
        (b"{}", r"arguments must be JSON text or a dict \(got bytes\)"),
        ({"when": object()}, "cannot be written as JSON"),
        ({"x": float("nan")}, "cannot be written as JSON"),
        ({(1, 2): 3}, "cannot be written as JSON"),
        (_circular(), "cannot be written as JSON"),
    ],
)
def test_tool_call_arguments_of_other_types_are_refused(arguments: object, words: str) -> None:
    with pytest.raises(MessageError, match=words) as caught:
        ToolCall("c", "f", arguments)  # type: ignore[arg-type]
    assert "tool call 'c' (f)" in str(caught.value)


@pytest.mark.parametrize("field", ["id", "name"])
def test_tool_call_id_and_name_must_be_text(field: str) -> None:
    values: dict[str, object] = {"id": "c", "name": "f", field: 7}
    with pytest.raises(MessageError, match=f"tool call {field} must be a string"):
        ToolCall(**values)  # type: ignore[arg-type]
