"""``inspect_task`` and friends read what the engine wrote: the same states and timing as the
report ``run`` shows, provenance naming the step that created each run-time step, attempts
and transitions with who and why, lineage through parent_correlation_id, and the budget
ledger."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest

from tasker_ctl.engine.errors import (
    AmbiguousTaskReferenceError,
    InvalidLedgerEntryError,
    InvalidTaskReferenceError,
    StepNotFoundError,
    TaskNotFoundError,
)
from tasker_ctl.engine.graph.budget_ledger import record_ledger_entry
from tasker_ctl.engine.operator.repairs import Actor, retry_step
from tasker_ctl.engine.views.budget import task_budget
from tasker_ctl.engine.views.inspection import inspect_step, inspect_task
from tasker_ctl.engine.views.inspection_layers import (
    PlanningAttemptRecord,
    composition_layer,
    record_planning_attempt,
)
from tasker_ctl.engine.views.lineage import task_lineage
from tasker_ctl.engine.views.planning_layers import fragment_layer, planning_layer
from tasker_ctl.engine.views.task_reference import resolve_task
from tasker_ctl.engine.views.task_report import task_report
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.test_batches import batch_template
from tests.integration.engine.test_decisions import APPROVAL

QUICK = {"max_attempts": 3, "backoff": "linear", "backoff_base_ms": 10, "max_backoff_ms": 20}
LINEAR = make_template(
    [
        step("first", "ok.noop"),
        step("flaky", "fail.flaky", "first", retry=QUICK, config={"fail_times": 1}),
        step("last", "ok.noop", "flaky"),
    ],
    name="linear",
)
PLANNED = make_template(
    [
        step("collect", "ok.noop"),
        step(
            "plan",
            "ok.noop",
            "collect",
            type="planning",
            planning={
                "convergence": "report",
                "goal": "find the cause",
                "bounds": {"max_steps": 5, "max_phases": 2},
                "budget": {"max_llm_calls": 4, "max_cost_usd": 2.5},
                "allowed_callables": ["ok.*"],
            },
        ),
        step("report", "ok.noop", "plan", type="deferred_convergence"),
    ],
    name="planned",
)


def test_overview_agrees_with_the_run_report(engine: Engine) -> None:
    task = engine.submit(LINEAR, {})
    assert engine.run(task.task_uuid) == "complete"
    overview = inspect_task(engine.store, task.task_uuid)
    report = task_report(engine.store, task.task_uuid)
    assert overview.status == report.status == "complete"
    assert [s.name for s in overview.steps] == [s.name for s in report.steps]
    for inspected, reported in zip(overview.steps, report.steps, strict=True):
        assert (inspected.state, inspected.attempts) == (reported.state, reported.attempts)
        assert inspected.started_at == reported.started_at
        assert inspected.finished_at == reported.finished_at
        assert inspected.duration_ms == reported.duration_ms
    assert overview.step("flaky") is not None
    assert overview.step("flaky").attempts == 2  # type: ignore[union-attr]
    assert [(e.source, e.target) for e in overview.edges] == [("first", "flaky"), ("flaky", "last")]
    assert overview.summary.line() == ("3 steps (3 application); 0 planning phases; 4 attempts")
    assert overview.trace_id is not None
    assert len(overview.trace_id) == 32
    assert [t.to_state for t in overview.transitions][-1] == "complete"


def test_step_detail_lists_every_attempt_and_who_made_each_transition(engine: Engine) -> None:
    task = engine.submit(LINEAR, {})
    engine.run(task.task_uuid)
    detail = inspect_step(engine.store, task.task_uuid, "flaky")
    assert [a.number for a in detail.attempt_history] == [1, 2]
    assert [a.outcome for a in detail.attempt_history] == ["waiting_for_retry", "complete"]
    assert all(a.worker == "test-worker-0" for a in detail.attempt_history)
    assert detail.dependency_results["first"]["success"] is True
    assert detail.step.result == {"attempt": 2, "idempotency_key": detail.idempotency_key}
    assert detail.inputs == {"fail_times": 1}
    states = [(t.from_state, t.to_state) for t in detail.transitions]
    assert states[0] == (None, "pending")
    assert ("in_progress", "waiting_for_retry") in states


def test_an_operator_retry_shows_its_author_and_reason(engine: Engine) -> None:
    template = make_template(
        [step("only", "fail.permanent", retry={"max_attempts": 1})], name="permanent"
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    retry_step(engine.store, task.task_uuid, "only", Actor.of("disk replaced", by="ops@example"))
    detail = inspect_step(engine.store, task.task_uuid, "only")
    authored = [t for t in detail.transitions if t.by == "ops@example"]
    assert authored
    assert all(t.reason == "disk replaced" for t in authored)
    assert detail.step.error is not None
    assert detail.step.state != "complete"
    overview = inspect_task(engine.store, task.task_uuid)
    assert any(t.by == "ops@example" for t in overview.transitions)


def test_decision_branches_name_the_decision_that_created_them(engine: Engine) -> None:
    task = engine.submit(APPROVAL, {"route": ["manager_review"]})
    assert engine.run(task.task_uuid) == "complete"
    overview = inspect_task(engine.store, task.task_uuid)
    origins = {s.name: (s.provenance.created_by, s.provenance.origin_step) for s in overview.steps}
    assert origins == {
        "validate": ("template", None),
        "decide": ("template", None),
        "manager_review": ("decision_point", "decide"),
        "manager_sign_off": ("decision_point", "decide"),
        "finalize": ("decision_point", "decide"),
        "notify": ("decision_point", "decide"),
    }
    assert overview.summary.created_at_run_time == 4
    assert overview.step("decide").handler == "decide.route"  # type: ignore[union-attr]


def test_batch_workers_name_their_batchable_step(engine: Engine) -> None:
    task = engine.submit(batch_template(), {"items": 25, "batch_size": 10})
    assert engine.run(task.task_uuid) == "complete"
    overview = inspect_task(engine.store, task.task_uuid)
    workers = [s for s in overview.steps if s.step_type == "batch_worker"]
    assert [w.name for w in workers] == ["proc_001", "proc_002", "proc_003"]
    assert {(w.provenance.created_by, w.provenance.origin_step) for w in workers} == {
        ("batch_spawn", "analyze")
    }
    assert {w.handler for w in workers} == {"batch.work"}
    assert sorted(overview.step("aggregate").parents) == [  # type: ignore[union-attr]
        "proc_001",
        "proc_002",
        "proc_003",
    ]
    assert overview.summary.by_origin == {"template": 1, "batch_spawn": 5}


def test_a_task_is_found_by_latest_and_by_a_unique_prefix(engine: Engine) -> None:
    with pytest.raises(InvalidTaskReferenceError):
        resolve_task(engine.store, "latest")
    first = engine.submit(LINEAR, {"n": 1})
    second = engine.submit(LINEAR, {"n": 2})
    assert resolve_task(engine.store, "latest") == second.task_uuid
    assert resolve_task(engine.store, "LATEST", namespace="engine_tests") == second.task_uuid
    assert resolve_task(engine.store, str(first.task_uuid)[:13]) == first.task_uuid
    assert resolve_task(engine.store, str(first.task_uuid).upper()) == first.task_uuid
    with pytest.raises(InvalidTaskReferenceError) as error:
        resolve_task(engine.store, "not-a-task")
    assert error.value.code == "INVALID_TASK_REFERENCE"
    with pytest.raises(TaskNotFoundError) as unknown:
        resolve_task(
            engine.store, "0" * 12 if not str(first.task_uuid).startswith("0") else "f" * 12
        )
    assert str(second.task_uuid) in (unknown.value.hint or "")  # the newest are candidates
    with pytest.raises(TaskNotFoundError):
        inspect_task(engine.store, uuid.uuid4())
    with pytest.raises(StepNotFoundError) as missing:
        inspect_step(engine.store, first.task_uuid, "flakey")
    assert "flaky" in (missing.value.hint or "")


def test_an_ambiguous_prefix_is_refused(engine: Engine) -> None:
    engine.submit(LINEAR, {})
    for suffix in ("1", "2"):
        engine.execute(
            "INSERT INTO tasker.tasks (task_uuid, named_task_uuid, namespace_name,"
            " identity_hash, correlation_id)"
            " SELECT %s, named_task_uuid, namespace_name, md5(random()::text),"
            " gen_random_uuid() FROM tasker.tasks LIMIT 1",
            uuid.UUID(f"abcdef01-0000-4000-8000-00000000000{suffix}"),
        )
    with pytest.raises(AmbiguousTaskReferenceError) as error:
        resolve_task(engine.store, "abcdef01")
    assert error.value.code == "AMBIGUOUS_TASK_REFERENCE"
    for suffix in ("1", "2"):  # the candidates, each with its template and state
        assert f"abcdef01-0000-4000-8000-00000000000{suffix} (engine_tests/" in (
            error.value.hint or ""
        )
    with pytest.raises(TaskNotFoundError) as unknown:
        resolve_task(engine.store, str(uuid.uuid4()))
    assert "the newest tasks: abcdef01-" in (unknown.value.hint or "")
    assert resolve_task(engine.store, "abcdef01-0000-4000-8000-000000000002") == uuid.UUID(
        "abcdef01-0000-4000-8000-000000000002"
    )
    with pytest.raises(InvalidTaskReferenceError):
        resolve_task(engine.store, "abc")


def test_planning_layers_show_empty_states_then_what_was_recorded(engine: Engine) -> None:
    linear = engine.submit(LINEAR, {})
    overview = inspect_task(engine.store, linear.task_uuid)
    assert planning_layer(engine.store, overview).empty == (
        "this task's template has no planning steps"
    )
    assert fragment_layer(engine.store, overview).empty is not None
    assert composition_layer(engine.store, overview).empty == (
        "this task has no grammar-composed steps"
    )

    task = engine.submit(PLANNED, {})
    overview = inspect_task(engine.store, task.task_uuid)
    layer = planning_layer(engine.store, overview)
    assert layer.empty is not None
    assert "'plan' is pending" in layer.empty
    assert layer.planning_steps[0].goal == "find the cause"
    plan = overview.step("plan")
    assert plan is not None
    record_planning_attempt(
        engine.store,
        plan.uuid,
        PlanningAttemptRecord(
            model="m-1",
            prompt="You are a workflow planner",
            findings=[{"code": "UNKNOWN_CAPABILITY", "severity": "error", "message": "no x"}],
            tokens_in=1200,
            tokens_out=300,
            latency_ms=950,
            cost_usd=Decimal("0.02"),
        ),
    )
    record_planning_attempt(
        engine.store,
        plan.uuid,
        PlanningAttemptRecord(
            attempt=2,
            model="m-1",
            accepted=True,
            fragment_id="f-1",
            fragment={"steps": [{"name": "check_logs"}]},
        ),
    )
    layer = planning_layer(engine.store, overview)
    assert layer.empty is None
    assert [(a.attempt, a.accepted) for a in layer.planning_steps[0].attempts] == [
        (1, False),
        (2, True),
    ]
    assert layer.planning_steps[0].attempts[0].findings[0].code == "UNKNOWN_CAPABILITY"


def test_the_budget_comes_from_planning_bounds_and_the_ledger(engine: Engine) -> None:
    task = engine.submit(PLANNED, {})
    budget = task_budget(engine.store, task.task_uuid)
    limits = {line.resource: line.limit for line in budget.lines}
    assert limits == {
        "steps": 10,
        "phases": 2,
        "llm_calls": 4,
        "tokens": 50000,
        "cost_usd": Decimal("2.5"),
        "wall_seconds": 300,
    }
    assert budget.limited
    assert not budget.entries
    record_ledger_entry(engine.store, task.task_uuid, "steps", "reserve", 4)
    record_ledger_entry(engine.store, task.task_uuid, "steps", "commit", 3)
    record_ledger_entry(engine.store, task.task_uuid, "steps", "release", 1)
    record_ledger_entry(engine.store, task.task_uuid, "cost_usd", "commit", 0.75, note="plan")
    lines = {line.resource: line for line in task_budget(engine.store, task.task_uuid).lines}
    assert (lines["steps"].used, lines["steps"].reserved, lines["steps"].remaining) == (3, 0, 7)
    assert lines["cost_usd"].used == Decimal("0.75")
    assert lines["cost_usd"].fraction == pytest.approx(0.3)
    unplanned = engine.submit(LINEAR, {})
    assert not task_budget(engine.store, unplanned.task_uuid).limited


@pytest.mark.parametrize(
    ("resource", "kind", "amount"),
    [
        ("dollars", "commit", 1.0),
        ("steps", "spend", 1.0),
        ("steps", "commit", -1.0),
        ("cost_usd", "commit", float("nan")),
    ],
)
def test_a_bad_ledger_entry_is_a_coded_error_and_writes_nothing(
    engine: Engine, resource: Any, kind: Any, amount: float
) -> None:
    task = engine.submit(PLANNED, {})
    with pytest.raises(InvalidLedgerEntryError) as error:
        record_ledger_entry(engine.store, task.task_uuid, resource, kind, amount)
    assert error.value.code == "INVALID_LEDGER_ENTRY"
    assert not task_budget(engine.store, task.task_uuid).entries


def test_a_planner_call_of_an_unknown_step_is_a_coded_error(engine: Engine) -> None:
    with pytest.raises(StepNotFoundError):
        record_planning_attempt(engine.store, uuid.uuid4(), PlanningAttemptRecord())


def _chain_task(engine: Engine, n: int, parent: Any = None) -> Any:
    return engine.submit(LINEAR, {"n": n}, parent_correlation_id=parent)


def test_lineage_is_a_tree_through_parent_correlation_ids(engine: Engine) -> None:
    root = _chain_task(engine, 1)
    left = _chain_task(engine, 2, root.correlation_id)
    right = _chain_task(engine, 3, root.correlation_id)
    grandchild = _chain_task(engine, 4, left.correlation_id)
    unrelated = _chain_task(engine, 5)
    record_ledger_entry(engine.store, grandchild.task_uuid, "cost_usd", "commit", 1.25)
    chain = task_lineage(engine.store, grandchild.task_uuid)
    assert [node.task_uuid for node in chain.roots] == [root.task_uuid]
    children = chain.roots[0].children
    assert {child.task_uuid for child in children} == {left.task_uuid, right.task_uuid}
    left_node = next(child for child in children if child.task_uuid == left.task_uuid)
    assert [node.task_uuid for node in left_node.children] == [grandchild.task_uuid]
    assert chain.totals.tasks == 4
    assert chain.totals.max_depth == 2
    assert chain.totals.steps == 4 * 3
    assert chain.totals.cost_usd == 1.25
    assert chain.session_correlation_id is None
    assert unrelated.task_uuid not in {n.task_uuid for n in _walk(chain.roots)}
    same = task_lineage(engine.store, root.task_uuid)
    assert {n.task_uuid for n in _walk(same.roots)} == {n.task_uuid for n in _walk(chain.roots)}


def test_tasks_sharing_a_session_id_are_siblings_under_it(engine: Engine) -> None:
    session = uuid.uuid4()
    tasks = [_chain_task(engine, n, session) for n in range(3)]
    follow_up = _chain_task(engine, 9, tasks[2].correlation_id)
    chain = task_lineage(engine.store, tasks[0].task_uuid)
    assert chain.session_correlation_id == session
    assert {node.task_uuid for node in chain.roots} == {t.task_uuid for t in tasks}
    third = next(node for node in chain.roots if node.task_uuid == tasks[2].task_uuid)
    assert [node.task_uuid for node in third.children] == [follow_up.task_uuid]


def _walk(nodes: list[Any]) -> list[Any]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node.children))
    return found


def test_grammar_steps_record_their_composition(engine: Engine) -> None:
    template = make_template(
        [
            step(
                "shape",
                "grammar:shape",
                composition={
                    "name": "transform_and_persist",
                    "outcome": {"description": "shaped", "output_schema": {"type": "object"}},
                    "invocations": [
                        {"capability": "transform", "config": {"filter": ".x"}},
                        {"capability": "persist", "config": {"table": "t"}, "checkpoint": True},
                    ],
                },
            )
        ],
        name="grammar",
    )
    task = engine.submit(template, {})
    overview = inspect_task(engine.store, task.task_uuid)
    shape = overview.step("shape")
    assert shape is not None
    assert shape.provenance.handler_type == "grammar"
    assert shape.provenance.composition_source == "transform_and_persist"
    layer = composition_layer(engine.store, overview)
    assert [(i.capability, i.checkpoint) for i in layer.steps[0].invocations] == [
        ("transform", False),
        ("persist", True),
    ]
    assert overview.summary.by_handler_type == {"grammar": 1}
