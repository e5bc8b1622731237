"""What a worker prints: times in UTC with their date and a Z, whatever the zone a time was
read in, as text lines or as one JSON object a line."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasker_ctl.engine import StepFinished, WorkerStart
from tasker_ctl.report.times import utc_stamp
from tasker_ctl.report.worker_lines import (
    json_line,
    started_line,
    started_record,
    step_line,
    step_record,
    stopped_line,
)

# 14:00:05.250 at UTC+2 is 12:00:05.250 UTC
BERLIN_SUMMER = datetime(2026, 7, 1, 14, 0, 5, 250_000, tzinfo=timezone(timedelta(hours=2)))
TASK = uuid.UUID("0190c2a4-5b6e-7f80-9a1b-2c3d4e5f6071")
STEP = StepFinished(
    task_uuid=TASK,
    namespace="shop",
    task_name="order",
    step_name="charge",
    attempt=1,
    max_attempts=3,
    success=False,
    retryable=True,
    duration_ms=12,
    error="card declined",
)


def test_a_time_is_shown_in_utc_with_its_date() -> None:
    assert utc_stamp(BERLIN_SUMMER) == "2026-07-01T12:00:05.250Z"
    assert utc_stamp(BERLIN_SUMMER, precision="seconds") == "2026-07-01T12:00:05Z"


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="without a zone"):
        utc_stamp(datetime(2026, 7, 1, 14, 0, 5))


def test_text_lines_begin_with_the_utc_time() -> None:
    assert step_line(STEP, BERLIN_SUMMER) == (
        "2026-07-01T12:00:05.250Z retry    shop/order charge attempt 1/3 12 ms "
        f"task {TASK}: card declined"
    )
    assert stopped_line("w1", 4, BERLIN_SUMMER).startswith("2026-07-01T12:00:05.250Z worker w1")
    start = WorkerStart("w1", None, 2, 4, "embedded PostgreSQL")
    assert started_line(start, BERLIN_SUMMER).startswith("2026-07-01T12:00:05.250Z worker w1")


def test_json_lines_hold_the_same() -> None:
    record = json.loads(json_line(step_record(STEP, BERLIN_SUMMER)))
    assert record == {
        "event": "step.finished",
        "at": "2026-07-01T12:00:05.250Z",
        "outcome": "retry",
        "task_uuid": str(TASK),
        "namespace": "shop",
        "task_name": "order",
        "step_name": "charge",
        "attempt": 1,
        "max_attempts": 3,
        "duration_ms": 12,
        "error": "card declined",
    }
    start = started_record(WorkerStart("w1", ["shop"], 2, 4, "db"), datetime.now(UTC))
    assert "\n" not in json_line(start)
    assert json.loads(json_line(start))["namespaces"] == ["shop"]


def test_stats_and_the_dlq_show_utc_times(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # times come from the database in its session's zone; shown, they are UTC with a Z
    import io

    from rich.console import Console

    from tasker_ctl.engine.operator.dlq import DlqStats, DlqStatsRow
    from tasker_ctl.engine.stats.models import StatsReport, StatsWindow
    from tasker_ctl.report import dlq_view
    from tasker_ctl.report.stats_view import render_stats
    from tests.unit.engine.test_stats_alerts import budgets, dlq, planning, steps, tasks

    window = StatsWindow(since=BERLIN_SUMMER, namespace=None, generated_at=BERLIN_SUMMER)
    console = Console(file=io.StringIO(), width=100, no_color=True)
    report = StatsReport(
        window=window,
        tasks=tasks(),
        steps=steps(),
        handlers=[],
        dlq=dlq(),
        budgets=budgets(),
        planning=planning(),
        baselines=[],
        alerts=[],
    )
    render_stats(report, console)
    header = console.file.getvalue().splitlines()[0]  # type: ignore[attr-defined]
    assert "since 2026-07-01T12:00:05Z" in header
    assert "at 2026-07-01T12:00:05Z" in header

    row = DlqStatsRow(
        reason="staleness_timeout",
        resolution_status="pending",
        entries=1,
        oldest=BERLIN_SUMMER,
        newest=BERLIN_SUMMER,
    )
    dlq_view.render_stats(DlqStats(total=1, pending=1, by_reason_and_status=[row]))
    assert capsys.readouterr().out.count("2026-07-01T12:00:05Z") == 2
