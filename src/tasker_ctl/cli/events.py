"""``tasker-ctl events``: the transitions of tasks and their steps, one line each.

``--json`` prints one JSON object per event and line: the structured log stream
(``tasker-ctl events --follow --json >> events.log``). ``tasker_ctl.engine.views.events`` reads the
events and ``tasker_ctl.report.events_view`` renders the text lines; both are imported inside
the command.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from tasker_ctl.cli.domain_events import event_writer
from tasker_ctl.cli.options import TASK_HELP, DatabaseUrlOption

if TYPE_CHECKING:
    from rich.console import Console

    from tasker_ctl.engine.views import DomainEvent, TransitionEvent

_EPILOG = (
    "Exit codes: 0 done (with --follow: stopped by Ctrl-C, or --limit events printed); "
    "2 bad usage (an unreadable --since, an unknown task) or no database. "
    "docs/telemetry.md describes every field."
)


def register(app: typer.Typer) -> None:
    @app.command(epilog=_EPILOG)
    def events(
        task: Annotated[
            str | None,
            typer.Option(
                "--task",
                metavar="TASK",
                help=f"Only this task's events (default: every task's). {TASK_HELP}",
                show_default=False,
            ),
        ] = None,
        since: Annotated[
            str | None,
            typer.Option(
                "--since",
                metavar="10m|2h|ISO",
                help="Only events from then on: a duration back from now (30s, 10m, 2h, 1d, "
                "1w) or an ISO 8601 time (2026-03-01T12:00:00Z; UTC without an offset).",
                show_default=False,
            ),
        ] = None,
        follow: Annotated[
            bool,
            typer.Option(
                "--follow",
                "-f",
                help="Keep printing new events until stopped (Ctrl-C). Without --since or "
                "--task, only events from now on.",
            ),
        ] = False,
        json_output: Annotated[
            bool,
            typer.Option("--json", help="One JSON object per event and line (docs/telemetry.md)."),
        ] = False,
        limit: Annotated[
            int | None,
            typer.Option(
                "--limit",
                min=1,
                metavar="N",
                help="Print at most N events (the first N). Default: 1000, and no limit "
                "with --follow, which stops after N events when given.",
                show_default=False,
            ),
        ] = None,
        domain: Annotated[
            bool,
            typer.Option(
                "--domain",
                help="Domain events instead of transitions: those steps publish "
                "(publishes_events) and compositions emit, from the outbox; with --json, "
                "what a consumer reads (docs/domain-events.md).",
            ),
        ] = False,
        name: Annotated[
            str | None,
            typer.Option(
                "--name",
                metavar="EVENT",
                help="With --domain: only events of this name (payment.processed).",
                show_default=False,
            ),
        ] = None,
        tail: Annotated[
            int | None,
            typer.Option(
                "--tail",
                min=1,
                metavar="N",
                help="Print the last N events (of --task, from --since on); with --follow, "
                "then keep printing new ones.",
                show_default=False,
            ),
        ] = None,
        database_url: DatabaseUrlOption = None,
    ) -> None:
        """Print task and step transitions in the order they happened, one per line.

        Every step has the same kind of line, whatever created it (the template, a decision,
        a batch or a planner); what created it is shown in brackets.
        """
        from tasker_ctl.documents.operations import check_event_options

        check_event_options(limit=limit, tail=tail, domain=domain, name=name, follow=follow)
        try:
            if follow:
                _follow(task, since, limit, tail, domain, name, json_output, database_url)
            else:
                _print_events(task, since, limit, tail, domain, name, json_output, database_url)
        except KeyboardInterrupt:
            return  # Ctrl-C is how following ends
        except BrokenPipeError:
            # the reader went away (| head): nothing is wrong, and nothing more can be said
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return


def _follow(
    task: str | None,
    since: str | None,
    limit: int | None,
    tail: int | None,
    domain: bool,
    name: str | None,
    json_output: bool,
    database_url: str | None,
) -> None:
    """Print events as they happen (--follow), after the history or the tail asked for."""
    from tasker_ctl.engine.store import open_store, parse_since
    from tasker_ctl.engine.views import EARLIEST, follow_events, read_last_events, resolve_task

    window = None if since is None else parse_since(since)
    write = event_writer(json_output, flush=True, render=_render_transition)
    with open_store(database_url) as store:
        task_uuid = None if task is None else resolve_task(store, task)
        if domain:
            from tasker_ctl.cli.domain_events import print_domain_events

            print_domain_events(
                store,
                task_uuid=task_uuid,
                name=name,
                since=window,
                follow=True,
                limit=limit,
                json_output=json_output,
            )
            return
        shown: list[TransitionEvent] = []
        if tail is not None:
            shown = read_last_events(store, task_uuid=task_uuid, since=window, count=tail)
            for event in shown:
                write(event)
        # a task's history is printed before its new events; all tasks': only new ones;
        # after a tail, what follows it
        start = window if window is not None else (None if task is None else EARLIEST)
        if shown:
            start = shown[-1].occurred_at
        elif tail is not None and window is None:
            start = None  # the tail was empty: only new events
        for printed, event in enumerate(
            follow_events(store, task_uuid=task_uuid, since=start, already=shown), start=1
        ):
            write(event)
            if limit is not None and printed >= limit:
                return


def _print_events(
    task: str | None,
    since: str | None,
    limit: int | None,
    tail: int | None,
    domain: bool,
    name: str | None,
    json_output: bool,
    database_url: str | None,
) -> None:
    """The events that match, once (no --follow): the lines of the events document."""
    from tasker_ctl.documents.operations import events_document
    from tasker_ctl.engine.views import DEFAULT_LIMIT

    found = events_document(
        database_url, task=task, since=since, limit=limit, tail=tail, domain=domain, name=name
    )
    if domain:
        write_domain = event_writer(json_output, flush=False, render=_render_domain_event)
        for domain_event in found.domain_events():
            write_domain(domain_event)
    else:
        write = event_writer(json_output, flush=False, render=_render_transition)
        for event in found.transition_events():
            write(event)
    if found.truncated:
        kind, narrow = (
            ("domain events", "--since, --task or --name")
            if domain
            else ("events", "--since or --task")
        )
        typer.echo(
            f"note: more than {limit or DEFAULT_LIMIT} {kind} match; narrow them with "
            f"{narrow}, or raise --limit",
            err=True,
        )


def _render_domain_event() -> Callable[[DomainEvent, Console], None]:
    from tasker_ctl.report.domain_events_view import render_domain_event

    return render_domain_event


def _render_transition() -> Callable[[TransitionEvent, Console], None]:
    from tasker_ctl.report.events_view import render_event

    return render_event
