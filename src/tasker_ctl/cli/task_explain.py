"""``tasker-ctl task explain|diagnose``: a task, or one step of it, explained in one answer
(``tasker_ctl.documents.explain`` and ``.diagnose``): what ran, what was planned and why,
what failed, what waits, and the commands that would move it on."""

from __future__ import annotations

from typing import Annotated

import typer

from tasker_ctl.cli.options import DatabaseUrlOption, StepArgument, TaskArgument

ExplainJsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print one JSON document (docs/operations.md) instead of text."),
]
_EPILOG = "Exit codes: 0 explained; 2 bad usage, an unknown task or step, or no database."


def register(task_app: typer.Typer) -> None:
    """Add ``explain`` and ``diagnose`` to the ``task`` group."""

    @task_app.command(epilog=_EPILOG)
    def explain(
        task: TaskArgument,
        database_url: DatabaseUrlOption = None,
        json_output: ExplainJsonOption = False,
    ) -> None:
        """Explain a task in one answer: the steps that ran (state, attempts, time), what each
        planning step planned and why (goal, rationale, planned steps, budget spent), what
        failed (error and code), the gates that wait, and the commands that would move it on.

        Results are summarized, not shown whole ('tasker-ctl inspect task' has them).
        """
        from tasker_ctl.documents.explain import explain_task

        explanation = explain_task(task, database_url=database_url)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(explanation)
            return
        for line in explanation.text_lines():
            typer.echo(line)

    @task_app.command(epilog=_EPILOG)
    def diagnose(
        task: TaskArgument,
        step_name: StepArgument,
        database_url: DatabaseUrlOption = None,
        json_output: ExplainJsonOption = False,
    ) -> None:
        """Diagnose one step: its failure (type, code, message, retryable), its attempts,
        where it came from (up to the planning decision that made it), the steps it reads
        from and their states, and the repairs its state admits, each as a command line and
        as the MCP tool call.
        """
        from tasker_ctl.documents.diagnose import diagnose_step

        diagnosis = diagnose_step(task, step_name, database_url=database_url)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(diagnosis)
            return
        for line in diagnosis.text_lines():
            typer.echo(line)
