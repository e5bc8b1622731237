"""``collect_stats`` on real tasks: a linear task with a retry, a decision, a batch and a
permanent failure, run by the engine; ledger, planner and DLQ rows written with SQL where
their writers do not exist yet. Every figure is asserted exactly."""

from __future__ import annotations

import json
import statistics
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tasker_ctl.engine.errors import InvalidNamespaceError
from tasker_ctl.engine.rules.budget import RESOURCES
from tasker_ctl.engine.stats.alerts import outliers
from tasker_ctl.engine.stats.collect import StatsReport, collect_stats
from tasker_ctl.engine.store.clock import window_start
from tasker_ctl.engine.store.connection import Store
from tests.integration.engine.conftest import NAMESPACE, Engine, clocked_store, make_template, step
from tests.integration.engine.test_batches import batch_template
from tests.integration.engine.test_decisions import APPROVAL

QUICK = {"max_attempts": 3, "backoff": "linear", "backoff_base_ms": 10, "max_backoff_ms": 20}

LINEAR = make_template(
    [
        step("a", "ok.noop"),
        step("b", "fail.flaky", "a", retry=QUICK, config={"fail_times": 1}),
        step("c", "ok.noop", "b"),
    ],
    name="stats_linear",
)
BROKEN = make_template([step("x", "fail.permanent")], name="stats_broken")
SINGLE = make_template([step("only", "ok.noop")], name="stats_single")


def _handler(report: StatsReport, name: str | None) -> Any:
    (found,) = [handler for handler in report.handlers if handler.handler == name]
    return found


def _budget(report: StatsReport, resource: str) -> Any:
    (found,) = [use for use in report.budgets.resources if use.resource == resource]
    return found


@pytest.fixture
def tasks(engine: Engine) -> dict[str, uuid.UUID]:
    """Four tasks run to rest: linear (complete, one retry), decision (complete), batch
    (complete) and broken (blocked_by_failures)."""
    made = {
        "linear": engine.submit(LINEAR, {}).task_uuid,
        "decision": engine.submit(APPROVAL, {"route": ["auto_approve"]}).task_uuid,
        "batch": engine.submit(batch_template(name="stats_batch"), {"items": 25}).task_uuid,
        "broken": engine.submit(BROKEN, {}).task_uuid,
    }
    for name, task in made.items():
        assert engine.run(task) == ("blocked_by_failures" if name == "broken" else "complete")
    return made


def test_figures_of_tasks_run_by_the_engine(engine: Engine, tasks: dict[str, uuid.UUID]) -> None:
    # the latency of ok.noop's seven completions: 10, 20, ... 70 ms
    engine.execute(
        "UPDATE tasker.workflow_steps s SET last_attempted_at = s.processed_at"
        " - make_interval(secs => o.n * 0.01)"
        " FROM (SELECT workflow_step_uuid, row_number() OVER (ORDER BY workflow_step_uuid) AS n"
        "       FROM tasker.workflow_steps WHERE template_step_name IN"
        "       ('a', 'c', 'validate', 'auto_approve', 'finalize', 'notify', 'report')) o"
        " WHERE o.workflow_step_uuid = s.workflow_step_uuid"
    )
    # an operator's completion is not an attempt's latency
    engine.execute(
        "UPDATE tasker.workflow_steps SET results = jsonb_set(results,"
        " '{metadata,completed_manually}', 'true') WHERE name = 'aggregate'"
    )
    report = collect_stats(engine.store)

    assert report.window.since is None
    assert report.window.namespace is None
    assert report.tasks.model_dump() == {
        "total": 4,
        "by_state": {"blocked_by_failures": 1, "complete": 3},
        "complete": 3,
        "failed": 1,
        "blocked": 1,
        "cancelled": 0,
        "resolved_manually": 0,
        "running": 0,
        "completion_rate": 0.75,
        "failure_rate": 0.25,
        "with_budget_limits": 0,
    }

    steps = report.steps
    assert (steps.total, steps.static, steps.dynamic) == (15, 7, 8)
    assert steps.by_origin == {
        "template": 7,
        "decision_point": 3,
        "batch_spawn": 5,
        "planning_step": 0,
    }
    # per task: 3, 5, 6 and 1 steps; static 3, 2, 1, 1; dynamic 0, 3, 5, 0
    assert steps.per_task.model_dump() == {"mean": 3.75, "median": 4.0, "max": 6}
    assert steps.static_per_task.model_dump() == {"mean": 1.75, "median": 1.5, "max": 3}
    assert steps.dynamic_per_task.model_dump() == {"mean": 2.0, "median": 1.5, "max": 5}
    assert [kind.model_dump() for kind in steps.handler_types] == [
        {
            "handler_type": "application",
            "steps": 15,
            "complete": 14,
            "failed": 1,
            "failure_rate": pytest.approx(1 / 15),
        },
        {"handler_type": "grammar", "steps": 0, "complete": 0, "failed": 0, "failure_rate": None},
    ]

    counts = {h.handler: (h.steps, h.attempted, h.attempts, h.retried) for h in report.handlers}
    assert counts == {
        "ok.noop": (7, 7, 7, 0),
        "batch.work": (3, 3, 3, 0),
        "fail.flaky": (1, 1, 2, 1),
        "decide.route": (1, 1, 1, 0),
        "batch.analyze": (1, 1, 1, 0),
        "batch.aggregate": (1, 1, 1, 0),
        "fail.permanent": (1, 1, 1, 0),
    }
    assert report.handlers[0].handler == "ok.noop"  # most steps first
    noop = _handler(report, "ok.noop")
    assert noop.latency.model_dump() == {
        "samples": 7,
        "p50_ms": pytest.approx(40.0),
        "p95_ms": pytest.approx(67.0),
        "p99_ms": pytest.approx(69.4),
        "max_ms": pytest.approx(70.0),
    }
    flaky = _handler(report, "fail.flaky")
    assert (flaky.retry_rate, flaky.finished, flaky.failed, flaky.failure_rate) == (1, 1, 0, 0)
    assert flaky.latency.samples == 1
    broken = _handler(report, "fail.permanent")
    assert (broken.finished, broken.failed, broken.failure_rate) == (1, 1, 1.0)
    assert broken.latency.model_dump() == {
        "samples": 0,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }
    assert _handler(report, "batch.aggregate").latency.samples == 0
    assert _handler(report, "batch.work").latency.samples == 3

    assert report.dlq.pending == 0
    assert report.planning.attempts == 0
    assert report.planning.validation_failure_rate is None
    assert report.budgets.tasks_with_limits == 0
    assert report.budgets.tasks_without_limits == 4
    assert [use.resource for use in report.budgets.resources] == list(RESOURCES)
    assert report.baselines == []
    assert [(alert.code, alert.severity, alert.observed) for alert in report.alerts] == [
        ("TASKS_BLOCKED", "warning", 1.0)
    ]
    assert report.failing


def test_dlq_budgets_and_planning(engine: Engine, tasks: dict[str, uuid.UUID]) -> None:
    decision, batch = tasks["decision"], tasks["batch"]
    engine.execute(
        "INSERT INTO tasker.tasks_dlq (task_uuid, original_state, dlq_reason, task_snapshot)"
        " VALUES (%s, 'steps_in_process', 'staleness_timeout', '{}')",
        tasks["broken"],
    )
    engine.execute(
        "INSERT INTO tasker.tasks_dlq (task_uuid, original_state, dlq_reason, task_snapshot,"
        " resolution_status, resolution_timestamp, resolved_by, resolution_notes)"
        " VALUES (%s, 'steps_in_process', 'manual_dlq', '{}', 'manually_resolved',"
        " tasker.now(), 'ops', 'done')",
        tasks["linear"],
    )
    engine.execute(
        "UPDATE tasker.tasks SET budget_limits = %s::jsonb WHERE task_uuid = %s",
        '{"steps": 10, "cost_usd": 2.0, "phases": 1, "note": "not a resource"}',
        decision,
    )
    ledger = [
        (decision, "steps", "reserve", 5),
        (decision, "steps", "commit", 4),
        (decision, "steps", "release", 1),
        (decision, "cost_usd", "commit", 0.5),
        (decision, "phases", "commit", 1),
        (batch, "tokens", "commit", 100),
    ]
    for task, resource, kind, amount in ledger:
        engine.execute(
            "INSERT INTO tasker.task_budget_entries (task_uuid, resource, kind, amount)"
            " VALUES (%s, %s, %s, %s)",
            task,
            resource,
            kind,
            amount,
        )
    planner = engine.steps(decision)["decide"]["workflow_step_uuid"]
    attempts = [  # phase, attempt, status, accepted, tokens in/out, latency, cost, estimated
        (1, 1, "answered", False, 100, 50, 100, "0.01", False),
        (1, 2, "answered", True, 120, 60, 200, "0.02", False),
        (2, 1, "failed", False, None, None, None, None, False),
        (2, 2, "interrupted", False, 500, 100, None, "0.0004", True),
        (3, 1, "answered", False, 80, 40, 300, "0.03", False),
        (3, 2, "calling", False, None, None, None, None, False),
    ]
    uuids = {}
    for phase, attempt, status, accepted, t_in, t_out, latency, cost, estimated in attempts:
        uuids[(phase, attempt)] = engine.one(
            "INSERT INTO tasker.planning_attempts (task_uuid, workflow_step_uuid,"
            " planning_phase, attempt, status, accepted, tokens_in, tokens_out, latency_ms,"
            " cost_usd, usage_estimated) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING planning_attempt_uuid",
            decision,
            planner,
            phase,
            attempt,
            status,
            accepted,
            t_in,
            t_out,
            latency,
            cost,
            estimated,
        )["planning_attempt_uuid"]
    # the accepted answer's fill: the phase committed names the attempt; two planned steps
    engine.execute(
        "UPDATE tasker.task_budget_entries SET planning_attempt_uuid = %s"
        " WHERE task_uuid = %s AND resource = 'phases'",
        uuids[(1, 2)],
        decision,
    )
    engine.execute(
        "UPDATE tasker.workflow_steps SET created_by = 'planning_step'"
        " WHERE task_uuid = %s AND name IN ('validate', 'decide')",
        decision,
    )
    report = collect_stats(engine.store)

    assert report.dlq.model_dump() == {
        "pending": 1,
        "pending_by_reason": {"staleness_timeout": 1},
        "entered": 2,
        "entered_by_reason": {"manual_dlq": 1, "staleness_timeout": 1},
        "resolved": 1,
        "resolved_by_status": {"manually_resolved": 1},
    }
    assert report.budgets.tasks_with_limits == 1
    assert report.budgets.tasks_without_limits == 3
    assert _budget(report, "steps").model_dump() == {
        "resource": "steps",
        "limited_tasks": 1,
        "mean_utilisation": 0.4,
        "max_utilisation": 0.4,
        "exhausted_tasks": 0,
        "using_tasks": 1,
        "used_total": 4.0,
    }
    assert _budget(report, "cost_usd").mean_utilisation == 0.25
    assert _budget(report, "phases").exhausted_tasks == 1
    tokens = _budget(report, "tokens")
    assert (tokens.limited_tasks, tokens.mean_utilisation, tokens.using_tasks) == (0, None, 1)
    assert tokens.used_total == 100
    assert _budget(report, "wall_seconds").using_tasks == 0

    assert report.planning.model_dump() == {
        "attempts": 6,
        "answered": 3,
        "accepted": 1,
        "rejected": 2,
        "failed": 1,
        "interrupted": 1,
        "calling": 1,
        "usage_estimated": 1,
        "validation_failure_rate": 2 / 3,  # rejected / answered: calls without answers aside
        "tasks": 1,
        "planning_steps": 1,
        "tokens_in": 800,
        "tokens_out": 250,
        "cost_usd": Decimal("0.0604"),  # exact: 0.01 + 0.02 + 0.0004 + 0.03
        "latency_samples": 3,
        "mean_latency_ms": 200.0,
        "p95_latency_ms": pytest.approx(290.0),
        "fills_materialized": 1,
        "planned_steps": 2,
        "max_planning_phase": 3,
    }
    assert json.loads(report.planning.model_dump_json())["cost_usd"] == "0.0604"
    # one task in each population: no threshold
    assert [(b.metric, b.samples, b.max, b.threshold) for b in report.baselines] == [
        ("cost_usd", 1, 0.5, None),
        ("phases", 1, 1.0, None),
        ("planning_depth", 1, 3.0, None),
        ("steps", 1, 4.0, None),
    ]
    codes = [(alert.code, alert.severity, alert.subject) for alert in report.alerts]
    assert codes == [
        ("DLQ_PENDING", "warning", None),
        ("TASKS_BLOCKED", "warning", None),
        ("BUDGET_EXHAUSTED", "info", "phases"),
    ]


def test_outliers_and_the_fragment_failure_rate(engine: Engine) -> None:
    """Twelve planning tasks: one spends ten times the others and plans five phases deep;
    half the planner attempts are rejected."""
    made = [engine.submit(SINGLE, {"n": n}).task_uuid for n in range(12)]
    costs = [1.0] * 11 + [10.0]
    depths = [1] * 11 + [5]
    rejected = 0
    for task, cost, depth in zip(made, costs, depths, strict=True):
        engine.execute(
            "INSERT INTO tasker.task_budget_entries (task_uuid, resource, kind, amount)"
            " VALUES (%s, 'cost_usd', 'commit', %s)",
            task,
            cost,
        )
        planner = engine.steps(task)["only"]["workflow_step_uuid"]
        for phase in range(1, depth + 1):
            accepted = rejected >= 8
            rejected += not accepted
            engine.execute(
                "INSERT INTO tasker.planning_attempts (task_uuid, workflow_step_uuid,"
                " planning_phase, accepted) VALUES (%s, %s, %s, %s)",
                task,
                planner,
                phase,
                accepted,
            )
    report = collect_stats(engine.store)

    baselines = {baseline.metric: baseline for baseline in report.baselines}
    cost = baselines["cost_usd"]
    assert (cost.samples, cost.max) == (12, 10.0)
    assert cost.mean == pytest.approx(statistics.fmean(costs))
    assert cost.stddev == pytest.approx(statistics.pstdev(costs))
    assert cost.threshold == pytest.approx(cost.mean + 2 * cost.stddev)
    assert outliers(costs) == [10.0]
    alerts = {alert.code: alert for alert in report.alerts}
    budget = alerts["BUDGET_CONSUMPTION_OUTLIER"]
    assert (budget.subject, budget.observed, budget.tasks, budget.more_tasks) == (
        "cost_usd",
        10.0,
        [made[-1]],
        0,
    )
    depth = alerts["PLANNING_DEPTH_OUTLIER"]
    assert (depth.subject, depth.observed, depth.tasks) == ("planning_depth", 5.0, [made[-1]])
    assert depth.threshold == pytest.approx(
        statistics.fmean(depths) + 2 * statistics.pstdev(depths)
    )
    fragment = alerts["FRAGMENT_VALIDATION_FAILURE_RATE"]
    assert (fragment.observed, fragment.threshold, fragment.samples) == (0.5, 0.3, 16)
    assert report.planning.max_planning_phase == 5
    assert report.failing


def test_the_window_follows_the_engine_clock_and_the_namespace(
    engine: Engine, database_url: str
) -> None:
    made = [engine.submit(SINGLE, {"n": n}).task_uuid for n in range(3)]
    other = make_template([step("only", "ok.noop")], name="stats_other").model_copy(
        update={"namespace_name": "elsewhere"}
    )
    elsewhere = engine.submit(other, {}).task_uuid
    times = ["2030-01-01T00:00:00Z", "2030-01-05T00:00:00Z", "2030-01-05T12:00:00Z"]
    for task, created in zip([*made, elsewhere], [*times, times[-1]], strict=True):
        engine.execute(
            "UPDATE tasker.tasks SET created_at = %s WHERE task_uuid = %s", created, task
        )
    now = datetime(2030, 1, 6, tzinfo=UTC)
    with clocked_store(database_url, now) as store:
        start = window_start(store, timedelta(days=2))
        assert start == datetime(2030, 1, 4, tzinfo=UTC)
        report = collect_stats(store, since=start)
        assert report.window.generated_at == now
        assert (report.tasks.total, report.steps.total) == (3, 3)
        scoped = collect_stats(store, since=start, namespace=NAMESPACE)
        assert (scoped.tasks.total, scoped.window.namespace) == (2, NAMESPACE)
        assert collect_stats(store, namespace="nowhere").tasks.total == 0
        assert collect_stats(store).tasks.total == 4
        assert window_start(store, None) is None
        assert window_start(store, start) == start


def test_an_empty_database(store: Store) -> None:
    report = collect_stats(store)
    assert report.tasks.total == 0
    assert report.tasks.completion_rate is None
    assert report.steps.per_task.model_dump() == {"mean": None, "median": None, "max": None}
    assert report.handlers == []
    assert report.alerts == []
    assert not report.failing
    assert report.budgets.resources[0].model_dump() == {
        "resource": "steps",
        "limited_tasks": 0,
        "mean_utilisation": None,
        "max_utilisation": None,
        "exhausted_tasks": 0,
        "using_tasks": 0,
        "used_total": 0.0,
    }


def test_inside_a_transaction_and_a_blank_namespace(store: Store) -> None:
    with store.transaction():
        assert collect_stats(store).tasks.total == 0
    with pytest.raises(InvalidNamespaceError) as raised:
        collect_stats(store, namespace="  ")
    assert raised.value.code == "INVALID_NAMESPACE"
