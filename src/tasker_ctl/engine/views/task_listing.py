"""Listing tasks for operators: newest first, with their steps counted by state.

``list_task_page`` is what ``tasker-ctl task list`` prints: one page of tasks and, when more
match, the cursor the next page continues after (keyset pagination on the creation time and
the UUID, so a page stays right while new tasks arrive). The rows come from one query, so a
listing of many tasks costs one round trip.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict

from tasker_ctl.engine.errors import (
    InvalidCursorError,
    InvalidTemplateFilterError,
    UnknownTaskStatusError,
)
from tasker_ctl.engine.rules.states import TaskState
from tasker_ctl.engine.store.clock import window_start
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.errors import UsageError

DEFAULT_LIST_LIMIT = 50
_CURSOR_VERSION = "1"
# NAME, NAMESPACE/NAME or NAMESPACE/NAME@VERSION; names as templates write them
_TEMPLATE_FILTER = re.compile(
    r"^(?:(?P<namespace>[^/@\s]+)/)?(?P<name>[^/@\s]+)(?:@(?P<version>[^/@\s]+))?$"
)


class TaskSummary(BaseModel):
    """One line of a task listing."""

    model_config = ConfigDict(extra="forbid")

    task_uuid: uuid.UUID
    status: str
    namespace: str
    name: str
    version: str
    step_counts: dict[str, int]  # step state -> how many steps are in it
    created_at: datetime
    # the task's latest change: the newest transition of the task or of one of its steps
    updated_at: datetime
    completed_at: datetime | None = None

    @property
    def identity(self) -> str:
        return f"{self.namespace}/{self.name}@{self.version}"

    @property
    def step_total(self) -> int:
        return sum(self.step_counts.values())


class TemplateFilter(BaseModel):
    """``--template``: a template's name, with its namespace and version when given."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    namespace: str | None = None
    version: str | None = None

    @classmethod
    def parse(cls, text: str) -> TemplateFilter:
        found = _TEMPLATE_FILTER.match(text.strip())
        if found is None:
            raise InvalidTemplateFilterError(
                f"--template '{text}' does not name a template",
                hint="write NAME, NAMESPACE/NAME or NAMESPACE/NAME@VERSION, "
                "e.g. --template shop/checkout",
            )
        return cls(name=found["name"], namespace=found["namespace"], version=found["version"])


class TaskPage(BaseModel):
    """One page of a listing: the tasks, and where the next page starts when more match."""

    model_config = ConfigDict(extra="forbid")

    tasks: list[TaskSummary]
    limit: int
    next_cursor: str | None = None  # None: this page holds the last matching task

    @property
    def truncated(self) -> bool:
        return self.next_cursor is not None


def list_task_page(
    store: Store,
    *,
    statuses: Iterable[str] = (),
    namespace: str | None = None,
    template: TemplateFilter | None = None,
    since: datetime | timedelta | None = None,
    after: str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
) -> TaskPage:
    """Tasks newest first: those in any of ``statuses`` (all when empty), of ``namespace``
    and ``template`` (all when None), created from ``since`` on (a duration counts back from
    the database's clock), after the task the cursor ``after`` points at; at most ``limit``
    of them, with the cursor of the next page when more match."""
    wanted = [check_task_status(status) for status in statuses]
    if limit < 1:
        raise UsageError(
            f"the limit must be at least 1, not {limit}", hint="pass --limit 1 or more"
        )
    after_created_at, after_uuid = (None, None) if after is None else decode_cursor(after)
    rows = store.fetch_all(
        "list_tasks",
        statuses=wanted or None,
        namespace=namespace,
        template_namespace=template.namespace if template else None,
        template_name=template.name if template else None,
        template_version=template.version if template else None,
        since=window_start(store, since),
        after_created_at=after_created_at,
        after_uuid=after_uuid,
        limit=limit + 1,
    )
    tasks = [_summary(row) for row in rows[:limit]]
    more = len(rows) > limit
    return TaskPage(
        tasks=tasks,
        limit=limit,
        next_cursor=encode_cursor(tasks[-1]) if more and tasks else None,
    )


def list_tasks(
    store: Store,
    *,
    statuses: Iterable[str] = (),
    namespace: str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
) -> list[TaskSummary]:
    """The first page's tasks (``list_task_page`` without its cursor)."""
    return list_task_page(store, statuses=statuses, namespace=namespace, limit=limit).tasks


def encode_cursor(task: TaskSummary) -> str:
    """An opaque cursor: the page after it starts with the task listed after ``task``."""
    raw = f"{_CURSOR_VERSION}|{task.created_at.isoformat()}|{task.task_uuid}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The creation time and UUID a cursor points at (``InvalidCursorError`` otherwise)."""
    text = cursor.strip()
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
        version, created_at, task_uuid = raw.split("|")
        if version != _CURSOR_VERSION:
            raise ValueError(version)
        moment = datetime.fromisoformat(created_at)
        if moment.tzinfo is None:
            raise ValueError(created_at)
        return moment, uuid.UUID(task_uuid)
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise InvalidCursorError(
            f"--after '{cursor[:60]}' is not a cursor of 'tasker-ctl task list'",
            hint="pass the next_cursor a listing printed (its last line, or 'next_cursor' "
            "in --json)",
        ) from None


def check_task_status(status: str) -> str:
    """``status`` if tasks have such a state, else a coded error suggesting the closest."""
    known = [state.value for state in TaskState]
    if status in known:
        return status
    close = difflib.get_close_matches(status, known, n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise UnknownTaskStatusError(
        f"unknown task status '{status}'",
        hint=hint + "task states: " + ", ".join(known),
    )


def _summary(row: dict[str, Any]) -> TaskSummary:
    return TaskSummary(
        task_uuid=row["task_uuid"],
        status=row["current_state"],
        namespace=row["namespace_name"],
        name=row["task_name"],
        version=row["task_version"],
        step_counts=dict(sorted(row["step_counts"].items())),
        created_at=row["created_at"],
        updated_at=row["changed_at"],
        completed_at=row["completed_at"],
    )
