"""``tasker-ctl task approve|reject``: decide the gate a grammar step waits at."""

from __future__ import annotations

from typing import Annotated

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

# approve alone may leave the reason out: agreeing to what the gate asks needs no explanation
ApproveReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason",
        metavar="TEXT",
        help="Why (optional): recorded with the decision; default: 'approved'.",
        show_default=False,
    ),
]
APPROVED_REASON = "approved"


def register(task_app: typer.Typer) -> None:
    """Add ``approve`` and ``reject`` to the ``task`` group."""

    @task_app.command(epilog=REPAIR_EPILOG)
    def approve(
        task: TaskArgument,
        step_name: StepArgument,
        reason: ApproveReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Approve the gate STEP_NAME waits at: the step is enqueued and its composition goes
        on after the gate.

        --reason may be left out (the decision is recorded with the reason 'approved').
        When the gate lists approvers, --by must be one of them. A worker (or 'tasker-ctl
        run' of the same template and context) then runs the step.
        """
        _decide(task, step_name, True, reason or APPROVED_REASON, by, database_url, json_output)

    @task_app.command(epilog=REPAIR_EPILOG)
    def reject(
        task: TaskArgument,
        step_name: StepArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Reject the gate STEP_NAME waits at: when the step runs, it fails for good with the
        reason, and the task is blocked by the failure.

        --reason is required: it is what the step's failure says. When the gate lists
        approvers, --by must be one of them.
        """
        _decide(task, step_name, False, reason, by, database_url, json_output)


def _decide(
    task: str,
    step_name: str,
    approve: bool,
    reason: str | None,
    by: str | None,
    database_url: str | None,
    json_output: bool,
) -> None:
    from tasker_ctl.documents.repairs import decide_gate, repair_document
    from tasker_ctl.report.operator_view import show_repair

    outcome = decide_gate(
        task, step_name, approve=approve, reason=reason, by=by, database_url=database_url
    )
    if json_output:
        from tasker_ctl.report.json_output import write_document

        write_document(repair_document(outcome))
        return
    show_repair(outcome, json_output=False)
