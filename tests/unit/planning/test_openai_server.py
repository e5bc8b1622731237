"""The loopback OpenAI-protocol server answers its script in order and keeps what it got."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from tests.openai_server import DEFAULT_USAGE, OpenAIServer


def _post(server: OpenAIServer, body: dict[str, Any], path: str = "/v1/chat/completions") -> Any:
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_answers_follow_the_script_and_requests_are_kept() -> None:
    tools = [{"type": "function", "function": {"name": "my_tool", "parameters": {}}}]
    script = [
        {"tool_arguments": '{"a": 1}'},
        {"text": "hello", "usage": {"prompt_tokens": 1, "completion_tokens": 2}},
        {"text": "bare", "omit_usage": True, "model": "other"},
    ]
    with OpenAIServer(script) as server:
        first = _post(server, {"model": "m", "tools": tools})
        second = _post(server, {"model": "m"})
        third = _post(server, {"model": "m"})
        assert server.requests == [{"model": "m", "tools": tools}, {"model": "m"}, {"model": "m"}]
        assert server.request_sizes[1] == len(json.dumps({"model": "m"}))
    call = first["choices"][0]["message"]["tool_calls"][0]["function"]
    assert call == {"name": "my_tool", "arguments": '{"a": 1}'}
    assert first["usage"] == DEFAULT_USAGE
    assert second["choices"][0]["message"]["content"] == "hello"
    assert second["usage"] == {"prompt_tokens": 1, "completion_tokens": 2}
    assert "usage" not in third
    assert third["model"] == "other"


def test_an_error_status_carries_retry_after() -> None:
    with OpenAIServer([{"status": 429, "retry_after": 7}]) as server:
        with pytest.raises(urllib.error.HTTPError) as caught:
            _post(server, {})
        caught.value.close()
        assert caught.value.code == 429
        assert caught.value.headers["Retry-After"] == "7"


def test_an_exhausted_script_and_an_unknown_path_are_errors(
    openai_server: OpenAIServer,
) -> None:
    with pytest.raises(urllib.error.HTTPError) as caught:
        _post(openai_server, {})
    caught.value.close()
    assert caught.value.code == 500
    with pytest.raises(urllib.error.HTTPError) as unknown:
        _post(openai_server, {}, path="/v1/embeddings")
    unknown.value.close()
    assert unknown.value.code == 404


def test_an_enormous_body_is_sent_as_asked(openai_server: OpenAIServer) -> None:
    openai_server.push({"body_bytes": 2_000_000})
    answer = _post(openai_server, {})
    arguments = answer["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"]
    assert len(arguments) == 2_000_000 + len('{"padding": ""}')
