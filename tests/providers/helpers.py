"""Shared test data: providers with marker keys, tiny real image headers, request builders."""

from __future__ import annotations

import base64
import json
import struct
import zlib
from typing import Any

from llmpool_policy.config.models import ProviderConfig
from llmpool_policy.messages import (
    ChatRequest,
    Tool,
    image_message,
    text_message,
)

# Marker keys: a test fails if one of these ever shows up where it must not.
OPENAI_KEY = "sk-proj-MARKERKEY0penai0123456789abcdef"
ANTHROPIC_KEY = "sk-ant-api03-MARKERKEYanthropic0123456789"
COHERE_KEY = "MARKERKEYcohere0123456789abcdefXYZ"
GROQ_KEY = "gsk_MARKERKEYgroq0123456789abcdef"
MARKER = "MARKERKEY"


def png_bytes(width: int = 2, height: int = 3) -> bytes:
    """A real (tiny, decodable) RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def jpeg_bytes(width: int = 640, height: int = 480) -> bytes:
    """A JPEG header (SOI, JFIF APP0, SOF0 with the frame size): enough for type and size."""
    app0 = b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = struct.pack(">BHHB", 8, height, width, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xe0"
        + struct.pack(">H", len(app0) + 2)
        + app0
        + b"\xff\xc0"
        + struct.pack(">H", len(sof0) + 2)
        + sof0
        + b"\xff\xd9"
    )


def gif_bytes(width: int = 10, height: int = 20) -> bytes:
    return b"GIF89a" + struct.pack("<HH", width, height) + b"\x00\x00\x00;"


def webp_bytes(width: int = 300, height: int = 200) -> bytes:
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00"
    body += (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    return b"RIFF" + struct.pack("<I", len(body)) + body


def data_url(media_type: str, raw: bytes) -> str:
    return f"data:{media_type};base64,{base64.b64encode(raw).decode()}"


PNG_URL = data_url("image/png", png_bytes())
JPEG_URL = data_url("image/jpeg", jpeg_bytes())
HTTPS_URL = "https://example.com/cat.jpg"


def provider(type_: str = "openai", **extra: Any) -> ProviderConfig:
    keys = {
        "openai": OPENAI_KEY,
        "groq": GROQ_KEY,
        "together": OPENAI_KEY,
        "openai-compatible": OPENAI_KEY,
        "anthropic": ANTHROPIC_KEY,
        "cohere": COHERE_KEY,
    }
    models = {
        "openai": "gpt-4o",
        "groq": "llama-3.3-70b-versatile",
        "together": "meta-llama/Llama-3.3-70B-Instruct-Turbo",
        "openai-compatible": "local-model",
        "anthropic": "claude-sonnet-4-20250514",
        "cohere": "command-a-vision-07-2025",
    }
    data: dict[str, Any] = {
        "name": f"{type_}-main",
        "type": type_,
        "api_key": keys[type_],
        "model": models[type_],
        "supports": {"vision": True, "tools": True},
    }
    if type_ == "openai-compatible":
        data["base_url"] = "http://127.0.0.1:8000/v1"
    data.update(extra)
    return ProviderConfig.model_validate(data)


WEATHER = Tool(
    name="get_weather",
    description="Current weather for a city",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    },
)


def golden_requests() -> dict[str, ChatRequest]:
    """The request shapes every adapter has a golden body for."""
    return {
        "text": ChatRequest(
            messages=(
                text_message("system", "You are a helpful assistant."),
                text_message("user", "What is the capital of France?"),
            ),
            max_tokens=100,
            temperature=0.7,
        ),
        "images": ChatRequest(
            messages=(
                image_message("user", "What is in this PNG?", PNG_URL),
                image_message("user", "And this JPEG?", JPEG_URL),
                image_message("user", "And this one?", HTTPS_URL),
            ),
            max_tokens=200,
        ),
        "several_systems": ChatRequest(
            messages=(
                text_message("system", "Be brief."),
                text_message("user", "Hi"),
                text_message("assistant", "Hello!"),
                text_message("system", "Answer in French."),
                text_message("user", "How are you?"),
            ),
        ),
        "temperature_zero": ChatRequest(
            messages=(text_message("user", "Say 0."),), temperature=0, max_tokens=5
        ),
        "stop": ChatRequest(messages=(text_message("user", "Count"),), stop=("5", "END")),
        "tools": ChatRequest(
            messages=(text_message("user", "Weather in Paris?"),),
            tools=(WEATHER,),
            tool_choice="auto",
        ),
    }


def body_bytes(data: object) -> bytes:
    return json.dumps(data).encode()
