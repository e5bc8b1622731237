"""Transition events: the view and its readers against real runs. Every transition of a task
and of its steps is an event, in one shape whatever created the step; ``follow_events`` sees
new ones, including those whose transaction commits after newer ones."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tasker_ctl.engine.errors import TaskNotFoundError
from tasker_ctl.engine.graph.submission import submit_task
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Store, connect
from tasker_ctl.engine.views.events import EARLIEST, TransitionEvent, follow_events, read_events
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.test_batches import batch_template
from tests.integration.engine.test_decisions import APPROVAL

LINEAR = make_template(
    [
        step("first", "ok.noop"),
        step("second", "ok.noop", "first"),
        step("third", "ok.noop", "second"),
    ],
    name="events_linear",
)
STEP_FIELDS = ("workflow_step_uuid", "step_name", "attempt", "created_by", "handler_type")
# a step's life, whatever created it
STEP_PATH = ["pending", "enqueued", "in_progress", "complete"]


def _transitions(engine: Engine, task_uuid: uuid.UUID) -> set[tuple[Any, ...]]:
    """The task's transitions as the tables hold them."""
    tasks = engine.rows(
        "SELECT task_transition_uuid AS id, NULL::text AS step, from_state, to_state, event,"
        " NULL::integer AS attempt, sort_key, created_at FROM tasker.task_transitions"
        " WHERE task_uuid = %s",
        task_uuid,
    )
    steps = engine.rows(
        "SELECT t.workflow_step_transition_uuid AS id, s.name AS step, t.from_state,"
        " t.to_state, t.event, t.attempt, t.sort_key, t.created_at"
        " FROM tasker.workflow_step_transitions t JOIN tasker.workflow_steps s"
        " USING (workflow_step_uuid) WHERE t.task_uuid = %s",
        task_uuid,
    )
    return {tuple(row.values()) for row in [*tasks, *steps]}


def _as_transitions(events: list[TransitionEvent]) -> set[tuple[Any, ...]]:
    return {
        (
            e.event_uuid,
            e.step_name,
            e.from_state,
            e.to_state,
            e.event,
            e.attempt,
            e.sort_key,
            e.occurred_at,
        )
        for e in events
    }


def _check_shape(events: list[TransitionEvent]) -> None:
    """Every event has the same keys; a step's are set, a task's are not; in order."""
    assert [e.position for e in events] == sorted(e.position for e in events)
    for event in events:
        record = event.log_record()
        assert list(record) == list(TransitionEvent.model_fields)
        if event.entity == "step":
            assert all(record[name] is not None for name in STEP_FIELDS), record
        else:
            assert all(record[name] is None for name in STEP_FIELDS), record
        assert event.trace_id is not None
        assert len(event.trace_id) == 32


def _paths(events: list[TransitionEvent]) -> dict[str, list[str]]:
    paths: dict[str, list[str]] = {}
    for event in events:
        if event.entity == "step":
            paths.setdefault(str(event.step_name), []).append(event.to_state)
    return paths


def test_a_linear_task_s_events_are_its_transitions(engine: Engine, store: Store) -> None:
    task = engine.submit(LINEAR, {})
    assert engine.run(task.task_uuid) == "complete"
    events = read_events(store, task_uuid=task.task_uuid)
    assert _as_transitions(events) == _transitions(engine, task.task_uuid)
    _check_shape(events)
    stored = engine.task(task.task_uuid)
    assert {e.trace_id for e in events} == {stored["trace_id"]}
    assert {e.correlation_id for e in events} == {stored["correlation_id"]}
    assert _paths(events) == dict.fromkeys(("first", "second", "third"), STEP_PATH)
    # a step's events follow its own order, and the task's last event closes the list
    assert events[-1].entity == "task"
    assert events[-1].to_state == "complete"
    completes = [e for e in events if e.to_state == "complete" and e.entity == "step"]
    assert [e.step_name for e in completes] == ["first", "second", "third"]
    assert all(e.metadata.get("worker") for e in completes)


@pytest.mark.parametrize(
    ("template", "context", "created"),
    [
        (APPROVAL, {"route": ["manager_review"]}, "decision_point"),
        (batch_template(), {"items": 25, "batch_size": 10}, "batch_spawn"),
    ],
    ids=["decision", "batch"],
)
def test_run_time_steps_have_the_same_events_as_template_steps(
    engine: Engine, store: Store, template: Any, context: Any, created: str
) -> None:
    task = engine.submit(template, context)
    assert engine.run(task.task_uuid, workers=2) == "complete"
    events = read_events(store, task_uuid=task.task_uuid)
    assert _as_transitions(events) == _transitions(engine, task.task_uuid)
    _check_shape(events)
    origins = {e.created_by for e in events if e.entity == "step"}
    assert origins == {"template", created}
    # one lifecycle whatever created the step
    assert set(map(tuple, _paths(events).values())) == {tuple(STEP_PATH)}
    by_origin = {
        origin: {
            tuple(sorted(k for k, v in e.log_record().items() if v is not None))
            for e in events
            if e.entity == "step" and e.created_by == origin
        }
        for origin in origins
    }
    assert by_origin["template"] == by_origin[created]


def test_all_tasks_events_paged_and_bounded_in_time(engine: Engine, store: Store) -> None:
    first = engine.submit(LINEAR, {"n": 1})
    engine.run(first.task_uuid)
    middle = database_now(store)
    second = engine.submit(LINEAR, {"n": 2})
    engine.run(second.task_uuid)
    everything = read_events(store)
    assert {e.task_uuid for e in everything} == {first.task_uuid, second.task_uuid}
    # a small limit and the cursor give the same list, page by page
    paged: list[TransitionEvent] = []
    while page := read_events(store, limit=7, after=paged[-1].position if paged else None):
        paged.extend(page)
    assert paged == everything
    recent = read_events(store, since=middle)
    assert {e.task_uuid for e in recent} == {second.task_uuid}
    assert recent == [e for e in everything if e.occurred_at >= middle]
    assert read_events(store, since=timedelta(hours=1)) == everything
    assert read_events(store, task_uuid=first.task_uuid, since=middle) == []


def test_an_unknown_task_is_a_coded_error(store: Store) -> None:
    with pytest.raises(TaskNotFoundError):
        read_events(store, task_uuid=uuid.uuid4())
    with pytest.raises(TaskNotFoundError):
        next(follow_events(store, task_uuid=uuid.uuid4()))


class Follower:
    """``follow_events`` on a thread of its own, with its own connection."""

    def __init__(self, url: str, **options: Any) -> None:
        self.events: list[TransitionEvent] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self._store = connect(url)
        self._options = {"poll_interval": 0.05, **options}
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Follower:
        self._thread.start()
        assert self._started.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=10)
        self._store.close()
        if self.error is not None:
            raise self.error

    def _run(self) -> None:
        try:
            iterator: Iterator[TransitionEvent] = follow_events(
                self._store, stop=self.stop, **self._options
            )
            self._started.set()
            for event in iterator:
                self.events.append(event)
        except BaseException as error:
            self.error = error
            self._started.set()

    def wait_for(self, condition: Callable[[list[TransitionEvent]], bool]) -> None:
        deadline = time.monotonic() + 15
        while not condition(list(self.events)):
            assert self.error is None, self.error
            assert time.monotonic() < deadline, f"follower saw {len(self.events)} events"
            time.sleep(0.02)


def _finished(task_uuid: uuid.UUID) -> Callable[[list[TransitionEvent]], bool]:
    return lambda events: any(
        e.task_uuid == task_uuid and e.entity == "task" and e.to_state == "complete" for e in events
    )


def test_follow_sees_new_events_only(engine: Engine, store: Store) -> None:
    before = engine.submit(LINEAR, {"n": "before"})
    engine.run(before.task_uuid)
    with Follower(engine.url) as follower:
        # the first poll has run once events of the earlier task would have been printed
        time.sleep(0.2)
        task = engine.submit(LINEAR, {"n": "after"})
        engine.run(task.task_uuid)
        follower.wait_for(_finished(task.task_uuid))
    assert {e.task_uuid for e in follower.events} == {task.task_uuid}
    assert follower.events == read_events(store, task_uuid=task.task_uuid)


def test_follow_a_task_from_its_start(engine: Engine, store: Store) -> None:
    task = engine.submit(LINEAR, {})
    other = engine.submit(LINEAR, {"other": True})
    with Follower(engine.url, task_uuid=task.task_uuid, since=EARLIEST) as follower:
        follower.wait_for(lambda events: len(events) >= 2)  # its history so far
        engine.run(other.task_uuid)
        engine.run(task.task_uuid)
        follower.wait_for(_finished(task.task_uuid))
    assert follower.events == read_events(store, task_uuid=task.task_uuid)


@pytest.mark.parametrize(("overlap", "seen"), [(timedelta(seconds=5), True), (timedelta(0), False)])
def test_follow_picks_up_a_transaction_that_commits_late(
    engine: Engine, store: Store, session: Store, overlap: timedelta, seen: bool
) -> None:
    """A task created in a transaction that stays open while a newer task's events are
    followed: its events, recorded earlier, become visible later. The overlap re-reads them."""
    # the step names exist before the open transaction, which would otherwise hold them
    warm_up = engine.submit(LINEAR, {"n": "warm-up"})
    named = engine.register(LINEAR)
    with Follower(engine.url, overlap=overlap) as follower:
        with session.transaction():
            late = submit_task(session, LINEAR, named, {"n": "late"})
            with store.transaction():  # committed first, recorded later
                early = submit_task(store, LINEAR, named, {"n": "early"})
            follower.wait_for(lambda events: any(e.task_uuid == early.task_uuid for e in events))
        if seen:
            follower.wait_for(lambda events: any(e.task_uuid == late.task_uuid for e in events))
        else:
            time.sleep(0.3)  # several polls
    late_events = [e for e in follower.events if e.task_uuid == late.task_uuid]
    if seen:
        follower_ids = {e.event_uuid for e in late_events}
        assert follower_ids == {e.event_uuid for e in read_events(store, task_uuid=late.task_uuid)}
    else:
        assert late_events == []
    # never twice, and nothing from before the follower started
    assert len({e.event_uuid for e in follower.events}) == len(follower.events)
    assert warm_up.task_uuid not in {e.task_uuid for e in follower.events}
