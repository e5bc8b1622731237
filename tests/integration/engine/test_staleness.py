"""Staleness sweeps and the dead-letter queue, on a real database with the clock moved.

Every task here is created, claimed and swept through connections whose engine clock
(``tasker.fake_now``) reads ``T0`` plus some minutes, so thresholds of half an hour or a day
are crossed without waiting. No worker thread runs: attempts are claimed, renewed, completed
and failed by hand, exactly as a worker's statements do it.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tasker_ctl.engine.errors import (
    DlqEntryAlreadyResolvedError,
    DlqEntryNotFoundError,
    InvalidDlqEntryIdError,
    InvalidLimitError,
    InvalidResolutionStatusError,
    InvalidResolverError,
    InvalidSweepOptionError,
    ResolutionNotesRequiredError,
)
from tasker_ctl.engine.graph.submission import register_template, submit_task
from tasker_ctl.engine.operator.dlq import (
    dlq_entry,
    dlq_stats,
    list_dlq_entries,
    resolve_dlq_entry,
)
from tasker_ctl.engine.operator.staleness import StalenessSweeper, SweepReport, sweep_stale_tasks
from tasker_ctl.engine.rules.staleness import StalenessThresholds
from tasker_ctl.engine.store.connection import Json, Store
from tasker_ctl.errors import ExitCode
from tasker_ctl.template.model import TaskTemplate
from tests.integration.engine.conftest import NAMESPACE, Engine, claim, clocked_store, step

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
CHAIN = [
    step("first", "ok.noop"),
    step("second", "ok.noop", "first"),
    step("third", "ok.noop", "second"),
]


def template(
    lifecycle: dict[str, Any] | None = None,
    *,
    name: str = "stale_test",
    namespace: str = NAMESPACE,
    steps: list[dict[str, Any]] | None = None,
) -> TaskTemplate:
    return TaskTemplate.model_validate(
        {
            "name": name,
            "namespace_name": namespace,
            "version": "1.0.0",
            "steps": steps or CHAIN,
            "lifecycle": lifecycle,
        }
    )


class Clock:
    """Connections to the test database whose engine clock reads ``T0 + minutes``."""

    def __init__(self, url: str) -> None:
        self.url = url

    def at(self, minutes: float) -> Store:
        return clocked_store(self.url, T0 + timedelta(minutes=minutes))

    def submit(self, tasks: TaskTemplate, *, minutes: float = 0, context: Any = None) -> uuid.UUID:
        with self.at(minutes) as store:
            with store.transaction():
                named = register_template(store, tasks, "test")
            with store.transaction():
                submitted = submit_task(
                    store, tasks, named, context or {}, identity="always_unique"
                )
        return submitted.task_uuid

    def sweep(self, minutes: float, **options: Any) -> SweepReport:
        with self.at(minutes) as store:
            return sweep_stale_tasks(store, **options)

    def claim(self, task_uuid: uuid.UUID, minutes: float, lease: int = 60) -> dict[str, Any]:
        with self.at(minutes) as store:
            row = claim(store, task_uuid, worker="hand", lease=lease)
        assert row is not None
        return row

    def complete(self, row: dict[str, Any], minutes: float) -> None:
        with self.at(minutes) as store:
            store.fetch_one(
                "complete_step",
                step_uuid=row["workflow_step_uuid"],
                attempt=row["attempts"],
                results=Json({"success": True, "result": {}}),
                metadata=Json({}),
            )

    def fail(
        self, row: dict[str, Any], minutes: float, *, retryable: bool, backoff: float = 0
    ) -> dict[str, Any] | None:
        with self.at(minutes) as store:
            return store.fetch_one(
                "fail_step",
                step_uuid=row["workflow_step_uuid"],
                attempt=row["attempts"],
                results=Json({"success": False, "error": {"message": "boom"}}),
                retryable=retryable,
                backoff_seconds=backoff,
                metadata=Json({}),
            )

    def move_task(self, task_uuid: uuid.UUID, minutes: float, *states: str) -> None:
        with self.at(minutes) as store:
            for state in states:
                store.fetch_one(
                    "transition_task",
                    task_uuid=task_uuid,
                    to_state=state,
                    metadata=Json({}),
                    expected=None,
                )


@pytest.fixture
def clock(database_url: str) -> Clock:
    return Clock(database_url)


def with_clock(url: str, now: datetime) -> str:
    """``url`` whose sessions start with the engine clock at ``now``: for code that opens
    its own connections (the clock travels in the startup options)."""
    setting = f"-c tasker.fake_now={now.isoformat()}"
    if "://" not in url:
        return f"{url} options='{setting}'"
    return f"{url}{'&' if '?' in url else '?'}options={quote(setting, safe='')}"


def dlq_rows(engine: Engine, task_uuid: uuid.UUID) -> list[dict[str, Any]]:
    return engine.rows("SELECT * FROM tasker.tasks_dlq WHERE task_uuid = %s", task_uuid)


def only(report: SweepReport) -> Any:
    assert len(report.stale) == 1, report
    return report.stale[0]


# -- thresholds ----------------------------------------------------------------------------


def test_a_task_with_nothing_moving_goes_to_the_dlq_after_30_minutes(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template())

    assert clock.sweep(29.5).stale == []
    found = only(clock.sweep(31))

    assert (found.task_uuid, found.state, found.action) == (task, "steps_in_process", "dlq")
    assert found.outcome == "dead_lettered"
    assert found.dlq_entry_created
    (threshold,) = found.thresholds
    assert threshold.name == "max_steps_in_process_minutes"
    assert (threshold.limit_minutes, threshold.source) == (30, "default")
    assert threshold.measured_minutes == 31.0
    assert threshold.measured_from == "last_progress"
    assert found.last_progress_at == T0

    assert engine.task(task)["current_state"] == "error"
    assert engine.task_path(task)[-3:] == ["evaluating_results", "blocked_by_failures", "error"]
    reasons = engine.rows(
        "SELECT metadata FROM tasker.task_transitions WHERE task_uuid = %s AND sort_key > 4",
        task,
    )
    assert {row["metadata"]["reason"] for row in reasons} == {"staleness_timeout"}
    assert {row["metadata"]["dlq_entry_uuid"] for row in reasons} == {str(found.dlq_entry_uuid)}
    # nothing of the task can be claimed any more
    assert all(s["claimable_at"] is None for s in engine.steps(task).values())
    with clock.at(32) as store:
        assert claim(store, task) is None

    (entry,) = dlq_rows(engine, task)
    assert entry["dlq_entry_uuid"] == found.dlq_entry_uuid
    assert entry["dlq_reason"] == "staleness_timeout"
    assert entry["original_state"] == "steps_in_process"
    assert entry["resolution_status"] == "pending"
    assert entry["dlq_timestamp"] == T0 + timedelta(minutes=31)
    assert entry["metadata"]["thresholds"][0]["name"] == "max_steps_in_process_minutes"
    assert entry["metadata"]["thresholds"][0]["measured_minutes"] == 31.0
    assert entry["metadata"]["action"] == "dlq"
    snapshot = entry["task_snapshot"]
    assert snapshot["task"]["state"] == "steps_in_process"
    assert snapshot["task"]["task_uuid"] == str(task)
    assert snapshot["step_counts"] == {"enqueued": 1, "pending": 2}
    assert [s["name"] for s in snapshot["steps"]] == ["first", "second", "third"]
    assert snapshot["steps"][0]["state"] == "enqueued"
    assert snapshot["steps_omitted"] == 0


@pytest.mark.parametrize(
    ("state", "route", "limit", "threshold"),
    [
        (
            "waiting_for_retry",
            ["waiting_for_retry"],
            30,
            "max_waiting_for_retry_minutes",
        ),
        (
            "waiting_for_dependencies",
            ["evaluating_results", "waiting_for_dependencies"],
            60,
            "max_waiting_for_dependencies_minutes",
        ),
        ("evaluating_results", ["evaluating_results"], 30, "max_steps_in_process_minutes"),
    ],
)
def test_each_waiting_state_has_its_threshold(
    engine: Engine, clock: Clock, state: str, route: list[str], limit: int, threshold: str
) -> None:
    task = clock.submit(template(steps=[step("only", "ok.noop")]))
    clock.move_task(task, 0, *route)

    assert clock.sweep(limit - 0.5).stale == []
    found = only(clock.sweep(limit + 1))

    assert (found.state, found.thresholds[0].name) == (state, threshold)
    assert found.thresholds[0].limit_minutes == limit
    assert engine.task(task)["current_state"] == "error"
    assert dlq_rows(engine, task)[0]["original_state"] == state


def bare_task(engine: Engine, path: list[str]) -> uuid.UUID:
    """A task with no steps that went through ``path`` at T0: the states submission passes
    through in one transaction, which only a crash inside another writer could leave."""
    named = engine.register(template(steps=[step("only", "ok.noop")]))
    task: uuid.UUID = engine.one(
        "INSERT INTO tasker.tasks (named_task_uuid, namespace_name, identity_hash,"
        " correlation_id, current_state, created_at, requested_at)"
        " VALUES (%s, %s, %s, gen_random_uuid(), %s, %s, %s) RETURNING task_uuid",
        named,
        NAMESPACE,
        uuid.uuid4().hex,
        path[-1],
        T0,
        T0,
    )["task_uuid"]
    for number, (before, after) in enumerate(zip([None, *path], path, strict=False), start=1):
        engine.execute(
            "INSERT INTO tasker.task_transitions"
            " (task_uuid, from_state, to_state, sort_key, most_recent, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            task,
            before,
            after,
            number,
            number == len(path),
            T0,
        )
    return task


@pytest.mark.parametrize(
    ("path", "limit", "route"),
    [
        (["pending"], 60, ["initializing", "enqueuing_steps", "error"]),
        (["pending", "initializing"], 30, ["enqueuing_steps", "error"]),
        (["pending", "initializing", "enqueuing_steps"], 30, ["error"]),
    ],
)
def test_a_task_stuck_in_a_passing_state_is_stale_too(
    engine: Engine, clock: Clock, path: list[str], limit: int, route: list[str]
) -> None:
    task = bare_task(engine, path)

    assert clock.sweep(limit - 1).stale == []
    found = only(clock.sweep(limit + 1))

    assert (found.state, found.outcome) == (path[-1], "dead_lettered")
    assert engine.task_path(task) == [*path, *route]
    assert dlq_rows(engine, task)[0]["task_snapshot"]["steps"] == []


def test_a_task_past_its_lifetime_is_stale_even_while_it_progresses(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template({"max_duration_minutes": 45}))
    clock.complete(clock.claim(task, 20), 21)
    clock.claim(task, 40, lease=3600)  # a running attempt with a live lease

    assert clock.sweep(44).stale == []
    found = only(clock.sweep(50))

    (threshold,) = found.thresholds
    assert (threshold.name, threshold.limit_minutes, threshold.source) == (
        "max_duration_minutes",
        45,
        "template",
    )
    assert (threshold.measured_from, threshold.measured_minutes) == ("created", 50.0)
    assert found.progress_age_minutes == 0.0
    assert engine.task(task)["current_state"] == "error"


def test_the_default_lifetime_is_a_day_and_zero_turns_a_check_off(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template({"max_steps_in_process_minutes": 0}))

    assert clock.sweep(23 * 60).stale == []
    found = only(clock.sweep(24 * 60 + 1))

    assert [(t.name, t.limit_minutes, t.source) for t in found.thresholds] == [
        ("max_duration_minutes", 24 * 60, "default")
    ]
    assert engine.task(task)["current_state"] == "error"


def test_a_template_threshold_overrides_the_default(engine: Engine, clock: Clock) -> None:
    quick = clock.submit(template({"max_steps_in_process_minutes": 5}, name="quick"))
    default = clock.submit(template(name="patient"))

    found = only(clock.sweep(6))

    assert found.task_uuid == quick
    assert (found.thresholds[0].limit_minutes, found.thresholds[0].source) == (5, "template")
    assert engine.task(default)["current_state"] == "steps_in_process"


def test_the_sweeper_defaults_can_be_changed(clock: Clock) -> None:
    clock.submit(template())
    thresholds = StalenessThresholds(max_steps_in_process_minutes=10)

    found = only(clock.sweep(11, thresholds=thresholds, dry_run=True))

    assert (found.thresholds[0].limit_minutes, found.thresholds[0].source) == (10, "default")
    with pytest.raises(InvalidSweepOptionError, match="max_duration_minutes"):
        StalenessThresholds(max_duration_minutes=-1)


def test_a_malformed_registered_lifecycle_falls_back_to_the_defaults(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template())
    engine.execute(
        "UPDATE tasker.named_tasks SET configuration = jsonb_set(configuration, '{lifecycle}',"
        ' \'{"max_steps_in_process_minutes": "soon", "staleness_action": "explode",'
        ' "auto_dlq_on_timeout": "yes"}\')'
    )

    found = only(clock.sweep(31))

    assert found.task_uuid == task
    assert (found.thresholds[0].limit_minutes, found.thresholds[0].source) == (30, "default")
    assert found.action == "dlq"
    assert any("explode" in note for note in found.notes)
    assert any("auto_dlq_on_timeout" in note for note in found.notes)
    assert dlq_rows(engine, task)[0]["metadata"]["notes"] == found.notes


# -- what counts as progress ---------------------------------------------------------------


def test_a_task_whose_steps_keep_moving_is_not_stale(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template())
    clock.complete(clock.claim(task, 20), 25)
    assert clock.sweep(40).stale == []
    second = clock.claim(task, 50)
    assert clock.sweep(54).stale == []
    clock.complete(second, 70)
    assert clock.sweep(99).stale == []

    assert engine.task(task)["current_state"] == "steps_in_process"
    # the task's own state is 100 minutes old, its last step transition 30.5
    assert only(clock.sweep(100.5, dry_run=True)).last_progress_at == T0 + timedelta(minutes=70)


def test_a_running_attempt_with_a_live_lease_is_progress(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template())
    row = clock.claim(task, 1, lease=60)
    # the heartbeat renews the lease, as a live worker's does
    for minutes in range(5, 100, 5):
        with clock.at(minutes) as store:
            assert store.fetch_value(
                "extend_lease",
                step_uuid=row["workflow_step_uuid"],
                attempt=row["attempts"],
                worker="hand",
                lease_seconds=60,
            )
    assert clock.sweep(100).stale == []
    # the worker died at 95 minutes: its lease ran out at 96
    found = only(clock.sweep(127))
    assert found.last_progress_at == T0 + timedelta(minutes=96)
    assert engine.task(task)["current_state"] == "error"


def test_a_retry_counts_as_progress_until_it_is_due(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template(steps=[step("only", "ok.noop")]))
    clock.fail(clock.claim(task, 1), 2, retryable=True, backoff=3600)  # due at 62 minutes

    assert clock.sweep(61).stale == []
    assert clock.sweep(91).stale == []
    found = only(clock.sweep(93))
    assert found.last_progress_at == T0 + timedelta(minutes=62)


def test_a_blocked_task_waits_for_an_operator_and_is_never_stale(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template(steps=[step("only", "ok.noop")]))
    clock.fail(clock.claim(task, 1), 2, retryable=False)
    assert engine.task(task)["current_state"] == "blocked_by_failures"

    assert clock.sweep(10 * 24 * 60).stale == []
    assert dlq_rows(engine, task) == []


def test_attempts_still_running_when_the_task_fails_record_harmlessly(
    engine: Engine, clock: Clock
) -> None:
    done = clock.submit(template())
    failed = clock.submit(template())
    finishing = clock.claim(done, 1)
    failing = clock.claim(failed, 1)

    assert len(clock.sweep(40).stale) == 2

    # the late success is stored; it enqueues nothing and the task stays in error
    clock.complete(finishing, 41)
    steps = engine.steps(done)
    assert steps["first"]["current_state"] == "complete"
    assert steps["second"]["current_state"] == "pending"
    assert steps["second"]["claimable_at"] is None
    assert engine.task(done)["current_state"] == "error"
    # a retryable failure schedules no retry; a permanent one blocks nothing
    assert clock.fail(failing, 41, retryable=True) == {
        "step_state": "waiting_for_retry",
        "task_state": "error",
    }
    assert engine.steps(failed)["first"]["claimable_at"] is None
    with clock.at(200) as store:
        assert claim(store, failed) is None
        assert claim(store, done) is None


# -- actions -------------------------------------------------------------------------------


def test_action_error_fails_the_task_without_a_dlq_entry(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template({"staleness_action": "error"}))

    found = only(clock.sweep(31))

    assert (found.action, found.outcome, found.dlq_entry_uuid) == ("error", "errored", None)
    assert engine.task(task)["current_state"] == "error"
    assert dlq_rows(engine, task) == []


def test_action_none_only_reports(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template({"staleness_action": "none"}))

    for minutes in (31, 60):
        found = only(clock.sweep(minutes))
        assert (found.action, found.outcome) == ("none", "reported")

    assert engine.task(task)["current_state"] == "steps_in_process"
    assert dlq_rows(engine, task) == []


def test_auto_dlq_on_timeout_dead_letters_a_task_past_its_lifetime(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(
        template(
            {
                "staleness_action": "none",
                "max_duration_minutes": 10,
                "max_steps_in_process_minutes": 0,
                "auto_dlq_on_timeout": True,
            }
        )
    )

    found = only(clock.sweep(11))

    assert (found.action, found.outcome) == ("dlq", "dead_lettered")
    assert len(dlq_rows(engine, task)) == 1


def test_auto_fail_on_timeout_false_keeps_a_task_past_its_lifetime(
    engine: Engine, clock: Clock
) -> None:
    task = clock.submit(template({"max_duration_minutes": 10, "auto_fail_on_timeout": False}))
    clock.claim(task, 1, lease=7200)

    assert only(clock.sweep(11)).outcome == "reported"
    # while its steps stop moving, the staleness_action (dlq) still applies
    assert only(clock.sweep(121 + 31)).outcome == "dead_lettered"
    assert engine.task(task)["current_state"] == "error"


def test_a_dry_run_changes_nothing(engine: Engine, clock: Clock) -> None:
    dead = clock.submit(template(name="dead"))
    failing = clock.submit(template({"staleness_action": "error"}, name="failing"))

    report = clock.sweep(31, dry_run=True)

    assert report.dry_run
    outcomes = {found.task_uuid: found.outcome for found in report.stale}
    assert outcomes == {dead: "would_dead_letter", failing: "would_error"}
    for task in (dead, failing):
        assert engine.task(task)["current_state"] == "steps_in_process"
        assert dlq_rows(engine, task) == []
    assert engine.steps(dead)["first"]["claimable_at"] is not None


# -- idempotency, limits, concurrency ------------------------------------------------------


def test_sweeping_again_changes_nothing(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template())

    assert len(clock.sweep(31).stale) == 1
    assert clock.sweep(32).stale == []
    assert len(dlq_rows(engine, task)) == 1


def test_a_task_with_a_pending_entry_gets_no_second_one(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template())
    earlier = engine.one(
        "INSERT INTO tasker.tasks_dlq (task_uuid, original_state, dlq_reason, task_snapshot)"
        " VALUES (%s, 'steps_in_process', 'manual_dlq', '{}') RETURNING dlq_entry_uuid",
        task,
    )["dlq_entry_uuid"]

    found = only(clock.sweep(31))

    assert (found.dlq_entry_uuid, found.dlq_entry_created) == (earlier, False)
    assert len(dlq_rows(engine, task)) == 1
    assert engine.task(task)["current_state"] == "error"


def test_the_limit_caps_the_tasks_failed_not_those_reported(engine: Engine, clock: Clock) -> None:
    watched = [clock.submit(template({"staleness_action": "none"}, name="watched"))]
    failed = [clock.submit(template(), minutes=1 + i) for i in range(3)]

    report = clock.sweep(60, limit=2)

    assert [found.task_uuid for found in report.stale] == [*watched, *failed[:2]]
    assert engine.task(failed[2])["current_state"] == "steps_in_process"
    assert [found.task_uuid for found in clock.sweep(61, limit=2).stale] == [
        *watched,
        failed[2],
    ]
    with pytest.raises(InvalidSweepOptionError, match="limit"):
        clock.sweep(62, limit=0)


def test_namespaces_limit_a_sweep(engine: Engine, clock: Clock) -> None:
    other = clock.submit(template(namespace="elsewhere"))
    mine = clock.submit(template())

    assert [found.task_uuid for found in clock.sweep(31, namespaces=[NAMESPACE]).stale] == [mine]
    assert engine.task(other)["current_state"] == "steps_in_process"


def test_concurrent_sweepers_take_each_task_once(engine: Engine, clock: Clock) -> None:
    tasks = {clock.submit(template()) for _ in range(24)}
    start = threading.Barrier(4)
    reports: list[SweepReport] = []
    failures: list[BaseException] = []

    def sweep() -> None:
        try:
            with clock.at(45) as store:
                start.wait(timeout=10)
                reports.append(sweep_stale_tasks(store))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert failures == []
    swept = [found.task_uuid for report in reports for found in report.stale]
    assert sorted(swept) == sorted(tasks)
    assert all(found.dlq_entry_created for report in reports for found in report.stale)
    entries = engine.rows("SELECT task_uuid FROM tasker.tasks_dlq")
    assert sorted(row["task_uuid"] for row in entries) == sorted(tasks)
    errors = engine.rows(
        "SELECT task_uuid, count(*) AS n FROM tasker.task_transitions WHERE to_state = 'error'"
        " GROUP BY task_uuid"
    )
    assert {row["task_uuid"] for row in errors} == tasks
    assert {row["n"] for row in errors} == {1}


def test_a_task_whose_row_is_held_is_left_for_the_next_sweep(
    engine: Engine, clock: Clock, database_url: str
) -> None:
    task = clock.submit(template())
    with clock.at(31) as holder, holder.transaction():
        holder.fetch_one("lock_stale_task", task_uuid=task)
        report = clock.sweep(31)
        assert (report.stale, report.skipped) == ([], 1)
    assert only(clock.sweep(32)).task_uuid == task


# -- the sweeper thread --------------------------------------------------------------------


def test_the_sweeper_thread_sweeps_until_stopped(engine: Engine, clock: Clock) -> None:
    task = clock.submit(template())
    url = with_clock(clock.url, T0 + timedelta(minutes=31))
    swept: list[SweepReport] = []
    seen = threading.Event()

    def on_sweep(report: SweepReport) -> None:
        swept.append(report)
        seen.set()

    sweeper = StalenessSweeper(url, interval=0.05, sweeper_id="sweeper-test", on_sweep=on_sweep)
    sweeper.start()
    try:
        assert seen.wait(10)
        while len(swept) < 3 and sweeper.is_alive():
            threading.Event().wait(0.05)
    finally:
        sweeper.stop.set()
        sweeper.join(10)

    assert not sweeper.is_alive()
    assert sweeper.failures == 0
    assert [found.task_uuid for found in swept[0].stale] == [task]
    assert all(report.stale == [] for report in swept[1:])
    assert dlq_rows(engine, task)[0]["metadata"]["sweeper"] == "sweeper-test"


def test_the_sweeper_survives_a_database_it_cannot_reach() -> None:
    sweeper = StalenessSweeper("postgresql://nobody@127.0.0.1:1/none", interval=60)
    assert sweeper.sweep_once() is None
    assert sweeper.failures == 1
    with pytest.raises(InvalidSweepOptionError, match="interval"):
        StalenessSweeper("postgresql://x", interval=0)


# -- the queue -----------------------------------------------------------------------------


@pytest.fixture
def entries(engine: Engine, clock: Clock) -> list[uuid.UUID]:
    """Two pending entries, the second made a minute later."""
    clock.submit(template(name="older"))
    clock.sweep(31)
    clock.submit(template(name="newer"), minutes=1)
    clock.sweep(32)
    rows = engine.rows("SELECT dlq_entry_uuid FROM tasker.tasks_dlq ORDER BY dlq_timestamp")
    return [row["dlq_entry_uuid"] for row in rows]


def test_entries_are_listed_newest_first_and_by_status(
    store: Store, entries: list[uuid.UUID]
) -> None:
    listed = list_dlq_entries(store)
    assert [entry.dlq_entry_uuid for entry in listed] == entries[::-1]
    assert listed[0].task_name == "newer"
    assert listed[0].thresholds == ["max_steps_in_process_minutes"]
    assert (listed[0].task_state, listed[0].original_state) == ("error", "steps_in_process")
    assert [e.dlq_entry_uuid for e in list_dlq_entries(store, limit=1)] == entries[1:]
    assert list_dlq_entries(store, status="cancelled") == []
    with pytest.raises(InvalidResolutionStatusError, match="'resolved'"):
        list_dlq_entries(store, status="resolved")
    with pytest.raises(InvalidLimitError):
        list_dlq_entries(store, limit=0)


def test_an_entry_is_resolved_once(
    store: Store, entries: list[uuid.UUID], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TASKER_ACTOR", "oncall-alice")
    first = entries[0]

    resolved = resolve_dlq_entry(
        store, str(first), status="permanently_failed", notes="  upstream gone  "
    )

    assert resolved.resolution_status == "permanently_failed"
    assert (resolved.resolution_notes, resolved.resolved_by) == ("upstream gone", "oncall-alice")
    assert resolved.resolution_timestamp is not None
    assert resolved.task_state == "error"
    with pytest.raises(DlqEntryAlreadyResolvedError, match="oncall-alice") as again:
        resolve_dlq_entry(store, first, status="cancelled", notes="again", resolved_by="bob")
    assert again.value.exit_code == ExitCode.FINDINGS
    assert dlq_entry(store, first).resolution_status == "permanently_failed"
    assert [e.dlq_entry_uuid for e in list_dlq_entries(store, status="pending")] == [entries[1]]

    counted = dlq_stats(store)
    assert (counted.total, counted.pending) == (2, 1)
    assert {(r.reason, r.resolution_status, r.entries) for r in counted.by_reason_and_status} == {
        ("staleness_timeout", "pending", 1),
        ("staleness_timeout", "permanently_failed", 1),
    }


@pytest.mark.parametrize(
    ("entry", "options", "error"),
    [
        ("not-a-uuid", {}, InvalidDlqEntryIdError),
        (str(uuid.UUID(int=7)), {}, DlqEntryNotFoundError),
        (None, {"status": "pending"}, InvalidResolutionStatusError),
        (None, {"status": "fixed"}, InvalidResolutionStatusError),
        (None, {"notes": "   "}, ResolutionNotesRequiredError),
        (None, {"resolved_by": " "}, InvalidResolverError),
        (None, {"resolved_by": "x" * 256}, InvalidResolverError),
    ],
)
def test_a_bad_resolution_is_refused_and_changes_nothing(
    store: Store,
    entries: list[uuid.UUID],
    entry: str | None,
    options: dict[str, Any],
    error: type[Exception],
) -> None:
    arguments = {"status": "manually_resolved", "notes": "fixed by hand", **options}
    with pytest.raises(error):
        resolve_dlq_entry(store, entry or entries[0], **arguments)
    assert dlq_entry(store, entries[0]).resolution_status == "pending"


def test_an_entry_shows_its_snapshot(store: Store, entries: list[uuid.UUID]) -> None:
    shown = dlq_entry(store, entries[0])
    assert shown.task_snapshot["task"]["name"] == "older"
    assert shown.metadata["thresholds"][0]["limit_minutes"] == 30
    with pytest.raises(DlqEntryNotFoundError):
        dlq_entry(store, uuid.UUID(int=1))
