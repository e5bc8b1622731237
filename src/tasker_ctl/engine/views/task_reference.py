"""The task a command names: a UUID, a unique prefix of one, or ``latest``.

``resolve_task`` is the one resolver every command that takes a task calls (a test walks the
command line and checks each TASK argument and option goes through it), so a task is named
the same way everywhere. A reference that names no task, or several, is a coded error whose
hint lists the candidates: the newest tasks, or the ones the prefix matches.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tasker_ctl.engine.errors import (
    AmbiguousTaskReferenceError,
    InvalidTaskReferenceError,
    TaskNotFoundError,
)
from tasker_ctl.engine.store.connection import Store

# what a command's help says a TASK is (the options share it)
TASK_REFERENCE_HELP = "A task UUID, its first 8+ characters, or 'latest'."
MIN_PREFIX = 8
_UUID_PREFIX = re.compile(r"^[0-9a-fA-F-]{4,36}$")
_CANDIDATES = 5


def resolve_task(store: Store, reference: str, *, namespace: str | None = None) -> uuid.UUID:
    """The task ``reference`` names: a UUID (which must exist), a unique prefix of one
    (8+ hex digits, hyphens ignored), or ``latest`` (the newest task, of ``namespace`` if
    given). ``InvalidTaskReferenceError`` when it is none of these, ``TaskNotFoundError`` when
    it names no task, ``AmbiguousTaskReferenceError`` when a prefix names several."""
    text = reference.strip()
    if text.lower() == "latest":
        return _latest(store, namespace)
    try:
        exact = uuid.UUID(text)
    except ValueError:
        exact = None
    if exact is not None:
        if not store.fetch_value("task_exists", task_uuid=exact):
            raise TaskNotFoundError(
                f"task {exact} does not exist", hint=_newest_hint(store, "check the UUID")
            )
        return exact
    if not _UUID_PREFIX.match(text) or len(text.replace("-", "")) < MIN_PREFIX:
        raise InvalidTaskReferenceError(
            f"'{reference}' is not a task UUID",
            hint=f"give a task's UUID, its first {MIN_PREFIX} or more characters, or 'latest'",
        )
    matches = [
        row["task_uuid"]
        for row in store.fetch_all("tasks_by_prefix", prefix=text.lower(), limit=_CANDIDATES + 1)
    ]
    if not matches:
        raise TaskNotFoundError(
            f"no task's UUID starts with '{reference}'",
            hint=_newest_hint(store, "check the prefix"),
        )
    if len(matches) > 1:
        rows = store.fetch_all("describe_tasks", uuids=matches[:_CANDIDATES], limit=_CANDIDATES)
        more = " (and more)" if len(matches) > _CANDIDATES else ""
        raise AmbiguousTaskReferenceError(
            f"'{reference}' is the start of more than one task's UUID{more}",
            hint="give more characters of the UUID; candidates: " + _listed(rows),
        )
    return uuid.UUID(str(matches[0]))


def _latest(store: Store, namespace: str | None) -> uuid.UUID:
    row = store.fetch_one("latest_task", namespace=namespace)
    if row is None:
        where = f" in namespace '{namespace}'" if namespace else ""
        raise InvalidTaskReferenceError(
            f"there is no task{where} yet",
            hint="create one with 'tasker-ctl run' or 'tasker-ctl task submit'",
        )
    return uuid.UUID(str(row["task_uuid"]))


def _newest_hint(store: Store, advice: str) -> str:
    rows = store.fetch_all("describe_tasks", uuids=None, limit=_CANDIDATES)
    if not rows:
        return f"{advice}; the database has no task yet (--database-url / TASKER_DATABASE_URL)"
    return f"{advice}; the newest tasks: {_listed(rows)} ('tasker-ctl task list' lists more)"


def _listed(rows: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{row['task_uuid']} ({row['namespace_name']}/{row['task_name']}@{row['task_version']},"
        f" {row['current_state']})"
        for row in rows
    )
