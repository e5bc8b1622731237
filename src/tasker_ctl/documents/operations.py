"""The documents of the operator's read commands: ``dlq list|show|stats``, ``dlq sweep`` (its
report; the MCP tool only ever asks for a dry run), ``stats``, ``events`` and ``report budget``.

Each function takes the command's inputs as plain values, opens the database as the command
does (``database_url`` None: the usual default) and returns the model the command's ``--json``
writes. ``events --json`` writes one line per event (a log stream): its document holds those
lines' objects as ``events``, in order, so the lines and the tool's answer are the same values.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from pydantic import Field, RootModel

from tasker_ctl.documents.repairs import DlqEntryDocument, dlq_document
from tasker_ctl.documents.tasks import require_reader
from tasker_ctl.engine.operator import DlqEntry, DlqEntrySummary, DlqStats, SweepReport
from tasker_ctl.engine.stats import StatsReport
from tasker_ctl.engine.views import DomainEvent, TransitionEvent
from tasker_ctl.errors import UsageError
from tasker_ctl.report.inspect_json import BudgetDocument, LineageBudgetDocument
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool
from tasker_ctl.report.stats_json import StatsOutput, build_stats

__all__ = [
    "BudgetReportDocument",
    "DlqListOutput",
    "DlqStatsOutput",
    "EventsOutput",
    "SweepOutput",
    "budget_document",
    "check_event_options",
    "dlq_entry_document",
    "dlq_list_document",
    "dlq_stats_document",
    "events_document",
    "read_dlq_entry",
    "stats_document",
    "stats_report",
    "sweep_document",
]

FORMAT_VERSION = 1
DEFAULT_DLQ_LIMIT = 50
DEFAULT_SWEEP_LIMIT = 100


# -- the dead-letter queue -------------------------------------------------------------------


class _DlqDocument(StrictOutput):
    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput


class DlqListOutput(_DlqDocument):
    """``dlq list --json``."""

    status_filter: str | None = Field(description="--status as given; null: every status")
    entries: list[DlqEntrySummary] = Field(description="newest first")


class SweepOutput(_DlqDocument):
    """``dlq sweep --json``: what a sweep found and did (with --dry-run: would do)."""

    sweep: SweepReport


class DlqStatsOutput(_DlqDocument):
    """``dlq stats --json``."""

    stats: DlqStats


def dlq_list_document(
    database_url: str | None, *, status: str | None = None, limit: int = DEFAULT_DLQ_LIMIT
) -> DlqListOutput:
    """Entries, newest first, of ``status`` when given (a coded error for an unknown one)."""
    require_reader(database_url)
    from tasker_ctl.engine.operator import list_dlq_entries
    from tasker_ctl.engine.store import open_store

    with open_store(database_url) as store:
        entries = list_dlq_entries(store, status=status, limit=limit)
    return DlqListOutput(
        version=FORMAT_VERSION, tool=this_tool(), status_filter=status, entries=entries
    )


def dlq_entry_document(database_url: str | None, entry: str | uuid.UUID) -> DlqEntryDocument:
    """``dlq show ENTRY --json``: one entry with its metadata and the snapshot of the task
    when it was made; the same document ``dlq resolve --json`` prints once it is resolved."""
    return dlq_document(read_dlq_entry(database_url, entry))


def read_dlq_entry(database_url: str | None, entry: str | uuid.UUID) -> DlqEntry:
    """The entry ``dlq show`` shows (its text view draws it)."""
    require_reader(database_url)
    from tasker_ctl.engine.operator import dlq_entry, parse_entry_uuid
    from tasker_ctl.engine.store import open_store

    key = parse_entry_uuid(entry)  # a malformed id is refused before the database opens
    with open_store(database_url) as store:
        return dlq_entry(store, key)


def dlq_stats_document(database_url: str | None) -> DlqStatsOutput:
    """Entries counted by reason and resolution status."""
    require_reader(database_url)
    from tasker_ctl.engine.operator import dlq_stats
    from tasker_ctl.engine.store import open_store

    with open_store(database_url) as store:
        counted = dlq_stats(store)
    return DlqStatsOutput(version=FORMAT_VERSION, tool=this_tool(), stats=counted)


def sweep_document(
    database_url: str | None,
    *,
    dry_run: bool,
    limit: int = DEFAULT_SWEEP_LIMIT,
    namespaces: list[str] | None = None,
) -> SweepOutput:
    """One staleness sweep; with ``dry_run`` it changes nothing and says what it would do."""
    require_reader(database_url)
    from tasker_ctl.engine.operator import default_actor, sweep_stale_tasks
    from tasker_ctl.engine.store import open_store

    with open_store(database_url) as store:
        report = sweep_stale_tasks(
            store,
            dry_run=dry_run,
            limit=limit,
            namespaces=namespaces or None,
            sweeper=f"tasker-ctl dlq sweep ({default_actor()})",
        )
    return SweepOutput(version=FORMAT_VERSION, tool=this_tool(), sweep=report)


# -- stats -----------------------------------------------------------------------------------


def stats_document(
    database_url: str | None, *, since: str = "24h", namespace: str | None = None
) -> StatsOutput:
    """``stats --json``: the dashboard of the tasks created since ``since`` (a duration, an
    ISO time or ``all``), with its alerts; ``failing`` says whether ``stats`` exits with 1."""
    return build_stats(stats_report(database_url, since=since, namespace=namespace))


def stats_report(
    database_url: str | None, *, since: str = "24h", namespace: str | None = None
) -> StatsReport:
    """The figures ``stats`` shows (its text view draws them)."""
    require_reader(database_url)
    from tasker_ctl.engine.stats import check_namespace, collect_stats
    from tasker_ctl.engine.store import open_store, parse_since, window_start

    # bad options are refused before the database is opened (or an embedded one started)
    wanted = parse_since(since, allow_all=True)
    check_namespace(namespace)
    with open_store(database_url) as store:
        return collect_stats(store, since=window_start(store, wanted), namespace=namespace)


# -- events ----------------------------------------------------------------------------------


class EventsOutput(StrictOutput):
    """``events --json`` (without --follow): the objects it prints one per line, in order."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    kind: Literal["transition", "domain"]
    events: list[TransitionEvent] | list[DomainEvent] = Field(description="oldest first")
    truncated: bool = Field(description="more events match than the limit")

    def transition_events(self) -> list[TransitionEvent]:
        return [event for event in self.events if isinstance(event, TransitionEvent)]

    def domain_events(self) -> list[DomainEvent]:
        return [event for event in self.events if isinstance(event, DomainEvent)]


def check_event_options(
    *, limit: int | None, tail: int | None, domain: bool, name: str | None, follow: bool = False
) -> None:
    """The combinations of ``events`` options that ask for two things at once."""
    if tail is not None and limit is not None and not follow:
        raise UsageError(
            "--tail prints the last events and --limit the first ones; choose one",
            hint="with --follow, --limit caps the new events printed after the tail",
        )
    if name is not None and not domain:
        raise UsageError("--name filters domain events: give --domain with it")
    if domain and tail is not None:
        raise UsageError("--tail reads transitions; with --domain use --since or --limit")


def events_document(
    database_url: str | None,
    *,
    task: str | None = None,
    since: str | None = None,
    limit: int | None = None,
    tail: int | None = None,
    domain: bool = False,
    name: str | None = None,
) -> EventsOutput:
    """The events ``events --json`` prints without ``--follow``: the first ``limit`` (1,000 by
    default) from ``since`` on, or the last ``tail``; of one ``task`` when given."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store, parse_since
    from tasker_ctl.engine.views import (
        DEFAULT_LIMIT,
        read_domain_events,
        read_events,
        read_last_events,
        resolve_task,
    )

    check_event_options(limit=limit, tail=tail, domain=domain, name=name)
    window = None if since is None else parse_since(since)
    cap = limit or DEFAULT_LIMIT
    with open_store(database_url) as store:
        task_uuid = None if task is None else resolve_task(store, task)
        if domain:
            found_domain = read_domain_events(
                store, task_uuid=task_uuid, event_name=name, since=window, limit=cap + 1
            )
            return _events("domain", found_domain[:cap], len(found_domain) > cap)
        if tail is not None:
            last = read_last_events(store, task_uuid=task_uuid, since=window, count=tail)
            return _events("transition", last, False)
        found = read_events(store, task_uuid=task_uuid, since=window, limit=cap + 1)
    return _events("transition", found[:cap], len(found) > cap)


def _events(
    kind: Literal["transition", "domain"],
    events: list[TransitionEvent] | list[DomainEvent],
    truncated: bool,
) -> EventsOutput:
    return EventsOutput(
        version=FORMAT_VERSION, tool=this_tool(), kind=kind, events=events, truncated=truncated
    )


# -- report budget ---------------------------------------------------------------------------


class BudgetReportDocument(
    RootModel[Annotated[BudgetDocument | LineageBudgetDocument, Field(discriminator="view")]]
):
    """``report budget --json``: the task's budget, or with ``--lineage`` its delegation
    chain's budgets added up, told apart by ``view``."""


def budget_document(
    database_url: str | None,
    reference: str,
    *,
    lineage: bool = False,
    namespace: str | None = None,
) -> BudgetDocument | LineageBudgetDocument:
    """The task's budget from its ledger: used, reserved and left of each resource."""
    require_reader(database_url)
    from tasker_ctl.engine.store import open_store
    from tasker_ctl.engine.views import resolve_task, task_budget, task_lineage

    with open_store(database_url) as store:
        task_uuid = resolve_task(store, reference, namespace=namespace)
        if lineage:
            return LineageBudgetDocument(lineage=task_lineage(store, task_uuid))
        return BudgetDocument(budget=task_budget(store, task_uuid))
