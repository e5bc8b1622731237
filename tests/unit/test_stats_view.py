"""``tasker-ctl stats`` rendered: the terminal view fits 100 columns, an empty window says
so, and the JSON document is the shared header followed by the report's sections."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime

from rich.console import Console

from tasker_ctl.engine.stats.alerts import Offenders, evaluate_alerts
from tasker_ctl.engine.stats.models import Baseline, Spread, StatsReport, StatsWindow
from tasker_ctl.report.stats_json import StatsOutput, render_stats_json
from tasker_ctl.report.stats_view import MAX_WIDTH, bar, duration, render_stats
from tests.unit.engine.test_stats_alerts import (
    budgets,
    dlq,
    handler,
    planning,
    steps,
    tasks,
)

WINDOW = StatsWindow(
    since=datetime(2030, 1, 1, tzinfo=UTC),
    namespace=None,
    generated_at=datetime(2030, 1, 2, tzinfo=UTC),
)
OUTLIER = uuid.UUID("00000000-0000-4000-8000-000000000001")


def busy_report() -> StatsReport:
    figures = {
        "tasks": tasks(total=40, complete=38, blocked=2),
        "steps": steps((300, 3), (20, 10)).model_copy(
            update={
                "total": 333,
                "static": 200,
                "dynamic": 133,
                "per_task": Spread(mean=8.3, median=8.0, max=40),
                "by_origin": {
                    "template": 200,
                    "decision_point": 33,
                    "batch_spawn": 100,
                    "planning_step": 0,
                },
            }
        ),
        "handlers": [
            handler(f"examples.a_rather_long_module_name.Handler{n}", finished=30, attempted=30)
            for n in range(20)
        ]
        + [handler("flaky.one", finished=30, failed=12, attempted=30, retried=20)],
        "dlq": dlq({"staleness_timeout": 1}),
        "budgets": budgets({"cost_usd": 2}),
        "planning": planning(12, 5),
        "baselines": [
            Baseline(metric="cost_usd", samples=12, mean=1, stddev=1, max=9, threshold=3)
        ],
    }
    alerts = evaluate_alerts(
        **figures, offenders={"cost_usd": Offenders(count=1, tasks=((OUTLIER, 9.0),))}
    )
    return StatsReport(window=WINDOW, alerts=alerts, **figures)


def rendered(report: StatsReport, width: int = 120) -> str:
    stream = io.StringIO()
    console = Console(file=stream, width=width, no_color=True, highlight=False)
    render_stats(report, console)
    return stream.getvalue()


def test_the_view_fits_100_columns() -> None:
    text = rendered(busy_report())
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= MAX_WIDTH
    for title in ("Tasks", "Steps", "Handlers", "Budgets", "Planning", "Dead-letter queue"):
        assert f"╭─ {title} " in text
    assert "Alerts (" in text
    assert "… and 6 more handlers (--json lists them all)" in text
    # cut from the left: the end of a callable names it
    assert "│ …_rather_long_module_name.Handler0  " in text
    assert "FRAGMENT_VALIDATION_FAILURE_RATE" in text
    assert f"task {OUTLIER}" in text
    assert "observed 58.3 % > threshold 30.0 %" in text


def test_a_narrow_terminal_drops_the_slowest_columns() -> None:
    text = rendered(busy_report(), width=80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "P95" in text
    assert "P99" not in text


def test_an_empty_window() -> None:
    report = StatsReport(
        window=WINDOW.model_copy(update={"namespace": "billing"}),
        tasks=tasks(),
        steps=steps(),
        handlers=[],
        dlq=dlq(),
        budgets=budgets(),
        planning=planning(),
        baselines=[],
        alerts=[],
    )
    text = rendered(report)
    assert "no tasks in this window in namespace billing" in text
    assert "--since all" in text
    assert "Handlers" not in text
    assert "no alerts" in text


def test_helpers() -> None:
    assert bar(0.5, 10) == "█████░░░░░"
    assert bar(None, 4) == "    "
    assert bar(1.7, 4) == "████"
    assert [duration(ms) for ms in (None, 3.21, 42, 1500, 90_000)] == [
        "–",
        "3.2 ms",
        "42 ms",
        "1.5 s",
        "1.5 min",
    ]


def test_the_json_document() -> None:
    report = busy_report()
    document = json.loads(render_stats_json(report))
    assert list(document) == ["version", "tool", *StatsReport.model_fields, "failing"]
    assert document["version"] == 1
    assert document["tool"]["name"] == "tasker-ctl"
    assert document["failing"] is True
    assert document["alerts"][0]["severity"] == "warning"
    assert StatsOutput.model_validate(document).window == WINDOW


def test_the_planning_panel_counts_calls_by_status_and_shows_small_costs() -> None:
    from decimal import Decimal

    figures = planning(12, 5, failed=3).model_copy(
        update={
            "interrupted": 1,
            "usage_estimated": 1,
            "tokens_in": 12000,
            "tokens_out": 3000,
            "cost_usd": Decimal("0.0004"),
            "latency_samples": 12,
            "mean_latency_ms": 850.0,
            "p95_latency_ms": 1900.0,
            "fills_materialized": 5,
            "planned_steps": 17,
        }
    )
    report = busy_report().model_copy(update={"planning": figures})
    text = " ".join(rendered(report).replace("│", " ").split())  # the panel's lines joined
    assert "15 model calls" in text
    assert "12 answered, 5 accepted, 7 rejected (58.3 % of answers), 3 failed, 1 interrupted" in (
        text
    )
    assert "tokens 12,000 in / 3,000 out (some estimated) · cost $0.0004" in text
    assert "latency mean 850 ms, p95 1.9 s" in text
    assert "5 fragments materialized, 17 planned steps" in text
    document = json.loads(render_stats_json(report))
    assert document["planning"]["cost_usd"] == "0.0004"
