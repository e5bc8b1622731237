"""``tasker-ctl task ...``: create a task for workers to run, look at tasks, and repair them.

``submit`` and ``show`` create and inspect one task; ``list`` lists tasks; ``cancel``,
``retry-step``, ``resolve-step`` and ``complete-step`` are the operator's repairs
(``tasker_ctl.engine.operator.repairs``, docs/operations.md).
"""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from tasker_ctl.cli.inputs import check_template_path, parse_context
from tasker_ctl.cli.options import (
    REPAIR_EPILOG,
    ByOption,
    ChainMaxCallsOption,
    ChainMaxCostOption,
    ChainMaxDepthOption,
    ChainMaxTasksOption,
    ChainMaxTokensOption,
    ContextOption,
    CreatingDatabaseUrlOption,
    DatabaseUrlOption,
    EnvironmentOption,
    NewOption,
    OutputFileOption,
    ParentCorrelationOption,
    ReasonOption,
    RepairJsonOption,
    StepArgument,
    TaskArgument,
    TaskJsonOption,
    chain_options,
)
from tasker_ctl.errors import UsageError

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import RepairOutcome


class GraphFormat(StrEnum):
    MERMAID = "mermaid"
    DOT = "dot"
    JSON = "json"


_LIST_EPILOG = (
    "Exit codes: 0 listed (also when no task matches); 2 bad usage (an unknown --status, an "
    "unreadable --since, --template or --after) or no database. docs/operations.md "
    "describes the JSON document."
)
IdempotencyKeyOption = Annotated[
    str | None,
    typer.Option(
        "--idempotency-key",
        metavar="KEY",
        help="The request's own id: a second submit with the same KEY (and template) returns "
        "the first task and creates nothing, whatever --new says; the same KEY with another "
        "context is refused (IDEMPOTENCY_KEY_CONFLICT).",
        show_default=False,
    ),
]
SubmitReasonOption = Annotated[
    str | None,
    typer.Option(
        "--reason",
        metavar="TEXT",
        help="Why the task is submitted (optional): recorded with the task.",
        show_default=False,
    ),
]
SubmitByOption = Annotated[
    str | None,
    typer.Option(
        "--by",
        metavar="WHO",
        help="Who submits it (optional; with --reason, default $TASKER_ACTOR, else user@host): "
        "recorded with the task.",
        show_default=False,
    ),
]
ForceOption = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Also settle a step whose attempt is running; that attempt's result is refused.",
    ),
]


def group(app: typer.Typer) -> typer.Typer:
    """The ``task`` group, added to ``app``; ``register`` and the gates' module fill it."""
    task_app = typer.Typer(
        help="Create tasks for workers to run, inspect tasks and repair them.",
        no_args_is_help=True,
    )
    app.add_typer(task_app, name="task")
    return task_app


def register(task_app: typer.Typer) -> None:
    @task_app.command()
    def submit(
        template: Annotated[
            str, typer.Argument(metavar="TEMPLATE", help="The TaskTemplate YAML file.")
        ],
        context: ContextOption = None,
        environment: EnvironmentOption = None,
        database_url: CreatingDatabaseUrlOption = None,
        new: NewOption = False,
        parent_correlation_id: ParentCorrelationOption = None,
        chain_max_depth: ChainMaxDepthOption = None,
        chain_max_tasks: ChainMaxTasksOption = None,
        chain_max_cost: ChainMaxCostOption = None,
        chain_max_tokens: ChainMaxTokensOption = None,
        chain_max_llm_calls: ChainMaxCallsOption = None,
        idempotency_key: IdempotencyKeyOption = None,
        reason: SubmitReasonOption = None,
        by: SubmitByOption = None,
        json_output: TaskJsonOption = False,
    ) -> None:
        """Create TEMPLATE's task without running it; 'tasker-ctl worker' runs it.

        An identical task (same template and context) is reported, not created again (--new);
        so is the task of the same --idempotency-key.

        With --parent-correlation-id the task joins that task's delegation chain, and is
        refused when it would pass a limit of the chain's root (--chain-max-*).
        """
        check_template_path(template)
        payload = parse_context(context)
        from pathlib import Path

        from tasker_ctl.documents.submission import submit_document, submit_task

        report = submit_task(
            Path(template),
            context=payload,
            database_url=database_url,
            environment=environment,
            new=new,
            parent_correlation_id=parent_correlation_id,
            chain_limits=chain_options(
                chain_max_depth,
                chain_max_tasks,
                chain_max_cost,
                chain_max_tokens,
                chain_max_llm_calls,
            ),
            idempotency_key=idempotency_key,
            by=by,
            reason=reason,
        )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(submit_document(report))
            return
        from tasker_ctl.report.run_view import submitted_lines

        for line in submitted_lines(report):
            typer.echo(line)

    @task_app.command()
    def show(
        task: TaskArgument,
        database_url: DatabaseUrlOption = None,
        json_output: TaskJsonOption = False,
    ) -> None:
        """Show a task: its status and each step's state, attempts, time and error; a step
        waiting at a gate with what the approver must know and how to decide."""
        from tasker_ctl.engine import show_task
        from tasker_ctl.engine.store import open_store
        from tasker_ctl.engine.views import resolve_task

        with open_store(database_url) as store:
            task_uuid = resolve_task(store, task)
        report = show_task(task_uuid, database_url=database_url)
        if json_output:
            from tasker_ctl.report.run_json import render_json

            sys.stdout.write(render_json(report))
            return
        from tasker_ctl.report.run_view import make_console, render_summary

        render_summary(
            report,
            make_console(),
            after_decision="then a worker ('tasker-ctl worker', or 'tasker-ctl run' of the same "
            "template and context) runs the step",
        )

    @task_app.command()
    def graph(
        task: TaskArgument,
        graph_format: Annotated[
            GraphFormat, typer.Option("--format", "-f", case_sensitive=False, help="Output format.")
        ] = GraphFormat.MERMAID,
        json_output: Annotated[
            bool,
            typer.Option(
                "--json",
                help="Print the graph as one JSON document, the same as --format json: "
                "its nodes (each step with its state) and edges (docs/inspect.md).",
            ),
        ] = False,
        output: OutputFileOption = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Draw a task's DAG as it ran: each step's state, and run-time steps linked to the
        step that created them (compare with 'tasker-ctl template visualize')."""
        if json_output:
            if graph_format not in (GraphFormat.MERMAID, GraphFormat.JSON):
                raise UsageError(
                    f"--json and --format {graph_format.value} ask for different outputs",
                    hint="choose one of them",
                )
            graph_format = GraphFormat.JSON
        from tasker_ctl.documents.tasks import task_graph_document
        from tasker_ctl.report import task_graph
        from tasker_ctl.report.json_output import document_text

        drawn = task_graph_document(database_url, task)
        renderers = {
            GraphFormat.MERMAID: task_graph.render_mermaid,
            GraphFormat.DOT: task_graph.render_dot,
            GraphFormat.JSON: document_text,
        }
        text = renderers[graph_format](drawn)
        if output is None:
            sys.stdout.write(text)
            return
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(
                f"cannot write '{output}': {exc.strerror or exc.__class__.__name__}",
                hint="check the directory exists and is writable",
            ) from exc
        typer.echo(
            f"wrote the {graph_format.value} graph of task {drawn.task_uuid} to {output}",
            err=True,
        )

    @task_app.command("list", epilog=_LIST_EPILOG)
    def list_tasks(
        status: Annotated[
            list[str] | None,
            typer.Option(
                "--status",
                "-s",
                metavar="STATE",
                help="Only tasks in this state (e.g. blocked_by_failures); repeat for several.",
                show_default=False,
            ),
        ] = None,
        namespace: Annotated[
            str | None,
            typer.Option("--namespace", "-n", metavar="NAME", help="Only tasks of this namespace."),
        ] = None,
        template: Annotated[
            str | None,
            typer.Option(
                "--template",
                "-t",
                metavar="[NAMESPACE/]NAME[@VERSION]",
                help="Only tasks of this template (e.g. shop/checkout or shop/checkout@1.0.0).",
                show_default=False,
            ),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since",
                metavar="10m|2h|ISO",
                help="Only tasks created from then on: a duration back from now (30s, 10m, 2h, "
                "1d, 1w) or an ISO 8601 time (UTC without a zone), as for stats and events.",
                show_default=False,
            ),
        ] = None,
        limit: Annotated[
            int, typer.Option("--limit", min=1, metavar="N", help="At most N tasks a page.")
        ] = 50,
        after: Annotated[
            str | None,
            typer.Option(
                "--after",
                metavar="CURSOR",
                help="The next page: the tasks after the cursor a listing printed.",
                show_default=False,
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="Print the tasks as one JSON object (docs/operations.md)."),
        ] = False,
    ) -> None:
        """List tasks, newest first: status, template, steps by state, created and last
        changed. When more tasks match than --limit, the listing ends with the cursor of the
        next page (--after)."""
        from tasker_ctl.documents import tasks

        chosen = tasks.TaskListOptions(
            statuses=status or [],
            namespace=namespace,
            template=template,
            since=since,
            limit=limit,
            after=after,
        )
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(tasks.task_list_document(database_url, chosen))
            return
        from tasker_ctl.report.operator_view import render_task_list
        from tasker_ctl.report.run_view import make_console

        render_task_list(tasks.task_page(database_url, chosen), make_console())

    @task_app.command(epilog=REPAIR_EPILOG)
    def cancel(
        task: TaskArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Cancel a task: every unfinished step, then the task, move to 'cancelled'.

        Attempts still running finish, but their results are refused.
        """
        from tasker_ctl.documents.repairs import cancel_task

        outcome = cancel_task(task, reason=reason, by=by, database_url=database_url)
        _show_repair(outcome, json_output)

    @task_app.command("retry-step", epilog=REPAIR_EPILOG)
    def retry_step(
        task: TaskArgument,
        step_name: StepArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Run a failed step again: error -> pending, its attempts reset to 0, then
        pending -> enqueued at once when its parents are done and the task takes work.

        The output names the state the step ended in (enqueued, or pending while it waits).
        A task blocked by failures resumes once none of its steps is left failed.
        """
        from tasker_ctl.documents.repairs import retry_step as retry

        outcome = retry(task, step_name, reason=reason, by=by, database_url=database_url)
        _show_repair(outcome, json_output)

    @task_app.command("resolve-step", epilog=REPAIR_EPILOG)
    def resolve_step(
        task: TaskArgument,
        step_name: StepArgument,
        reason: ReasonOption = None,
        by: ByOption = None,
        force: ForceOption = False,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Settle a step by hand as 'resolved_manually': its children may then run.

        The step keeps the result it had (none, or its failure's); a task blocked by
        failures resumes once none of its steps is left failed.
        """
        from tasker_ctl.documents.repairs import resolve_step as resolve

        outcome = resolve(
            task, step_name, reason=reason, by=by, force=force, database_url=database_url
        )
        _show_repair(outcome, json_output)

    @task_app.command("complete-step", epilog=REPAIR_EPILOG)
    def complete_step(
        task: TaskArgument,
        step_name: StepArgument,
        result: Annotated[
            str | None,
            typer.Option(
                "--result",
                metavar="JSON|@FILE",
                help="The step's result (required): a JSON object, @FILE (JSON, or YAML when "
                "named .yaml/.yml), or @- for standard input. Checked against the step's "
                "result_schema; for a planning step, a fragment, checked in nine stages and "
                "written as its fill.",
                show_default=False,
            ),
        ] = None,
        reason: ReasonOption = None,
        by: ByOption = None,
        force: ForceOption = False,
        database_url: DatabaseUrlOption = None,
        json_output: RepairJsonOption = False,
    ) -> None:
        """Complete a step by hand with RESULT, which its children then see.

        A result that breaks the step's result_schema changes nothing. A task blocked by
        failures resumes once none of its steps is left failed. For a planning step the
        result is a fragment: it is checked as a planner's would be (FRAGMENT_REJECTED, exit
        1, changes nothing) and its steps are written.
        """
        from tasker_ctl.documents.repairs import complete_step as complete
        from tasker_ctl.engine.operator import Actor

        Actor.of(reason, by)  # a missing reason is refused before the result is read
        value = _read_result(result)  # refused before any database is opened
        outcome = complete(
            task,
            step_name,
            value,
            reason=reason,
            by=by,
            force=force,
            database_url=database_url,
        )
        _show_repair(outcome, json_output)


def _show_repair(outcome: RepairOutcome, json_output: bool) -> None:
    """What a repair changed: its JSON document (the MCP tool's answer), or text."""
    if json_output:
        from tasker_ctl.documents.repairs import repair_document
        from tasker_ctl.report.json_output import write_document

        write_document(repair_document(outcome))
        return
    from tasker_ctl.report.operator_view import show_repair

    show_repair(outcome, json_output=False)


def _read_result(value: str | None) -> dict[str, Any]:
    """``--result``'s JSON object, given inline, as ``@FILE`` or as ``@-``."""
    from tasker_ctl.cli.json_options import read_data_option
    from tasker_ctl.engine.errors import ResultJsonError
    from tasker_ctl.engine.operator import require_object

    if value is None:
        raise ResultJsonError(
            "complete-step needs the step's result",
            hint='pass --result \'{"key": "value"}\', --result @FILE or --result @-',
        )
    result, source = read_data_option(value, "--result", ResultJsonError)
    return require_object(result, source=source)
