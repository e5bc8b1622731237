"""Operator repairs on a real database: cancel a task; retry, resolve or complete a step.

Every repair records who and why with each transition it causes; a task blocked by failures
resumes once its failed step is repaired; a result given by hand is held to the step's
result_schema and reaches the children as a handler's would; wrong input changes nothing.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.errors import (
    ManualCompletionUnsupportedError,
    ManualResultError,
    MissingReasonError,
    ResultJsonError,
    ResultSchemaViolationError,
    StepNotFoundError,
    StepRunningError,
    StepStateError,
    StepWaitingForParentsError,
    TaskFinishedError,
    TaskNotFoundError,
)
from tasker_ctl.engine.operator import repairs as operator_module
from tasker_ctl.engine.operator.manual_results import parse_result
from tasker_ctl.engine.operator.repairs import (
    Actor,
    cancel_task,
    complete_step,
    default_actor,
    resolve_step,
    retry_step,
)
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.engine.views.task_listing import list_tasks
from tasker_ctl.errors import (
    ExitCode,
    StaleAttemptError,
    TaskerError,
    TransactionConflictError,
    UsageError,
)
from tests.integration.engine.conftest import Engine, claim, make_template, step
from tests.integration.engine.handlers import Recorder
from tests.integration.engine.handlers.operator import BROKEN, break_step, fix_step

ALICE = Actor(by="alice", reason="card processor fixed")
AMOUNT_SCHEMA = {
    "type": "object",
    "required": ["amount"],
    "properties": {"amount": {"type": "number", "minimum": 0}},
}
CHECKOUT = make_template(
    [
        step("prepare", "ok.noop"),
        step(
            "charge",
            "repair.until_fixed",
            "prepare",
            result_schema=AMOUNT_SCHEMA,
            config={"returns": {"amount": 10}},
        ),
        step("notify", "repair.until_fixed", "charge"),
    ],
    name="checkout",
)
# two roots and a child of the first: failures, waiting retries and held-back children
SIBLINGS = make_template(
    [
        step("first", "ok.noop"),
        step("second", "ok.noop", retry={"max_attempts": 3, "backoff": "none"}),
        step("third", "ok.noop"),
        step("after_first", "ok.noop", "first"),
    ],
    name="siblings",
)
APPROVAL = make_template(
    [
        step("validate", "ok.noop"),
        step("decide", "decide.malformed", "validate", type="decision"),
        step("auto_approve", "ok.noop", "decide"),
        step("manager_review", "ok.noop", "decide"),
        step("finalize", "ok.noop", "auto_approve", "manager_review", type="deferred_convergence"),
    ],
    name="approval_by_hand",
)


@pytest.fixture(autouse=True)
def _nothing_broken() -> Iterator[None]:
    BROKEN.clear()
    yield
    BROKEN.clear()


def _blocked_checkout(engine: Engine, broken: str = "charge") -> uuid.UUID:
    """A checkout task blocked by the failure of ``broken``, whose cause is then fixed."""
    break_step(broken)
    task = engine.submit(CHECKOUT, {}, identity="always_unique")
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    fix_step(broken)
    return task.task_uuid


def _claimed(store: Store, task_uuid: uuid.UUID, worker: str = "w") -> dict[str, Any]:
    claimed = claim(store, task_uuid, worker, 60)
    assert claimed is not None
    return claimed


def _fail(store: Store, claimed: dict[str, Any], *, retryable: bool) -> dict[str, Any] | None:
    return store.fetch_one(
        "fail_step",
        step_uuid=claimed["workflow_step_uuid"],
        attempt=claimed["attempts"],
        results=Json({"success": False, "result": None}),
        retryable=retryable,
        backoff_seconds=0.0,
        metadata=Json({}),
    )


def _complete(store: Store, claimed: dict[str, Any]) -> dict[str, Any] | None:
    envelope = {"success": True, "result": {"done": claimed["name"]}}
    return store.fetch_one(
        "complete_step",
        step_uuid=claimed["workflow_step_uuid"],
        attempt=claimed["attempts"],
        results=Json(envelope),
        metadata=Json({}),
    )


def _snapshot(engine: Engine, task_uuid: uuid.UUID) -> tuple[Any, ...]:
    """Everything a repair could change about a task."""
    return (
        engine.task(task_uuid),
        engine.steps(task_uuid),
        engine.step_transitions(task_uuid),
        engine.task_path(task_uuid),
    )


def _task_transitions(engine: Engine, task_uuid: uuid.UUID) -> list[dict[str, Any]]:
    return engine.rows(
        "SELECT * FROM tasker.task_transitions WHERE task_uuid = %s ORDER BY sort_key", task_uuid
    )


@contextmanager
def _refused(error: type[TaskerError], code: str) -> Iterator[pytest.ExceptionInfo[Any]]:
    """``pytest.raises`` that also checks the coded error's code and its exit code (2)."""
    with pytest.raises(error) as caught:
        yield caught
    assert caught.value.code == code
    assert caught.value.exit_code is ExitCode.USAGE


# ---------------------------------------------------------------- cancel


def test_cancel_cancels_every_unfinished_step_and_refuses_running_attempts(
    engine: Engine, store: Store
) -> None:
    task = engine.submit(SIBLINGS, {})
    running = _claimed(store, task.task_uuid)
    before = engine.steps(task.task_uuid)

    outcome = cancel_task(store, task.task_uuid, ALICE)

    assert (outcome.task_state_before, outcome.task_state_after) == (
        "steps_in_process",
        "cancelled",
    )
    assert outcome.cancelled_steps == sorted(before)
    assert outcome.report.status == "cancelled"
    steps = engine.steps(task.task_uuid)
    for name, row in steps.items():
        assert row["current_state"] == "cancelled", name
        assert row["processed"]
        assert row["processed_at"] is not None
        assert not row["in_process"]
        assert row["claimable_at"] is None
        assert row["lease_owner"] is None
        assert row["lease_expires_at"] is None
        last = engine.step_transitions(task.task_uuid, name)[-1]
        assert (last["from_state"], last["to_state"], last["event"]) == (
            before[name]["current_state"],
            "cancelled",
            "Cancel",
        )
        assert last["metadata"] == {"action": "cancel_task", "by": "alice", "reason": ALICE.reason}
    assert engine.task_path(task.task_uuid)[-1] == "cancelled"
    assert _task_transitions(engine, task.task_uuid)[-1]["metadata"]["action"] == "cancel_task"
    assert claim(store, task.task_uuid) is None

    # the attempt that was running when the task was cancelled: its outcome is refused
    with pytest.raises(StaleAttemptError):
        _complete(store, running)
    with pytest.raises(StaleAttemptError):
        _fail(store, running, retryable=False)
    assert engine.steps(task.task_uuid)[running["name"]]["current_state"] == "cancelled"


def test_a_blocked_task_can_be_cancelled(engine: Engine, store: Store) -> None:
    task_uuid = _blocked_checkout(engine)
    outcome = cancel_task(store, task_uuid, ALICE)
    assert outcome.task_state_before == "blocked_by_failures"
    assert outcome.cancelled_steps == ["charge", "notify"]
    assert engine.steps(task_uuid)["prepare"]["current_state"] == "complete"
    assert engine.task(task_uuid)["current_state"] == "cancelled"


def test_cancelling_a_finished_task_is_refused_and_changes_nothing(
    engine: Engine, store: Store
) -> None:
    task = engine.submit(CHECKOUT, {})
    assert engine.run(task.task_uuid) == "complete"
    before = _snapshot(engine, task.task_uuid)
    with _refused(TaskFinishedError, "TASK_ALREADY_FINISHED") as refused:
        cancel_task(store, task.task_uuid, ALICE)
    assert "is already complete" in refused.value.message
    assert _snapshot(engine, task.task_uuid) == before
    with _refused(TaskFinishedError, "TASK_ALREADY_FINISHED"):
        retry_step(store, task.task_uuid, "charge", ALICE)


# ---------------------------------------------------------------- retry-step


def test_retry_step_resumes_a_blocked_task_to_completion(
    engine: Engine, store: Store, calls: Recorder
) -> None:
    task_uuid = _blocked_checkout(engine)
    failed = engine.steps(task_uuid)["charge"]
    assert failed["current_state"] == "error"
    assert failed["attempts"] == 1

    outcome = retry_step(store, task_uuid, "charge", ALICE)

    assert (outcome.step_state_before, outcome.step_state_after) == ("error", "enqueued")
    assert (outcome.task_state_before, outcome.task_state_after) == (
        "blocked_by_failures",
        "steps_in_process",
    )
    assert outcome.resumed
    assert outcome.enqueued == 1
    assert outcome.blocking_steps == []
    charge = engine.steps(task_uuid)["charge"]
    assert charge["attempts"] == 0
    assert charge["claimable_at"] is not None
    reset, enqueued = engine.step_transitions(task_uuid, "charge")[-2:]
    assert (reset["from_state"], reset["to_state"], reset["event"]) == ("error", "pending", "Retry")
    assert reset["metadata"] == {
        "action": "retry_step",
        "by": "alice",
        "reason": ALICE.reason,
        "previous_attempts": 1,
    }
    assert enqueued["to_state"] == "enqueued"
    resumed = _task_transitions(engine, task_uuid)[-3:]
    assert [(row["from_state"], row["to_state"], row["event"]) for row in resumed] == [
        ("blocked_by_failures", "evaluating_results", "StepRepaired"),
        ("evaluating_results", "enqueuing_steps", "ReadyStepsFound"),
        ("enqueuing_steps", "steps_in_process", "StepsEnqueued"),
    ]
    for row in resumed:
        assert row["metadata"] == {
            "action": "retry_step",
            "by": "alice",
            "reason": ALICE.reason,
            "step": "charge",
        }

    assert engine.run(task_uuid) == "complete"
    assert [call.attempt for call in calls.of("charge")] == [1, 1]  # attempts start again
    assert calls.of("notify")[0].dependencies["charge"]["step"] == "charge"
    assert engine.steps(task_uuid)["charge"]["attempts"] == 1


def test_a_task_stays_blocked_while_another_failed_step_holds_it(
    engine: Engine, store: Store
) -> None:
    task = engine.submit(SIBLINGS, {})
    first, second = _claimed(store, task.task_uuid), _claimed(store, task.task_uuid)
    _fail(store, first, retryable=False)
    _fail(store, second, retryable=False)
    failed = sorted([first["name"], second["name"]])

    outcome = retry_step(store, task.task_uuid, failed[0], ALICE)
    assert outcome.task_state_after == "blocked_by_failures"
    assert not outcome.resumed
    assert outcome.step_state_after == "pending"  # not enqueued: the task takes no work
    assert outcome.blocking_steps == [failed[1]]
    assert engine.steps(task.task_uuid)[failed[0]]["claimable_at"] is None

    outcome = resolve_step(store, task.task_uuid, failed[1], ALICE)
    assert outcome.resumed
    assert outcome.task_state_after == "steps_in_process"
    steps = engine.steps(task.task_uuid)
    assert steps[failed[0]]["current_state"] == "enqueued"  # held back, enqueued on resume
    assert engine.run(task.task_uuid) == "complete"


def test_retry_step_needs_a_failed_step(engine: Engine, store: Store) -> None:
    task_uuid = _blocked_checkout(engine)
    with _refused(StepStateError, "STEP_STATE_INVALID") as refused:
        retry_step(store, task_uuid, "prepare", ALICE)
    assert "step 'prepare'" in refused.value.message
    assert "is complete" in refused.value.message
    with _refused(StepStateError, "STEP_STATE_INVALID"):
        retry_step(store, task_uuid, "notify", ALICE)  # pending


# ---------------------------------------------------------------- resume


def test_resume_restores_what_the_block_took_off_the_queue(engine: Engine, store: Store) -> None:
    task = engine.submit(SIBLINGS, {})
    taken = {row["name"]: row for row in (_claimed(store, task.task_uuid) for _ in range(3))}
    _complete(store, taken["first"])  # after_first enqueued
    after_first = _claimed(store, task.task_uuid)
    assert after_first["name"] == "after_first"
    _fail(store, taken["second"], retryable=True)  # waiting for its retry
    _fail(store, taken["third"], retryable=False)  # blocks the task
    _complete(store, after_first)  # finishes while blocked: nothing more to do
    steps = engine.steps(task.task_uuid)
    assert steps["second"]["current_state"] == "waiting_for_retry"
    assert steps["second"]["claimable_at"] is None

    outcome = resolve_step(store, task.task_uuid, "third", ALICE)
    assert outcome.resumed
    second = engine.steps(task.task_uuid)["second"]
    assert second["claimable_at"] is not None
    assert second["claimable_at"] <= engine.db_now()
    retried = _claimed(store, task.task_uuid)
    assert (retried["name"], retried["attempts"]) == ("second", 2)
    _complete(store, retried)
    assert engine.task(task.task_uuid)["current_state"] == "complete"


def test_a_child_held_back_by_the_block_is_enqueued_on_resume(engine: Engine, store: Store) -> None:
    task = engine.submit(SIBLINGS, {})
    taken = {row["name"]: row for row in (_claimed(store, task.task_uuid) for _ in range(3))}
    _fail(store, taken["third"], retryable=False)  # blocks the task
    _complete(store, taken["first"])  # counts after_first down, enqueues nothing
    _complete(store, taken["second"])
    held = engine.steps(task.task_uuid)["after_first"]
    assert (held["current_state"], held["pending_parents"]) == ("pending", 0)

    outcome = complete_step(store, task.task_uuid, "third", {"fixed": True}, ALICE)
    assert outcome.resumed
    assert outcome.enqueued == 1
    assert engine.steps(task.task_uuid)["after_first"]["current_state"] == "enqueued"
    assert engine.run(task.task_uuid) == "complete"


def test_repairing_the_last_unfinished_step_completes_the_task(
    engine: Engine, store: Store
) -> None:
    task_uuid = _blocked_checkout(engine, broken="notify")
    outcome = resolve_step(store, task_uuid, "notify", ALICE)
    assert outcome.task_state_after == "complete"
    assert outcome.resumed
    assert engine.task_path(task_uuid)[-3:] == [
        "blocked_by_failures",
        "evaluating_results",
        "complete",
    ]
    task = engine.task(task_uuid)
    assert task["complete"]
    assert task["completed_at"] is not None


# ---------------------------------------------------------------- resolve-step


def test_resolve_step_satisfies_its_children_and_resumes(
    engine: Engine, store: Store, calls: Recorder
) -> None:
    task_uuid = _blocked_checkout(engine)
    outcome = resolve_step(store, task_uuid, "charge", Actor(by="bob", reason="refunded"))
    assert (outcome.step_state_before, outcome.step_state_after) == (
        "error",
        "resolved_manually",
    )
    assert outcome.resumed
    assert outcome.enqueued == 1
    charge = engine.steps(task_uuid)["charge"]
    assert charge["processed"]
    assert charge["processed_at"] is not None
    assert charge["results"]["success"] is False  # the failure it had stays on record
    last = engine.step_transitions(task_uuid, "charge")[-1]
    assert (last["to_state"], last["event"]) == ("resolved_manually", "ResolveManually")
    assert last["metadata"] == {"action": "resolve_step", "by": "bob", "reason": "refunded"}
    assert engine.steps(task_uuid)["notify"]["current_state"] == "enqueued"

    assert engine.run(task_uuid) == "complete"
    assert len(calls.of("notify")) == 1
    assert len(calls.of("charge")) == 1  # not run again


def test_resolving_a_running_step_needs_force_and_refuses_its_attempt(
    engine: Engine, store: Store
) -> None:
    task = engine.submit(CHECKOUT, {})
    prepare = _claimed(store, task.task_uuid)
    with _refused(StepRunningError, "STEP_RUNNING") as refused:
        resolve_step(store, task.task_uuid, "prepare", ALICE)
    assert "--force" in (refused.value.hint or "")
    assert engine.steps(task.task_uuid)["prepare"]["current_state"] == "in_progress"

    outcome = resolve_step(store, task.task_uuid, "prepare", ALICE, force=True)
    assert outcome.step_state_before == "in_progress"
    with pytest.raises(StaleAttemptError):
        _complete(store, prepare)
    row = engine.steps(task.task_uuid)["prepare"]
    assert (row["current_state"], row["lease_owner"], row["in_process"]) == (
        "resolved_manually",
        None,
        False,
    )
    assert engine.steps(task.task_uuid)["charge"]["current_state"] == "enqueued"


def test_a_step_waiting_for_its_parents_cannot_be_settled(engine: Engine, store: Store) -> None:
    task = engine.submit(CHECKOUT, {})
    before = _snapshot(engine, task.task_uuid)
    with _refused(StepWaitingForParentsError, "STEP_WAITING_FOR_PARENTS") as refused:
        resolve_step(store, task.task_uuid, "notify", ALICE)
    assert "'charge'" in refused.value.message
    with _refused(StepWaitingForParentsError, "STEP_WAITING_FOR_PARENTS"):
        complete_step(store, task.task_uuid, "charge", {"amount": 1}, ALICE)
    assert _snapshot(engine, task.task_uuid) == before


# ---------------------------------------------------------------- complete-step


def test_complete_step_hands_its_result_to_the_children(
    engine: Engine, store: Store, calls: Recorder
) -> None:
    task_uuid = _blocked_checkout(engine)
    outcome = complete_step(store, task_uuid, "charge", {"amount": 12.5}, ALICE)
    assert (outcome.step_state_after, outcome.task_state_after) == ("complete", "steps_in_process")
    charge = engine.steps(task_uuid)["charge"]
    envelope = charge["results"]
    assert envelope["success"] is True
    assert envelope["status"] == "completed"
    assert envelope["result"] == {"amount": 12.5}
    assert envelope["error"] is None
    assert envelope["step_uuid"] == str(charge["workflow_step_uuid"])
    metadata = envelope["metadata"]
    assert metadata["completed_manually"] is True
    assert metadata["completed_by"] == "alice"
    assert metadata["completion_reason"] == ALICE.reason
    # the executor's keys are all there, so readers of envelopes need no special case
    assert {"execution_time_ms", "worker_id", "attempt", "error_code", "custom"} <= set(metadata)
    last = engine.step_transitions(task_uuid, "charge")[-1]
    assert (last["from_state"], last["to_state"], last["event"]) == (
        "error",
        "complete",
        "CompleteManually",
    )
    assert outcome.report.steps[1].result == {"amount": 12.5}

    assert engine.run(task_uuid) == "complete"
    assert calls.of("notify")[0].dependencies["charge"] == {"amount": 12.5}


def test_a_result_breaking_the_schema_is_refused_and_changes_nothing(
    engine: Engine, store: Store
) -> None:
    task_uuid = _blocked_checkout(engine)
    before = _snapshot(engine, task_uuid)
    with _refused(ResultSchemaViolationError, "RESULT_SCHEMA_VIOLATION") as refused:
        complete_step(store, task_uuid, "charge", {"amount": -3, "note": 1}, ALICE)
    assert refused.value.violations == ["$.amount: -3 is less than the minimum of 0"]
    assert "$.amount: -3 is less than the minimum of 0" in refused.value.message
    assert "'charge'" in refused.value.message
    with _refused(ResultSchemaViolationError, "RESULT_SCHEMA_VIOLATION") as refused:
        complete_step(store, task_uuid, "charge", {}, ALICE)
    assert "'amount' is a required property" in refused.value.message
    with _refused(ResultJsonError, "INVALID_RESULT_JSON") as refused:
        complete_step(store, task_uuid, "charge", [1, 2], ALICE)
    assert "must be a JSON object, not an array" in refused.value.message
    assert _snapshot(engine, task_uuid) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"amount": 1,}', "is not valid JSON"),
        ("[1]", "must be a JSON object, not an array"),
        ('"text"', "must be a JSON object, not a string"),
        ("null", "must be a JSON object, not null"),
    ],
)
def test_result_text_must_be_a_json_object(text: str, message: str) -> None:
    with _refused(ResultJsonError, "INVALID_RESULT_JSON") as refused:
        parse_result(text)
    assert message in refused.value.message


def test_completing_a_decision_creates_the_branches_it_names(engine: Engine, store: Store) -> None:
    task = engine.submit(APPROVAL, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"  # a malformed outcome
    before = _snapshot(engine, task.task_uuid)
    wrong = {"decision_point_outcome": {"type": "create_steps", "step_names": ["validate"]}}
    with _refused(ManualResultError, "DECISION_UNDECLARED_STEP") as refused:
        complete_step(store, task.task_uuid, "decide", wrong, ALICE)
    assert "'validate'" in refused.value.message
    assert _snapshot(engine, task.task_uuid) == before

    chosen = {"decision_point_outcome": {"type": "create_steps", "step_names": ["auto_approve"]}}
    outcome = complete_step(store, task.task_uuid, "decide", chosen, ALICE)
    assert outcome.resumed
    assert outcome.enqueued == 1
    steps = engine.steps(task.task_uuid)
    assert set(steps) == {"validate", "decide", "auto_approve", "finalize"}
    assert steps["auto_approve"]["current_state"] == "enqueued"
    assert engine.run(task.task_uuid) == "complete"


def test_a_batchable_step_cannot_be_completed_by_hand(engine: Engine, store: Store) -> None:
    template = make_template(
        [
            step("analyze", "fail.permanent", type="batchable"),
            step("work", "ok.noop", "analyze", type="batch_worker"),
        ],
        name="batch_by_hand",
    )
    task = engine.submit(template, {})
    assert engine.run(task.task_uuid) == "blocked_by_failures"
    with _refused(ManualCompletionUnsupportedError, "MANUAL_COMPLETION_UNSUPPORTED") as refused:
        complete_step(store, task.task_uuid, "analyze", {}, ALICE)
    assert "batchable" in refused.value.message
    assert "resolve-step" in (refused.value.hint or "")


# ---------------------------------------------------------------- concurrency


def test_a_repair_waits_for_a_worker_holding_a_step_row(
    engine: Engine, store: Store, database_url: str
) -> None:
    task_uuid = _blocked_checkout(engine)
    with psycopg.connect(database_url) as worker:  # a transaction that holds a step row
        worker.execute(
            "SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = %s AND name = 'notify'"
            " FOR UPDATE",
            [task_uuid],
        )
        result: list[Any] = []
        repair = threading.Thread(
            target=lambda: result.append(retry_step(store, task_uuid, "charge", ALICE))
        )
        repair.start()
        time.sleep(0.3)
        assert repair.is_alive()
        assert not result
        worker.commit()
    repair.join(timeout=10)
    assert result
    assert result[0].resumed


def test_a_task_that_stays_busy_is_a_coded_error(
    engine: Engine, store: Store, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(operator_module, "_LOCK_ATTEMPTS", 2)
    task_uuid = _blocked_checkout(engine)
    before = _snapshot(engine, task_uuid)
    with psycopg.connect(database_url) as worker:
        worker.execute(
            "SELECT 1 FROM tasker.workflow_steps WHERE task_uuid = %s AND name = 'charge'"
            " FOR UPDATE",
            [task_uuid],
        )
        with pytest.raises(TransactionConflictError, match="stayed busy") as refused:
            retry_step(store, task_uuid, "charge", ALICE)
    assert refused.value.code == "TRANSACTION_CONFLICT"
    assert "run the command again" in (refused.value.hint or "")
    assert _snapshot(engine, task_uuid) == before


def test_resuming_wakes_idle_workers(engine: Engine, store: Store, session: Store) -> None:
    task_uuid = _blocked_checkout(engine)
    session.listen("tasker_steps_ready")
    retry_step(store, task_uuid, "charge", ALICE)
    received = session.wait_for_notifications(5)
    assert [(n.channel, n.payload) for n in received] == [("tasker_steps_ready", "engine_tests")]


# ---------------------------------------------------------------- bad input


def test_unknown_task_and_step_are_coded_errors(engine: Engine, store: Store) -> None:
    task_uuid = _blocked_checkout(engine)
    missing = uuid.UUID(int=0)
    with _refused(TaskNotFoundError, "TASK_NOT_FOUND") as refused:
        cancel_task(store, missing, ALICE)
    assert str(missing) in refused.value.message
    with _refused(TaskNotFoundError, "TASK_NOT_FOUND"):
        retry_step(store, missing, "charge", ALICE)
    with _refused(StepNotFoundError, "STEP_NOT_FOUND") as refused:
        retry_step(store, task_uuid, "chrage", ALICE)
    assert "has no step 'chrage'" in refused.value.message
    assert refused.value.hint == "did you mean 'charge'?"
    with _refused(StepNotFoundError, "STEP_NOT_FOUND") as refused:
        resolve_step(store, task_uuid, "zzz", ALICE)
    assert refused.value.hint == "its steps: charge, notify, prepare"


def test_who_and_why_are_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    with _refused(MissingReasonError, "REASON_REQUIRED"):
        Actor.of(None)
    with _refused(MissingReasonError, "REASON_REQUIRED"):
        Actor.of("   ")
    with pytest.raises(UsageError, match="--by is empty"):
        Actor.of("why", " ")
    assert Actor.of(" flaky card network ", "carol") == Actor("carol", "flaky card network")
    monkeypatch.setenv("TASKER_ACTOR", "oncall-bot")
    assert default_actor() == "oncall-bot"
    assert Actor.of("why").by == "oncall-bot"
    monkeypatch.delenv("TASKER_ACTOR")
    assert "@" in default_actor()


# ---------------------------------------------------------------- list


def test_list_tasks_newest_first_with_step_counts(engine: Engine, store: Store) -> None:
    blocked = _blocked_checkout(engine)
    done = engine.submit(CHECKOUT, {"again": True})
    assert engine.run(done.task_uuid) == "complete"

    listed = list_tasks(store)
    assert [task.task_uuid for task in listed] == [done.task_uuid, blocked]
    assert listed[0].step_counts == {"complete": 3}
    assert listed[1].step_counts == {"complete": 1, "error": 1, "pending": 1}
    assert listed[1].identity == "engine_tests/checkout@1.0.0"
    assert listed[1].step_total == 3
    only_blocked = list_tasks(store, statuses=["blocked_by_failures"])
    assert [task.task_uuid for task in only_blocked] == [blocked]
    assert list_tasks(store, namespace="elsewhere") == []
    assert len(list_tasks(store, limit=1)) == 1
    with pytest.raises(TaskerError, match="unknown task status 'blocked'") as refused:
        list_tasks(store, statuses=["blocked"])
    assert refused.value.code == "UNKNOWN_TASK_STATUS"
    assert "did you mean 'blocked_by_failures'?" in (refused.value.hint or "")


# ---------------------------------------------------------------- property


_ACTIONS = st.lists(
    st.tuples(
        # cancel ends the story, so it comes up less often than the repairs
        st.sampled_from(["retry", "resolve", "complete"] * 3 + ["cancel"]),
        st.sampled_from(["first", "second", "third", "after_first"]),
    ),
    min_size=1,
    max_size=6,
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(actions=_ACTIONS, outcomes=st.lists(st.booleans(), min_size=3, max_size=3))
def test_any_sequence_of_repairs_keeps_the_caches_true(
    engine: Engine, store: Store, actions: list[tuple[str, str]], outcomes: list[bool]
) -> None:
    """Whatever operators do, and whether or not it is refused, every row agrees with its
    transitions, a step's counters and flags agree with its state, and a task that runs
    again can finish."""
    task = engine.submit(SIBLINGS, {}, identity="always_unique")
    for claimed, succeeds in zip(
        [_claimed(store, task.task_uuid) for _ in range(3)], outcomes, strict=True
    ):
        if succeeds:
            _complete(store, claimed)
        else:
            _fail(store, claimed, retryable=False)
    for action, name in actions:
        exit_code = ExitCode.OK
        try:
            if action == "retry":
                retry_step(store, task.task_uuid, name, ALICE)
            elif action == "resolve":
                resolve_step(store, task.task_uuid, name, ALICE)
            elif action == "complete":
                complete_step(store, task.task_uuid, name, {"by_hand": True}, ALICE)
            else:
                cancel_task(store, task.task_uuid, ALICE)
            event(f"{action} done")
        except TaskerError as error:
            event(f"{action} refused {error.code}")
            exit_code = error.exit_code
        assert exit_code in (ExitCode.OK, ExitCode.USAGE)
        _assert_consistent(engine, task.task_uuid)
    # and a task that runs again runs to the end: no step is left behind
    if engine.task(task.task_uuid)["current_state"] == "steps_in_process":
        assert engine.run(task.task_uuid) == "complete"
        _assert_consistent(engine, task.task_uuid)


def _assert_consistent(engine: Engine, task_uuid: uuid.UUID) -> None:
    task = engine.task(task_uuid)
    latest = _task_transitions(engine, task_uuid)
    assert [row["most_recent"] for row in latest] == [False] * (len(latest) - 1) + [True]
    assert task["current_state"] == latest[-1]["to_state"]
    steps = engine.steps(task_uuid)
    unfinished_errors = [name for name, row in steps.items() if row["current_state"] == "error"]
    if task["current_state"] == "blocked_by_failures":
        assert unfinished_errors, "a blocked task has a failed step"
    if task["current_state"] == "steps_in_process":
        assert not unfinished_errors, "a resumed task has no failed step left"
    for name, row in steps.items():
        transitions = engine.step_transitions(task_uuid, name)
        assert [t["most_recent"] for t in transitions][-1] is True
        assert sum(t["most_recent"] for t in transitions) == 1
        assert row["current_state"] == transitions[-1]["to_state"], name
        finished = row["current_state"] in ("complete", "resolved_manually", "cancelled")
        assert row["processed"] is finished, name
        assert (row["processed_at"] is not None) is finished, name
        if row["current_state"] not in ("enqueued", "waiting_for_retry", "in_progress"):
            assert row["claimable_at"] is None, name
        if task["current_state"] == "steps_in_process" and row["current_state"] == "enqueued":
            assert row["claimable_at"] is not None, name
        parents = engine.rows(
            "SELECT p.current_state FROM tasker.workflow_step_edges e"
            " JOIN tasker.workflow_steps p ON p.workflow_step_uuid = e.from_step_uuid"
            " WHERE e.to_step_uuid = %s",
            row["workflow_step_uuid"],
        )
        waiting = sum(p["current_state"] not in ("complete", "resolved_manually") for p in parents)
        assert row["pending_parents"] == waiting, name
    if task["current_state"] == "steps_in_process":
        ready = [
            name
            for name, row in steps.items()
            if row["current_state"] == "pending" and row["pending_parents"] == 0
        ]
        assert not ready, f"ready steps left pending in a running task: {ready}"
