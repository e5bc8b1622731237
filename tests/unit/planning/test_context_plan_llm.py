"""A summarization request reaches a model as a plain question: no tool is offered or
required, and the answer's text is the summary (through the real adapter, against the
loopback OpenAI-protocol server)."""

from __future__ import annotations

import pytest

from tasker_ctl.planning.context_plan import (
    DefaultContextPolicy,
    plan_input,
    summarization_request,
    summarized,
)
from tasker_ctl.planning.planner import open_planner
from tests.openai_server import OpenAIServer

pytest.importorskip("pydantic_ai")


def test_a_summarization_request_offers_no_tool_and_its_text_is_the_summary() -> None:
    policy = DefaultContextPolicy()
    value = {"rows": [{"n": i, "text": "r" * 100} for i in range(200)]}
    item = plan_input("gather", value, None, policy)
    assert item.strategy == "summarize"
    request = summarization_request(item, value, policy, max_output_tokens=300)
    with OpenAIServer(
        [{"text": "200 rows, numbered 0 to 199, each a 100-character text."}]
    ) as server:
        answer = open_planner(server.spec()).propose(request)
        [sent] = server.requests
    assert "tools" not in sent
    assert "tool_choice" not in sent
    assert sent["max_completion_tokens" if "max_completion_tokens" in sent else "max_tokens"] == 300
    done = summarized(item, answer.text, policy)
    assert done.text == "200 rows, numbered 0 to 199, each a 100-character text."
    assert done.bytes_after == len(done.text.encode())
