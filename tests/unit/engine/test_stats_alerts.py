"""The alerts of ``tasker-ctl stats`` as pure functions of the figures, and ``--since``."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.engine.stats.alerts import (
    DEFAULT_POLICY,
    AlertPolicy,
    Offenders,
    describe,
    evaluate_alerts,
    grammar_alert,
    handler_alerts,
    outlier_alerts,
    outliers,
    sigma_threshold,
)
from tasker_ctl.engine.stats.models import (
    Alert,
    Baseline,
    BudgetStats,
    BudgetUse,
    DlqCounts,
    HandlerStats,
    HandlerTypeStats,
    Latency,
    PlanningStats,
    Spread,
    StatsReport,
    StatsWindow,
    StepStats,
    TaskStats,
    rate,
)

NO_SPREAD = Spread(mean=None, median=None, max=None)


def tasks(**counts: int) -> TaskStats:
    values = {"complete": 0, "blocked": 0, "total": 0} | counts
    return TaskStats(
        total=values["total"],
        by_state={},
        complete=values["complete"],
        failed=values["blocked"],
        blocked=values["blocked"],
        cancelled=0,
        resolved_manually=0,
        running=0,
        completion_rate=None,
        failure_rate=None,
        with_budget_limits=0,
    )


def kind(handler_type: str, complete: int, failed: int) -> HandlerTypeStats:
    return HandlerTypeStats(
        handler_type=handler_type,
        steps=complete + failed,
        complete=complete,
        failed=failed,
        failure_rate=rate(failed, complete + failed),
    )


def steps(application: tuple[int, int] = (0, 0), grammar: tuple[int, int] = (0, 0)) -> StepStats:
    return StepStats(
        total=0,
        per_task=NO_SPREAD,
        static=0,
        dynamic=0,
        static_per_task=NO_SPREAD,
        dynamic_per_task=NO_SPREAD,
        by_origin={},
        handler_types=[kind("application", *application), kind("grammar", *grammar)],
    )


def handler(
    name: str, *, finished: int = 0, failed: int = 0, attempted: int = 0, retried: int = 0
) -> HandlerStats:
    return HandlerStats(
        handler=name,
        steps=max(finished, attempted),
        attempted=attempted,
        attempts=attempted + retried,
        retried=retried,
        retry_rate=rate(retried, attempted),
        finished=finished,
        failed=failed,
        failure_rate=rate(failed, finished),
        latency=Latency(samples=0, p50_ms=None, p95_ms=None, p99_ms=None, max_ms=None),
    )


def dlq(pending: dict[str, int] | None = None) -> DlqCounts:
    found = pending or {}
    return DlqCounts(
        pending=sum(found.values()),
        pending_by_reason=found,
        entered=0,
        entered_by_reason={},
        resolved=0,
        resolved_by_status={},
    )


def budgets(exhausted: dict[str, int] | None = None) -> BudgetStats:
    found = exhausted or {}
    return BudgetStats(
        tasks=0,
        tasks_with_limits=0,
        tasks_without_limits=0,
        resources=[
            BudgetUse(
                resource=resource,
                limited_tasks=count,
                mean_utilisation=1.0,
                max_utilisation=1.0,
                exhausted_tasks=count,
                using_tasks=count,
                used_total=1.0,
            )
            for resource, count in found.items()
        ],
    )


def planning(answered: int = 0, accepted: int = 0, *, failed: int = 0) -> PlanningStats:
    return PlanningStats(
        attempts=answered + failed,
        answered=answered,
        accepted=accepted,
        rejected=answered - accepted,
        failed=failed,
        interrupted=0,
        calling=0,
        usage_estimated=0,
        validation_failure_rate=rate(answered - accepted, answered),
        tasks=0,
        planning_steps=0,
        tokens_in=0,
        tokens_out=0,
        cost_usd=Decimal(0),
        latency_samples=0,
        mean_latency_ms=None,
        p95_latency_ms=None,
        fills_materialized=0,
        planned_steps=0,
        max_planning_phase=None,
    )


def alerts(**figures: Any) -> list[Alert]:
    arguments: dict[str, Any] = {
        "tasks": tasks(),
        "steps": steps(),
        "handlers": [],
        "dlq": dlq(),
        "budgets": budgets(),
        "planning": planning(),
        "baselines": [],
        "offenders": {},
    } | figures
    return evaluate_alerts(**arguments)


def codes(found: list[Alert]) -> list[tuple[str, str, str | None]]:
    return [(alert.code, alert.severity, alert.subject) for alert in found]


# -- the 2-sigma rule ----------------------------------------------------------------------


def test_sigma_threshold() -> None:
    assert sigma_threshold(10, 5.0, 1.0) == 7.0
    assert sigma_threshold(9, 5.0, 1.0) is None  # too few tasks to speak of a distribution
    assert sigma_threshold(100, 5.0, 0.0) is None
    assert sigma_threshold(100, 1e12, 1e-3) is None  # rounding, not spread
    assert sigma_threshold(4, 5.0, 1.0, AlertPolicy(outlier_min_tasks=4, sigmas=3)) == 8.0


def test_one_task_far_above_the_others() -> None:
    assert outliers([1.0] * 11 + [10.0]) == [10.0]
    assert outliers([1.0] * 8 + [10.0]) == []  # nine tasks: below the minimum
    assert describe([]) == (0, 0.0, 0.0, 0.0)


values = st.lists(
    st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=0,
    max_size=60,
)


@given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), st.integers(0, 200))
def test_equal_values_are_never_outliers(value: float, count: int) -> None:
    assert outliers([value] * count) == []


@given(values)
def test_outliers_are_above_the_mean_and_few(found: list[float]) -> None:
    flagged = outliers(found)
    if not flagged:
        return
    samples, mean, _, _ = describe(found)
    assert samples >= DEFAULT_POLICY.outlier_min_tasks
    assert all(value > mean for value in flagged)
    # Cantelli: at most 1 / (1 + k²) of any population lies k deviations above its mean
    assert len(flagged) <= samples / (1 + DEFAULT_POLICY.sigmas**2)


@given(values)
def test_too_few_tasks_never_flag(found: list[float]) -> None:
    assert outliers(found[: DEFAULT_POLICY.outlier_min_tasks - 1]) == []


def test_outlier_alerts_list_the_worst_tasks() -> None:
    worst = [uuid.uuid4() for _ in range(3)]
    baselines = [
        Baseline(metric="cost_usd", samples=40, mean=1.0, stddev=0.5, max=9.0, threshold=2.0),
        Baseline(metric="planning_depth", samples=40, mean=1.5, stddev=0.5, max=6, threshold=2.5),
        Baseline(metric="steps", samples=5, mean=1.0, stddev=0.5, max=3.0, threshold=None),
    ]
    offenders = {
        "cost_usd": Offenders(count=5, tasks=((worst[0], 9.0), (worst[1], 7.0), (worst[2], 3.0))),
        "planning_depth": Offenders(count=1, tasks=((worst[1], 6.0),)),
        "steps": Offenders(count=1, tasks=((worst[2], 3.0),)),
    }
    found = outlier_alerts(baselines, offenders, AlertPolicy(listed_tasks=2))
    assert codes(found) == [
        ("BUDGET_CONSUMPTION_OUTLIER", "warning", "cost_usd"),
        ("PLANNING_DEPTH_OUTLIER", "warning", "planning_depth"),
    ]
    cost, depth = found
    assert (cost.threshold, cost.observed, cost.samples) == (2.0, 9.0, 40)
    assert (cost.tasks, cost.more_tasks) == (worst[:2], 3)
    assert (depth.tasks, depth.more_tasks, depth.observed) == ([worst[1]], 0, 6.0)
    assert cost.metric == "baselines[cost_usd]"


# -- rates ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempts", "accepted", "raised"),
    [
        (10, 6, True),  # 40 % rejected
        (10, 7, False),  # exactly 30 %: not above
        (9, 0, False),  # too few attempts
        (100, 69, True),
        (0, 0, False),
    ],
)
def test_fragment_validation_failure_rate(attempts: int, accepted: int, raised: bool) -> None:
    found = alerts(planning=planning(attempts, accepted))
    assert codes(found) == (
        [("FRAGMENT_VALIDATION_FAILURE_RATE", "warning", None)] if raised else []
    )
    if raised:
        assert found[0].threshold == 0.3
        assert found[0].observed == pytest.approx((attempts - accepted) / attempts)
        assert found[0].samples == attempts


def test_calls_without_an_answer_are_not_rejected_fragments() -> None:
    # 10 answers, 8 accepted (20 % rejected), and 30 calls that failed: no alert, as failed
    # calls proposed no fragment for the validator to refuse
    quiet = alerts(planning=planning(10, 8, failed=30))
    assert codes(quiet) == []
    # 9 answers are too few, however many calls failed
    assert codes(alerts(planning=planning(9, 0, failed=30))) == []
    found = alerts(planning=planning(10, 6, failed=30))
    assert codes(found) == [("FRAGMENT_VALIDATION_FAILURE_RATE", "warning", None)]
    assert found[0].samples == 10
    assert found[0].message.startswith("4 of 10 planner answers were rejected")


@pytest.mark.parametrize(
    ("application", "grammar", "threshold"),
    [
        ((95, 5), (16, 4), 0.15),  # 5 % vs 20 %: above 5 % + 10 points (and 2 x 5 %)
        ((70, 30), (10, 10), 0.6),  # 30 % vs 50 %: 2 x 30 % = 60 % is the bar, not 40 %
        ((0, 0), (18, 2), 0.1),  # no application step finished: 10 % is the bar
    ],
)
def test_grammar_failure_spike(
    application: tuple[int, int], grammar: tuple[int, int], threshold: float
) -> None:
    found = grammar_alert(steps(application, grammar), DEFAULT_POLICY)
    rate_of_grammar = grammar[1] / sum(grammar)
    if rate_of_grammar > threshold:
        assert found is not None
        assert (found.code, found.threshold) == ("GRAMMAR_FAILURE_SPIKE", pytest.approx(threshold))
        assert found.observed == rate_of_grammar
        assert found.samples == sum(grammar)
    else:
        assert found is None


def test_grammar_needs_enough_finished_steps() -> None:
    assert grammar_alert(steps((100, 0), (10, 9)), DEFAULT_POLICY) is None
    assert grammar_alert(steps((100, 0), (11, 9)), DEFAULT_POLICY) is not None
    assert grammar_alert(steps((100, 0), (0, 0)), DEFAULT_POLICY) is None


def test_handler_failure_and_retry_rates() -> None:
    found = handler_alerts(
        [
            handler("flaky", finished=20, failed=5, attempted=20, retried=11),  # 25 %, 55 %
            handler("broken", finished=40, failed=20),  # 50 %: error
            handler("rare", finished=19, failed=19, attempted=19, retried=19),  # too few
            handler("fine", finished=100, failed=20, attempted=100, retried=50),  # at the bars
        ],
        DEFAULT_POLICY,
    )
    assert codes(found) == [
        ("HANDLER_FAILURE_RATE", "warning", "flaky"),
        ("HANDLER_RETRY_RATE", "info", "flaky"),
        ("HANDLER_FAILURE_RATE", "error", "broken"),
    ]
    assert (found[0].threshold, found[0].observed, found[0].samples) == (0.2, 0.25, 20)
    assert found[0].metric == "handlers[flaky].failure_rate"


def test_queue_blocked_tasks_and_exhausted_budgets() -> None:
    found = alerts(
        dlq=dlq({"staleness_timeout": 2, "manual_dlq": 1}),
        tasks=tasks(total=10, complete=9, blocked=1),
        budgets=budgets({"steps": 2, "cost_usd": 0}),
    )
    assert codes(found) == [
        ("DLQ_PENDING", "warning", None),
        ("TASKS_BLOCKED", "warning", None),
        ("BUDGET_EXHAUSTED", "info", "steps"),
    ]
    pending = found[0]
    assert (pending.threshold, pending.observed) == (0, 3)
    assert "2 staleness_timeout, 1 manual_dlq" in pending.message


def test_alerts_are_ordered_by_severity_and_only_warnings_fail() -> None:
    found = alerts(
        handlers=[handler("h", finished=20, failed=10, attempted=20, retried=20)],
        budgets=budgets({"tokens": 1}),
        dlq=dlq({"staleness_timeout": 1}),
    )
    assert [alert.severity for alert in found] == ["error", "warning", "info", "info"]
    assert [alert.code for alert in found] == [
        "HANDLER_FAILURE_RATE",
        "DLQ_PENDING",
        "BUDGET_EXHAUSTED",
        "HANDLER_RETRY_RATE",
    ]
    assert _report(found).failing
    assert not _report([a for a in found if a.severity == "info"]).failing
    assert not _report([]).failing


def _report(found: list[Alert]) -> StatsReport:
    return StatsReport(
        window=StatsWindow(since=None, namespace=None, generated_at=datetime.now(UTC)),
        tasks=tasks(),
        steps=steps(),
        handlers=[],
        dlq=dlq(),
        budgets=budgets(),
        planning=planning(),
        baselines=[],
        alerts=found,
    )
