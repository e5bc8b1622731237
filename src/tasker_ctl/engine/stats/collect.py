"""The dashboard figures of ``tasker-ctl stats``, read from the database.

``collect_stats`` reads one window (tasks created since a time, optionally of one
namespace) in one read-only snapshot: tasks by state, steps per task and by origin, retries,
failures and latency per handler, the DLQ, budget use, planner calls, and the alerts they
raise (``engine.stats.alerts``). Every figure is an aggregate computed by PostgreSQL
(``sql/queries/stats.sql``); only a handful of rows come back. docs/stats.md defines them.

``--since`` is read by ``engine.clock.parse_since`` and turned into the start of the window
by ``engine.clock.window_start`` (a duration counts back from the engine's clock).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from tasker_ctl.engine.errors import InvalidNamespaceError
from tasker_ctl.engine.rules.budget import RESOURCES, exact
from tasker_ctl.engine.stats.alerts import (
    DEFAULT_POLICY,
    OUTLIER_METRICS,
    AlertPolicy,
    Offenders,
    evaluate_alerts,
    sigma_threshold,
)
from tasker_ctl.engine.stats.models import (
    HANDLER_TYPES,
    ORIGINS,
    Baseline,
    BudgetStats,
    BudgetUse,
    DelegationStats,
    DlqCounts,
    DomainEventStats,
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
from tasker_ctl.engine.store.clock import database_now
from tasker_ctl.engine.store.connection import Row, Store

__all__ = [
    "StatsReport",
    "check_namespace",
    "collect_stats",
]

_FAILED_STATES = ("error", "blocked_by_failures")
# how many event names the domain event counts list
EVENT_NAMES = 10
# the most links walked up a delegation chain: a chain that loops still ends
DELEGATION_MAX_HOPS = 1000
# states in which a task needs nothing more from the engine
_SETTLED_STATES = ("complete", *_FAILED_STATES, "cancelled", "resolved_manually")


def check_namespace(namespace: str | None) -> None:
    """Refuse a blank namespace, which would silently match no task."""
    if namespace is not None and not namespace.strip():
        raise InvalidNamespaceError(
            "--namespace is blank", hint="name a namespace, or leave the option out"
        )


def collect_stats(
    store: Store,
    *,
    since: datetime | None = None,
    namespace: str | None = None,
    policy: AlertPolicy = DEFAULT_POLICY,
) -> StatsReport:
    """The figures of the tasks created at or after ``since`` (every task when None) of
    ``namespace`` (every namespace when None), with the alerts they raise."""
    check_namespace(namespace)
    if store.in_transaction:
        return _collect(store, since, namespace, policy)
    with store.transaction():
        store.execute("begin_stats_snapshot")
        return _collect(store, since, namespace, policy)


def _collect(
    store: Store, since: datetime | None, namespace: str | None, policy: AlertPolicy
) -> StatsReport:
    now = database_now(store)
    tasks = _tasks(store.fetch_all("fetch_stats_tasks", since=since, namespace=namespace))
    per_step = store.fetch_one("fetch_stats_steps", since=since, namespace=namespace) or {}
    handlers = [_handler(row) for row in per_step.get("handlers") or []]
    dlq = _dlq(store.fetch_all("fetch_stats_dlq", since=since, namespace=namespace))
    budget_rows = store.fetch_all(
        "fetch_stats_budgets", since=since, namespace=namespace, resources=list(RESOURCES)
    )
    planning = _planning(store.fetch_one("fetch_stats_planning", since=since, namespace=namespace))
    domain_events = _domain_events(
        store.fetch_one(
            "fetch_stats_domain_events", since=since, namespace=namespace, names=EVENT_NAMES
        )
    )
    baselines = [
        _baseline(row, policy)
        for row in store.fetch_all("fetch_stats_baselines", since=since, namespace=namespace)
    ]
    offenders = _offenders(store, since, namespace, baselines, policy)
    delegation = _delegation(
        store.fetch_one(
            "fetch_stats_delegation",
            since=since,
            namespace=namespace,
            max_hops=DELEGATION_MAX_HOPS,
            threshold=policy.delegation_depth,
            listed=policy.listed_tasks,
        )
    )
    steps = _steps(per_step.get("shape") or {}, per_step.get("kinds") or [])
    budgets = _budgets(tasks, budget_rows)
    return StatsReport(
        window=StatsWindow(since=since, namespace=namespace, generated_at=now),
        tasks=tasks,
        steps=steps,
        handlers=handlers,
        dlq=dlq,
        budgets=budgets,
        planning=planning,
        domain_events=domain_events,
        delegation=delegation,
        baselines=baselines,
        alerts=evaluate_alerts(
            tasks=tasks,
            steps=steps,
            handlers=handlers,
            dlq=dlq,
            budgets=budgets,
            planning=planning,
            baselines=baselines,
            offenders=offenders,
            policy=policy,
            delegation=delegation,
        ),
    )


def _tasks(rows: list[Row]) -> TaskStats:
    by_state = {str(row["state"]): int(row["tasks"]) for row in rows}
    total = sum(by_state.values())
    complete = by_state.get("complete", 0)
    failed = sum(by_state.get(state, 0) for state in _FAILED_STATES)
    settled = sum(by_state.get(state, 0) for state in _SETTLED_STATES)
    return TaskStats(
        total=total,
        by_state=by_state,
        complete=complete,
        failed=failed,
        blocked=by_state.get("blocked_by_failures", 0),
        cancelled=by_state.get("cancelled", 0),
        resolved_manually=by_state.get("resolved_manually", 0),
        running=total - settled,
        completion_rate=rate(complete, settled),
        failure_rate=rate(failed, settled),
        with_budget_limits=sum(int(row["limited"]) for row in rows),
    )


def _spread(row: Mapping[str, Any], prefix: str) -> Spread:
    maximum = row.get(f"{prefix}_max")
    return Spread(
        mean=_float(row.get(f"{prefix}_mean")),
        median=_float(row.get(f"{prefix}_median")),
        max=None if maximum is None else int(maximum),
    )


def _steps(shape: Mapping[str, Any], kinds: list[dict[str, Any]]) -> StepStats:
    by_origin = dict.fromkeys(ORIGINS, 0)
    by_type: dict[str, list[int]] = {kind: [0, 0, 0] for kind in HANDLER_TYPES}
    for row in kinds:
        by_origin[row["created_by"]] = by_origin.get(row["created_by"], 0) + row["steps"]
        counts = by_type.setdefault(row["handler_type"], [0, 0, 0])
        for index, key in enumerate(("steps", "complete", "failed")):
            counts[index] += int(row[key])
    total = sum(by_origin.values())
    return StepStats(
        total=total,
        per_task=_spread(shape, "total"),
        static=by_origin["template"],
        dynamic=total - by_origin["template"],
        static_per_task=_spread(shape, "static"),
        dynamic_per_task=_spread(shape, "dynamic"),
        by_origin=by_origin,
        handler_types=[
            HandlerTypeStats(
                handler_type=kind,
                steps=steps,
                complete=complete,
                failed=failed,
                failure_rate=rate(failed, complete + failed),
            )
            for kind, (steps, complete, failed) in by_type.items()
        ],
    )


def _handler(row: dict[str, Any]) -> HandlerStats:
    percentiles = [_float(value) for value in row["latency_percentiles"] or [None] * 3]
    return HandlerStats(
        handler=row["handler"],
        steps=row["steps"],
        attempted=row["attempted"],
        attempts=int(row["attempts"]),
        retried=row["retried"],
        retry_rate=rate(row["retried"], row["attempted"]),
        finished=row["finished"],
        failed=row["failed"],
        failure_rate=rate(row["failed"], row["finished"]),
        latency=Latency(
            samples=row["latency_samples"],
            p50_ms=percentiles[0],
            p95_ms=percentiles[1],
            p99_ms=percentiles[2],
            max_ms=_float(row["latency_max"]),
        ),
    )


def _dlq(rows: list[Row]) -> DlqCounts:
    pending: dict[str, int] = {}
    entered: dict[str, int] = {}
    resolved: dict[str, int] = {}
    for row in rows:
        reason, status = row["reason"], row["status"]
        if status == "pending":
            pending[reason] = pending.get(reason, 0) + row["entries"]
        if row["entered"]:
            entered[reason] = entered.get(reason, 0) + row["entered"]
        if row["resolved"] and status != "pending":
            resolved[status] = resolved.get(status, 0) + row["resolved"]
    return DlqCounts(
        pending=sum(pending.values()),
        pending_by_reason=pending,
        entered=sum(entered.values()),
        entered_by_reason=entered,
        resolved=sum(resolved.values()),
        resolved_by_status=resolved,
    )


def _budgets(tasks: TaskStats, rows: list[Row]) -> BudgetStats:
    found = {row["resource"]: row for row in rows}
    resources = []
    for resource in RESOURCES:
        row = found.get(resource, {})
        resources.append(
            BudgetUse(
                resource=resource,
                limited_tasks=row.get("limited_tasks", 0),
                mean_utilisation=row.get("mean_utilisation"),
                max_utilisation=row.get("max_utilisation"),
                exhausted_tasks=row.get("exhausted_tasks", 0),
                using_tasks=row.get("using_tasks", 0),
                used_total=row.get("used_total", 0.0),
            )
        )
    return BudgetStats(
        tasks=tasks.total,
        tasks_with_limits=tasks.with_budget_limits,
        tasks_without_limits=tasks.total - tasks.with_budget_limits,
        resources=resources,
    )


def _planning(row: Row | None) -> PlanningStats:
    found: Mapping[str, Any] = row or {}

    def count(name: str) -> int:
        return int(found.get(name) or 0)

    answered, rejected = count("answered"), count("rejected")
    return PlanningStats(
        attempts=count("attempts"),
        answered=answered,
        accepted=count("accepted"),
        rejected=rejected,
        failed=count("failed"),
        interrupted=count("interrupted"),
        calling=count("calling"),
        usage_estimated=count("usage_estimated"),
        validation_failure_rate=rate(rejected, answered),
        tasks=count("tasks"),
        planning_steps=count("planning_steps"),
        tokens_in=count("tokens_in"),
        tokens_out=count("tokens_out"),
        cost_usd=exact(found.get("cost_usd")) or Decimal(0),
        latency_samples=count("latency_samples"),
        mean_latency_ms=_float(found.get("mean_latency_ms")),
        p95_latency_ms=_float(found.get("p95_latency_ms")),
        fills_materialized=count("fills_materialized"),
        planned_steps=count("planned_steps"),
        max_planning_phase=found.get("max_planning_phase"),
    )


def _delegation(row: Row | None) -> DelegationStats:
    found: Mapping[str, Any] = row or {}
    return DelegationStats(
        delegated=int(found.get("delegated") or 0),
        max_depth=int(found.get("max_depth") or 0),
        too_deep=int(found.get("too_deep") or 0),
        deepest=[(task, int(depth)) for task, depth in found.get("deepest") or []],
    )


def _domain_events(row: Row | None) -> DomainEventStats:
    found: Mapping[str, Any] = row or {}
    counts = {
        name: int(found.get(name) or 0)
        for name in ("published", "durable", "fast", "broadcast", "emitted", "rejected")
    }
    by_name = {str(key): int(value) for key, value in (found.get("by_name") or {}).items()}
    return DomainEventStats(**counts, by_name=by_name)


def _baseline(row: Row, policy: AlertPolicy) -> Baseline:
    samples, mean = int(row["samples"]), float(row["mean"])
    stddev = float(row["stddev"] or 0.0)
    return Baseline(
        metric=row["metric"],
        samples=samples,
        mean=mean,
        stddev=stddev,
        max=float(row["max"]),
        threshold=sigma_threshold(samples, mean, stddev, policy),
    )


def _offenders(
    store: Store,
    since: datetime | None,
    namespace: str | None,
    baselines: list[Baseline],
    policy: AlertPolicy,
) -> dict[str, Offenders]:
    thresholds = {baseline.metric: baseline.threshold for baseline in baselines}
    if all(thresholds.get(metric) is None for metric in OUTLIER_METRICS):
        return {}
    rows = store.fetch_all(
        "fetch_stats_outliers",
        since=since,
        namespace=namespace,
        cost_usd=thresholds.get("cost_usd"),
        steps=thresholds.get("steps"),
        phases=thresholds.get("phases"),
        planning_depth=thresholds.get("planning_depth"),
        listed=policy.listed_tasks,
    )
    found: dict[str, Offenders] = {}
    for row in rows:
        earlier = found.get(row["metric"])
        listed = (*(earlier.tasks if earlier else ()), (row["task_uuid"], float(row["value"])))
        found[row["metric"]] = Offenders(count=int(row["offending"]), tasks=listed)
    return found


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
