"""The alerts of ``tasker-ctl stats``: pure functions of the figures, no database.

Each alert has a stable code, the threshold it compares against, the value observed and a
hint; docs/stats.md lists them. The thresholds are an ``AlertPolicy``; ``DEFAULT_POLICY``
is what the command uses. Rates need a minimum number of samples, so that one failure out
of two attempts does not page anyone.

Outliers (budget consumption, planning depth) are values above mean + 2 standard
deviations of the window's tasks. The database computes each population's mean and
deviation (``Baseline``), ``sigma_threshold`` turns them into a threshold, and the database
then lists the tasks above it (``Offenders``).
"""

from __future__ import annotations

import math
import statistics
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tasker_ctl.engine.stats.models import (
    Alert,
    Baseline,
    BudgetStats,
    DelegationStats,
    DlqCounts,
    HandlerStats,
    PlanningStats,
    Severity,
    StepStats,
    TaskStats,
)

__all__ = [
    "DEFAULT_POLICY",
    "AlertPolicy",
    "Offenders",
    "describe",
    "evaluate_alerts",
    "outliers",
    "sigma_threshold",
]

# budget resources watched for outliers, and the depth of planning
OUTLIER_METRICS = ("cost_usd", "steps", "phases", "planning_depth")
_SEVERITY_RANK: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
# a deviation this small against the mean is rounding, not spread
_RELATIVE_EPSILON = 1e-9


@dataclass(frozen=True)
class AlertPolicy:
    """The thresholds of the alerts (docs/stats.md)."""

    fragment_failure_rate: float = 0.30
    fragment_min_attempts: int = 10
    sigmas: float = 2.0
    outlier_min_tasks: int = 10
    listed_tasks: int = 10
    grammar_min_finished: int = 20
    grammar_ratio: float = 2.0
    grammar_margin: float = 0.10
    handler_failure_rate: float = 0.20
    handler_failure_error_rate: float = 0.50
    handler_min_finished: int = 20
    handler_retry_rate: float = 0.50
    handler_min_attempted: int = 20
    delegation_depth: int = 5


DEFAULT_POLICY = AlertPolicy()


@dataclass(frozen=True)
class Offenders:
    """The tasks above a metric's threshold: how many in all, and the worst few."""

    count: int
    tasks: tuple[tuple[uuid.UUID, float], ...]


def describe(values: Sequence[float]) -> tuple[int, float, float, float]:
    """Samples, mean, population standard deviation and maximum of ``values`` (as the
    database computes them for a ``Baseline``)."""
    if not values:
        return 0, 0.0, 0.0, 0.0
    return len(values), statistics.fmean(values), statistics.pstdev(values), max(values)


def sigma_threshold(
    samples: int, mean: float, stddev: float, policy: AlertPolicy = DEFAULT_POLICY
) -> float | None:
    """``mean + sigmas * stddev``, or None when outliers are not looked for: too few
    samples to speak of a distribution, or no spread (all values equal)."""
    if samples < policy.outlier_min_tasks:
        return None
    if not math.isfinite(stddev) or stddev <= _RELATIVE_EPSILON * max(1.0, abs(mean)):
        return None
    return mean + policy.sigmas * stddev


def outliers(values: Sequence[float], policy: AlertPolicy = DEFAULT_POLICY) -> list[float]:
    """The values flagged as outliers among ``values``, by the rule the alerts apply."""
    samples, mean, stddev, _ = describe(values)
    threshold = sigma_threshold(samples, mean, stddev, policy)
    if threshold is None:
        return []
    return [value for value in values if value > threshold]


def evaluate_alerts(
    *,
    tasks: TaskStats,
    steps: StepStats,
    handlers: Sequence[HandlerStats],
    dlq: DlqCounts,
    budgets: BudgetStats,
    planning: PlanningStats,
    baselines: Sequence[Baseline],
    offenders: Mapping[str, Offenders],
    policy: AlertPolicy = DEFAULT_POLICY,
    delegation: DelegationStats | None = None,
) -> list[Alert]:
    """Every alert the figures raise, most severe first."""
    found = [
        *_maybe(delegation_alert(delegation, policy) if delegation is not None else None),
        *_maybe(fragment_alert(planning, policy)),
        *outlier_alerts(baselines, offenders, policy),
        *_maybe(grammar_alert(steps, policy)),
        *handler_alerts(handlers, policy),
        *_maybe(dlq_alert(dlq)),
        *_maybe(blocked_alert(tasks)),
        *budget_exhausted_alerts(budgets),
    ]
    return sorted(found, key=lambda a: (_SEVERITY_RANK[a.severity], a.code, a.subject or ""))


def fragment_alert(planning: PlanningStats, policy: AlertPolicy) -> Alert | None:
    """Too many of the planners' answers were refused by the validator: rejected / answered
    above ``fragment_failure_rate`` over at least ``fragment_min_attempts`` answers. Calls
    that got no answer (failed, interrupted, still calling) are not fragments and do not
    count."""
    observed = planning.validation_failure_rate
    if planning.answered < policy.fragment_min_attempts or observed is None:
        return None
    if observed <= policy.fragment_failure_rate:
        return None
    return _alert(
        "FRAGMENT_VALIDATION_FAILURE_RATE",
        "warning",
        None,
        f"{planning.rejected} of {planning.answered} planner answers were rejected "
        f"({observed:.0%}, above {policy.fragment_failure_rate:.0%})",
        "planning.validation_failure_rate",
        policy.fragment_failure_rate,
        observed,
        samples=planning.answered,
        hint="look at the rejected fragments' findings (tasker-ctl inspect task TASK --planning): "
        "the prompt, the capability schema or the template's bounds may not fit the goal",
    )


def outlier_alerts(
    baselines: Sequence[Baseline], offenders: Mapping[str, Offenders], policy: AlertPolicy
) -> list[Alert]:
    alerts = []
    for baseline in baselines:
        found = offenders.get(baseline.metric)
        if baseline.threshold is None or found is None or found.count == 0:
            continue
        listed = found.tasks[: policy.listed_tasks]
        worst = max((value for _, value in found.tasks), default=baseline.max)
        depth = baseline.metric == "planning_depth"
        what = "planning depth" if depth else f"budget use of {baseline.metric}"
        alerts.append(
            _alert(
                "PLANNING_DEPTH_OUTLIER" if depth else "BUDGET_CONSUMPTION_OUTLIER",
                "warning",
                baseline.metric,
                f"{found.count} task{_s(found.count)} above mean + {policy.sigmas:g} sd of "
                f"{what} ({baseline.threshold:.4g}; mean {baseline.mean:.4g} over "
                f"{baseline.samples} tasks); highest {worst:.4g}",
                f"baselines[{baseline.metric}]",
                baseline.threshold,
                worst,
                samples=baseline.samples,
                tasks=[task for task, _ in listed],
                more_tasks=found.count - len(listed),
                hint="inspect the listed tasks (tasker-ctl inspect task TASK): a planner that "
                + (
                    "keeps re-planning may be looping; lower bounds.max_phases"
                    if depth
                    else "spends far more than its peers may be looping or mis-prompted; "
                    "tighten the template's planning budget"
                ),
            )
        )
    return alerts


def delegation_alert(delegation: DelegationStats, policy: AlertPolicy) -> Alert | None:
    """Tasks sit more than ``delegation_depth`` levels below the top of their delegation
    chain: an agent that keeps handing work to a new task may be looping (a chain's own
    ``max_depth`` stops it; this finds the chains without one)."""
    if delegation.too_deep == 0:
        return None
    listed = [task for task, _ in delegation.deepest[: policy.listed_tasks]]
    count = delegation.too_deep
    return _alert(
        "DELEGATION_DEPTH_HIGH",
        "warning",
        "delegation_depth",
        f"{count} task{_s(count)} sit more than {policy.delegation_depth} levels below the "
        f"top of their delegation chain (deepest {delegation.max_depth})",
        "delegation.max_depth",
        float(policy.delegation_depth),
        float(delegation.max_depth),
        samples=delegation.delegated,
        tasks=listed,
        more_tasks=count - len(listed),
        hint="follow the chain (tasker-ctl report budget TASK --lineage): an agent that keeps "
        "delegating may be looping; start chains with --chain-max-depth to stop it",
    )


def grammar_alert(steps: StepStats, policy: AlertPolicy) -> Alert | None:
    """Grammar (dynamically composed) steps fail much more often than application steps:
    their failure rate exceeds both ``grammar_ratio`` times and ``grammar_margin`` more than
    the application steps' rate, over at least ``grammar_min_finished`` grammar steps."""
    by_type = {kind.handler_type: kind for kind in steps.handler_types}
    grammar = by_type.get("grammar")
    application = by_type.get("application")
    if grammar is None or grammar.failure_rate is None:
        return None
    finished = grammar.complete + grammar.failed
    if finished < policy.grammar_min_finished:
        return None
    baseline = application.failure_rate if application is not None else None
    reference = baseline or 0.0
    threshold = max(reference * policy.grammar_ratio, reference + policy.grammar_margin)
    if grammar.failure_rate <= threshold:
        return None
    return _alert(
        "GRAMMAR_FAILURE_SPIKE",
        "warning",
        "grammar",
        f"grammar steps fail {grammar.failure_rate:.0%} of the time ({grammar.failed} of "
        f"{finished}), application steps {reference:.0%}",
        "steps.handler_types[grammar].failure_rate",
        threshold,
        grammar.failure_rate,
        samples=finished,
        hint="look at the failing compositions (tasker-ctl inspect task TASK --composition): a "
        "capability or a dynamic composition the planner writes may be broken",
    )


def handler_alerts(handlers: Sequence[HandlerStats], policy: AlertPolicy) -> list[Alert]:
    alerts = []
    for handler in handlers:
        name = handler.handler or "(not in template)"
        failure = handler.failure_rate
        if (
            failure is not None
            and handler.finished >= policy.handler_min_finished
            and failure > policy.handler_failure_rate
        ):
            severe = failure >= policy.handler_failure_error_rate
            alerts.append(
                _alert(
                    "HANDLER_FAILURE_RATE",
                    "error" if severe else "warning",
                    name,
                    f"{name}: {handler.failed} of {handler.finished} finished steps failed "
                    f"({failure:.0%})",
                    f"handlers[{name}].failure_rate",
                    policy.handler_failure_rate,
                    failure,
                    samples=handler.finished,
                    hint="read the failed steps' errors (tasker-ctl task show TASK); repair "
                    "blocked tasks with tasker-ctl task retry-step once the cause is fixed",
                )
            )
        retry = handler.retry_rate
        if (
            retry is not None
            and handler.attempted >= policy.handler_min_attempted
            and retry > policy.handler_retry_rate
        ):
            alerts.append(
                _alert(
                    "HANDLER_RETRY_RATE",
                    "info",
                    name,
                    f"{name}: {handler.retried} of {handler.attempted} steps needed more than "
                    f"one attempt ({retry:.0%})",
                    f"handlers[{name}].retry_rate",
                    policy.handler_retry_rate,
                    retry,
                    samples=handler.attempted,
                    hint="a flaky dependency or a timeout too tight for the work; retries "
                    "cost latency even when the step completes",
                )
            )
    return alerts


def dlq_alert(dlq: DlqCounts) -> Alert | None:
    if dlq.pending == 0:
        return None
    reasons = ", ".join(f"{count} {reason}" for reason, count in dlq.pending_by_reason.items())
    return _alert(
        "DLQ_PENDING",
        "warning",
        None,
        f"{dlq.pending} DLQ entr{'y' if dlq.pending == 1 else 'ies'} awaiting resolution "
        f"({reasons})",
        "dlq.pending",
        0,
        dlq.pending,
        hint="tasker-ctl dlq list --status pending, then dlq show and dlq resolve each entry",
    )


def blocked_alert(tasks: TaskStats) -> Alert | None:
    if tasks.blocked == 0:
        return None
    return _alert(
        "TASKS_BLOCKED",
        "warning",
        None,
        f"{tasks.blocked} task{_s(tasks.blocked)} blocked by failures, waiting for an operator",
        "tasks.blocked",
        0,
        tasks.blocked,
        samples=tasks.total,
        hint="tasker-ctl task list --status blocked_by_failures; repair with task retry-step, "
        "resolve-step or complete-step (docs/operations.md), or cancel",
    )


def budget_exhausted_alerts(budgets: BudgetStats) -> list[Alert]:
    return [
        _alert(
            "BUDGET_EXHAUSTED",
            "info",
            use.resource,
            f"{use.exhausted_tasks} of {use.limited_tasks} limited task"
            f"{_s(use.limited_tasks)} reached their {use.resource} limit",
            f"budgets.resources[{use.resource}].exhausted_tasks",
            0,
            use.exhausted_tasks,
            samples=use.limited_tasks,
            hint="a task out of budget converges with partial results; raise the template's "
            "planning budget if that happens often",
        )
        for use in budgets.resources
        if use.exhausted_tasks > 0
    ]


def _alert(
    code: str,
    severity: Severity,
    subject: str | None,
    message: str,
    metric: str,
    threshold: float,
    observed: float,
    *,
    hint: str,
    samples: int | None = None,
    tasks: list[uuid.UUID] | None = None,
    more_tasks: int = 0,
) -> Alert:
    return Alert(
        code=code,
        severity=severity,
        subject=subject,
        message=message,
        metric=metric,
        threshold=threshold,
        observed=observed,
        samples=samples,
        tasks=tasks or [],
        more_tasks=more_tasks,
        hint=hint,
    )


def _maybe(alert: Alert | None) -> list[Alert]:
    return [] if alert is None else [alert]


def _s(count: int) -> str:
    return "" if count == 1 else "s"
