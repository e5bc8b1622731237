"""A gate in a composition: the step waits for a person, then goes on or fails for good."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tasker_ctl.engine.errors import ApproverNotAllowedError, NotAwaitingApprovalError
from tasker_ctl.engine.operator.gates import decide_gate, pending_gates
from tasker_ctl.engine.operator.repairs import Actor
from tasker_ctl.engine.running import run_template
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.task_report import task_report

TEMPLATE = """\
name: refund
namespace_name: gates
version: "1.0.0"
steps:
  - name: quote
    handler: {callable: gates.quote}
  - name: approve_refund
    dependencies: [quote]
    handler: {callable: "grammar:approve_refund"}
    retry: {retryable: true, max_attempts: 3}
    composition:
      outcome:
        description: a refund an approver agreed to
        output_schema:
          type: object
          properties:
            refund: {type: number}
      invocations:
        - capability: transform
          config:
            filter: "{refund: (.deps.quote.amount * 0.5)}"
            output: {type: object, properties: {refund: {type: number}}}
        - capability: gate
          config:
            prompt: Refund half the order?
            approvers: [ops-lead]
            summary: {expression: "{refund: .prev.refund, order_amount: .deps.quote.amount}"}
        - capability: transform
          config:
            filter: "{refund: .prev.refund, approved: true}"
            output: {type: object, properties: {refund: {type: number}}}
  - name: pay
    dependencies: [approve_refund]
    handler: {callable: gates.pay}
"""

HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import depends_on, step_handler


@step_handler("gates.quote")
def quote():
    return {"amount": 80}


@step_handler("gates.pay")
@depends_on(refund="approve_refund")
def pay(refund):
    return {"paid": refund["refund"]}
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    template = tmp_path / "refund.yaml"
    template.write_text(TEMPLATE, encoding="utf-8")
    handlers = tmp_path / f"gate_handlers_{uuid.uuid4().hex[:8]}.py"
    handlers.write_text(HANDLERS, encoding="utf-8")
    return template, handlers


def _run(files: tuple[Path, Path], database_url: str) -> object:
    template, handlers = files
    return run_template(
        template, context={}, handlers=[str(handlers)], database_url=database_url, timeout=60
    )


def test_a_gate_parks_the_step_until_approved_then_the_task_completes(
    files: tuple[Path, Path], database_url: str, store: Store
) -> None:
    waiting = _run(files, database_url)
    assert waiting.waiting_for_approval  # type: ignore[attr-defined]
    steps = {step.name: step for step in waiting.steps}  # type: ignore[attr-defined]
    gate = steps["approve_refund"]
    # parked at the gate: waiting for a person, not for a retry, and the wait used no attempt
    assert gate.state == "waiting_for_approval"
    assert (gate.attempts, gate.max_attempts) == (0, 3)
    assert gate.awaiting_approval == "Refund half the order?"
    assert gate.approval is not None
    assert gate.approval.approvers == ["ops-lead"]
    assert gate.approval.summary == {"refund": 40, "order_amount": 80}
    shown = task_report(store, waiting.task_uuid)  # type: ignore[attr-defined]
    assert {step.name: step for step in shown.steps}["approve_refund"] == gate
    assert steps["pay"].state == "pending"
    task_uuid = waiting.task_uuid  # type: ignore[attr-defined]
    gates = pending_gates(store, task_uuid)
    assert [(gate.step, gate.index, gate.approvers) for gate in gates] == [
        ("approve_refund", 1, ["ops-lead"])
    ]

    with pytest.raises(ApproverNotAllowedError):
        decide_gate(
            store, task_uuid, "approve_refund", approve=True, actor=Actor("intern", "looks ok")
        )
    with pytest.raises(NotAwaitingApprovalError):
        decide_gate(store, task_uuid, "quote", approve=True, actor=Actor("ops-lead", "ok"))

    outcome = decide_gate(
        store, task_uuid, "approve_refund", approve=True, actor=Actor("ops-lead", "fine")
    )
    assert outcome.step_state_after == "enqueued"
    done = _run(files, database_url)
    assert done.status == "complete"  # type: ignore[attr-defined]
    steps = {step.name: step for step in done.steps}  # type: ignore[attr-defined]
    assert steps["approve_refund"].result == {"refund": 40, "approved": True}
    assert steps["pay"].result == {"paid": 40}
    # the wait used no attempt: one attempt ran the composition through, of the three
    assert (steps["approve_refund"].attempts, steps["approve_refund"].max_attempts) == (1, 3)
    assert steps["approve_refund"].approval is None


def test_a_rejected_gate_fails_the_step_for_good(
    files: tuple[Path, Path], database_url: str, store: Store
) -> None:
    waiting = _run(files, database_url)
    task_uuid = waiting.task_uuid  # type: ignore[attr-defined]
    decide_gate(
        store, task_uuid, "approve_refund", approve=False, actor=Actor("ops-lead", "too much")
    )
    blocked = _run(files, database_url)
    assert blocked.status == "blocked_by_failures"  # type: ignore[attr-defined]
    step = {s.name: s for s in blocked.steps}["approve_refund"]  # type: ignore[attr-defined]
    assert step.state == "error"
    assert step.error["error_type"] == "grammar_gate_rejected"
    assert "too much" in step.error["message"]
    assert step.error["retryable"] is False


def test_migration_0003_sets_right_a_step_parked_the_old_way(
    files: tuple[Path, Path], database_url: str, store: Store
) -> None:
    """Before 0003 a park added one to max_attempts and kept the claim's attempt: a step
    waiting for its first approval read 1/4 of 3. The migration takes each park off again,
    and leaves a step that is running alone (its worker holds its attempt number)."""
    import psycopg

    from tasker_ctl.engine.store.migrations import packaged_migrations_dir

    waiting = _run(files, database_url)
    task_uuid = waiting.task_uuid  # type: ignore[attr-defined]
    old_way = """
        UPDATE tasker.workflow_steps SET attempts = attempts + 1, max_attempts = max_attempts + 1
        WHERE task_uuid = %(task)s AND name = %(name)s"""
    migration = (
        packaged_migrations_dir().joinpath("0003_gate_parks_hand_back_the_attempt.sql").read_text()
    )
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(old_way, {"task": task_uuid, "name": "approve_refund"})
        parked = {s.name: s for s in task_report(store, task_uuid).steps}["approve_refund"]
        assert (parked.attempts, parked.max_attempts) == (1, 4)  # what 0002 showed
        connection.execute(migration)  # type: ignore[arg-type]
    parked = {s.name: s for s in task_report(store, task_uuid).steps}["approve_refund"]
    assert (parked.attempts, parked.max_attempts) == (0, 3)
    assert parked.state == "waiting_for_approval"
