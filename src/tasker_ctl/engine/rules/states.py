"""Task and step states and the transitions between them.

The same rules live in the database (``tasker.task_transition_rules`` and
``tasker.step_transition_rules``, enforced by a trigger on every transition row); this module
lets Python code check a transition before asking for it, and a test keeps the two in step.
The states are Tasker Core's; the transitions are its guard tables plus ``waiting_for_retry ->
enqueued`` (a retry whose backoff elapsed is claimable at once) and ``blocked_by_failures ->
evaluating_results`` (a task resumes once its failed step is repaired). See docs/engine.md for
which of them the engine takes, and when.
"""

from __future__ import annotations

from enum import StrEnum


class TaskState(StrEnum):
    PENDING = "pending"
    INITIALIZING = "initializing"
    ENQUEUING_STEPS = "enqueuing_steps"
    STEPS_IN_PROCESS = "steps_in_process"
    EVALUATING_RESULTS = "evaluating_results"
    WAITING_FOR_DEPENDENCIES = "waiting_for_dependencies"
    WAITING_FOR_RETRY = "waiting_for_retry"
    BLOCKED_BY_FAILURES = "blocked_by_failures"
    COMPLETE = "complete"
    ERROR = "error"
    CANCELLED = "cancelled"
    RESOLVED_MANUALLY = "resolved_manually"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_TASK_STATES


class StepState(StrEnum):
    PENDING = "pending"
    ENQUEUED = "enqueued"
    IN_PROGRESS = "in_progress"
    ENQUEUED_FOR_ORCHESTRATION = "enqueued_for_orchestration"
    ENQUEUED_AS_ERROR_FOR_ORCHESTRATION = "enqueued_as_error_for_orchestration"
    WAITING_FOR_RETRY = "waiting_for_retry"
    COMPLETE = "complete"
    ERROR = "error"
    CANCELLED = "cancelled"
    RESOLVED_MANUALLY = "resolved_manually"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STEP_STATES

    @property
    def satisfies_dependents(self) -> bool:
        return self in (StepState.COMPLETE, StepState.RESOLVED_MANUALLY)


TERMINAL_TASK_STATES = frozenset(
    {TaskState.COMPLETE, TaskState.ERROR, TaskState.CANCELLED, TaskState.RESOLVED_MANUALLY}
)
# A failed step can still be retried, reset or resolved, so `error` is not terminal for steps.
TERMINAL_STEP_STATES = frozenset(
    {StepState.COMPLETE, StepState.CANCELLED, StepState.RESOLVED_MANUALLY}
)

_T = TaskState
TASK_TRANSITIONS: dict[tuple[TaskState | None, TaskState], str] = {
    (None, _T.PENDING): "Create",
    (_T.PENDING, _T.INITIALIZING): "Start",
    (_T.INITIALIZING, _T.ENQUEUING_STEPS): "ReadyStepsFound",
    (_T.INITIALIZING, _T.COMPLETE): "NoStepsFound",
    (_T.INITIALIZING, _T.WAITING_FOR_DEPENDENCIES): "NoDependenciesReady",
    (_T.ENQUEUING_STEPS, _T.STEPS_IN_PROCESS): "StepsEnqueued",
    (_T.ENQUEUING_STEPS, _T.ERROR): "EnqueueFailed",
    (_T.STEPS_IN_PROCESS, _T.EVALUATING_RESULTS): "StepCompleted",
    (_T.STEPS_IN_PROCESS, _T.WAITING_FOR_RETRY): "StepFailed",
    (_T.EVALUATING_RESULTS, _T.COMPLETE): "AllStepsSuccessful",
    (_T.EVALUATING_RESULTS, _T.ENQUEUING_STEPS): "ReadyStepsFound",
    (_T.EVALUATING_RESULTS, _T.WAITING_FOR_DEPENDENCIES): "NoDependenciesReady",
    (_T.EVALUATING_RESULTS, _T.BLOCKED_BY_FAILURES): "PermanentFailure",
    (_T.WAITING_FOR_DEPENDENCIES, _T.EVALUATING_RESULTS): "DependenciesReady",
    (_T.WAITING_FOR_RETRY, _T.ENQUEUING_STEPS): "RetryReady",
    (_T.BLOCKED_BY_FAILURES, _T.ERROR): "GiveUp",
    (_T.BLOCKED_BY_FAILURES, _T.RESOLVED_MANUALLY): "ManualResolution",
    (_T.BLOCKED_BY_FAILURES, _T.EVALUATING_RESULTS): "StepRepaired",
}
for _state in TaskState:
    if not _state.is_terminal:
        TASK_TRANSITIONS.setdefault((_state, _T.CANCELLED), "Cancel")
        TASK_TRANSITIONS.setdefault((_state, _T.RESOLVED_MANUALLY), "ResolveManually")

_S = StepState
STEP_TRANSITIONS: dict[tuple[StepState | None, StepState], str] = {
    (None, _S.PENDING): "Create",
    (_S.PENDING, _S.ENQUEUED): "Enqueue",
    (_S.ENQUEUED, _S.IN_PROGRESS): "Start",
    (_S.PENDING, _S.IN_PROGRESS): "Start",
    (_S.IN_PROGRESS, _S.ENQUEUED_FOR_ORCHESTRATION): "EnqueueForOrchestration",
    (_S.IN_PROGRESS, _S.ENQUEUED_AS_ERROR_FOR_ORCHESTRATION): "EnqueueAsErrorForOrchestration",
    (_S.ENQUEUED_FOR_ORCHESTRATION, _S.COMPLETE): "Complete",
    (_S.ENQUEUED_FOR_ORCHESTRATION, _S.ERROR): "Fail",
    (_S.ENQUEUED_AS_ERROR_FOR_ORCHESTRATION, _S.ERROR): "Fail",
    (_S.ENQUEUED_AS_ERROR_FOR_ORCHESTRATION, _S.COMPLETE): "Complete",
    (_S.ENQUEUED_AS_ERROR_FOR_ORCHESTRATION, _S.WAITING_FOR_RETRY): "WaitForRetry",
    (_S.IN_PROGRESS, _S.COMPLETE): "Complete",
    (_S.IN_PROGRESS, _S.ERROR): "Fail",
    (_S.PENDING, _S.ERROR): "Fail",
    (_S.ENQUEUED, _S.ERROR): "Fail",
    (_S.PENDING, _S.WAITING_FOR_RETRY): "WaitForRetry",
    (_S.ENQUEUED, _S.WAITING_FOR_RETRY): "WaitForRetry",
    (_S.IN_PROGRESS, _S.WAITING_FOR_RETRY): "WaitForRetry",
    (_S.WAITING_FOR_RETRY, _S.PENDING): "Retry",
    (_S.WAITING_FOR_RETRY, _S.ENQUEUED): "RetryReady",
    (_S.ERROR, _S.PENDING): "Retry",
}
for _step_state in StepState:
    if not _step_state.is_terminal:
        STEP_TRANSITIONS.setdefault((_step_state, _S.CANCELLED), "Cancel")
    if _step_state not in (_S.RESOLVED_MANUALLY, _S.COMPLETE, _S.CANCELLED):
        STEP_TRANSITIONS.setdefault((_step_state, _S.RESOLVED_MANUALLY), "ResolveManually")
        STEP_TRANSITIONS.setdefault((_step_state, _S.COMPLETE), "CompleteManually")


def can_transition_task(current: TaskState | None, target: TaskState) -> bool:
    return (current, target) in TASK_TRANSITIONS


def can_transition_step(current: StepState | None, target: StepState) -> bool:
    return (current, target) in STEP_TRANSITIONS
