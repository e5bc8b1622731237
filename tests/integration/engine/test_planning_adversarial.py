"""Adversarial answers from the model, through the whole engine: each one is refused by the
validator, recorded with its findings, and leaves the task's steps, edges and ledger as they
were (but for what the call itself spent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.store.connection import Store
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.template.model import PlanningPrice
from tests.integration.engine.conftest import Engine
from tests.integration.engine.planning_support import (
    GOOD,
    assert_invariants,
    check,
    fragment,
    graph_snapshot,
    ledger_sums,
    planning_template,
)
from tests.openai_server import OpenAIServer


def persist_composition(table: str) -> dict[str, Any]:
    return {
        "name": "save",
        "handler": {
            "grammar": "transform_and_persist",
            "config": {
                "filter": "{id: .context.incident}",
                "output": {"type": "object", "properties": {"id": {"type": "string"}}},
                "resource": table,
            },
        },
    }


def nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


ADVERSARIAL: dict[str, tuple[Any, set[str]]] = {
    "a cycle": (
        fragment(check("a", "plan.checks.logs", "b"), check("b", "plan.checks.logs", "a")),
        {"FRAGMENT_CYCLE"},
    ),
    "a hallucinated callable": (
        fragment(check("a", "plan.checks.logz")),
        {"FRAGMENT_CALLABLE_NOT_REGISTERED", "FRAGMENT_CALLABLE_NOT_ALLOWED"},
    ),
    "a callable outside the allow-list": (
        fragment(check("a", "os.system")),
        {"FRAGMENT_CALLABLE_NOT_ALLOWED"},
    ),
    "a hallucinated pattern": (
        fragment({"name": "a", "handler": {"grammar": "summon_llm", "config": {}}}),
        {"FRAGMENT_PATTERN_UNKNOWN", "FRAGMENT_PATTERN_NOT_ALLOWED", "FRAGMENT_SCHEMA_INVALID"},
    ),
    "a hallucinated capability": (
        fragment(
            {
                "name": "a",
                "handler": {
                    "composition": {
                        "outcome": {"description": "x", "output_schema": {"type": "object"}},
                        "invocations": [{"capability": "teleport", "config": {}}],
                    }
                },
            }
        ),
        {"FRAGMENT_COMPOSITION_NOT_ALLOWED", "FRAGMENT_CAPABILITY_UNKNOWN"},
    ),
    "a frame step's name": (fragment(check("gather")), {"FRAGMENT_STEP_NAME_TAKEN"}),
    "an edge into the frame": (
        fragment(check("a", "plan.checks.logs", "gather")),
        {"FRAGMENT_EDGE_INTO_FRAME"},
    ),
    "an edge past the convergence": (
        fragment(check("a", "plan.checks.logs", "report")),
        {"FRAGMENT_EDGE_PAST_CONVERGENCE"},
    ),
    "over the bounds": (
        fragment(*(check(f"c{i}") for i in range(6))),
        {"FRAGMENT_TOO_MANY_STEPS", "FRAGMENT_FAN_OUT_TOO_WIDE"},
    ),
    "too deep": (
        fragment(
            check("a"),
            check("b", "plan.checks.logs", "a"),
            check("c", "plan.checks.logs", "b"),
            check("d", "plan.checks.logs", "c"),
        ),
        {"FRAGMENT_TOO_DEEP"},
    ),
    "a field no schema declares": (
        fragment(check("a", service="${steps.gather.result.owner}")),
        {"FRAGMENT_REFERENCE_UNKNOWN_FIELD"},
    ),
    "a context field no schema declares": (
        fragment(check("a", region="${task.context.region}")),
        {"FRAGMENT_REFERENCE_UNKNOWN_FIELD", "FRAGMENT_CONTEXT_FIELD_MISSING"},
    ),
    "jq reading an undeclared field": (
        fragment(
            {
                "name": "tell",
                "handler": {
                    "grammar": "notify",
                    "config": {
                        "event_name": "incident.seen",
                        "payload": {"expression": "{owner: .deps.gather.owner}"},
                    },
                },
            }
        ),
        {"FRAGMENT_DATA_UNDECLARED"},
    ),
    "persist to a table the template does not allow": (
        fragment(persist_composition("users")),
        {
            "FRAGMENT_PATTERN_NOT_ALLOWED",
            "FRAGMENT_PERSIST_NOT_ALLOWED",
            "FRAGMENT_RESOURCE_NOT_ALLOWED",
        },
    ),
    "not JSON": ("I think you should check the logs.", {"FRAGMENT_NOT_JSON"}),
    "deeply nested": (nested(500), {"FRAGMENT_NOT_JSON"}),
    "one megabyte": (
        json.dumps(
            {**GOOD, "planning_context": {**GOOD["planning_context"], "reasoning": "x" * 1_048_576}}
        ),
        {"FRAGMENT_TOO_LARGE", "FRAGMENT_NOT_JSON"},
    ),
}


@pytest.mark.parametrize("case", sorted(ADVERSARIAL))
def test_an_adversarial_answer_changes_nothing_and_is_recorded(
    planning_engine: Engine, case: str
) -> None:
    value, codes = ADVERSARIAL[case]
    text = value if isinstance(value, str) else json.dumps(value)
    with OpenAIServer([{"tool_arguments": text}]) as server:
        task = planning_engine.submit(
            planning_template(max_repairs=0), {"incident": "INC-1"}
        ).task_uuid
        before = graph_snapshot(planning_engine, task)
        planning_engine.run(task, planner=server.spec())
    after = graph_snapshot(planning_engine, task)
    assert after[1] == before[1]  # no edge
    assert [name for name, _ in after[0]] == [name for name, _ in before[0]]  # no step
    steps = planning_engine.steps(task)
    assert steps["plan"]["current_state"] == "error"
    assert steps["report"]["current_state"] == "pending"
    (attempt,) = planning_engine.rows(
        "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s", task
    )
    assert not attempt["accepted"]
    found = {finding["code"] for finding in attempt["findings"]}
    assert found & codes, f"{case}: expected one of {codes}, found {found}"
    sums = ledger_sums(planning_engine, task)
    assert sums[("steps", "commit")] == 0
    assert sums[("steps", "reserve")] == 0
    assert sums[("phases", "commit")] == 0
    assert_invariants(planning_engine, task)


FRAME = Path(__file__).resolve().parents[2] / "fixtures" / "fragments" / "frame.yaml"
FRAME_CONTEXT = {"order_id": "o-1", "customer": {"id": "c-1"}}
PRICE = PlanningPrice(input_usd_per_million=2, output_usd_per_million=8)


def frame_registry() -> HandlerRegistry:
    """Handlers of the frame's own steps (tests/fixtures/fragments/frame.yaml)."""
    from tasker_ctl.sdk.step_handler.functional import step_handler

    registry = HandlerRegistry()
    results = {
        "app.handlers.intake": {"total": 10.0, "lines": [{"sku": "a", "qty": 1}]},
        "app.handlers.side": {"note": "n"},
        "app.handlers.report": {},
        "app.handlers.archive": {},
    }
    for name, result in results.items():
        registry.register(name, step_handler(name)(lambda result=result: result))
    return registry


@pytest.mark.parametrize(
    ("case", "codes"),
    [
        ("two mutations under the strict policy", {"FRAGMENT_MUTATION_POLICY"}),
        ("acquire from a host the template does not allow", {"FRAGMENT_ACQUIRE_NOT_ALLOWED"}),
    ],
)
def test_mutations_and_reach_beyond_the_template_change_nothing(
    database_url: str, store: Store, case: str, codes: set[str]
) -> None:
    from tasker_ctl.template import load_template
    from tests.unit.planning.fragments_support import (
        ROW_SCHEMA,
        composition,
        pattern,
        transform,
    )
    from tests.unit.planning.fragments_support import fragment as frame_fragment
    from tests.unit.planning.seeded_cases import persist

    if case.startswith("two"):
        step = composition(
            "x",
            [
                transform("{order_id: .context.order_id}", ROW_SCHEMA),
                persist(),
                persist(entity="audit"),
            ],
            ROW_SCHEMA,
        )
    else:
        step = pattern("r", "http_request", {"resource": "metadata", "entity": "latest/meta"})
    engine = Engine(database_url, store, frame_registry())
    try:
        with OpenAIServer([{"tool_arguments": json.dumps(frame_fragment(step))}]) as server:
            template = load_template(FRAME)
            template = template.model_copy(
                update={
                    "steps": [
                        s.model_copy(
                            update={
                                "planning": s.planning.model_copy(
                                    update={"max_repairs": 0, "price": PRICE}
                                )
                            }
                        )
                        if s.planning is not None
                        else s
                        for s in template.steps
                    ]
                }
            )
            task = engine.submit(template, FRAME_CONTEXT).task_uuid
            before = graph_snapshot(engine, task)
            engine.run(task, planner=server.spec())
        after = graph_snapshot(engine, task)
        assert after[1] == before[1]
        assert [name for name, _ in after[0]] == [name for name, _ in before[0]]
        (attempt,) = engine.rows(
            "SELECT * FROM tasker.planning_attempts WHERE task_uuid = %s", task
        )
        found = {finding["code"] for finding in attempt["findings"]}
        assert found & codes, f"{case}: expected {codes}, found {found}"
        assert engine.steps(task)["plan"]["current_state"] == "error"
    finally:
        engine.close()
