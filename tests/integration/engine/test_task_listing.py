"""``task list`` on a real database: pages that follow each other by cursor, the --since
and --template filters, and "changed" as the newest transition of the task or its steps."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tasker_ctl.engine.errors import InvalidCursorError, InvalidTemplateFilterError
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.views.task_listing import (
    TemplateFilter,
    encode_cursor,
    list_task_page,
)
from tests.integration.engine.conftest import Engine, claim, make_template, step

ONE_STEP = make_template([step("only", "ok.noop")], name="one_step")
TWO_STEPS = make_template(
    [step("first", "ok.noop"), step("second", "ok.noop", "first")], name="two_steps"
)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _submit_at(engine: Engine, template: object, n: int, created_at: datetime) -> uuid.UUID:
    task = engine.submit(template, {"n": n})  # type: ignore[arg-type]
    engine.execute(
        "UPDATE tasker.tasks SET created_at = %s, updated_at = %s WHERE task_uuid = %s",
        created_at,
        created_at,
        task.task_uuid,
    )
    return task.task_uuid


def test_pages_follow_each_other_by_cursor_newest_first(engine: Engine, store: Store) -> None:
    created = [_submit_at(engine, ONE_STEP, n, T0 + timedelta(minutes=n)) for n in range(5)]
    # two more created in the same microsecond: the UUID orders them
    twins = [_submit_at(engine, ONE_STEP, n, T0 + timedelta(minutes=9)) for n in (10, 11)]
    expected = sorted(twins, reverse=True) + created[::-1]

    seen: list[uuid.UUID] = []
    cursor = None
    pages = 0
    while True:
        page = list_task_page(store, limit=3, after=cursor)
        pages += 1
        seen.extend(task.task_uuid for task in page.tasks)
        if page.next_cursor is None:
            assert not page.truncated
            break
        assert page.truncated
        assert len(page.tasks) == 3
        cursor = page.next_cursor
    assert seen == expected  # every task once, in order, across three pages
    assert pages == 3
    whole = list_task_page(store, limit=7)
    assert (len(whole.tasks), whole.next_cursor) == (7, None)


def test_since_and_template_filters(engine: Engine, store: Store) -> None:
    old = _submit_at(engine, ONE_STEP, 1, T0)
    recent_one = _submit_at(engine, ONE_STEP, 2, engine.db_now() - timedelta(minutes=5))
    recent_two = _submit_at(engine, TWO_STEPS, 3, engine.db_now() - timedelta(minutes=1))

    def listed(**options: object) -> list[uuid.UUID]:
        return [task.task_uuid for task in list_task_page(store, **options).tasks]  # type: ignore[arg-type]

    assert listed(since=timedelta(hours=1)) == [recent_two, recent_one]
    assert listed(since=T0) == [recent_two, recent_one, old]
    assert listed(since=T0 + timedelta(seconds=1)) == [recent_two, recent_one]
    assert listed(template=TemplateFilter.parse("one_step")) == [recent_one, old]
    assert listed(template=TemplateFilter.parse("engine_tests/two_steps")) == [recent_two]
    assert listed(template=TemplateFilter.parse("engine_tests/two_steps@1.0.0")) == [recent_two]
    assert listed(template=TemplateFilter.parse("engine_tests/two_steps@2.0.0")) == []
    assert listed(template=TemplateFilter.parse("elsewhere/two_steps")) == []
    assert listed(template=TemplateFilter.parse("one_step"), since=timedelta(hours=1)) == [
        recent_one
    ]
    for bad in ("a/b/c", "", "ns/", "name@", "two steps"):
        with pytest.raises(InvalidTemplateFilterError):
            TemplateFilter.parse(bad)


def test_a_cursor_that_no_listing_printed_is_a_coded_error(engine: Engine, store: Store) -> None:
    _submit_at(engine, ONE_STEP, 1, T0)
    for bad in ("nonsense", "MXxub3R8YQ", encode_cursor_text("2|x|y"), "!!!"):
        with pytest.raises(InvalidCursorError) as refused:
            list_task_page(store, after=bad)
        assert refused.value.code == "INVALID_CURSOR"
    first = list_task_page(store, limit=1)
    assert first.next_cursor is None
    # a cursor of the one task lists nothing after it
    assert list_task_page(store, after=encode_cursor(first.tasks[0])).tasks == []


def encode_cursor_text(raw: str) -> str:
    import base64

    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def test_changed_is_the_newest_transition_of_the_task_or_its_steps(
    engine: Engine, store: Store
) -> None:
    task_uuid = _submit_at(engine, TWO_STEPS, 1, engine.db_now() - timedelta(hours=1))
    (before,) = list_task_page(store).tasks
    assert claim(store, task_uuid) is not None  # the first step starts: a step transition
    (running,) = list_task_page(store).tasks
    newest = engine.one(
        "SELECT max(created_at) AS at FROM ("
        " SELECT created_at FROM tasker.task_transitions WHERE task_uuid = %s"
        " UNION ALL SELECT t.created_at FROM tasker.workflow_step_transitions t"
        " JOIN tasker.workflow_steps s USING (workflow_step_uuid) WHERE s.task_uuid = %s) x",
        task_uuid,
        task_uuid,
    )["at"]
    assert running.updated_at == newest
    # the task row keeps its creation time meanwhile: it is not what "changed" shows
    assert engine.task(task_uuid)["updated_at"] < newest - timedelta(minutes=59)
    assert running.updated_at > running.created_at + timedelta(minutes=59)
    assert running.updated_at > before.updated_at
    assert running.step_counts == {"in_progress": 1, "pending": 1}
