"""``tasker-ctl task approve|reject``: decide the gate a grammar step waits at."""

from __future__ import annotations

import uuid

import typer

from tasker_ctl.cli.options import (
    REPAIR_EPILOG,
    ByOption,
    DatabaseUrlOption,
    ReasonOption,
    RepairJsonOption,
    StepArgument,
    TaskArgument,
)


def register(task_app: typer.Typer) -> None:
    """Add ``approve`` and ``reject`` to the ``task`` group."""

    @task_app.command(epilog=REPAIR_EPILOG)
    def approve(
        task_uuid: TaskArgument,
        step_name: StepArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Approve the gate STEP_NAME waits at: the step is enqueued and its composition goes
        on after the gate.

        --reason is optional here. When the gate lists approvers, --by must be one of them.
        A worker (or 'tasker-ctl run' of the same template and context) then runs the step.
        """
        _decide(task_uuid, step_name, True, reason or "approved", by, database_url, json_output)

    @task_app.command(epilog=REPAIR_EPILOG)
    def reject(
        task_uuid: TaskArgument,
        step_name: StepArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Reject the gate STEP_NAME waits at: when the step runs, it fails for good with the
        reason, and the task is blocked by the failure."""
        _decide(task_uuid, step_name, False, reason, by, database_url, json_output)


def _decide(
    task_uuid: uuid.UUID,
    step_name: str,
    approve: bool,
    reason: str | None,
    by: str | None,
    database_url: str | None,
    json_output: bool,
) -> None:
    from tasker_ctl.engine.operator import Actor, decide_gate
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.report.operator_view import show_repair

    actor = Actor.of(reason, by)
    with open_store(database_url) as store:
        outcome = decide_gate(store, task_uuid, step_name, approve=approve, actor=actor)
    show_repair(outcome, json_output=json_output)
