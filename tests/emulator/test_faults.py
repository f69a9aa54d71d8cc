"""Every fault class over real HTTP, in each wire format, with the provider's own shapes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import httpx
import pytest

from llmpool_policy.emulator import FAULTS, Behaviour, Emulator

from .conftest import chat_body, post

WIRES = ("openai", "anthropic", "cohere")

# fault -> wire -> expected status
STATUS = {
    "rate_limited": {"openai": 429, "anthropic": 429, "cohere": 429},
    "overloaded": {"openai": 503, "anthropic": 529, "cohere": 503},
    "service_unavailable": {"openai": 503, "anthropic": 503, "cohere": 503},
    "server_error": {"openai": 500, "anthropic": 500, "cohere": 500},
    "context_window": {"openai": 400, "anthropic": 400, "cohere": 400},
    "auth": {"openai": 401, "anthropic": 401, "cohere": 401},
}
ANTHROPIC_TYPES = {
    "rate_limited": "rate_limit_error",
    "overloaded": "overloaded_error",
    "service_unavailable": "api_error",
    "server_error": "api_error",
    "context_window": "invalid_request_error",
    "auth": "authentication_error",
}


def test_every_fault_is_tested() -> None:
    assert set(FAULTS) == set(STATUS) | {"hang", "reset", "malformed_json", "malformed_body"}


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("fault", sorted(STATUS))
def test_error_faults(emulator: Emulator, client: httpx.Client, wire: str, fault: str) -> None:
    provider = emulator.add("p", wire, behaviour=Behaviour(faults={fault: 1.0}))
    response = post(client, provider)
    assert response.status_code == STATUS[fault][wire]
    body = response.json()
    if wire == "openai":
        assert set(body["error"]) == {"message", "type", "param", "code"}
        if fault == "context_window":
            assert body["error"]["code"] == "context_length_exceeded"
        if fault == "rate_limited":
            assert body["error"]["code"] == "rate_limit_exceeded"
    elif wire == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == ANTHROPIC_TYPES[fault]
        if fault == "context_window":
            assert body["error"]["message"].startswith("prompt is too long")
    else:
        assert set(body) == {"id", "message"}
    entry = emulator.journal.entries("p")[-1]
    assert (entry.fault, entry.status) == (fault, response.status_code)


def test_rate_limited_fault_headers(emulator: Emulator, client: httpx.Client) -> None:
    behaviour = Behaviour(faults={"rate_limited": 1.0}, retry_after=360.0)
    openai = emulator.add("o", "openai", behaviour=behaviour)
    headers = post(client, openai).headers
    assert headers["x-ratelimit-remaining-requests"] == "0"
    assert headers["x-ratelimit-reset-requests"] == "6m0s"
    assert headers["retry-after"] == "360"
    assert headers["retry-after-ms"] == "360000"
    anthropic = emulator.add("a", "anthropic", behaviour=behaviour.replace(retry_after=2.5))
    headers = post(client, anthropic).headers
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    assert headers["retry-after"] == "3"
    reset = datetime.strptime(headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ")
    delta = reset.replace(tzinfo=UTC).timestamp() - emulator.clock.wall()
    assert 0 < delta <= 4


@pytest.mark.parametrize("wire", WIRES)
def test_malformed_json(emulator: Emulator, client: httpx.Client, wire: str) -> None:
    provider = emulator.add("p", wire, behaviour=Behaviour(faults={"malformed_json": 1.0}))
    response = post(client, provider)
    assert response.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


@pytest.mark.parametrize(
    ("wire", "key"), [("openai", "choices"), ("anthropic", "content"), ("cohere", "message")]
)
def test_malformed_body(emulator: Emulator, client: httpx.Client, wire: str, key: str) -> None:
    provider = emulator.add("p", wire, behaviour=Behaviour(faults={"malformed_body": 1.0}))
    response = post(client, provider)
    assert response.status_code == 200
    body = response.json()
    assert key not in body and "usage" in body


@pytest.mark.parametrize("wire", WIRES)
def test_hang_is_honoured_by_a_client_timeout(emulator: Emulator, wire: str) -> None:
    provider = emulator.add("p", wire, behaviour=Behaviour(faults={"hang": 1.0}))
    with httpx.Client(timeout=0.05) as client, pytest.raises(httpx.ReadTimeout):
        post(client, provider)
    entry = emulator.journal.entries("p")[-1]
    assert (entry.fault, entry.status) == ("hang", None)


@pytest.mark.parametrize("wire", WIRES)
def test_reset_is_a_connection_error(emulator: Emulator, client: httpx.Client, wire: str) -> None:
    provider = emulator.add("p", wire)
    provider.queue_faults("reset")
    with pytest.raises(httpx.TransportError) as caught:
        post(client, provider)
    assert not isinstance(caught.value, httpx.TimeoutException)
    assert isinstance(caught.value, httpx.ReadError | httpx.RemoteProtocolError)
    # The client recovers on a fresh connection.
    assert post(client, provider).status_code == 200


def test_context_window_from_the_request(emulator: Emulator, client: httpx.Client) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(context_window=100))
    assert post(client, provider, "x" * 200, max_tokens=50).status_code == 200  # 50 + 50
    response = post(client, provider, "x" * 200, max_tokens=51)
    assert response.status_code == 400
    assert "maximum context length is 100 tokens" in response.json()["error"]["message"]
    assert "101 tokens" in response.json()["error"]["message"]


def test_queued_faults_come_first_and_none_means_success(
    emulator: Emulator, client: httpx.Client
) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(faults={"server_error": 1.0}))
    provider.queue_faults(None, "overloaded")
    statuses = [post(client, provider).status_code for _ in range(3)]
    assert statuses == [200, 503, 500]
    with pytest.raises(ValueError, match="unknown fault"):
        provider.queue_faults("gremlins")  # type: ignore[arg-type]


def test_auth_failures_are_not_faults_and_take_no_bucket_token(
    emulator: Emulator, client: httpx.Client
) -> None:
    provider = emulator.add("p", "openai", behaviour=Behaviour(requests_per_minute=1))
    response = client.post(provider.url, json=chat_body(provider))
    assert response.status_code == 401
    assert post(client, provider).status_code == 200
    assert post(client, provider).status_code == 429
