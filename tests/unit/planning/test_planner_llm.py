"""``open_planner("openai:MODEL@URL")`` through the real OpenAI client, against the loopback
server of tests/openai_server.py: answers, the text fallback, and every failure coded."""

from __future__ import annotations

import json

import pytest

from tasker_ctl.planning import llm
from tasker_ctl.planning.errors import PlannerCallFailed
from tasker_ctl.planning.planner import PlannerRequest, open_planner
from tests.openai_server import OpenAIServer

SCHEMA = {
    "type": "object",
    "properties": {"fragment_version": {"type": "string"}},
    "required": ["fragment_version"],
}


def _request(timeout: float = 5.0) -> PlannerRequest:
    return PlannerRequest(
        system="You plan.",
        prompt="Plan something.",
        tool_schema=SCHEMA,
        max_output_tokens=321,
        timeout_seconds=timeout,
    )


def test_a_tool_call_comes_back_as_written_with_its_usage(openai_server: OpenAIServer) -> None:
    arguments = '{"fragment_version":  "1.0" }'  # spacing kept: the validators read the text
    openai_server.push({"tool_arguments": arguments, "model": "test-model-2026"})
    answer = open_planner(openai_server.spec()).propose(_request())
    assert answer.text == arguments
    assert (answer.tokens_in, answer.tokens_out) == (120, 40)
    assert (answer.provider, answer.model) == ("openai", "test-model-2026")
    assert answer.cost_usd is None
    assert answer.latency_ms >= 0
    [sent] = openai_server.requests
    assert sent["messages"] == [
        {"role": "system", "content": "You plan."},
        {"role": "user", "content": "Plan something."},
    ]
    [tool] = sent["tools"]
    assert tool["function"]["name"] == "propose_fragment"
    assert tool["function"]["parameters"]["properties"] == SCHEMA["properties"]
    assert sent["tool_choice"] == "required"
    assert sent["max_completion_tokens"] == 321


def test_a_text_answer_is_returned_as_text(openai_server: OpenAIServer) -> None:
    openai_server.push({"text": '{"fragment_version": "1.0"}'})
    answer = open_planner(openai_server.spec()).propose(_request())
    assert answer.text == '{"fragment_version": "1.0"}'


def test_missing_usage_is_none_not_zero(openai_server: OpenAIServer) -> None:
    openai_server.push({"tool_arguments": "{}", "omit_usage": True})
    answer = open_planner(openai_server.spec()).propose(_request())
    assert (answer.tokens_in, answer.tokens_out) == (None, None)


def test_a_rate_limit_is_retryable_after_the_wait_asked(openai_server: OpenAIServer) -> None:
    # the SDK retries once (waiting the 0.1 s asked); the second 429 reaches us
    openai_server.push({"status": 429, "retry_after": 0.1}, {"status": 429, "retry_after": 0.1})
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request())
    assert caught.value.code == "PLANNER_RATE_LIMITED"
    assert caught.value.retryable is True
    assert caught.value.retry_after == pytest.approx(0.1)
    assert len(openai_server.requests) == 2  # one retry by the SDK, no more


def test_a_server_error_is_retryable(openai_server: OpenAIServer) -> None:
    openai_server.push({"status": 500}, {"status": 500})
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request())
    assert (caught.value.code, caught.value.retryable) == ("PLANNER_CALL_FAILED", True)
    assert len(openai_server.requests) == 2


def test_a_refused_request_is_not_retryable(openai_server: OpenAIServer) -> None:
    openai_server.push({"status": 401})
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request())
    assert (caught.value.code, caught.value.retryable) == ("PLANNER_CALL_FAILED", False)
    assert len(openai_server.requests) == 1


def test_a_slow_model_times_out_retryably(openai_server: OpenAIServer) -> None:
    openai_server.push({"delay": 3, "tool_arguments": "{}"}, {"delay": 3, "tool_arguments": "{}"})
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request(timeout=0.3))
    assert (caught.value.code, caught.value.retryable) == ("PLANNER_TIMEOUT", True)


def test_an_answer_over_the_cap_is_cut_and_counted(openai_server: OpenAIServer) -> None:
    size = llm.MAX_ANSWER_BYTES + 1000
    openai_server.push({"body_bytes": size})
    answer = open_planner(openai_server.spec()).propose(_request())
    assert len(answer.text.encode()) == llm.MAX_ANSWER_BYTES
    assert answer.truncated_bytes == len(json.dumps({"padding": "x" * size})) - len(answer.text)


def test_a_body_over_the_read_cap_is_refused_unread(openai_server: OpenAIServer) -> None:
    openai_server.push({"body_bytes": llm.MAX_BODY_BYTES + 1}, {"body_bytes": 10})
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request())
    assert (caught.value.code, caught.value.retryable) == ("PLANNER_ANSWER_TOO_LARGE", False)
    assert len(openai_server.requests) == 1  # refused by its length: no retry


def test_a_body_without_a_length_is_cut_at_the_read_cap(openai_server: OpenAIServer) -> None:
    huge = {"body_bytes": llm.MAX_BODY_BYTES + 1, "no_length": True}
    openai_server.push(huge, huge)
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(openai_server.spec()).propose(_request())
    assert (caught.value.code, caught.value.retryable) == ("PLANNER_ANSWER_TOO_LARGE", False)


def test_calls_from_a_running_event_loop_work() -> None:
    import asyncio

    async def inside() -> str:
        with OpenAIServer([{"tool_arguments": "{}"}]) as server:
            return open_planner(server.spec()).propose(_request()).text

    assert asyncio.run(inside()) == "{}"


@pytest.mark.parametrize(
    ("spec", "variable"),
    [
        ("openai:gpt-4.1-mini", "OPENAI_API_KEY"),
        ("anthropic:claude-sonnet-4-5", "ANTHROPIC_API_KEY"),
    ],
)
def test_a_provider_without_its_key_fails_without_a_retry_or_a_connection(
    monkeypatch: pytest.MonkeyPatch, spec: str, variable: str
) -> None:
    monkeypatch.delenv(variable, raising=False)
    with pytest.raises(PlannerCallFailed) as caught:
        open_planner(spec).propose(_request())
    assert caught.value.retryable is False
    assert caught.value.code == "PLANNER_CALL_FAILED"
    assert "no API key" in caught.value.message
    assert variable in (caught.value.hint or "")
