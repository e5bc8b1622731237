"""Nested planning steps in a fragment: the format, the definition one becomes
(``nested_definition``), frames below a template step (``planning_definition``, ``nesting``,
``planned_steps``), the JSON Schema's nested branch, explain, and a validator that never
raises on them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tasker_ctl.errors import PlanningStepError
from tasker_ctl.planning import fragment_json_schema, parse_fragment
from tasker_ctl.planning.explain import explain_fragment
from tasker_ctl.planning.fragment import Fragment, FragmentStep
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.nesting import PLANNER_CALLABLE, nested_definition
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate
from tasker_ctl.template.validator import validate_text
from tests.unit.planning.fragments_support import call, check, fragment, frame, template
from tests.unit.planning.seeded_nested_cases import (
    CHECK,
    NESTED,
    level_one,
    level_two,
    nested_valid,
    planner,
)


def outer() -> StepDefinition:
    step = template(NESTED).step("plan")
    assert step is not None
    return step


def nested_step(**changes: Any) -> FragmentStep:
    data = planner("fix_hosts", "scan", context_from=("scan",), max_steps=4, max_depth=2)
    return FragmentStep.model_validate({**data, **changes})


# -- the format ------------------------------------------------------------------------------


def test_a_planning_step_parses_with_its_planning_object_and_no_handler() -> None:
    parsed = parse_fragment(fragment(call("scan", CHECK), planner("deep", "scan")))
    assert isinstance(parsed, Fragment)
    deep = parsed.steps[1]
    assert (deep.step_type, deep.handler, deep.inputs) == ("planning", None, {})
    assert deep.planning is not None
    assert (deep.planning.max_steps, deep.planning.max_depth) == (3, 2)
    # a dump leaves the absent handler out, so it reads back the same
    dumped = json.loads(parsed.model_dump_json())
    assert "handler" not in dumped["steps"][1]
    assert "planning" not in dumped["steps"][0]
    assert Fragment.model_validate(dumped) == parsed


@pytest.mark.parametrize(
    "key", ["convergence", "allowed_callables", "model", "bounds", "max_nesting"]
)
def test_the_planning_object_is_closed_so_nothing_outer_can_be_renamed(key: str) -> None:
    step = planner("deep")
    step["planning"][key] = "elsewhere"
    findings = parse_fragment(fragment(step))
    assert isinstance(findings, list)
    assert [(f.code, f.path) for f in findings] == [
        ("FRAGMENT_UNKNOWN_KEY", f"$.steps[0].planning.{key}")
    ]
    if key == "convergence":
        assert "inherits" in str(findings[0].hint)


@pytest.mark.parametrize("missing", ["goal", "max_steps", "max_depth"])
def test_goal_and_bounds_are_required_and_bounds_at_least_one(missing: str) -> None:
    step = planner("deep")
    del step["planning"][missing]
    assert isinstance(parse_fragment(fragment(step)), list)
    step = planner("deep")
    if missing != "goal":
        step["planning"][missing] = 0
        assert isinstance(parse_fragment(fragment(step)), list)


def test_a_standard_step_without_a_handler_is_refused_as_handler_missing() -> None:
    findings = parse_fragment(fragment({"name": "a"}))
    assert isinstance(findings, list)
    assert [(f.code, f.path) for f in findings] == [
        ("FRAGMENT_HANDLER_MISSING", "$.steps[0].handler")
    ]


# -- the definition a nested planning step becomes --------------------------------------------


def test_nested_definition_narrows_the_outer_block_to_the_nested_goal_and_bounds() -> None:
    definition = nested_definition(outer(), nested_step(reasoning="the scan found broken hosts"))
    assert definition.name == "fix_hosts"
    assert definition.step_type is StepType.PLANNING
    assert definition.handler.callable == PLANNER_CALLABLE
    assert definition.dependencies == ["scan"]
    assert definition.description == "the scan found broken hosts"
    block, source = definition.planning, outer().planning
    assert block is not None
    assert source is not None
    assert (block.goal, block.context_from) == ("Fix what the scan found", ["scan"])
    assert block.convergence == source.convergence == "report"
    assert block.bounds.model_dump() == {"max_steps": 4, "max_depth": 2, "max_phases": 1}
    assert (block.max_nesting, source.max_nesting) == (1, 2)
    assert block.examples == []
    inherited = [
        "allowed_callables",
        "allowed_patterns",
        "allow_dynamic_composition",
        "model",
        "fallback_models",
        "price",
        "context",
        "max_repairs",
        "max_replans",
        "budget",
    ]
    assert {key: getattr(block, key) for key in inherited} == {
        key: getattr(source, key) for key in inherited
    }
    assert block.context.verbatim_max_bytes == 512  # the fixture's own policy


def test_the_nested_definition_is_a_valid_step_of_a_template_with_it() -> None:
    base = template(NESTED)
    step = planner("fix_hosts", "plan", context_from=("inventory", "plan"))
    definition = nested_definition(outer(), FragmentStep.model_validate(step))
    document = base.model_dump(mode="json", by_alias=True, exclude_none=True)
    dumped = definition.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert StepDefinition.model_validate(dumped) == definition
    for step in document["steps"]:
        if step["name"] == "report":
            step["dependencies"].append("fix_hosts")
    document["steps"].append(dumped)
    assert TaskTemplate.model_validate(document).step("fix_hosts") == definition
    report = validate_text(json.dumps(document))
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == []


def test_a_nested_definition_needs_a_level_left_and_a_planning_step() -> None:
    last = nested_definition(nested_definition(outer(), nested_step()), nested_step(name="deeper"))
    assert last.planning is not None
    assert last.planning.max_nesting == 0
    with pytest.raises(PlanningStepError, match="allows no nested planning"):
        nested_definition(last, nested_step(name="deepest"))
    with pytest.raises(PlanningStepError, match="not a nested planning step"):
        nested_definition(outer(), FragmentStep.model_validate(call("scan", CHECK)))
    inventory = template(NESTED).step("inventory")
    assert inventory is not None
    with pytest.raises(PlanningStepError, match="not a planning step"):
        nested_definition(inventory, nested_step())


# -- frames below a template step --------------------------------------------------------------


def test_a_frame_uses_the_planning_definition_and_knows_the_planned_steps() -> None:
    facts = level_one()
    deep = frame(NESTED, **facts)
    assert deep.step is facts["planning_definition"]
    assert (deep.convergence, deep.nesting, deep.nesting_left) == ("report", 1, 1)
    assert {"scan", "probe", "elsewhere", "deep", "plan", "inventory"} <= deep.frame_steps
    assert deep.upstream == {"scan", "probe", "plan", "inventory"}
    assert deep.result_schema_of("scan") is None  # a callable declares none
    probe = deep.result_schema_of("probe")
    assert "host_id" in json.dumps(probe)
    assert deep.result_schema_of("inventory") == template(NESTED).step("inventory").result_schema  # type: ignore[union-attr]


def test_a_planned_step_name_is_taken_and_its_result_is_read_by_its_definition() -> None:
    facts = level_one()
    taken = check(fragment(call("elsewhere", CHECK)), NESTED, **facts)
    assert [f.code for f in taken.errors] == ["FRAGMENT_STEP_NAME_TAKEN"]
    callable_field = check(
        fragment(call("a", CHECK, x="${steps.scan.result.count}")), NESTED, **facts
    )
    assert [f.code for f in callable_field.errors] == ["FRAGMENT_REFERENCE_NO_SCHEMA"]
    unknown_field = check(
        fragment(call("a", CHECK, x="${steps.probe.result.hostid}")), NESTED, **facts
    )
    assert [f.code for f in unknown_field.errors] == ["FRAGMENT_REFERENCE_UNKNOWN_FIELD"]
    assert "host_id" in (unknown_field.errors[0].hint or "")


def test_without_the_planning_definition_a_planned_step_is_not_found() -> None:
    with pytest.raises(PlanningStepError):
        FragmentFrame(template(NESTED), "deep")


def test_a_planning_definition_must_be_of_the_named_planning_step() -> None:
    facts = level_one()
    with pytest.raises(PlanningStepError, match="not 'other'"):
        FragmentFrame(template(NESTED), "other", planning_definition=facts["planning_definition"])
    scan = facts["planned_steps"]["scan"]
    with pytest.raises(PlanningStepError, match="not a 'type: planning' step"):
        FragmentFrame(template(NESTED), "scan", planning_definition=scan)
    with pytest.raises(PlanningStepError, match="nesting"):
        FragmentFrame(template(NESTED), "plan", nesting=-1)


def test_two_levels_with_max_nesting_two_and_no_third() -> None:
    recon = fragment(call("scan", CHECK), planner("deep", "scan", max_steps=5, max_depth=3))
    assert check(recon, NESTED).accepted
    second = fragment(call("a", CHECK), planner("p2", "a", max_steps=1, max_depth=1))
    assert check(second, NESTED, **level_one()).accepted
    third = check(second, NESTED, **level_two())
    assert [f.code for f in third.errors] == ["FRAGMENT_NESTING_EXCEEDED"]
    assert "level 3" in third.errors[0].message


# -- the JSON Schema ------------------------------------------------------------------------------


def schema(allow_nested: bool) -> Draft202012Validator:
    rendered = fragment_json_schema(
        [CHECK, "ops.checks.db", "ops.fix"], ["http_request"], False, allow_nested
    )
    Draft202012Validator.check_schema(rendered)
    return Draft202012Validator(rendered)


def test_the_nested_branch_appears_only_when_allowed() -> None:
    without = fragment_json_schema([CHECK], [], False)
    assert "NestedPlanning" not in without["$defs"]
    assert "planning" not in without["$defs"]["FragmentStep"]["properties"]
    assert without == fragment_json_schema([CHECK], [], False, allow_nested=False)
    with_nested = fragment_json_schema([CHECK], [], False, allow_nested=True)
    assert {"NestedPlanning", "NestedPlanningStep"} <= set(with_nested["$defs"])
    data = fragment(call("scan", CHECK), planner("deep", "scan"))
    assert not schema(False).is_valid(data)
    assert schema(True).is_valid(data)


@pytest.mark.parametrize(
    "step",
    [
        planner("deep", handler={"callable": CHECK}),
        planner("deep", inputs={"a": "${task.context}"}),
        {"name": "deep", "step_type": "planning"},
        {**call("a", CHECK), "planning": planner("x")["planning"]},
        {**planner("deep"), "planning": {**planner("x")["planning"], "convergence": "c"}},
        {**planner("deep"), "planning": {**planner("x")["planning"], "max_steps": 0}},
    ],
)
def test_the_schema_refuses_what_the_models_refuse(step: dict[str, Any]) -> None:
    data = fragment(step)
    assert isinstance(parse_fragment(data), list)
    assert not schema(True).is_valid(data)


@pytest.mark.parametrize("case", nested_valid(), ids=lambda case: case[0])
def test_every_valid_nested_fragment_validates_against_the_nested_schema(
    case: tuple[str, Any, str, dict[str, Any]],
) -> None:
    _, data, name, facts = case
    result = check(data, name, **facts)
    assert result.accepted
    assert result.fragment is not None
    schema(True).validate(json.loads(result.fragment.model_dump_json()))


# -- explain ------------------------------------------------------------------------------------


def test_explain_shows_a_nested_planner_as_a_leaf_before_the_convergence() -> None:
    data = fragment(call("scan", CHECK), planner("deep", "scan", context_from=("scan",)))
    explanation = explain_fragment(data, frame(NESTED))
    assert explanation.accepted
    deep = explanation.steps[1]
    assert (deep.handler_kind, deep.handler, deep.step_type) == (
        "planning",
        "Fix what the scan found",
        "planning",
    )
    edges = {(edge.source, edge.target, edge.kind) for edge in explanation.edges}
    assert ("deep", "report", "convergence") in edges
    assert ("scan", "deep", "dependency") in edges


def test_explain_names_a_planned_step_as_the_origin_of_an_input() -> None:
    data = fragment(call("a", CHECK, host="${steps.probe.result.host_id}"))
    explanation = explain_fragment(data, frame(NESTED, **level_one()))
    (flow,) = explanation.steps[0].inputs
    assert (flow.origin, flow.type) == ("planned_step", "string")


# -- never raises --------------------------------------------------------------------------------

NAMES = st.sampled_from(["scan", "deep", "p2", "inventory", "side", "report", "probe", "fix"])
JSONISH = st.none() | st.integers(-2, 2_000_000) | st.text(max_size=5) | st.booleans()
PLANNING = st.fixed_dictionaries(
    {},
    optional={
        "goal": st.text(max_size=5) | JSONISH,
        "context_from": st.lists(NAMES, max_size=3) | JSONISH,
        "max_steps": st.integers(-1, 30) | JSONISH,
        "max_depth": st.integers(-1, 10) | JSONISH,
        "convergence": NAMES,
    },
)
STEPS = st.fixed_dictionaries(
    {"name": NAMES},
    optional={
        "step_type": st.sampled_from(["planning", "standard", "deferred_convergence"]),
        "planning": PLANNING | JSONISH,
        "handler": st.sampled_from([{"callable": CHECK}, {"callable": "ops.fix"}, {}]),
        "dependencies": st.lists(NAMES, max_size=3),
        "inputs": st.dictionaries(
            st.sampled_from(["a", "b"]),
            st.sampled_from(["${steps.probe.result.host_id}", "${steps.scan.result}", "x"]),
            max_size=2,
        ),
    },
)
FACTS = st.sampled_from(["template", "one", "two"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STEPS, max_size=6), FACTS, st.none() | st.integers(0, 12), st.none() | NAMES)
def test_nested_fragments_of_any_shape_give_findings_never_an_exception(
    steps: list[dict[str, Any]], level: str, remaining: int | None, convergence: str | None
) -> None:
    facts: dict[str, Any] = {"one": level_one, "two": level_two}.get(level, dict)()
    data = fragment(*steps, **({"convergence": convergence} if convergence else {}))
    result = check(data, NESTED, remaining_steps=remaining, **facts)
    has_error = any(finding.severity is Severity.ERROR for finding in result.findings)
    assert result.accepted == (result.fragment is not None and not has_error)
    assert not any("could not be checked" in finding.message for finding in result.findings)
    if result.accepted:
        assert result.fragment is not None
        dumped = json.loads(result.fragment.model_dump_json())
        schema(True).validate(dumped)
