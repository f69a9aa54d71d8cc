"""Each wire format over real HTTP: success bodies, authentication, validation, paths."""

from __future__ import annotations

import json

import httpx
import pytest

from llmpool_policy.emulator import Behaviour, Emulator

from .conftest import TYPES, chat_body, post


def content_of(wire: str, body: dict[str, object]) -> tuple[str, str, dict[str, int]]:
    """(text, finish reason, {input, output}) from a success body of that wire format."""
    if wire == "openai":
        choice = body["choices"][0]  # type: ignore[index]
        usage = body["usage"]
        return (
            choice["message"]["content"],
            choice["finish_reason"],
            {"input": usage["prompt_tokens"], "output": usage["completion_tokens"]},  # type: ignore[index]
        )
    if wire == "anthropic":
        usage = body["usage"]
        return (
            body["content"][0]["text"],  # type: ignore[index]
            body["stop_reason"],  # type: ignore[return-value]
            {"input": usage["input_tokens"], "output": usage["output_tokens"]},  # type: ignore[index]
        )
    usage = body["usage"]["tokens"]  # type: ignore[index]
    return (
        body["message"]["content"][0]["text"],  # type: ignore[index]
        body["finish_reason"],  # type: ignore[return-value]
        {"input": usage["input_tokens"], "output": usage["output_tokens"]},
    )


@pytest.mark.parametrize("kind", TYPES)
def test_success(emulator: Emulator, client: httpx.Client, kind: str) -> None:
    provider = emulator.add(f"p-{kind}", kind)
    text = "x" * 40  # 40 chars -> 10 tokens
    response = post(client, provider, text)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    content, finish, usage = content_of(provider.wire.name, body)
    assert text in content and provider.name in content
    assert finish in ("stop", "end_turn", "COMPLETE")
    assert usage["input"] == 10
    assert usage["output"] == -(-len(content) // 4)
    if provider.wire.name == "openai":
        assert body["object"] == "chat.completion" and body["id"].startswith("chatcmpl-")
        assert body["model"] == provider.model
        assert body["usage"]["total_tokens"] == usage["input"] + usage["output"]
    elif provider.wire.name == "anthropic":
        assert body["type"] == "message" and body["id"].startswith("msg_")
        assert response.headers["request-id"].startswith("req_")
    # Deterministic: the same request to the same index answers the same.
    provider.reset()
    assert post(client, provider, text).json() == body


def test_paths_follow_the_real_base_urls(emulator: Emulator) -> None:
    assert emulator.add("o", "openai").url.endswith("/v1/chat/completions")
    assert emulator.add("g", "groq").url.endswith("/openai/v1/chat/completions")
    assert emulator.add("a", "anthropic").url.endswith("/v1/messages")
    assert emulator.add("c", "cohere").url.endswith("/v2/chat")
    custom = emulator.add("x", "openai-compatible", path_prefix="/api/v3")
    assert custom.base_url == f"http://127.0.0.1:{custom.port}/api/v3"
    bare = emulator.add("bare", "openai", path_prefix="")
    assert bare.url == f"http://127.0.0.1:{bare.port}/chat/completions"


@pytest.mark.parametrize(
    ("kind", "missing", "wrong"),
    [
        ("openai", "You didn't provide an API key", "Incorrect API key provided"),
        ("anthropic", "x-api-key header is required", "invalid x-api-key"),
        ("cohere", "no api key supplied", "invalid api token"),
    ],
)
def test_auth(
    emulator: Emulator, client: httpx.Client, kind: str, missing: str, wrong: str
) -> None:
    provider = emulator.add("p", kind, api_key="the-right-key-123456")
    body = chat_body(provider)
    base = {"anthropic-version": "2023-06-01"}
    no_key = client.post(provider.url, headers=base, json=body)
    bad_headers = {**base, "authorization": "Bearer wrong-key-999", "x-api-key": "wrong-key-999"}
    bad_key = client.post(provider.url, headers=bad_headers, json=body)
    for response, message in ((no_key, missing), (bad_key, wrong)):
        assert response.status_code == 401
        assert message in response.text
        assert "the-right-key" not in response.text and "wrong-key-999" not in response.text
    if kind == "openai":
        assert bad_key.json()["error"]["code"] == "invalid_api_key"
    elif kind == "anthropic":
        assert bad_key.json() == {
            "type": "error",
            "error": {"type": "authentication_error", "message": "invalid x-api-key"},
        }
    else:
        assert set(bad_key.json()) == {"id", "message"}
    assert post(client, provider).status_code == 200


def test_no_key_configured_accepts_anyone(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("local", "openai-compatible", api_key=None)
    assert client.post(provider.url, json=chat_body(provider)).status_code == 200


def test_anthropic_needs_version_and_max_tokens(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("a", "anthropic")
    headers = provider.headers()
    del headers["anthropic-version"]
    response = client.post(provider.url, headers=headers, json=chat_body(provider))
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "anthropic-version: header is required"
    body = chat_body(provider)
    del body["max_tokens"]
    response = client.post(provider.url, headers=provider.headers(), json=body)
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "max_tokens: Field required",
    }


@pytest.mark.parametrize("kind", ("openai", "anthropic", "cohere"))
@pytest.mark.parametrize("field", ("model", "messages"))
def test_required_fields(emulator: Emulator, client: httpx.Client, kind: str, field: str) -> None:
    provider = emulator.add("p", kind)
    body = chat_body(provider)
    del body[field]
    response = client.post(provider.url, headers=provider.headers(), json=body)
    assert response.status_code == 400
    assert field in response.text or "model parameter" in response.text
    entry = emulator.journal.entries("p")[-1]
    assert entry.status == 400 and entry.fault is None


@pytest.mark.parametrize("kind", ("openai", "anthropic", "cohere"))
def test_invalid_json_and_bad_shapes(emulator: Emulator, client: httpx.Client, kind: str) -> None:
    provider = emulator.add("p", kind)
    response = client.post(provider.url, headers=provider.headers(), content=b"{not json")
    assert response.status_code == 400
    assert emulator.journal.entries("p")[-1].body is None
    for bad in ([], {"model": "m", "messages": []}, {"model": "m", "messages": "hi"}):
        response = client.post(provider.url, headers=provider.headers(), json=bad)
        assert response.status_code == 400, bad
    response = post(client, provider, temperature=-1)
    assert response.status_code == 400
    response = post(client, provider, max_tokens="many")
    assert response.status_code == 400


def test_temperature_zero_is_a_value(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai")
    assert post(client, provider, temperature=0).status_code == 200
    assert emulator.journal.entries("p")[-1].body["temperature"] == 0  # type: ignore[index]


@pytest.mark.parametrize("kind", ("openai", "anthropic", "cohere"))
def test_unknown_path_and_method(emulator: Emulator, client: httpx.Client, kind: str) -> None:
    provider = emulator.add("p", kind)
    origin = f"http://127.0.0.1:{provider.port}"
    response = client.post(origin + "/v9/nothing", headers=provider.headers(), json={})
    assert response.status_code == 404
    response = client.get(provider.url, headers=provider.headers())
    assert response.status_code == 405
    assert provider.requests == 0  # neither reached the endpoint: indexes unchanged
    assert [e.index for e in emulator.journal.entries("p")] == [-1, -1]


@pytest.mark.parametrize(
    ("kind", "finish"),
    [("openai", "length"), ("anthropic", "max_tokens"), ("cohere", "MAX_TOKENS")],
)
def test_max_tokens_truncates(
    emulator: Emulator, client: httpx.Client, kind: str, finish: str
) -> None:
    provider = emulator.add("p", kind)
    response = post(client, provider, "a long question " * 10, max_tokens=3)
    text, reason, usage = content_of(provider.wire.name, response.json())
    assert reason == finish
    assert len(text) == 12 and usage["output"] == 3


def test_images_and_system_count_as_input(emulator: Emulator, client: httpx.Client) -> None:
    openai = emulator.add("o", "openai")
    body = {
        "model": openai.model,
        "messages": [
            {"role": "system", "content": "s" * 8},
            {"role": "user", "content": [
                {"type": "text", "text": "t" * 8},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
            ]},
        ],
    }  # fmt: skip
    usage = client.post(openai.url, headers=openai.headers(), json=body).json()["usage"]
    assert usage["prompt_tokens"] == 4 + 85
    anthropic = emulator.add("a", "anthropic")
    body = {
        "model": anthropic.model,
        "max_tokens": 10,
        "system": "s" * 8,
        "messages": [{"role": "user", "content": [{"type": "text", "text": "t" * 8}]}],
    }
    usage = client.post(anthropic.url, headers=anthropic.headers(), json=body).json()["usage"]
    assert usage["input_tokens"] == 4


def test_accepted_models(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(models=("gpt-4o",)))
    response = post(client, provider, model="gpt-5-imaginary")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert post(client, provider, model="gpt-4o").status_code == 200


def test_stream_is_refused_clearly(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai")
    response = post(client, provider, stream=True)
    assert response.status_code == 400
    assert "stream" in json.dumps(response.json())
