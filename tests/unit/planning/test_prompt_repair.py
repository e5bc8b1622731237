"""Repair requests: the original request, the last answer (cut) and its findings, never the
history, so that every attempt's request stays within 1.25 times the first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tasker_ctl.planning.findings import fragment_finding
from tasker_ctl.planning.planner import open_planner
from tasker_ctl.planning.prompt import (
    MAX_REPAIR_FINDINGS,
    REPAIR_GROWTH,
    render_finding,
    repair_request,
)
from tasker_ctl.template.diagnostics import Finding
from tests.openai_server import OpenAIServer
from tests.unit.planning.prompt_template import research_prompt, research_template


def _findings(count: int) -> list[Finding]:
    return [
        fragment_finding(
            "FRAGMENT_SCHEMA_INVALID",
            f"value {index} is not of the type the schema wants: " + "detail " * 20,
            source="answer",
            path=("steps", index, "inputs"),
            hint="see the tool schema",
        )
        for index in range(count)
    ]


def _invalid_answer(attempt: int, size: int = 40 * 1024) -> str:
    start = f'{{"attempt": {attempt}, "steps": ['
    return start + "x" * (size - len(start))


@pytest.mark.parametrize("dynamic", [True, False])
def test_every_attempt_stays_within_the_bound_with_a_40_kb_answer(
    tmp_path: Path, dynamic: bool
) -> None:
    first = research_prompt(research_template(tmp_path, dynamic=dynamic))
    for attempt in range(2, 5):
        repair = repair_request(first, _invalid_answer(attempt), _findings(20))
        assert repair.size <= REPAIR_GROWTH * first.request.size, attempt
        assert repair.prompt.startswith(first.request.prompt)
        assert (repair.system, repair.tool_schema) == (
            first.request.system,
            first.request.tool_schema,
        )
        assert "40960 bytes; the first" in repair.prompt  # says how much was cut


def test_findings_are_one_line_each_with_stage_code_path_message_hint() -> None:
    [finding] = _findings(1)
    line = render_finding(finding)
    assert "\n" not in line
    assert line.startswith("stage 1 FRAGMENT_SCHEMA_INVALID at $.steps[0].inputs: value 0")
    assert line.endswith("(hint: see the tool schema)")


def test_at_most_so_many_findings_are_listed_and_the_rest_counted(tmp_path: Path) -> None:
    first = research_prompt(research_template(tmp_path))
    repair = repair_request(first, "{}", _findings(MAX_REPAIR_FINDINGS + 7))
    listed = [line for line in repair.prompt.splitlines() if line.startswith("- stage ")]
    assert 0 < len(listed) <= MAX_REPAIR_FINDINGS
    assert "more findings not shown)" in repair.prompt


def test_a_short_answer_is_shown_whole(tmp_path: Path) -> None:
    first = research_prompt(research_template(tmp_path))
    repair = repair_request(first, '{"steps": 3}', _findings(1))
    assert 'Your last answer (12 bytes):\n{"steps": 3}\n' in repair.prompt


def test_the_model_receives_only_the_last_answer(
    tmp_path: Path, openai_server: OpenAIServer
) -> None:
    first = research_prompt(research_template(tmp_path))
    openai_server.push(*({"tool_arguments": "{}"} for _ in range(3)))
    planner = open_planner(openai_server.spec())
    planner.propose(first.request)
    for attempt in (2, 3):
        planner.propose(repair_request(first, _invalid_answer(attempt, 500), _findings(3)))
    user_messages = [
        next(m["content"] for m in body["messages"] if m["role"] == "user")
        for body in openai_server.requests
    ]
    assert '"attempt": 2' in user_messages[1]
    assert '"attempt": 3' in user_messages[2]
    assert '"attempt": 2' not in user_messages[2]
    sizes = [len(json.dumps(body).encode()) for body in openai_server.requests]
    assert max(sizes[1:]) <= REPAIR_GROWTH * sizes[0]
