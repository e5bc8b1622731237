"""The figures of ``tasker-ctl stats``: closed models, each field described.

``engine.stats.collect_stats`` fills them from the database and ``engine.stats.alerts``
derives the alerts from them; docs/stats.md defines every figure. A rate is a fraction in
[0, 1], or null when nothing was counted to divide by (never a misleading 0).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl.engine.rules.budget import Amount

_STRICT = ConfigDict(extra="forbid")

Severity = Literal["info", "warning", "error"]
FAILING_SEVERITIES: frozenset[str] = frozenset({"warning", "error"})
ORIGINS = ("template", "decision_point", "batch_spawn", "planning_step")
HANDLER_TYPES = ("application", "grammar")


def rate(part: int | float, whole: int | float) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return part / whole if whole else None


class StatsWindow(BaseModel):
    model_config = _STRICT

    since: datetime | None = Field(
        description="tasks created at or after this time are counted; null: every task"
    )
    namespace: str | None = Field(description="only tasks of this namespace; null: every one")
    generated_at: datetime = Field(description="the engine's time (tasker.now()) at reading")


class TaskStats(BaseModel):
    model_config = _STRICT

    total: int = Field(description="tasks created in the window")
    by_state: dict[str, int] = Field(description="tasks per current state (states present only)")
    complete: int
    failed: int = Field(description="in error or blocked_by_failures")
    blocked: int = Field(description="in blocked_by_failures: waiting for an operator")
    cancelled: int
    resolved_manually: int
    running: int = Field(description="in any other state: still under way")
    completion_rate: float | None = Field(
        description="complete / settled tasks (all but the running ones)"
    )
    failure_rate: float | None = Field(description="failed / settled tasks")
    with_budget_limits: int = Field(description="tasks created with at least one budget limit")


class Spread(BaseModel):
    """How a count per task is spread over the window's tasks (null without tasks)."""

    model_config = _STRICT

    mean: float | None
    median: float | None
    max: int | None


class HandlerTypeStats(BaseModel):
    model_config = _STRICT

    handler_type: str = Field(description="application or grammar")
    steps: int
    complete: int
    failed: int = Field(description="steps in state error")
    failure_rate: float | None = Field(description="failed / (complete + failed)")


class StepStats(BaseModel):
    model_config = _STRICT

    total: int = Field(description="steps of the window's tasks")
    per_task: Spread = Field(description="steps per task")
    static: int = Field(description="steps created with their task (created_by template)")
    dynamic: int = Field(description="steps created at run time (any other created_by)")
    static_per_task: Spread
    dynamic_per_task: Spread
    by_origin: dict[str, int] = Field(
        description="steps per created_by: template, decision_point, batch_spawn, planning_step"
    )
    handler_types: list[HandlerTypeStats] = Field(
        description="application and grammar steps, with their outcomes"
    )


class Latency(BaseModel):
    """Claim-to-completion time of the final attempt of each step completed by a worker."""

    model_config = _STRICT

    samples: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


class HandlerStats(BaseModel):
    model_config = _STRICT

    handler: str | None = Field(
        description="the handler callable; null for steps whose template step is not in the "
        "registered template (steps planned at run time)"
    )
    steps: int
    attempted: int = Field(description="steps with at least one attempt")
    attempts: int = Field(description="attempts of all its steps")
    retried: int = Field(description="steps attempted more than once")
    retry_rate: float | None = Field(description="retried / attempted")
    finished: int = Field(description="steps complete or in error")
    failed: int = Field(description="steps in error")
    failure_rate: float | None = Field(description="failed / finished")
    latency: Latency


class DlqCounts(BaseModel):
    model_config = _STRICT

    pending: int = Field(description="entries awaiting resolution, whenever they were made")
    pending_by_reason: dict[str, int]
    entered: int = Field(description="entries made in the window (dlq_timestamp)")
    entered_by_reason: dict[str, int]
    resolved: int = Field(description="entries resolved in the window (resolution_timestamp)")
    resolved_by_status: dict[str, int]


class BudgetUse(BaseModel):
    model_config = _STRICT

    resource: str = Field(description="a ledger resource (engine/views/budget.py RESOURCES)")
    limited_tasks: int = Field(description="tasks with a limit on this resource")
    mean_utilisation: float | None = Field(
        description="mean of used / limit over the tasks with a positive limit"
    )
    max_utilisation: float | None = Field(description="the highest used / limit")
    exhausted_tasks: int = Field(description="tasks whose used + reserved reached the limit")
    using_tasks: int = Field(description="tasks that used some of it, limited or not")
    used_total: float = Field(description="used by all the window's tasks")


class BudgetStats(BaseModel):
    model_config = _STRICT

    tasks: int = Field(description="tasks in the window")
    tasks_with_limits: int
    tasks_without_limits: int = Field(description="most tasks: those without planning steps")
    resources: list[BudgetUse] = Field(description="one per resource, in RESOURCES order")


class PlanningStats(BaseModel):
    """The planning steps' model calls (``planning_attempts``) and what they added."""

    model_config = _STRICT

    attempts: int = Field(description="model calls, whatever their status")
    answered: int = Field(description="calls the model answered (status answered)")
    accepted: int = Field(description="answers whose fragment was accepted")
    rejected: int = Field(description="answers whose fragment the validator refused")
    failed: int = Field(description="calls that got no answer (status failed)")
    interrupted: int = Field(
        description="calls whose worker stopped during them: their reservation was spent"
    )
    calling: int = Field(description="calls under way when the figures were read")
    usage_estimated: int = Field(
        description="calls whose tokens and cost are their reservation's worst case"
    )
    validation_failure_rate: float | None = Field(description="rejected / answered")
    tasks: int = Field(description="tasks with at least one model call")
    planning_steps: int = Field(description="planning steps that called a model")
    tokens_in: int
    tokens_out: int
    cost_usd: Amount = Field(description="the calls' cost, exact (a decimal string in JSON)")
    latency_samples: int = Field(description="calls with a recorded latency")
    mean_latency_ms: float | None
    p95_latency_ms: float | None
    fills_materialized: int = Field(
        description="accepted fragments written into their tasks (one phase committed each)"
    )
    planned_steps: int = Field(description="steps planners added (created_by planning_step)")
    max_planning_phase: int | None


class DomainEventStats(BaseModel):
    """The domain events of the window's tasks (docs/domain-events.md)."""

    model_config = _STRICT

    published: int = Field(default=0, description="events in the outbox, rejected ones aside")
    durable: int = Field(default=0, description="published with delivery_mode durable")
    fast: int = Field(default=0, description="published with delivery_mode fast")
    broadcast: int = Field(default=0, description="published with delivery_mode broadcast")
    emitted: int = Field(default=0, description="published by a composition's emit (async or sync)")
    rejected: int = Field(
        default=0,
        description="recorded but not published: a payload that broke its schema or could "
        "not be stored, or a publisher that raised",
    )
    by_name: dict[str, int] = Field(
        default_factory=dict, description="the most published event names (up to 10)"
    )


class DelegationStats(BaseModel):
    """Delegation chains among the window's tasks (parent_correlation_id, docs/inspect.md)."""

    model_config = _STRICT

    delegated: int = Field(default=0, description="tasks created on behalf of another task")
    max_depth: int = Field(
        default=0, description="the deepest task's levels below the top of its chain"
    )
    too_deep: int = Field(
        default=0, description="tasks deeper than the alert's threshold (delegation_depth)"
    )
    deepest: list[tuple[uuid.UUID, int]] = Field(
        default_factory=list, description="those tasks with their depth, deepest first (up to 10)"
    )


class Baseline(BaseModel):
    """A metric per task whose outliers are flagged: its distribution over the window."""

    model_config = _STRICT

    metric: str = Field(description="cost_usd, steps, phases (budget used) or planning_depth")
    samples: int = Field(description="tasks in the population")
    mean: float
    stddev: float = Field(description="population standard deviation")
    max: float
    threshold: float | None = Field(
        description="mean + 2 stddev; null when not checked (too few samples, no spread)"
    )


class Alert(BaseModel):
    model_config = _STRICT

    code: str = Field(description="stable; see docs/stats.md")
    severity: Severity = Field(description="warning and error make the command exit 1")
    subject: str | None = Field(description="the handler, resource or metric it is about")
    message: str
    metric: str = Field(description="the figure compared, as a path in this document")
    threshold: float = Field(description="the alert is raised when observed exceeds this")
    observed: float
    samples: int | None = Field(description="what the figure is counted over, if relevant")
    tasks: list[uuid.UUID] = Field(description="offending tasks, worst first (up to a limit)")
    more_tasks: int = Field(description="offending tasks not listed")
    hint: str


class StatsReport(BaseModel):
    """Everything ``tasker-ctl stats`` shows, for one window."""

    model_config = _STRICT

    window: StatsWindow
    tasks: TaskStats
    steps: StepStats
    handlers: list[HandlerStats] = Field(description="most steps first")
    dlq: DlqCounts
    budgets: BudgetStats
    planning: PlanningStats
    domain_events: DomainEventStats = Field(default_factory=DomainEventStats)
    delegation: DelegationStats = Field(default_factory=DelegationStats)
    baselines: list[Baseline]
    alerts: list[Alert] = Field(description="most severe first")

    @property
    def failing(self) -> bool:
        """Whether an alert asks for attention (exit code 1)."""
        return any(alert.severity in FAILING_SEVERITIES for alert in self.alerts)
