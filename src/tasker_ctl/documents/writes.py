"""What every write shares: the preview a write tool answers before anything changes, the
rehearsal that computes it (the write run in a transaction that is rolled back), the store of a
command that changes existing tasks, and the checks of values a client gives as values (JSON
objects, texts) that ``--context`` and ``--result`` text meet when read.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput

if TYPE_CHECKING:
    from tasker_ctl.engine.store import Store

__all__ = [
    "PreviewChange",
    "PreviewTarget",
    "WritePreview",
    "bounded_object",
    "database_exists",
    "existing_store",
    "rehearsed",
    "storable_texts",
]

T = TypeVar("T")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class PreviewTarget(StrictOutput):
    task: uuid.UUID | None = Field(default=None, description="the task changed")
    step: str | None = Field(default=None, description="the step changed")
    dlq_entry: uuid.UUID | None = Field(default=None, description="the DLQ entry resolved")
    template: str | None = Field(default=None, description="the template submitted")


class PreviewChange(StrictOutput):
    subject: str = Field(description="what changes: 'task', \"step 'charge'\", 'dlq entry'")
    before: str | None = Field(description="its state now; null for what does not exist yet")
    after: str = Field(description="its state once the change is made")


class WritePreview(StrictOutput):
    """What a write would do, computed without changing anything."""

    action: str = Field(description="e.g. 'retry_step', 'submit_task', 'resolve_dlq_entry'")
    target: PreviewTarget
    summary: str = Field(description="one sentence")
    changes: list[PreviewChange] = Field(description="each state that would change")
    current: dict[str, Any] = Field(description="the target as it is now")


def storable_texts(**texts: str | None) -> None:
    """Refuse, before anything is read or written, a text PostgreSQL cannot store (a NUL
    character, half a surrogate pair): a reason, a name, notes, an environment."""
    from tasker_ctl.errors import JsonInputError

    for name, text in texts.items():
        if text is not None and _UNSTORABLE.search(text):
            raise JsonInputError(
                "TEXT_NOT_STORABLE",
                f"the {name.replace('_', ' ')} holds a NUL character or half a surrogate pair, "
                "which PostgreSQL cannot store",
                hint="remove the character",
            )


def bounded_object(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON object a client gave as a value (not text), held to the limits ``--context``
    and ``--result`` text is held to (depth, numbers, what jsonb stores)."""
    from tasker_ctl.bounded_json import loads
    from tasker_ctl.errors import JsonInputError

    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (RecursionError, TypeError, ValueError):
        raise JsonInputError(
            "JSON_INVALID", f"{what} is not a JSON object tasker-ctl can store"
        ) from None
    loaded = loads(text)
    if not isinstance(loaded, dict):
        raise JsonInputError("JSON_INVALID", f"{what} must be a JSON object")
    return loaded


class _Rehearsed(Exception):
    """Carries a rehearsed operation's answer out of the transaction it rolls back."""

    def __init__(self, answer: Any) -> None:
        super().__init__("rehearsal")
        self.answer = answer


def rehearsed(store: Store, operation: Callable[[], T], rehearse: bool) -> T:
    """``operation()``; when rehearsing, inside a transaction that is rolled back."""
    if not rehearse:
        return operation()
    try:
        with store.transaction():
            raise _Rehearsed(operation())
    except _Rehearsed as done:
        answer: T = done.answer
        return answer


def existing_store(database_url: str | None) -> Store:
    """The store of a command that reads or changes existing tasks: never creates a
    database (``DATABASE_NOT_FOUND``)."""
    from tasker_ctl.db.settings import require_database
    from tasker_ctl.engine.store import open_store

    require_database(database_url)
    return open_store(database_url)


def database_exists(database_url: str | None) -> bool:
    from tasker_ctl.db.settings import require_database
    from tasker_ctl.errors import DatabaseNotFoundError

    try:
        require_database(database_url)
    except DatabaseNotFoundError:
        return False
    return True
