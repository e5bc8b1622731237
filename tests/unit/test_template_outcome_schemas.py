"""RESULT_SCHEMA_EXCLUDES_OUTCOME: a decision or batchable step's result_schema must be able to
hold its outcome, and the check reports only schemas that certainly cannot.

Each case is also put to the validator the engine checks results with: a schema reported
rejects every sample outcome result, and a schema not reported accepts one of them (the
check never reports a schema that some result would pass)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasker_ctl.schema_refs import build_validator
from tasker_ctl.template import validate_text
from tasker_ctl.template.diagnostics import Finding, Severity
from tests.conftest import PROJECT_ROOT

CODE = "RESULT_SCHEMA_EXCLUDES_OUTCOME"

DECISION_RESULTS: list[dict[str, Any]] = [
    {"decision_point_outcome": {"type": "no_branches"}},
    {"decision_point_outcome": {"type": "create_steps", "step_names": ["manual"]}},
    {"decision_point_outcome": {"type": "no_branches"}, "reason": "r", "route": "x"},
]
BATCH_RESULTS: list[dict[str, Any]] = [
    {"batch_processing_outcome": {"type": "no_batches"}},
    {
        "batch_processing_outcome": {
            "type": "create_batches",
            "worker_template_name": "work",
            "worker_count": 1,
            "cursor_configs": [
                {"batch_id": "001", "start_cursor": 0, "end_cursor": 1, "batch_size": 1}
            ],
            "total_items": 1,
        }
    },
]


def decision_template(schema: Any, *, step_type: str = "decision") -> str:
    return (
        "name: t\nnamespace_name: ns\nversion: 1.0.0\nsteps:\n"
        "  - name: intake\n    handler: {callable: x.Intake}\n"
        f"  - name: route\n    type: {step_type}\n    dependencies: [intake]\n"
        "    handler: {callable: x.Route}\n"
        f"    result_schema: {json.dumps(schema)}\n"
        "  - name: manual\n    dependencies: [route]\n    handler: {callable: x.Manual}\n"
    )


def batch_template(schema: Any) -> str:
    return (
        "name: t\nnamespace_name: ns\nversion: 1.0.0\nsteps:\n"
        "  - name: split\n    type: batchable\n"
        "    handler: {callable: x.Split, initialization: {worker_template_name: work}}\n"
        f"    result_schema: {json.dumps(schema)}\n"
        "  - name: work\n    type: batch_worker\n    dependencies: [split]\n"
        "    handler: {callable: x.Work}\n"
        "    batch_config: {batch_size: 10, worker_template: work, failure_strategy: fail_fast}\n"
        "  - name: total\n    type: deferred_convergence\n    dependencies: [work]\n"
        "    handler: {callable: x.Total}\n"
    )


def excluded(text: str) -> list[Finding]:
    return [f for f in validate_text(text).findings if f.code == CODE]


def accepts_any(schema: Any, results: list[dict[str, Any]]) -> bool:
    validator = build_validator(schema)
    return any(validator.is_valid(result) for result in results)


CLOSED = {"type": "object", "additionalProperties": False, "properties": {"a": {}}}
OUTCOME_TYPE = {"type": {"enum": ["approve", "reject"]}}

REPORTED: dict[str, tuple[Any, str]] = {
    "closed object": (CLOSED, "$.steps[1].result_schema.additionalProperties"),
    "not an object": ({"type": "array"}, "$.steps[1].result_schema.type"),
    "false": (False, "$.steps[1].result_schema"),
    "outcome false": (
        {"properties": {"decision_point_outcome": False}},
        "$.steps[1].result_schema.properties.decision_point_outcome",
    ),
    "outcome a string": (
        {"properties": {"decision_point_outcome": {"type": "string"}}},
        "$.steps[1].result_schema.properties.decision_point_outcome.type",
    ),
    "outcome type never one of them": (
        {"properties": {"decision_point_outcome": {"properties": OUTCOME_TYPE}}},
        "$.steps[1].result_schema.properties.decision_point_outcome.properties.type",
    ),
    "outcome type const": (
        {"properties": {"decision_point_outcome": {"properties": {"type": {"const": "go"}}}}},
        "$.steps[1].result_schema.properties.decision_point_outcome.properties.type",
    ),
    "outcome closed without type": (
        {
            "properties": {
                "decision_point_outcome": {"additionalProperties": False, "properties": {}}
            }
        },
        "$.steps[1].result_schema.properties.decision_point_outcome.additionalProperties",
    ),
    "through a $ref": (
        {"$ref": "#/$defs/Result", "$defs": {"Result": CLOSED}},
        "$.steps[1].result_schema['$defs'].Result.additionalProperties",
    ),
    "an allOf member": ({"allOf": [{"type": "object"}, CLOSED]}, ""),
    "every anyOf member": ({"anyOf": [CLOSED, {"type": "string"}]}, ""),
    "additional properties of another type": (
        {"additionalProperties": {"type": "string"}},
        "$.steps[1].result_schema.additionalProperties.type",
    ),
    "property names": ({"propertyNames": {"pattern": "^[a-z]+$"}}, ""),
    "enum of objects without it": ({"enum": [{"a": 1}]}, ""),
    "no properties at all": ({"maxProperties": 0}, ""),
}

NOT_REPORTED: dict[str, Any] = {
    "open object": {"type": "object"},
    "true": True,
    "declared in a closed object": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"decision_point_outcome": {"type": "object"}, "reason": {}},
    },
    "nullable object": {"type": ["object", "null"]},
    "pattern properties": {"additionalProperties": False, "patternProperties": {"^decision": {}}},
    "one anyOf member allows it": {"anyOf": [CLOSED, {"type": "object"}]},
    "type enum with one of them": {
        "properties": {
            "decision_point_outcome": {"properties": {"type": {"enum": ["no_branches"]}}}
        }
    },
    # before 2019-09 a $ref's siblings are ignored: the closed sibling does not apply
    "draft-07 $ref siblings": {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "definitions": {"Open": {"type": "object"}},
        "$ref": "#/definitions/Open",
        "additionalProperties": False,
    },
    "a recursive definition": {
        "$defs": {"Node": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Node"}}}},
        "properties": {"decision_point_outcome": {"$ref": "#/$defs/Node"}},
    },
    "a type through a $ref that allows it": {
        "$defs": {"Kind": {"enum": ["create_steps", "no_branches"]}},
        "properties": {
            "decision_point_outcome": {
                "additionalProperties": False,
                "properties": {"type": {"$ref": "#/$defs/Kind"}, "step_names": {}},
            }
        },
    },
}


@pytest.mark.parametrize("case", sorted(REPORTED))
def test_a_schema_that_cannot_hold_the_outcome_is_reported(case: str) -> None:
    schema, path = REPORTED[case]
    assert not accepts_any(schema, DECISION_RESULTS)
    [finding] = excluded(decision_template(schema))
    assert finding.severity is Severity.ERROR
    assert finding.step == "route"
    assert finding.line is not None
    assert "can never hold its decision_point_outcome" in finding.message
    assert "RESULT_SCHEMA_VIOLATION" in finding.message
    assert finding.hint is not None
    assert "'create_steps' or 'no_branches'" in finding.hint
    if path:
        assert finding.path == path


@pytest.mark.parametrize("case", sorted(NOT_REPORTED))
def test_a_schema_that_can_hold_the_outcome_is_not_reported(case: str) -> None:
    schema = NOT_REPORTED[case]
    assert accepts_any(schema, DECISION_RESULTS)
    assert excluded(decision_template(schema)) == []


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "#"},
        {"$ref": "#/$defs/A", "$defs": {"A": {"allOf": [{"$ref": "#/$defs/A"}]}}},
        {"$ref": "#/$defs/missing"},
        {"$ref": "https://example.com/schema.json"},
    ],
)
def test_references_that_loop_or_lead_nowhere_are_given_the_benefit_of_the_doubt(
    schema: Any,
) -> None:
    assert excluded(decision_template(schema)) == []


def test_the_message_names_the_keyword_at_fault() -> None:
    [finding] = excluded(decision_template(CLOSED))
    assert "result_schema.additionalProperties is false" in finding.message
    assert "'decision_point_outcome' is not among its properties" in finding.message
    [finding] = excluded(
        decision_template({"properties": {"decision_point_outcome": {"properties": OUTCOME_TYPE}}})
    )
    assert (
        "result_schema.properties.decision_point_outcome.properties.type allows neither "
        "'create_steps' nor 'no_branches'" in finding.message
    )


def test_only_decision_and_batchable_steps_are_checked() -> None:
    assert excluded(decision_template(CLOSED, step_type="standard")) == []


def test_a_batchable_step_must_hold_its_batch_outcome() -> None:
    assert not accepts_any(CLOSED, BATCH_RESULTS)
    [finding] = excluded(batch_template(CLOSED))
    assert finding.step == "split"
    assert "batchable step 'split' can never hold its batch_processing_outcome" in finding.message
    assert finding.hint is not None
    assert "'create_batches' or 'no_batches'" in finding.hint
    wrong_type = {"properties": {"batch_processing_outcome": {"properties": OUTCOME_TYPE}}}
    assert len(excluded(batch_template(wrong_type))) == 1
    declared = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"batch_processing_outcome": {"type": "object"}},
    }
    assert accepts_any(declared, BATCH_RESULTS)
    assert excluded(batch_template(declared)) == []


def test_the_examples_and_the_rich_template_hold_their_outcomes() -> None:
    paths = [
        *sorted((PROJECT_ROOT / "examples" / "templates").glob("*.yaml")),
        PROJECT_ROOT / "tests" / "fixtures" / "templates" / "valid" / "rich.yaml",
    ]
    for path in paths:
        assert excluded(path.read_text(encoding="utf-8")) == [], path


def test_the_template_format_says_what_an_outcome_step_result_must_allow() -> None:
    reference = (PROJECT_ROOT / "docs" / "template-format.md").read_text(encoding="utf-8")
    assert CODE in reference
    assert "decision_point_outcome" in reference
    assert "batch_processing_outcome" in reference


def test_the_docs_say_what_choosing_no_branches_does() -> None:
    """Tasker Core's no_branches creates no step, so no convergence step behind the decision
    (tests/integration/engine/test_decision_no_branches.py runs it): each page that explains
    decisions says so."""
    docs = PROJECT_ROOT / "docs"
    for page in ("template-format.md", "sdk.md", "engine.md"):
        text = " ".join((docs / page).read_text(encoding="utf-8").split())
        assert "no `deferred_convergence` step behind the decision" in text, page
