"""Listing tasks for operators: newest first, with their steps counted by state.

``list_tasks`` is what ``tasker-ctl task list`` prints; the rows come from one query, so a
listing of many tasks costs one round trip.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel, ConfigDict

from tasker_ctl.engine.errors import UnknownTaskStatusError
from tasker_ctl.engine.rules.states import TaskState
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.errors import UsageError

DEFAULT_LIST_LIMIT = 50


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
    updated_at: datetime
    completed_at: datetime | None = None

    @property
    def identity(self) -> str:
        return f"{self.namespace}/{self.name}@{self.version}"

    @property
    def step_total(self) -> int:
        return sum(self.step_counts.values())


def list_tasks(
    store: Store,
    *,
    statuses: Iterable[str] = (),
    namespace: str | None = None,
    limit: int = DEFAULT_LIST_LIMIT,
) -> list[TaskSummary]:
    """Tasks newest first: those in any of ``statuses`` (all when empty) of ``namespace``
    (all when None), at most ``limit`` of them."""
    wanted = [check_task_status(status) for status in statuses]
    if limit < 1:
        raise UsageError(
            f"the limit must be at least 1, not {limit}", hint="pass --limit 1 or more"
        )
    rows = store.fetch_all(
        "list_tasks",
        statuses=wanted or None,
        namespace=namespace,
        limit=limit,
    )
    return [
        TaskSummary(
            task_uuid=row["task_uuid"],
            status=row["current_state"],
            namespace=row["namespace_name"],
            name=row["task_name"],
            version=row["task_version"],
            step_counts=dict(sorted(row["step_counts"].items())),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            completed_at=row["completed_at"],
        )
        for row in rows
    ]


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
