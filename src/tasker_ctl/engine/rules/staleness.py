"""Staleness rules: the thresholds a task's state is measured against, and what a template's
``lifecycle`` says to do with a stale task. Pure functions; ``operator/staleness.py`` measures
tasks in the database and settles them by these rules.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from tasker_ctl.engine.errors import InvalidSweepOptionError
from tasker_ctl.engine.rules.states import TaskState

ThresholdName = Literal[
    "max_duration_minutes",
    "max_waiting_for_dependencies_minutes",
    "max_waiting_for_retry_minutes",
    "max_steps_in_process_minutes",
]
StalenessAction = Literal["dlq", "error", "none"]

STALENESS_ACTIONS: tuple[StalenessAction, ...] = get_args(StalenessAction)
DURATION_THRESHOLD: ThresholdName = "max_duration_minutes"

# Which threshold a task's state is measured against. Tasks in the other non-terminal state,
# blocked_by_failures, wait for an operator, not for the engine: they are never stale.
# pending waits to be picked up, as waiting_for_dependencies does; the short-lived states of
# submission and settling count as steps_in_process, which the engine otherwise stays in.
STATE_THRESHOLDS: Mapping[TaskState, ThresholdName] = {
    TaskState.PENDING: "max_waiting_for_dependencies_minutes",
    TaskState.INITIALIZING: "max_steps_in_process_minutes",
    TaskState.ENQUEUING_STEPS: "max_steps_in_process_minutes",
    TaskState.STEPS_IN_PROCESS: "max_steps_in_process_minutes",
    TaskState.EVALUATING_RESULTS: "max_steps_in_process_minutes",
    TaskState.WAITING_FOR_DEPENDENCIES: "max_waiting_for_dependencies_minutes",
    TaskState.WAITING_FOR_RETRY: "max_waiting_for_retry_minutes",
}

_STRENGTH: Mapping[StalenessAction, int] = {"none": 0, "error": 1, "dlq": 2}


@dataclass(frozen=True)
class StalenessThresholds:
    """The thresholds, in minutes, of templates that do not set their own; 0 turns one off.

    The defaults are Tasker Core's: 60 minutes waiting for dependencies, 30 waiting for a
    retry, 30 with steps in process, and a task lifetime of 24 hours.
    """

    max_waiting_for_dependencies_minutes: int = 60
    max_waiting_for_retry_minutes: int = 30
    max_steps_in_process_minutes: int = 30
    max_duration_minutes: int = 24 * 60

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidSweepOptionError(
                    f"staleness threshold {name} must be a whole number of minutes, 0 or "
                    f"more, not {value!r}",
                    hint="0 turns the check off",
                )

    def as_json(self) -> dict[str, int]:
        return asdict(self)


DEFAULT_THRESHOLDS = StalenessThresholds()


@dataclass(frozen=True)
class StalenessPolicy:
    """What a template says to do with its stale tasks (its ``lifecycle``)."""

    staleness_action: StalenessAction = "dlq"
    auto_fail_on_timeout: bool | None = None
    auto_dlq_on_timeout: bool | None = None


def policy_from_lifecycle(lifecycle: Any) -> tuple[StalenessPolicy, list[str]]:
    """The policy of a registered template's ``lifecycle`` JSON, and notes on what in it was
    ignored. Registrations come from validated templates; anything else another writer left
    falls back to the default, so that one bad row cannot stop a sweep."""
    if not isinstance(lifecycle, dict):
        return StalenessPolicy(), []
    notes: list[str] = []
    written = lifecycle.get("staleness_action")
    action: StalenessAction = "dlq"
    for known in STALENESS_ACTIONS:
        if written == known:
            action = known
    if written is not None and written not in STALENESS_ACTIONS:
        notes.append(
            f"lifecycle.staleness_action {written!r} is not one of dlq, error, none; dlq applies"
        )
    flags: dict[str, bool | None] = {}
    for key in ("auto_fail_on_timeout", "auto_dlq_on_timeout"):
        value = lifecycle.get(key)
        if value is not None and not isinstance(value, bool):
            notes.append(f"lifecycle.{key} {value!r} is not true or false; it is ignored")
            value = None
        flags[key] = value
    return StalenessPolicy(
        action, flags["auto_fail_on_timeout"], flags["auto_dlq_on_timeout"]
    ), notes


def _strongest(actions: Iterable[StalenessAction]) -> StalenessAction:
    return max(actions, key=_STRENGTH.__getitem__, default="none")


def timeout_action(policy: StalenessPolicy) -> StalenessAction:
    """The action for a task past ``max_duration_minutes``: ``staleness_action``, changed by
    the explicit ``auto_*_on_timeout`` flags. A DLQ entry always comes with the task's
    failure, so ``auto_dlq_on_timeout: true`` wins over ``auto_fail_on_timeout: false``."""
    action = policy.staleness_action
    if policy.auto_fail_on_timeout is True:
        action = _strongest([action, "error"])
    elif policy.auto_fail_on_timeout is False:
        action = "none"
    if policy.auto_dlq_on_timeout is True:
        action = "dlq"
    elif policy.auto_dlq_on_timeout is False and action == "dlq":
        action = "error"
    return action


def action_for(thresholds: Iterable[ThresholdName], policy: StalenessPolicy) -> StalenessAction:
    """The action for a task over these thresholds: the strongest that any of them asks for
    (``dlq`` > ``error`` > ``none``); none when no threshold is exceeded."""
    return _strongest(
        timeout_action(policy) if name == DURATION_THRESHOLD else policy.staleness_action
        for name in thresholds
    )
