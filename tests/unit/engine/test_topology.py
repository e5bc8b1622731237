"""What a decision step's outcome creates: the rules of topology.py on templates, and a
property over random templates and choices."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.errors import DecisionOutcomeError
from tasker_ctl.engine.rules.decisions import (
    DecisionOutcome,
    DecisionSegments,
    NewEdge,
    read_decision_outcome,
)
from tasker_ctl.template.model import StepType, TaskTemplate


def _template(*steps: tuple[str, str, list[str]]) -> TaskTemplate:
    return TaskTemplate.model_validate(
        {
            "name": "t",
            "namespace_name": "n",
            "version": "1.0.0",
            "steps": [
                {"name": name, "type": kind, "handler": {"callable": "h"}, "dependencies": deps}
                for name, kind, deps in steps
            ],
        }
    )


NESTED = _template(
    ("start", "standard", []),
    ("outer", "decision", ["start"]),
    ("left", "standard", ["outer"]),
    ("inner", "decision", ["left"]),
    ("deep_a", "standard", ["inner"]),
    ("deep_b", "standard", ["inner"]),
    ("right", "standard", ["outer"]),
    ("right_more", "standard", ["right", "start"]),
    ("merge", "deferred_convergence", ["left", "right_more"]),
    ("after_merge", "standard", ["merge"]),
    ("inner_merge", "deferred_convergence", ["deep_a", "deep_b"]),
)


def test_segments_stop_at_other_decisions() -> None:
    segments = DecisionSegments(NESTED)
    assert segments.segment("outer") == {
        "left",
        "inner",
        "right",
        "right_more",
        "merge",
        "after_merge",
    }
    assert segments.segment("inner") == {"deep_a", "deep_b", "inner_merge"}


def test_a_decision_behind_a_branch_may_be_chosen_by_name() -> None:
    growth = DecisionSegments(NESTED).growth("outer", ["inner"], existing={"start", "outer"})
    # its own branches are its to choose; its missing parent is the outer decision
    assert [step.name for step in growth.steps] == ["inner"]
    assert set(growth.edges) == {NewEdge("outer", "inner")}


def test_a_branch_brings_dependents_exit_decisions_and_convergence() -> None:
    growth = DecisionSegments(NESTED).growth("outer", ["left"], existing={"start", "outer"})
    assert [step.name for step in growth.steps] == ["left", "inner", "merge", "after_merge"]
    assert set(growth.edges) == {
        NewEdge("outer", "left"),
        NewEdge("left", "inner"),
        NewEdge("left", "merge"),  # the convergence waits only on what was created
        NewEdge("merge", "after_merge"),
    }


def test_a_dependency_that_exists_is_an_edge_from_it() -> None:
    growth = DecisionSegments(NESTED).growth("outer", ["right"], existing={"start", "outer"})
    assert NewEdge("start", "right_more") in growth.edges
    assert NewEdge("right", "right_more") in growth.edges
    assert "inner" not in {step.name for step in growth.steps}  # not reachable from right


def test_steps_that_exist_are_not_created_again() -> None:
    growth = DecisionSegments(NESTED).growth(
        "inner", ["deep_a"], existing={"start", "outer", "left", "inner", "deep_a"}
    )
    assert [step.name for step in growth.steps] == ["inner_merge"]
    assert set(growth.edges) == {NewEdge("inner", "deep_a"), NewEdge("deep_a", "inner_merge")}


def test_a_convergence_chosen_by_name_waits_for_the_decision() -> None:
    growth = DecisionSegments(NESTED).growth("inner", ["inner_merge"], existing={"inner"})
    assert set(growth.edges) == {NewEdge("inner", "inner_merge")}


@pytest.mark.parametrize("chosen", [["start"], ["nowhere"], ["deep_a"], ["outer"]])
def test_only_the_decisions_own_steps_may_be_chosen(chosen: list[str]) -> None:
    with pytest.raises(DecisionOutcomeError) as caught:
        DecisionSegments(NESTED).growth("outer", chosen, existing={"start", "outer"})
    assert caught.value.code == "DECISION_UNDECLARED_STEP"
    assert repr(chosen[0]) in str(caught.value)


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"decision_point_outcome": {"type": "no_branches"}}, DecisionOutcome(())),
        (
            {"decision_point_outcome": {"type": "create_steps", "step_names": ["a", "b", "a"]}},
            DecisionOutcome(("a", "b")),
        ),
        ({"other": 1}, None),
        (None, None),
    ],
)
def test_reading_an_outcome(result: Any, expected: DecisionOutcome | None) -> None:
    assert read_decision_outcome(result) == expected


@pytest.mark.parametrize(
    "outcome",
    [
        {"type": "create_steps"},
        {"type": "create_steps", "step_names": "a"},
        {"type": "create_steps", "step_names": [1]},
        {"type": "route"},
        "create_steps",
    ],
)
def test_a_malformed_outcome_is_refused(outcome: Any) -> None:
    with pytest.raises(DecisionOutcomeError) as caught:
        read_decision_outcome({"decision_point_outcome": outcome})
    assert caught.value.code == "DECISION_OUTCOME_INVALID"


KINDS = ["standard", "standard", "decision", "deferred_convergence", "batch_worker"]


@st.composite
def _dags(draw: st.DrawFn) -> TaskTemplate:
    count = draw(st.integers(2, 9))
    steps = []
    for index in range(count):
        kind = "decision" if index == 0 else draw(st.sampled_from(KINDS))
        earlier = [f"s{i}" for i in range(index)]
        deps = draw(st.lists(st.sampled_from(earlier), max_size=3, unique=True)) if earlier else []
        steps.append((f"s{index}", kind, deps))
    return _template(*steps)


@settings(max_examples=200, deadline=None)
@given(template=_dags(), data=st.data())
def test_growth_is_consistent_for_any_template_and_choice(
    template: TaskTemplate, data: st.DataObject
) -> None:
    segments = DecisionSegments(template)
    decision = "s0"
    allowed = sorted(segments.segment(decision))
    chosen = data.draw(st.lists(st.sampled_from(allowed), unique=True) if allowed else st.just([]))
    existing = {decision}
    growth = segments.growth(decision, chosen, existing)
    created = {step.name for step in growth.steps}
    kinds = {step.name: step.step_type for step in template.steps}
    assert set(chosen) <= created
    assert not created & existing
    assert all(kinds[name] is not StepType.BATCH_WORKER for name in created)
    for edge in growth.edges:
        # edges connect what exists or is created, always towards a created step
        assert edge.parent in created | existing
        assert edge.child in created
    # every created step waits on something, so its completion order is defined
    assert created <= {edge.child for edge in growth.edges}


def test_a_batch_worker_template_after_a_convergence_is_not_created() -> None:
    template = _template(
        ("decide", "decision", []),
        ("branch", "standard", ["decide"]),
        ("merge", "deferred_convergence", ["branch"]),
        ("analyze", "batchable", ["merge"]),
        ("worker", "batch_worker", ["merge"]),
    )
    growth = DecisionSegments(template).growth("decide", ["branch"], existing={"decide"})
    assert [step.name for step in growth.steps] == ["branch", "merge", "analyze"]
