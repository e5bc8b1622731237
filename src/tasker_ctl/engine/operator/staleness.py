"""Staleness detection: find running tasks that stopped making progress, and take them out.

The rules (thresholds, a template's policy, which action wins) are pure and live in
``rules/staleness.py``; this module measures tasks in the database and settles them.

A task is stale when its last sign of progress is older than the threshold of its state, or
when it has existed longer than ``max_duration_minutes``. Progress includes its steps'
transitions and the leases of running attempts, so a task that stays in
``steps_in_process`` while its steps move is not stale (``tasker.task_progress_at`` in
``sql/schema.sql`` is the exact rule). ``blocked_by_failures`` tasks
wait for an operator and are never stale.

Each template may set its own thresholds and action in ``lifecycle``; the defaults are
Tasker Core's. The action is ``dlq`` (a dead-letter entry, and the task goes to ``error``),
``error`` (no entry) or ``none`` (reported only). ``sweep_stale_tasks`` runs one sweep; a
``StalenessSweeper`` runs sweeps on a thread, as ``tasker-ctl worker`` does. Every stale task
is judged again and settled in a transaction of its own, under its row lock taken with
``SKIP LOCKED``, so any number of sweepers may run at once. See docs/dlq.md.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.errors import InvalidSweepOptionError
from tasker_ctl.engine.rules.staleness import (
    DEFAULT_THRESHOLDS,
    DURATION_THRESHOLD,
    STATE_THRESHOLDS,
    StalenessAction,
    StalenessThresholds,
    ThresholdName,
    action_for,
    policy_from_lifecycle,
)
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Json, Row, Store, connect
from tasker_ctl.errors import DatabaseError, TaskerError

logger = logging.getLogger(__name__)

SweepOutcome = Literal["dead_lettered", "errored", "reported", "would_dead_letter", "would_error"]

# a sweep every five minutes, as Tasker Core's detector runs by default
DEFAULT_SWEEP_INTERVAL_SECONDS = 300.0
DEFAULT_SWEEP_LIMIT = 100
# how many stale tasks one query measures at a time
_PAGE = 200


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ExceededThreshold(_Closed):
    """One threshold a stale task is past, and by how much."""

    name: ThresholdName
    limit_minutes: int
    source: Literal["template", "default"] = Field(
        description="the template's lifecycle, or the sweeper's default"
    )
    measured_minutes: float = Field(description="the age compared with the limit")
    measured_from: Literal["last_progress", "created"] = Field(
        description="what the age counts from: the last sign of progress, or the task's creation"
    )


class StaleTask(_Closed):
    """A task a sweep found stale, and what it did (or, in a dry run, would do) about it."""

    task_uuid: uuid.UUID
    namespace: str
    task_name: str
    task_version: str
    state: str = Field(description="the task's state when it was found stale")
    created_at: datetime
    last_progress_at: datetime
    progress_age_minutes: float
    task_age_minutes: float
    thresholds: list[ExceededThreshold]
    action: StalenessAction
    outcome: SweepOutcome
    dlq_entry_uuid: uuid.UUID | None = None
    dlq_entry_created: bool = Field(
        default=False, description="false when the task already had a pending entry"
    )
    notes: list[str] = Field(default_factory=list)


class SweepReport(_Closed):
    """What one sweep found and did."""

    swept_at: datetime = Field(description="the engine's time when the sweep began")
    sweeper: str
    dry_run: bool
    limit: int = Field(description="at most this many tasks were failed (or would be)")
    namespaces: list[str] | None
    thresholds: dict[str, int] = Field(description="the defaults of templates without their own")
    stale: list[StaleTask]
    skipped: int = Field(
        description="tasks found stale but held by another transaction, or moving again, "
        "when their turn came: left for their holder and the next sweep"
    )

    def count(self, outcome: SweepOutcome) -> int:
        return sum(1 for task in self.stale if task.outcome == outcome)


def sweep_stale_tasks(
    store: Store,
    *,
    dry_run: bool = False,
    limit: int = DEFAULT_SWEEP_LIMIT,
    namespaces: list[str] | None = None,
    thresholds: StalenessThresholds = DEFAULT_THRESHOLDS,
    sweeper: str | None = None,
) -> SweepReport:
    """Find stale tasks and apply each one's action; with ``dry_run`` change nothing.

    At most ``limit`` tasks are failed (or, in a dry run, would be); tasks whose action is
    ``none`` are reported and do not count. Each task is judged again under its row lock
    before anything is written, in a transaction of its own (a savepoint when ``store`` is
    inside one already, whose commit then releases the row locks). Time is the engine's
    (``tasker.now()``).
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidSweepOptionError(
            f"the sweep limit must be a whole number, 1 or more, not {limit!r}",
            hint="it caps how many tasks one sweep fails",
        )
    sweeper_name = sweeper or _default_sweeper()
    swept_at = database_now(store)
    stale: list[StaleTask] = []
    skipped = acted = 0
    after: tuple[datetime, uuid.UUID] | None = None
    while acted < limit:
        rows = _find(store, thresholds, namespaces, after=after, page=_PAGE)
        for row in rows:
            if acted >= limit:
                break
            after = (row["last_progress_at"], row["task_uuid"])
            found = (
                _judge(row, dry_run=True)
                if dry_run
                else _settle(store, row["task_uuid"], thresholds, sweeper_name)
            )
            if found is None:
                skipped += 1
                continue
            stale.append(found)
            if found.action != "none":
                acted += 1
        if len(rows) < _PAGE:
            break
    return SweepReport(
        swept_at=swept_at,
        sweeper=sweeper_name,
        dry_run=dry_run,
        limit=limit,
        namespaces=namespaces,
        thresholds=thresholds.as_json(),
        stale=stale,
        skipped=skipped,
    )


def _find(
    store: Store,
    thresholds: StalenessThresholds,
    namespaces: list[str] | None,
    *,
    task_uuid: uuid.UUID | None = None,
    after: tuple[datetime, uuid.UUID] | None = None,
    page: int,
) -> list[Row]:
    return store.fetch_all(
        "find_stale_tasks",
        states=[str(state) for state in STATE_THRESHOLDS],
        state_thresholds=Json({str(state): name for state, name in STATE_THRESHOLDS.items()}),
        defaults=Json(thresholds.as_json()),
        namespaces=namespaces,
        task_uuid=task_uuid,
        after_progress_at=None if after is None else after[0],
        after_task_uuid=None if after is None else after[1],
        page=page,
    )


def _settle(
    store: Store, task_uuid: uuid.UUID, thresholds: StalenessThresholds, sweeper: str
) -> StaleTask | None:
    """Judge one task again under its row lock and apply its action; None when it is held
    by another transaction or no longer stale."""
    with store.transaction():
        if store.fetch_one("lock_stale_task", task_uuid=task_uuid) is None:
            return None
        rows = _find(store, thresholds, None, task_uuid=task_uuid, page=1)
        if not rows:
            return None
        judged = _judge(rows[0], dry_run=False)
        if judged.action == "none":
            return judged
        exceeded = [threshold.model_dump(mode="json") for threshold in judged.thresholds]
        settled = store.fetch_one(
            "fail_stale_task",
            task_uuid=task_uuid,
            expected_state=judged.state,
            dead_letter=judged.action == "dlq",
            entry_metadata=Json(
                {
                    "detector": "staleness",
                    "action": judged.action,
                    "sweeper": sweeper,
                    "swept_at": rows[0]["now"].isoformat(),
                    "last_progress_at": judged.last_progress_at.isoformat(),
                    "progress_age_minutes": judged.progress_age_minutes,
                    "task_age_minutes": judged.task_age_minutes,
                    "thresholds": exceeded,
                    "notes": judged.notes,
                }
            ),
            transition_metadata=Json(
                {
                    "sweeper": sweeper,
                    "thresholds": [threshold.name for threshold in judged.thresholds],
                }
            ),
        )
    assert settled is not None  # the function returns one row or raises
    from tasker_ctl.engine.views.finished_tasks import report_final_task

    report_final_task(store, task_uuid)  # the sweep ended the task: the end of its span
    return judged.model_copy(
        update={
            "dlq_entry_uuid": settled["entry_uuid"],
            "dlq_entry_created": bool(settled["entry_created"]),
        }
    )


def _judge(row: Row, *, dry_run: bool) -> StaleTask:
    """A measured task (a row of find_stale_tasks) as a stale task, with its action and the
    outcome that action has (a dry run's: what it would have)."""
    exceeded = exceeded_thresholds(row)
    policy, notes = policy_from_lifecycle(row["lifecycle"])
    action = action_for((threshold.name for threshold in exceeded), policy)
    outcome: SweepOutcome
    if action == "none":
        outcome = "reported"
    elif dry_run:
        outcome = "would_dead_letter" if action == "dlq" else "would_error"
    else:
        outcome = "dead_lettered" if action == "dlq" else "errored"
    return StaleTask(
        task_uuid=row["task_uuid"],
        namespace=row["namespace_name"],
        task_name=row["task_name"],
        task_version=row["task_version"],
        state=row["current_state"],
        created_at=row["created_at"],
        last_progress_at=row["last_progress_at"],
        progress_age_minutes=_minutes(row["progress_seconds"]),
        task_age_minutes=_minutes(row["age_seconds"]),
        thresholds=exceeded,
        action=action,
        outcome=outcome,
        notes=notes,
    )


def exceeded_thresholds(row: Mapping[str, Any]) -> list[ExceededThreshold]:
    """The thresholds a measured task is past: the one of its state, measured from its last
    sign of progress, and the task lifetime, measured from its creation. The comparisons are
    the query's, on the same exact numbers."""
    exceeded: list[ExceededThreshold] = []
    checks = (
        (
            row["state_threshold"],
            row["state_limit_minutes"],
            row["state_limit_from_template"],
            row["progress_seconds"],
            "last_progress",
        ),
        (
            DURATION_THRESHOLD,
            row["duration_limit_minutes"],
            row["duration_limit_from_template"],
            row["age_seconds"],
            "created",
        ),
    )
    for name, limit, from_template, seconds, measured_from in checks:
        if limit is not None and Decimal(seconds) > Decimal(limit) * 60:
            exceeded.append(
                ExceededThreshold(
                    name=name,
                    limit_minutes=int(limit),
                    source="template" if from_template else "default",
                    measured_minutes=_minutes(seconds),
                    measured_from=measured_from,
                )
            )
    return exceeded


def _minutes(seconds: Decimal | float) -> float:
    return round(float(seconds) / 60, 2)


def _default_sweeper() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class StalenessSweeper:
    """Sweeps for stale tasks every ``interval`` seconds on a daemon thread, with a database
    connection of its own, until ``stop`` is set.

    The first sweep runs at once. A sweep that fails (the database went away, say) is logged
    and the next one reconnects: the sweeper never takes its host process down with it.
    """

    def __init__(
        self,
        database_url: str,
        *,
        interval: float = DEFAULT_SWEEP_INTERVAL_SECONDS,
        namespaces: list[str] | None = None,
        limit: int = DEFAULT_SWEEP_LIMIT,
        thresholds: StalenessThresholds = DEFAULT_THRESHOLDS,
        sweeper_id: str | None = None,
        stop: threading.Event | None = None,
        on_sweep: Callable[[SweepReport], None] | None = None,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
            raise InvalidSweepOptionError(
                f"the staleness sweep interval must be a number of seconds above 0, "
                f"not {interval!r}",
                hint="to run no sweeper, do not start one (tasker-ctl worker: "
                "--staleness-interval 0)",
            )
        self.database_url = database_url
        self.interval = float(interval)
        self.namespaces = namespaces
        self.limit = limit
        self.thresholds = thresholds
        self.sweeper_id = sweeper_id or _default_sweeper()
        self.stop = stop or threading.Event()
        self.on_sweep = on_sweep
        self.sweeps = 0
        self.failures = 0
        self._store: Store | None = None
        self._thread = threading.Thread(
            target=self.run, name=f"staleness-sweeper {self.sweeper_id}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.sweep_once()
                if self.stop.wait(self.interval):
                    break
        finally:
            self._close()

    def sweep_once(self) -> SweepReport | None:
        """One sweep; None when it failed (the failure is logged)."""
        try:
            if self._store is None or self._store.closed:
                self._store = connect(self.database_url, application_name="tasker-ctl sweeper")
            report = sweep_stale_tasks(
                self._store,
                limit=self.limit,
                namespaces=self.namespaces,
                thresholds=self.thresholds,
                sweeper=self.sweeper_id,
            )
        except DatabaseError as error:
            self.failures += 1
            logger.warning("staleness sweep failed, retrying in %.0f s: %s", self.interval, error)
            self._close()
            return None
        except TaskerError as error:
            self.failures += 1
            logger.warning("staleness sweep failed: [%s] %s", error.code, error)
            return None
        except Exception as error:  # a bug: logged, and the host process carries on
            self.failures += 1
            logger.error("staleness sweep failed: %s: %s", error.__class__.__name__, error)
            self._close()
            return None
        self.sweeps += 1
        if self.on_sweep is not None:
            try:
                self.on_sweep(report)
            except Exception as error:  # whoever listens must not stop the sweeps
                logger.error("staleness sweep listener failed: %s", error)
        return report

    def _close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
