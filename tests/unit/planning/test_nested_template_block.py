"""The planning block's fields for multi-phase and nested planning: their defaults, their
ranges, and what validate says about a bad fallback model or context policy."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tasker_ctl.template.model import PlanningBlock, PlanningContextPolicy
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
      allowed_callables: [a.work]
{block}
  - name: done
    type: deferred_convergence
    dependencies: [plan]
    handler: {{callable: a.done}}
"""


def findings(block: str) -> list[tuple[str, str]]:
    indented = "\n".join("      " + line for line in block.strip().splitlines())
    report = validate_text(TEMPLATE.format(block=indented))
    return [
        (finding.code, finding.path)
        for finding in report.findings
        if finding.severity.value == "error"
    ]


def test_the_new_fields_default_to_no_nesting_no_replans_and_the_seed_context_policy() -> None:
    block = PlanningBlock(convergence="done")
    assert (block.max_nesting, block.max_replans, block.fallback_models) == (0, 0, [])
    assert block.context == PlanningContextPolicy(
        verbatim_max_bytes=1024,
        summary_max_bytes=10_240,
        summarize_max_bytes=102_400,
        prompt_max_tokens=16_000,
    )


def test_the_new_fields_are_read_from_a_template() -> None:
    block = PlanningBlock.model_validate(
        {
            "convergence": "done",
            "max_nesting": 2,
            "max_replans": 5,
            "fallback_models": ["openai:gpt-4.1-mini", "replay:answers.json"],
            "context": {"verbatim_max_bytes": 10, "prompt_max_tokens": 1},
        }
    )
    assert (block.max_nesting, block.max_replans) == (2, 5)
    assert block.fallback_models == ["openai:gpt-4.1-mini", "replay:answers.json"]
    assert (block.context.verbatim_max_bytes, block.context.summary_max_bytes) == (10, 10_240)


@pytest.mark.parametrize(
    "data",
    [
        {"max_nesting": 6},
        {"max_nesting": -1},
        {"max_replans": 6},
        {"max_nesting": True},
        {"fallback_models": "openai:gpt-4.1-mini"},
        {"context": {"verbatim_max_bytes": 0}},
        {"context": {"prompt_max_tokens": 0}},
        {"context": {"summary_bytes": 10}},
    ],
)
def test_out_of_range_or_unknown_values_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PlanningBlock.model_validate({"convergence": "done", **data})


def test_a_valid_block_with_every_new_field_has_no_error() -> None:
    assert (
        findings(
            """
max_nesting: 1
max_replans: 2
fallback_models: ["anthropic:claude-sonnet-4-0", "ollama:qwen2.5-coder:7b"]
context: {verbatim_max_bytes: 10, summary_max_bytes: 10, summarize_max_bytes: 20}
"""
        )
        == []
    )


def test_a_bad_fallback_model_is_located_at_its_index() -> None:
    found = findings('fallback_models: ["openai:gpt-4.1-mini", "gpt-4.1", "nobody:x"]')
    assert found == [
        ("PLANNING_MODEL_INVALID", "$.steps[0].planning.fallback_models[1]"),
        ("PLANNING_MODEL_INVALID", "$.steps[0].planning.fallback_models[2]"),
    ]


@pytest.mark.parametrize(
    ("policy", "where"),
    [
        ("{verbatim_max_bytes: 4096, summary_max_bytes: 2048}", "summary_max_bytes"),
        ("{summary_max_bytes: 500}", "summary_max_bytes"),
        ("{summarize_max_bytes: 2000}", "summarize_max_bytes"),
        ("{verbatim_max_bytes: 20000}", "verbatim_max_bytes"),
    ],
)
def test_decreasing_context_thresholds_are_reported(policy: str, where: str) -> None:
    assert findings(f"context: {policy}") == [
        ("PLANNING_CONTEXT_POLICY_INVALID", f"$.steps[0].planning.context.{where}")
    ]


def test_a_context_value_below_one_is_out_of_range() -> None:
    assert findings("context: {prompt_max_tokens: 0}") == [
        ("VALUE_OUT_OF_RANGE", "$.steps[0].planning.context.prompt_max_tokens")
    ]
