"""The fragment models: the shapes they take and the ones they refuse, as coded findings."""

from __future__ import annotations

from typing import Any

import pytest

from tasker_ctl.planning import (
    CallableHandler,
    CompositionHandler,
    Fragment,
    GrammarHandler,
    InputReference,
    parse_fragment,
)
from tasker_ctl.planning.findings import MAX_FINDINGS
from tasker_ctl.planning.fragment import MAX_FRAGMENT_STEPS, MAX_INPUTS
from tasker_ctl.template.diagnostics import Finding, Severity
from tasker_ctl.template.limits import MAX_STEP_NAME
from tests.unit.planning.examples import (
    CALLABLE_STEP,
    COMPOSITION_STEP,
    EXAMPLES,
    GRAMMAR_STEP,
    fragment,
)


def parsed(data: dict[str, Any]) -> Fragment:
    result = parse_fragment(data)
    assert isinstance(result, Fragment), result
    return result


def refused(data: object) -> list[Finding]:
    result = parse_fragment(data)
    assert isinstance(result, list), result
    assert result
    assert all(finding.severity is Severity.ERROR for finding in result)
    return result


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    return findings[0]


@pytest.mark.parametrize("data", EXAMPLES)
def test_example_fragments_parse(data: dict[str, Any]) -> None:
    assert parsed(data).fragment_version == "1.0"


def test_each_handler_shape_parses_to_its_own_model() -> None:
    steps = parsed(fragment(GRAMMAR_STEP, CALLABLE_STEP, COMPOSITION_STEP)).steps
    assert isinstance(steps[0].handler, GrammarHandler)
    assert steps[0].handler.config == {"resource": "crm", "entity": "v1/customers"}
    assert isinstance(steps[1].handler, CallableHandler)
    assert steps[1].handler.callable == "orders.ScoreRisk"
    assert isinstance(steps[2].handler, CompositionHandler)
    assert steps[2].handler.composition.invocations is not None


def test_inputs_parse_into_typed_references() -> None:
    steps = parsed(fragment(GRAMMAR_STEP, CALLABLE_STEP, COMPOSITION_STEP)).steps
    assert steps[0].inputs["customer_id"] == InputReference(
        root="task_context", path=("order", "customer_id")
    )
    assert steps[1].inputs["customer"] == InputReference(root="step_result", step="fetch_customer")
    assert steps[2].inputs["score"] == InputReference(
        root="step_result", step="score_risk", path=("score",)
    )
    assert str(steps[2].inputs["score"]) == "${steps.score_risk.result.score}"


def test_models_are_frozen() -> None:
    step = parsed(fragment(CALLABLE_STEP)).steps[0]
    with pytest.raises(ValueError, match="frozen"):
        step.name = "other"


def test_two_handler_shapes_at_once_are_refused_at_the_handler() -> None:
    step = GRAMMAR_STEP | {"handler": {"grammar": "http_request", "callable": "orders.Notify"}}
    finding = only(refused(fragment(CALLABLE_STEP, step)))
    assert finding.code == "FRAGMENT_HANDLER_AMBIGUOUS"
    assert finding.path == "$.steps[1].handler"
    assert "grammar and callable" in finding.message


def test_a_handler_of_no_known_shape_is_refused() -> None:
    finding = only(refused(fragment(CALLABLE_STEP | {"handler": {"callabel": "x"}})))
    assert (finding.code, finding.path) == ("FRAGMENT_HANDLER_MISSING", "$.steps[0].handler")
    finding = only(refused(fragment(CALLABLE_STEP | {"handler": "orders.Notify"})))
    assert (finding.code, finding.path) == ("FRAGMENT_SCHEMA_INVALID", "$.steps[0].handler")
    assert "'orders.Notify'" in finding.message


@pytest.mark.parametrize(
    "reference",
    [
        "${task.ctx.order}",
        "task.context.order",
        "${steps.a.b.result}",
        "${steps.fetch_customer.output.x}",
        "${task.context.}",
        "${task.context.order}; drop",
        "${steps.9bad.result}",
    ],
)
def test_anything_but_a_known_reference_is_refused(reference: str) -> None:
    finding = only(refused(fragment(GRAMMAR_STEP | {"inputs": {"customer_id": reference}})))
    assert finding.code == "FRAGMENT_REFERENCE_INVALID"
    assert finding.path == "$.steps[0].inputs.customer_id"
    assert repr(reference) in finding.message


def test_a_non_string_input_is_a_reference_error() -> None:
    finding = only(refused(fragment(GRAMMAR_STEP | {"inputs": {"customer_id": 7}})))
    assert finding.code == "FRAGMENT_REFERENCE_INVALID"


@pytest.mark.parametrize(
    ("data", "path", "hint"),
    [
        (fragment(CALLABLE_STEP | {"dependecies": []}), "$.steps[0].dependecies", "dependencies"),
        (fragment(CALLABLE_STEP) | {"planing_context": {}}, "$.planing_context", None),
        (
            fragment(CALLABLE_STEP | {"handler": {"callable": "x", "method": "run"}}),
            "$.steps[0].handler.method",
            None,
        ),
        (
            fragment(CALLABLE_STEP) | {"resource_bounds": {"max_downstream_step": 1}},
            "$.resource_bounds.max_downstream_step",
            "max_downstream_steps",
        ),
    ],
)
def test_unknown_keys_are_refused_with_a_suggestion(
    data: dict[str, Any], path: str, hint: str | None
) -> None:
    finding = next(f for f in refused(data) if f.code == "FRAGMENT_UNKNOWN_KEY")
    assert finding.path == path
    if hint is not None:
        assert finding.hint == f"did you mean '{hint}'?"


def test_size_bounds_are_refused_by_the_models() -> None:
    steps = [CALLABLE_STEP | {"name": f"s{index}", "dependencies": []} for index in range(101)]
    assert len(steps) > MAX_FRAGMENT_STEPS
    finding = only(refused(fragment(*steps)))
    assert (finding.code, finding.path) == ("FRAGMENT_TOO_LARGE", "$.steps")

    long_name = CALLABLE_STEP | {"name": "n" * (MAX_STEP_NAME + 1)}
    finding = only(refused(fragment(long_name)))
    assert (finding.code, finding.path) == ("FRAGMENT_TOO_LARGE", "$.steps[0].name")

    inputs = {f"i{index}": "${task.context.x}" for index in range(MAX_INPUTS + 1)}
    finding = only(refused(fragment(CALLABLE_STEP | {"inputs": inputs})))
    assert (finding.code, finding.path) == ("FRAGMENT_TOO_LARGE", "$.steps[0].inputs")


def test_repeated_dependencies_and_names_and_a_stray_convergence_are_refused() -> None:
    repeated = CALLABLE_STEP | {"dependencies": ["fetch_customer", "fetch_customer"]}
    finding = only(refused(fragment(GRAMMAR_STEP, repeated)))
    assert finding.code == "FRAGMENT_DEPENDENCY_DUPLICATE"
    assert finding.path == "$.steps[1].dependencies"

    finding = only(refused(fragment(CALLABLE_STEP, CALLABLE_STEP)))
    assert (finding.code, finding.path) == ("FRAGMENT_STEP_DUPLICATE", "$.steps")
    assert "score_risk" in finding.message

    finding = only(refused(fragment(CALLABLE_STEP, convergence="notify")))
    assert (finding.code, finding.path) == ("FRAGMENT_CONVERGENCE_UNKNOWN", "$.convergence")


def test_wrong_types_and_versions_are_schema_findings_not_tracebacks() -> None:
    findings = refused(fragment(CALLABLE_STEP) | {"fragment_version": "2.0"})
    assert [(f.code, f.path) for f in findings] == [
        ("FRAGMENT_SCHEMA_INVALID", "$.fragment_version")
    ]
    assert "'2.0'" in findings[0].message
    context = {"goal": "g", "reasoning": "r", "estimated_steps": -1, "estimated_depth": "2"}
    paths = {f.path for f in refused(fragment(CALLABLE_STEP) | {"planning_context": context})}
    assert paths == {"$.planning_context.estimated_steps", "$.planning_context.estimated_depth"}
    assert only(refused(["not", "a", "fragment"])).path == "$"


def test_step_types_are_those_of_ordinary_template_steps_or_a_nested_planner() -> None:
    finding = only(refused(fragment(CALLABLE_STEP | {"step_type": "decision"})))
    assert (finding.code, finding.path) == ("FRAGMENT_SCHEMA_INVALID", "$.steps[0].step_type")
    # a nested planner has no handler: the engine plans it
    finding = only(refused(fragment(CALLABLE_STEP | {"step_type": "planning"})))
    assert (finding.code, finding.path) == ("FRAGMENT_PLANNING_STEP_INVALID", "$.steps[0].handler")


def test_the_source_names_the_file_of_each_finding() -> None:
    result = parse_fragment(fragment(CALLABLE_STEP | {"name": ""}), source="planner answer")
    assert isinstance(result, list)
    assert result[0].file == "planner answer"


def test_keys_the_planner_wrote_stay_in_the_path_whatever_their_text() -> None:
    inputs = {"grammar_handler": "${bad}", "a[0]": "${task.context.x}"}
    findings = refused(fragment(CALLABLE_STEP | {"inputs": inputs}))
    assert [f.path for f in findings] == ["$.steps[0].inputs.grammar_handler"]
    step = CALLABLE_STEP | {"handler": {"grammar": "http_request", "config": []}}
    assert only(refused(fragment(step))).path == "$.steps[0].handler.config"


def test_the_findings_of_one_fragment_are_capped() -> None:
    inputs = {f"k{index}": 3 for index in range(MAX_INPUTS)}
    steps = [CALLABLE_STEP | {"name": f"s{index}", "inputs": inputs} for index in range(3)]
    findings = refused(fragment(*steps))
    assert len(findings) == MAX_FINDINGS + 1
    assert findings[-1].code == "FRAGMENT_TOO_LARGE"
    assert (
        findings[-1].message == f"{3 * MAX_INPUTS - MAX_FINDINGS} further problems are not listed"
    )
