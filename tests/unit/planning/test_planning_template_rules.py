"""The planning block's new fields and what validate checks about them: the model reference,
allowed_callables entries, allowed_patterns, and each few-shot example run through the
fragment validator against the template's own frame."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tasker_ctl.template.model import PlanningBlock
from tasker_ctl.template.rules.planning import model_problem
from tasker_ctl.template.validator import validate_text

TEMPLATE = """
name: t
namespace_name: n
version: "1.0.0"
input_schema: {{type: object, properties: {{ticket: {{type: string}}}}}}
steps:
  - name: plan
    type: planning
    handler: {{callable: a.plan}}
    planning:
      convergence: done
{block}
  - name: done
    type: deferred_convergence
    dependencies: [plan]
    handler: {{callable: a.done}}
"""


def findings(block: str) -> list[tuple[str, str, str]]:
    indented = "\n".join("      " + line for line in block.strip().splitlines())
    report = validate_text(TEMPLATE.format(block=indented))
    return [
        (finding.code, finding.path, finding.message)
        for finding in report.findings
        if finding.code.startswith("PLANNING_")
    ]


def test_the_block_takes_the_planner_settings_with_their_defaults() -> None:
    block = PlanningBlock(convergence="done")
    assert (block.model, block.max_repairs, block.prompt, block.examples) == (None, 2, None, [])
    assert (block.max_output_tokens, block.timeout_seconds, block.price) == (4096, 60, None)
    full = PlanningBlock.model_validate(
        {
            "convergence": "done",
            "model": "ollama:qwen2.5-coder:7b",
            "max_repairs": 0,
            "prompt": "Be brief.",
            "examples": [{"fragment_version": "1.0"}],
            "max_output_tokens": 200_000,
            "timeout_seconds": 0.5,
            "price": {"input_usd_per_million": 0, "output_usd_per_million": 1.5},
        }
    )
    assert full.price is not None
    assert full.price.output_usd_per_million == 1.5


@pytest.mark.parametrize(
    "bad",
    [
        {"max_repairs": 11},
        {"max_repairs": -1},
        {"max_output_tokens": 0},
        {"max_output_tokens": 200_001},
        {"timeout_seconds": 0},
        {"price": {"input_usd_per_million": -1, "output_usd_per_million": 1}},
        {"price": {"input_usd_per_million": 1}},
        {"examples": ["not a mapping"]},
    ],
)
def test_out_of_range_settings_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PlanningBlock.model_validate({"convergence": "done", **bad})


@pytest.mark.parametrize(
    "model",
    [
        "openai:gpt-4.1-mini",
        "anthropic:claude-sonnet-4-0",
        "ollama:qwen2.5-coder:7b",
        "openai:local-model@http://127.0.0.1:8080/v1",
        "openai:m@https://llm.example.com/v1",
        "replay:tests/answers.json",
    ],
)
def test_model_references_that_are_valid(model: str) -> None:
    assert model_problem(model) is None
    assert findings(f"allowed_callables: [a.b]\nmodel: '{model}'") == []


@pytest.mark.parametrize(
    "model",
    [
        "gpt-4.1-mini",
        "gemini:pro",
        "openai:",
        ":x",
        "ollama:m@http://h",
        "openai:m@ftp://h",
        "openai:a b",
    ],
)
def test_model_references_that_are_not(model: str) -> None:
    assert model_problem(model) is not None
    ((code, path, message),) = findings(f"allowed_callables: [a.b]\nmodel: '{model}'")
    assert code == "PLANNING_MODEL_INVALID"
    assert path == "$.steps[0].planning.model"
    assert model in message


def test_allowed_callables_entries_must_be_names_or_globs() -> None:
    found = findings("allowed_callables: [a.b, 'a.*', 'a.**', 'my checks', '*']")
    assert [(code, path) for code, path, _ in found] == [
        ("PLANNING_CALLABLE_ENTRY_INVALID", "$.steps[0].planning.allowed_callables[2]"),
        ("PLANNING_CALLABLE_ENTRY_INVALID", "$.steps[0].planning.allowed_callables[3]"),
        ("PLANNING_CALLABLE_ENTRY_INVALID", "$.steps[0].planning.allowed_callables[4]"),
    ]


def test_allowed_patterns_must_be_catalog_patterns() -> None:
    report = validate_text(
        TEMPLATE.format(block="      allowed_patterns: [http_request, http_requests]")
    )
    (finding,) = [f for f in report.findings if f.code == "PLANNING_PATTERN_UNKNOWN"]
    assert finding.path == "$.steps[0].planning.allowed_patterns[1]"
    assert finding.hint == "did you mean 'http_request'?"


EXAMPLE = """
allowed_callables: ['a.checks.*']
examples:
  - fragment_version: '1.0'
    planning_context: {goal: g, reasoning: r, estimated_steps: 1, estimated_depth: 1}
    steps:
      - name: look
        handler: {callable: a.checks.look}
        inputs: {ticket: '${task.context.ticket}'}
  - fragment_version: '1.0'
    planning_context: {goal: g, reasoning: r, estimated_steps: 2, estimated_depth: 2}
    steps:
      - name: look
        handler: {callable: a.chekcs.look}
        dependencies: [look]
        inputs: {ticket: '${task.context.tikcet}'}
"""


def test_each_example_is_checked_against_the_frame_and_located_inside_it() -> None:
    found = findings(EXAMPLE)
    assert all(code == "PLANNING_EXAMPLE_INVALID" for code, _, _ in found)
    assert [(path, message.split(":")[1].strip()) for _, path, message in found] == [
        (
            "$.steps[0].planning.examples[1].steps[0].handler.callable",
            "FRAGMENT_CALLABLE_NOT_ALLOWED",
        ),
        ("$.steps[0].planning.examples[1].steps[0].dependencies", "FRAGMENT_CYCLE"),
        (
            "$.steps[0].planning.examples[1].steps[0].inputs.ticket",
            "FRAGMENT_REFERENCE_UNKNOWN_FIELD",
        ),
    ]


def test_the_example_template_validates_cleanly() -> None:
    root = Path(__file__).parents[3]
    report = validate_text(
        (root / "examples" / "templates" / "incident_triage.yaml").read_text(encoding="utf-8")
    )
    assert [f.code for f in report.findings] == ["EXTENSION_STEP_TYPE"]
