"""Property: a fragment is materialized if and only if the validator reports no error, and
the database's invariants hold after every case (no orphan edge, the convergence waits for
every planned leaf, the ledger adds up). Fragments are drawn at random from pieces that are
sometimes right and sometimes wrong (names of the frame, callables outside the allow-list,
cycles, references to fields no schema declares), and written through the operator's path,
which runs the same nine stages and the same materialization as a planner's answer."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.errors import FragmentRejectedError
from tasker_ctl.engine.operator import Actor, complete_step
from tasker_ctl.planning.frame import FragmentFrame
from tasker_ctl.planning.validator import check_fragment
from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    assert_invariants,
    graph_snapshot,
    planning_template,
)

pytestmark = pytest.mark.slow

NAMES = ["a", "b", "c", "d", "e", "gather", "report", "plan"]
CALLABLES = ["plan.checks.logs", "plan.checks.deploys", "plan.checks.queues", "other.handler"]
REFERENCES = [
    "${steps.gather.result.service}",
    "${steps.gather.result.owner}",
    "${steps.gather.result}",
    "${task.context.incident}",
    "${task.context.region}",
    "${steps.a.result}",
    "${steps.b.result.check}",
    "not a reference",
]
GATHERED = {"service": "checkout", "signals": ["latency"]}
TEMPLATE = planning_template()


@st.composite
def fragment_steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    names = draw(st.lists(st.sampled_from(NAMES), max_size=6))
    steps = []
    for name in names:
        step: dict[str, Any] = {
            "name": name,
            "handler": {"callable": draw(st.sampled_from(CALLABLES))},
            "dependencies": draw(st.lists(st.sampled_from(NAMES), max_size=3, unique=True)),
        }
        inputs = draw(st.dictionaries(st.sampled_from(["x", "y"]), st.sampled_from(REFERENCES)))
        if inputs:
            step["inputs"] = inputs
        steps.append(step)
    return steps


@st.composite
def sound_steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Steps that mostly pass: unique names, allowed callables, dependencies on earlier
    steps only, references to declared fields."""
    count = draw(st.integers(min_value=0, max_value=5))
    names = ["a", "b", "c", "d", "e"][:count]
    steps = []
    for index, name in enumerate(names):
        earlier = names[:index]
        step: dict[str, Any] = {
            "name": name,
            "handler": {"callable": draw(st.sampled_from(CALLABLES[:3]))},
            "dependencies": draw(st.lists(st.sampled_from(earlier), max_size=2, unique=True))
            if earlier
            else [],
        }
        sound = ["${steps.gather.result.service}", "${task.context.incident}"]
        if draw(st.booleans()):
            step["inputs"] = {"x": draw(st.sampled_from(sound))}
        steps.append(step)
    return steps


@st.composite
def mutated(draw: st.DrawFn, steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One change that may break a sound fragment: a cycle, a frame name, a callable outside
    the allow-list, an undeclared field."""
    if not steps:
        return steps
    index = draw(st.integers(min_value=0, max_value=len(steps) - 1))
    step = dict(steps[index])
    change = draw(st.sampled_from(["cycle", "frame_name", "callable", "field", "edge"]))
    if change == "cycle":
        step["dependencies"] = [*step["dependencies"], steps[-1]["name"]]
    elif change == "frame_name":
        step["name"] = draw(st.sampled_from(["gather", "report"]))
    elif change == "callable":
        step["handler"] = {"callable": "other.handler"}
    elif change == "field":
        step["inputs"] = {"x": "${steps.gather.result.owner}"}
    else:
        step["dependencies"] = ["report"]
    return [*steps[:index], step, *steps[index + 1 :]]


def as_fragment(steps: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "fragment_version": "1.0",
        "planning_context": {
            "goal": "find it",
            "reasoning": "drawn at random",
            "estimated_steps": len(steps),
            "estimated_depth": 1,
        },
        "steps": steps,
    }


fragments = st.one_of(
    fragment_steps(),
    sound_steps(),
    sound_steps().flatmap(mutated),
).map(as_fragment)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=fragments)
def test_materialized_if_and_only_if_the_validator_finds_no_error(
    planning_engine: Engine, data: dict[str, Any]
) -> None:
    actor = Actor.of("property test", "hypothesis")
    context = {"incident": f"INC-{uuid.uuid4()}"}  # a new task each time
    task = planning_engine.submit(TEMPLATE, context).task_uuid
    complete_step(planning_engine.store, task, "gather", GATHERED, actor)
    frame = FragmentFrame(
        template=TEMPLATE,
        planning_step="plan",
        context=context,
        results={"gather": GATHERED},
        remaining_steps=5,
        existing_steps=frozenset({"gather", "plan", "report"}),
    )
    verdict = check_fragment(data, frame)
    before = graph_snapshot(planning_engine, task)
    try:
        complete_step(planning_engine.store, task, "plan", data, actor)
    except FragmentRejectedError:
        assert not verdict.accepted, "refused a fragment the validator accepts"
        assert graph_snapshot(planning_engine, task) == before
    else:
        assert verdict.accepted, f"materialized a refused fragment: {verdict.findings}"
        planned = {
            name
            for name, row in planning_engine.steps(task).items()
            if row["created_by"] == "planning_step"
        }
        assert planned == {step["name"] for step in data["steps"]}
    assert_invariants(planning_engine, task)
