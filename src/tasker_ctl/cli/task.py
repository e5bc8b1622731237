"""``tasker-ctl task submit|show``: create a task for workers to run, or look at one."""

from __future__ import annotations

import sys
import uuid
from typing import Annotated

import typer

from tasker_ctl.cli.db import DatabaseUrlOption
from tasker_ctl.cli.run import (
    ContextOption,
    EnvironmentOption,
    JsonOption,
    NewOption,
    check_template_path,
    parse_context,
)


def register(app: typer.Typer) -> None:
    task_app = typer.Typer(
        help="Create tasks for workers to run, and inspect tasks.", no_args_is_help=True
    )
    app.add_typer(task_app, name="task")

    @task_app.command()
    def submit(
        template: Annotated[
            str, typer.Argument(metavar="TEMPLATE", help="The TaskTemplate YAML file.")
        ],
        context: ContextOption = None,
        environment: EnvironmentOption = None,
        database_url: DatabaseUrlOption = None,
        new: NewOption = False,
        json_output: JsonOption = False,
    ) -> None:
        """Create TEMPLATE's task without running it; 'tasker-ctl worker' runs it.

        An identical task (same template and context) is reported, not created again (--new).
        """
        check_template_path(template)
        payload = parse_context(context)
        from tasker_ctl.engine.runner import submit_template

        report = submit_template(
            template,
            context=payload,
            database_url=database_url,
            environment=environment,
            new_task=new,
        )
        if json_output:
            from tasker_ctl.report.run_json import render_json

            sys.stdout.write(render_json(report))
            return
        identity = f"{report.namespace}/{report.name}@{report.version}"
        if report.resumed:
            typer.echo(f"task {report.task_uuid} already exists ({identity}, {report.status})")
            typer.echo("  hint: pass --new to submit another task with the same context")
        else:
            typer.echo(f"submitted task {report.task_uuid} ({identity}, {len(report.steps)} steps)")
        typer.echo(f"  see it with: tasker-ctl task show {report.task_uuid}")

    @task_app.command()
    def show(
        task_uuid: Annotated[
            uuid.UUID, typer.Argument(metavar="TASK_UUID", help="The task's UUID.")
        ],
        database_url: DatabaseUrlOption = None,
        json_output: JsonOption = False,
    ) -> None:
        """Show a task: its status and each step's state, attempts, time and error."""
        from tasker_ctl.engine.runner import show_task

        report = show_task(task_uuid, database_url=database_url)
        if json_output:
            from tasker_ctl.report.run_json import render_json

            sys.stdout.write(render_json(report))
            return
        from tasker_ctl.report.run_view import make_console, render_summary

        render_summary(report, make_console())
