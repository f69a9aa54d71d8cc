"""`explain --request` reads what an operator has (issue 12): an OpenAI chat-completions body as
the SDK sends it, a recorded traffic record, or the features form; it says which it read, and
refuses anything else clearly. Without --metrics the config's rate limits are what it shows.

docs/examples/openai-request.json is the body the official openai SDK (3.x) sent for
``client.chat.completions.create(...)`` with a system message, a text + image (64x48 PNG, detail
low) user message, an assistant tool call, its tool answer and one tool, captured by a loopback
HTTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmpool_policy.cli import main
from llmpool_policy.cli._request_input import read_request
from llmpool_policy.config import load_config
from llmpool_policy.messages import (
    ChatMessage,
    ChatRequest,
    Tool,
    ToolCall,
    image_message,
    text_message,
)
from llmpool_policy.providers.tokens import estimate_request_tokens

from .conftest import ROOT

CONFIG = ROOT / "tests" / "decide" / "data" / "config.json"
DEFAULT = ROOT / "policies" / "default.policy"
SDK_BODY = ROOT / "docs" / "examples" / "openai-request.json"


def explain(capsys: pytest.CaptureFixture[str], request: Path, *more: str) -> tuple[int, str, str]:
    code = main(
        [
            "explain",
            str(DEFAULT),
            "--config",
            str(CONFIG),
            "--request",
            str(request),
            "--format",
            "json",
            *more,
        ]
    )
    out, err = capsys.readouterr()
    return code, out, err


def features(path: Path) -> dict[str, object]:
    """The features explain decided on (read_request is what explain calls on the file)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    read = read_request(data, exact_tokens=load_config(CONFIG).token_counting)
    return read.request.to_dict()


def write(tmp_path: Path, data: object, name: str = "req.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def test_an_sdk_body_is_read_with_the_features_the_pool_computes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = explain(capsys, SDK_BODY)
    assert code == 0, err
    assert f"read {SDK_BODY} as an OpenAI chat-completions request body" in err
    body = json.loads(SDK_BODY.read_text(encoding="utf-8"))
    image = body["messages"][1]["content"][1]["image_url"]["url"]
    # the same request built with the library, as an application hands it to pool.chat()
    same = ChatRequest(
        messages=(
            text_message("system", "You are a terse assistant for the search team."),
            image_message("user", "What is in this picture?", image, detail="low"),
            ChatMessage(
                "assistant", "", tool_calls=(ToolCall("call_1", "lookup", '{"q": "picture"}'),)
            ),
            ChatMessage("tool", "a black rectangle", tool_call_id="call_1"),
        ),
        tools=(Tool("lookup", "Search the index", body["tools"][0]["function"]["parameters"]),),
    )
    tokens = estimate_request_tokens(same, exact=load_config(CONFIG).token_counting)
    got = features(SDK_BODY)
    assert got["input_tokens"] == tokens > 0
    assert f"messages 4, input_tokens {tokens}, max_tokens 300, images 1, tools 1" in err
    assert (got["messages"], got["images"], got["tools"], got["max_tokens"]) == (4, 1, 1, 300)
    assert (got["model"], got["user"], got["temperature"]) == ("gpt-4o-mini", "u-1042", 0.2)
    assert got["metadata"] == {"team": "search"}


def test_a_traffic_record_is_read_as_simulate_reads_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    record = {
        "id": "r-7",
        "ts": 1733400000.5,
        "tenant": "acme",
        "input_tokens": 900,
        "output_tokens": 120,
        "max_tokens": 400,
        "images": 2,
        "attempts": [{"provider": "openai-gpt4o", "status": 200, "latency_s": 1.2}],
    }
    path = write(tmp_path, json.dumps(record) + "\n", "one.jsonl")
    code, _, err = explain(capsys, path)
    assert code == 0, err
    assert "as a recorded traffic record: messages 1, input_tokens 900, max_tokens 400" in err
    got = features(path)
    assert (got["id"], got["input_tokens"], got["max_tokens"], got["images"]) == (
        "r-7",
        900,
        400,
        2,
    )
    assert got["metadata"] == {"tenant": "acme"}  # a record's tenant reads as metadata.tenant


def test_the_features_form_still_works_and_is_named(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = write(tmp_path, {"id": "q", "input_tokens": 10, "images": 1})
    code, _, err = explain(capsys, path)
    assert code == 0, err
    assert "as request features" in err
    assert features(path)["input_tokens"] == 10


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"prompt": "hi"}, ["not a request explain reads", "`messages` list", "`ts`", "'prompt'"]),
        ({"id": "q", "input_tokns": 5}, ["did you mean 'input_tokens'?"]),
        ({"id": "q", "tenant": "a", "input_tokens": 1}, ["recorded traffic record", "ts"]),
        ({"messages": []}, ["/messages: a request needs at least one message"]),
        ({"messages": [{"role": "robot", "content": "x"}]}, ["/messages/0/role: must be one of"]),
        (
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "image_url",
                                "image_url": {"url": "data:image/png;base64,AAAA"},
                            }
                        ],
                    }
                ]
            },
            ["/messages/0/content/0/image_url/url"],
        ),
        ({"id": "q", "images": -1}, ["read as request features", "images must be"]),
        (
            '{"id": "a", "ts": 1, "input_tokens": 1}\n{"id": "b", "ts": 2, "input_tokens": 1}\n',
            ["2 JSON lines", "explain reads one request"],
        ),
        ("[1, 2]", ["a request is a JSON object"]),
        ("{nope", ["not valid JSON"]),
    ],
)
def test_input_that_matches_no_form_is_refused_saying_what_each_needs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, data: object, says: list[str]
) -> None:
    code, out, err = explain(capsys, write(tmp_path, data))
    assert code == 2 and out == ""
    assert err.startswith("llmpool-policy: bad request file ")
    assert "Traceback" not in err
    for said in says:
        assert said in err, err


def test_parts_the_estimate_cannot_read_are_named_not_dropped_silently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    body = {
        "model": "gpt-4o",
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "transcribe"},
                    {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
                ],
            }
        ],
    }
    code, _, err = explain(capsys, write(tmp_path, body))
    assert code == 0
    assert "left out of the estimate: 1 input_audio content part(s)" in err


def test_without_metrics_the_config_limits_are_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = write(tmp_path, {"id": "q", "input_tokens": 10})
    main(["explain", str(DEFAULT), "--config", str(CONFIG), "--request", str(request)])
    out = capsys.readouterr().out
    # tests/decide/data/config.json: openai-gpt4o has rpm 500 and rpd 10000
    assert "+ openai-gpt4o (" in out
    line = next(x for x in out.splitlines() if "+ openai-gpt4o (" in x)
    assert "rpm.remaining=500" in line and "rpd.remaining=10000" in line


def test_a_what_if_that_does_not_state_a_limit_keeps_the_config_one(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    request = write(tmp_path, {"id": "q", "input_tokens": 10})
    metrics = write(
        tmp_path,
        {
            "providers": {
                "openai-gpt4o": {"rpm_used": 499},
                "anthropic-sonnet": {"rpm_remaining": 0},
            }
        },
        "m.json",
    )
    main(
        [
            "explain",
            str(DEFAULT),
            "--config",
            str(CONFIG),
            "--request",
            str(request),
            "--metrics",
            str(metrics),
        ]
    )
    out = capsys.readouterr().out
    assert "rpm.remaining=1," in next(x for x in out.splitlines() if "openai-gpt4o (" in x)
    assert "anthropic-sonnet: removed" in out
