"""What ``tasker-ctl db migrate|status`` print: plain ``key: value`` lines, one fact each, so a
script can grep them and a person can read them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tasker_ctl.db.embedded import EmbeddedStatus
    from tasker_ctl.db.settings import DatabaseTarget
    from tasker_ctl.engine.store import Migration, MigrationStatus

__all__ = ["migrated_lines", "reachable_lines", "stopped_embedded_lines", "target_lines"]


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
