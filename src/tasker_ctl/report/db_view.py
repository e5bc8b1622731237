"""What ``tasker-ctl db migrate|status|stop`` print: plain ``key: value`` lines, one fact each,
so a script can grep them and a person can read them; and ``db status --json``'s document."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from tasker_ctl.db.embedded import EmbeddedStatus
    from tasker_ctl.db.settings import DatabaseTarget
    from tasker_ctl.engine.store import Migration, MigrationStatus

__all__ = [
    "StatusOutput",
    "migrated_lines",
    "reachable_lines",
    "status_json",
    "stopped_embedded_lines",
    "stopped_servers_lines",
    "target_lines",
]


def migrated_lines(applied: Sequence[Migration], *, legacy: bool) -> list[str]:
    """What ``db migrate`` did: each migration applied, or that there was nothing to do."""
    if not applied:
        return ["migrations: up to date, nothing to apply"]
    return [
        f"upgraded in place to {migration.filename} (from the migrations before the "
        "baseline; tasks kept)"
        if legacy and migration.version == 1
        else f"applied {migration.filename}"
        for migration in applied
    ]


def stopped_embedded_lines(embedded: EmbeddedStatus, migrations: int) -> list[str]:
    """``db status`` of an embedded server that is not running (status never starts it)."""
    lines = [f"target: embedded PostgreSQL ({embedded.data_dir})"]
    if embedded.stored_in is not None:
        lines.append(f"stored in: {embedded.stored_in}")
    if embedded.initialized:
        state = "starting" if embedded.running else "not running"
        version = f"PostgreSQL {embedded.major_version}, " if embedded.major_version else ""
        lines.append(f"server: {state} ({version}data: {_size(embedded.size_bytes)})")
    else:
        lines.append("server: not created yet")
    lines.append(f"migrations: {migrations} in this version of tasker-ctl")
    lines.append("hint: `tasker-ctl db migrate` starts the server and applies them")
    return lines


def target_lines(target: DatabaseTarget, *, embedded: bool) -> list[str]:
    """Where ``db status`` looks, printed before it connects (so a refusal says where)."""
    return [f"target: {target.describe()}", *([f"url: {target.url}"] if embedded else [])]


def reachable_lines(server_version: str, report: MigrationStatus) -> list[str]:
    """``db status`` of a database it reached: its server and its migrations."""
    lines = ["reachable: yes", f"server: PostgreSQL {server_version}"]
    lines.append(f"migrations: {_migration_summary(report)}")
    lines += [f"  pending: {migration.filename}" for migration in report.pending]
    lines += [f"  modified since applied: {migration.filename}" for migration in report.modified]
    lines += [
        f"  applied but unknown to this version: {applied.version:04d}_{applied.name}"
        for applied in report.unknown
    ]
    if report.legacy:
        lines.append("  upgrade in place pending: from the migrations before the baseline")
    if report.behind:
        lines.append("hint: run `tasker-ctl db migrate`")
    return lines


def _migration_summary(report: MigrationStatus) -> str:
    if report.pre_baseline or report.legacy:
        return f"{len(report.applied)} applied before the baseline migration"
    text = f"{len(report.applied)} applied, {len(report.pending)} pending"
    if report.modified:
        text += f", {len(report.modified)} modified"
    return text


def _size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


# -- db status --json (docs/database.md) -----------------------------------------------------

STATUS_FORMAT_VERSION = 1


class StatusTarget(StrictOutput):
    kind: Literal["embedded", "url"] = Field(description="the embedded server, or a URL")
    source: Literal["option", "environment", "project config", "embedded"]
    origin: str = Field(description="where the URL was set, e.g. '--database-url'")
    url: str | None = Field(description="the URL with its password masked; null when unknown")
    data_dir: str | None = Field(description="the embedded data directory")
    stored_in: str | None = Field(description="where relocated embedded data really is")


class StatusServer(StrictOutput):
    state: Literal["running", "starting", "not running", "not created"]
    reachable: bool
    version: str | None = Field(description="PostgreSQL's version, when reached")
    data_bytes: int | None = Field(description="the embedded data's size on disk")


class StatusMigrations(StrictOutput):
    known: int = Field(description="migrations in this version of tasker-ctl")
    applied: int | None = Field(description="applied to the database; null when not reached")
    pending: list[str]
    modified: list[str]
    unknown: list[str] = Field(description="applied, but unknown to this version")
    upgrade_in_place: bool
    behind: bool | None = Field(description="`db migrate` would change the schema")


class StatusOutput(StrictOutput):
    version: int = Field(description=f"format version, {STATUS_FORMAT_VERSION}")
    tool: ToolOutput
    target: StatusTarget
    server: StatusServer
    migrations: StatusMigrations


def status_json(
    target: DatabaseTarget | None,
    *,
    embedded: EmbeddedStatus | None,
    known: int,
    server_version: str | None = None,
    report: MigrationStatus | None = None,
) -> str:
    """``db status --json``: one object; ``target`` None is a stopped embedded server."""
    return StatusOutput(
        version=STATUS_FORMAT_VERSION,
        tool=this_tool(),
        target=_status_target(target, embedded),
        server=_status_server(embedded, server_version),
        migrations=_status_migrations(known, report),
    ).model_dump_json(indent=2)


def _status_target(target: DatabaseTarget | None, embedded: EmbeddedStatus | None) -> StatusTarget:
    data_dir = str(embedded.data_dir) if embedded is not None else None
    stored_in = str(embedded.stored_in) if embedded and embedded.stored_in else None
    if target is None or target.source.value == "embedded":
        url = target.url if target is not None else None
        return StatusTarget(
            kind="embedded",
            source="embedded",
            origin="the embedded server",
            url=url,
            data_dir=data_dir,
            stored_in=stored_in,
        )
    return StatusTarget(
        kind="url",
        source=target.source.value,
        origin=target.origin,
        url=target.redacted_url,
        data_dir=None,
        stored_in=None,
    )


def _status_server(embedded: EmbeddedStatus | None, server_version: str | None) -> StatusServer:
    size = embedded.size_bytes if embedded is not None else None
    if server_version is not None:
        return StatusServer(
            state="running", reachable=True, version=server_version, data_bytes=size
        )
    assert embedded is not None
    if not embedded.initialized:
        state: Literal["running", "starting", "not running", "not created"] = "not created"
    else:
        state = "starting" if embedded.running else "not running"
    return StatusServer(state=state, reachable=False, version=None, data_bytes=size)


def _status_migrations(known: int, report: MigrationStatus | None) -> StatusMigrations:
    if report is None:
        return StatusMigrations(
            known=known,
            applied=None,
            pending=[],
            modified=[],
            unknown=[],
            upgrade_in_place=False,
            behind=None,
        )
    return StatusMigrations(
        known=known,
        applied=len(report.applied),
        pending=[migration.filename for migration in report.pending],
        modified=[migration.filename for migration in report.modified],
        unknown=[f"{applied.version:04d}_{applied.name}" for applied in report.unknown],
        upgrade_in_place=report.legacy,
        behind=report.behind,
    )


def stopped_servers_lines(stopped: Sequence[Path]) -> list[str]:
    """What ``db stop --all`` did."""
    if not stopped:
        return ["no embedded PostgreSQL server started by tasker-ctl was running"]
    return [f"stopped embedded PostgreSQL ({data_dir})" for data_dir in stopped]
