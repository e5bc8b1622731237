"""The live view, summary and JSON of ``tasker-ctl run``, fed with hand-made task reports."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from rich.console import Console

from tasker_ctl.engine.views.task_report import StepReport, TaskReport
from tasker_ctl.report.run_json import build_output, render_json
from tasker_ctl.report.run_view import (
    RunView,
    failure_hint,
    format_duration,
    render_summary,
    wants_live,
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TASK_UUID = uuid.UUID("11111111-2222-3333-4444-555555555555")


def step(name: str, state: str = "complete", **fields: Any) -> StepReport:
    defaults: dict[str, Any] = {
        "attempts": 1 if state != "pending" else 0,
        "max_attempts": 3,
        "created_by": "template",
    }
    if state == "complete":
        defaults |= {
            "started_at": T0,
            "finished_at": T0 + timedelta(milliseconds=40),
            "result": {"value": 1},
        }
    return StepReport(name=name, state=state, **(defaults | fields))


def report(steps: list[StepReport], status: str = "steps_in_process", **fields: Any) -> TaskReport:
    values: dict[str, Any] = {
        "task_uuid": TASK_UUID,
        "status": status,
        "namespace": "examples",
        "name": "mathematical_sequence",
        "version": "1.0.0",
        "correlation_id": uuid.UUID(int=7),
        "requested_at": T0,
        "steps": steps,
    }
    return TaskReport(**(values | fields))


FAILED = step(
    "charge",
    "error",
    started_at=T0,
    finished_at=T0 + timedelta(milliseconds=12),
    error={
        "message": "card [declined]",
        "error_type": "permanent_error",
        "error_code": "CARD_DECLINED",
        "retryable": False,
        "metadata": {"error_code": "CARD_DECLINED"},
    },
)


def console(width: int = 120) -> tuple[Console, io.StringIO]:
    stream = io.StringIO()
    return Console(file=stream, width=width, no_color=True, highlight=False), stream


def text_of(renderable: Any, width: int = 120) -> str:
    out, stream = console(width)
    out.print(renderable)
    return stream.getvalue()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# ---------------------------------------------------------------- plain lines


def test_plain_view_prints_each_change_of_state_once() -> None:
    out, stream = console()
    clock = Clock()
    view = RunView(out, live=False, clock=clock)
    view.update(report([step("square", "enqueued", attempts=0), step("add", "pending")]))
    clock.now = 0.5
    view.update(report([step("square", "enqueued", attempts=0), step("add", "pending")]))
    view.update(report([step("square"), step("add", "in_progress")]))
    clock.now = 1.0
    view.update(report([step("square"), step("add")], status="complete"))
    lines = stream.getvalue().splitlines()
    assert lines == [
        f"   0.0s  task examples/mathematical_sequence@1.0.0 {TASK_UUID} created: steps_in_process",
        "   0.0s  square  enqueued",
        "   0.5s  square  complete  40 ms, attempt 1/3",
        "   0.5s  add  in_progress  attempt 1/3",
        "   1.0s  add  complete  40 ms, attempt 1/3",
        "   1.0s  task examples/mathematical_sequence@1.0.0 complete",
    ]


def test_plain_view_reports_retries_with_the_error_and_does_not_wrap() -> None:
    out, stream = console(width=40)
    view = RunView(out, live=False)
    retrying = step(
        "fetch",
        "waiting_for_retry",
        error={"message": "upstream unavailable for a while", "retryable": True},
    )
    view.update(report([retrying], resumed=True))
    lines = stream.getvalue().splitlines()
    assert "resumed: steps_in_process" in lines[0]
    assert lines[1].endswith(
        "fetch  waiting_for_retry  attempt 1/3 failed: upstream unavailable for a while"
    )


# ---------------------------------------------------------------- live renderable


def test_live_table_shows_every_step_with_state_attempts_and_time() -> None:
    view = RunView(console()[0], live=False, now=lambda: T0 + timedelta(seconds=2))
    assert "starting" in text_of(view.renderable())
    running = step("add", "in_progress", started_at=T0)
    view.update(report([step("square"), running, step("multiply", "pending")]))
    text = text_of(view.renderable())
    assert "examples/mathematical_sequence@1.0.0" in text
    assert str(TASK_UUID) in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[3:] if line.strip()}
    assert rows["square"] == ["complete", "1/3", "40", "ms"]
    assert rows["add"] == ["in_progress", "1/3", "2.0", "s"]
    assert rows["multiply"] == ["pending", "-"]
    assert "ProgressBar" not in repr(view.renderable())


def test_many_steps_show_a_progress_bar_and_only_active_or_failed_steps() -> None:
    steps = [step(f"done_{i:02d}") for i in range(16)]
    steps += [step(f"wait_{i:02d}", "pending") for i in range(3)]
    steps += [step("busy", "in_progress", started_at=T0), FAILED]
    view = RunView(console()[0], live=False, now=lambda: T0)
    view.update(report(steps))
    text = text_of(view.renderable())
    assert "16/21 steps done, 1 running, 1 failed" in text
    assert "busy" in text
    assert "charge" in text
    assert "card [declined]" in text
    assert "done_00" not in text
    assert "wait_00" not in text


def test_many_active_steps_are_capped() -> None:
    steps = [step(f"busy_{i:02d}", "in_progress", started_at=T0) for i in range(30)]
    view = RunView(console()[0], live=False, now=lambda: T0)
    view.update(report(steps))
    text = text_of(view.renderable())
    assert "busy_14" in text
    assert "busy_15" not in text
    assert "… 15 more active steps" in text


def test_live_mode_needs_a_colour_terminal() -> None:
    assert not wants_live(Console(file=io.StringIO()))
    assert not wants_live(Console(file=io.StringIO(), force_terminal=True, no_color=True))
    assert wants_live(Console(file=io.StringIO(), force_terminal=True, no_color=False))


def test_live_context_starts_and_stops_a_transient_display() -> None:
    stream = io.StringIO()
    terminal = Console(file=stream, force_terminal=True, no_color=False, width=100)
    with RunView(terminal, refresh_per_second=50) as view:
        assert view.live
        view.update(report([step("square")], status="complete"))
        view.note("stopping: [not markup]")
    output = stream.getvalue()
    assert "stopping: [not markup]" in output
    assert "square" in output


# ---------------------------------------------------------------- summary


def test_summary_of_a_complete_task() -> None:
    out, stream = console()
    done = report(
        [step("square"), step("add")],
        status="complete",
        completed_at=T0 + timedelta(milliseconds=1500),
    )
    render_summary(done, out, elapsed=9.0)
    text = stream.getvalue()
    assert "✓ examples/mathematical_sequence@1.0.0 complete in 1.5 s" in text
    assert f"task {TASK_UUID}" in text
    assert "square" in text
    assert "add" in text
    assert "error" not in text


def test_summary_of_a_failed_task_names_the_error_and_a_hint() -> None:
    out, stream = console()
    render_summary(report([step("prepare"), FAILED], status="blocked_by_failures"), out, elapsed=2)
    text = stream.getvalue()
    assert "✗ examples/mathematical_sequence@1.0.0 blocked_by_failures after 2.0 s" in text
    assert (
        "error in step 'charge': card [declined] (attempt 1/3) [permanent_error, CARD_DECLINED]"
        in text
    )
    assert "hint: fix the cause, then: tasker-ctl task retry-step" in text
    assert " charge --reason ..." in text


def test_summary_of_an_interrupted_run_says_how_to_resume() -> None:
    out, stream = console()
    render_summary(
        report([step("nap"), step("after", "enqueued", attempts=0)]),
        out,
        elapsed=3.2,
        interrupted=True,
        resume_command="tasker-ctl run x.yaml --context '{}'",
    )
    text = stream.getvalue()
    assert "■ examples/mathematical_sequence@1.0.0 interrupted while steps_in_process" in text
    assert "the task is resumable" in text
    assert "tasker-ctl run x.yaml --context '{}'" in text


def test_summary_of_many_steps_keeps_unfinished_and_slowest() -> None:
    steps = [
        step(f"s{i:02d}", finished_at=T0 + timedelta(milliseconds=10 * (i + 1))) for i in range(30)
    ]
    steps.append(step("late", "pending"))
    out, stream = console()
    render_summary(report(steps), out)
    text = stream.getvalue()
    assert "s29" in text
    assert "s20" in text
    assert "s19" not in text
    assert "late" in text
    assert "… 20 more steps complete" in text


@pytest.mark.parametrize(
    ("error", "attempts", "expected"),
    [
        ({"error_type": "handler_not_found"}, 1, "--handlers"),
        ({"error_type": "result_schema_violation"}, 1, "result_schema"),
        ({"error_type": "timeout", "retryable": True}, 1, "timeout_seconds"),
        ({"error_type": "retryable_error", "retryable": True}, 3, "all 3 attempts"),
        ({"error_type": "permanent_error"}, 1, "task retry-step TASK x --reason"),
    ],
)
def test_failure_hints(error: dict[str, Any], attempts: int, expected: str) -> None:
    assert expected in failure_hint(step("x", "error", attempts=attempts, error=error))


@pytest.mark.parametrize(
    ("milliseconds", "text"),
    [(None, ""), (0, "0 ms"), (999, "999 ms"), (1500, "1.5 s"), (61_000, "1 min 1 s")],
)
def test_format_duration(milliseconds: float | None, text: str) -> None:
    assert format_duration(milliseconds) == text


# ---------------------------------------------------------------- JSON


def test_json_has_the_documented_keys_in_order() -> None:
    done = report(
        [step("square"), FAILED, step("later", "pending")],
        status="blocked_by_failures",
        resumed=True,
    )
    data = json.loads(render_json(done))
    assert list(data) == ["version", "tool", "task", "steps", "budget"]
    assert data["budget"] is None  # the task has no budget limits
    assert data["version"] == 1
    assert data["tool"]["name"] == "tasker-ctl"
    assert data["task"] == {
        "uuid": str(TASK_UUID),
        "status": "blocked_by_failures",
        "namespace": "examples",
        "name": "mathematical_sequence",
        "version": "1.0.0",
        "correlation_id": str(uuid.UUID(int=7)),
        "requested_at": "2026-01-02T03:04:05Z",
        "completed_at": None,
        "duration_ms": None,
        "resumed": True,
    }
    first, failed, later = data["steps"]
    assert list(first) == [
        "name",
        "state",
        "attempts",
        "max_attempts",
        "created_by",
        "handler_type",
        "planning_step",
        "fragment_id",
        "started_at",
        "finished_at",
        "duration_ms",
        "result",
        "error",
        "awaiting_approval",
        "approval",
    ]
    assert first["result"] == {"value": 1}
    assert first["duration_ms"] == 40
    assert first["error"] is None
    assert failed["result"] is None
    assert failed["error"] == {
        "message": "card [declined]",
        "error_type": "permanent_error",
        "error_code": "CARD_DECLINED",
        "retryable": False,
        "metadata": {"error_code": "CARD_DECLINED"},
    }
    assert later["started_at"] is None
    assert later["duration_ms"] is None


def test_json_of_a_complete_task_has_its_duration() -> None:
    done = report([step("square")], status="complete", completed_at=T0 + timedelta(seconds=2))
    output = build_output(done)
    assert output.task.duration_ms == 2000
    assert render_json(done).endswith("}\n")


def test_a_planned_step_says_who_planned_it_and_the_summary_carries_the_budget() -> None:
    from decimal import Decimal

    from tasker_ctl.engine.rules.budget import budget_lines

    planned = step(
        "query_logs",
        created_by="planning_step",
        handler_type="application",
        planning_step="plan_investigation",
        fragment_id="f-1",
    )
    limits = {"steps": 10, "llm_calls": 3, "cost_usd": 1.0}
    totals = {
        ("steps", "commit"): Decimal(7),
        ("llm_calls", "commit"): Decimal(2),
        ("cost_usd", "commit"): Decimal("0.0004"),
    }
    done = report(
        [step("plan_investigation"), planned],
        status="complete",
        completed_at=T0 + timedelta(seconds=1),
        budget=budget_lines(limits, totals),
    )
    out, stream = console()
    render_summary(done, out)
    text = stream.getvalue()
    assert "budget: 7/10 steps, 2/3 calls, $0.0004/$1.00" in text
    assert "planned by" in text  # the column appears when a step was planned
    (line,) = [row for row in text.splitlines() if row.startswith("query_logs")]
    assert "↳ plan_investigation" in line
    (unplanned,) = [row for row in text.splitlines() if row.startswith("plan_investigation")]
    assert "↳" not in unplanned
    data = json.loads(render_json(done))
    assert data["budget"].startswith("7/10 steps, 2/3 calls, $0.0004/$1.00")
    assert {
        key: data["steps"][1][key] for key in ("created_by", "planning_step", "fragment_id")
    } == {
        "created_by": "planning_step",
        "planning_step": "plan_investigation",
        "fragment_id": "f-1",
    }
    plain = report([step("only")], status="complete")
    out, stream = console()
    render_summary(plain, out)
    assert "budget" not in stream.getvalue()
    assert "planned by" not in stream.getvalue()


def test_the_plain_view_says_once_which_planning_step_planned_a_step() -> None:
    out, stream = console()
    view = RunView(out, live=False, clock=Clock())
    planned = {"created_by": "planning_step", "planning_step": "plan_investigation"}
    view.update(report([step("plan", "in_progress"), step("query_logs", "pending", **planned)]))
    view.update(report([step("plan"), step("query_logs", "enqueued", attempts=0, **planned)]))
    view.update(report([step("plan"), step("query_logs", **planned)]))
    lines = [line for line in stream.getvalue().splitlines() if "query_logs" in line]
    assert lines == [
        "   0.0s  query_logs  enqueued  (planned by plan_investigation)",
        "   0.0s  query_logs  complete  40 ms, attempt 1/3",
    ]
