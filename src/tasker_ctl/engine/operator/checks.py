"""What a task and a step must be for an operator's change (see ``repairs.py``).

Each check raises a coded error that names the task, the step and what is wrong, with a hint
of what to do instead. They run while the task is held, so what they see is what the change
meets.
"""

from __future__ import annotations

import difflib
import uuid
from typing import Any

from tasker_ctl.engine.errors import (
    StepNotFoundError,
    StepRunningError,
    StepStateError,
    StepWaitingForParentsError,
    TaskFinishedError,
)
from tasker_ctl.engine.rules.states import StepState, TaskState
from tasker_ctl.engine.store.connection import Store


def require_unfinished(task: dict[str, Any], command: str) -> None:
    """The task has not finished (is in no terminal state)."""
    state, task_uuid = task["current_state"], task["task_uuid"]
    if TaskState(state).is_terminal:
        raise TaskFinishedError(
            f"task {task_uuid} is already {state}; {command} changes only a task "
            "that has not finished",
            hint=f"'tasker-ctl task show {task_uuid}' shows it",
        )


def find_step(store: Store, task_uuid: uuid.UUID, step_name: str) -> dict[str, Any]:
    """The task's step of this name, or an error suggesting the names it has."""
    steps = {
        row["name"]: row for row in store.fetch_all("fetch_steps_for_operator", task_uuid=task_uuid)
    }
    found = steps.get(step_name)
    if found is not None:
        return found
    close = difflib.get_close_matches(step_name, list(steps), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"'{name}'" for name in close) + "?"
    elif steps:
        hint = "its steps: " + ", ".join(sorted(steps))
    else:
        hint = "the task has no steps"
    raise StepNotFoundError(f"task {task_uuid} has no step '{step_name}'", hint=hint)


def retryable_step(
    store: Store, task: dict[str, Any], step_name: str, command: str
) -> dict[str, Any]:
    """The step, if it is a failure an operator may run again."""
    task_uuid = task["task_uuid"]
    step = find_step(store, task_uuid, step_name)
    require_unfinished(task, command)
    if step["current_state"] != StepState.ERROR:
        raise StepStateError(
            f"step '{step_name}' of task {task_uuid} is {step['current_state']}; "
            f"{command} runs a failed step (one in error) again",
            hint=state_hint(step["current_state"]),
        )
    require_untolerated(step, task_uuid)
    return step


def settleable_step(
    store: Store, task: dict[str, Any], step_name: str, command: str, *, force: bool
) -> dict[str, Any]:
    """The step, if an operator may settle it (resolve or complete) by hand; one with an
    attempt running only with ``force``."""
    task_uuid = task["task_uuid"]
    step = find_step(store, task_uuid, step_name)
    require_unfinished(task, command)
    state = StepState(step["current_state"])
    if state.is_terminal:
        raise StepStateError(
            f"step '{step_name}' of task {task_uuid} is already {state.value}; "
            f"{command} settles only a step that has not finished",
            hint=state_hint(state.value),
        )
    if state is StepState.IN_PROGRESS and not force:
        raise StepRunningError(
            f"step '{step_name}' of task {task_uuid} has attempt {step['attempts']} running",
            hint="wait for it to finish, or pass --force: the running attempt's result "
            "will then be refused",
        )
    if state is StepState.ERROR:
        require_untolerated(step, task_uuid)
    waiting = store.fetch_all("fetch_waiting_parents", step_uuid=step["workflow_step_uuid"])
    if waiting:
        names = ", ".join(f"'{row['name']}'" for row in waiting)
        raise StepWaitingForParentsError(
            f"step '{step_name}' of task {task_uuid} still waits for {names}; a step is "
            "settled by hand only once its parents have finished",
            hint="settle or repair its parents first (the task completes when its last "
            "step without children finishes, so no step may finish before its parents)",
        )
    return step


def require_untolerated(step: dict[str, Any], task_uuid: uuid.UUID) -> None:
    """The step is not a failure its batch tolerated (a processed error)."""
    if step["current_state"] == StepState.ERROR and step["processed"]:
        raise StepStateError(
            f"step '{step['name']}' of task {task_uuid} failed under a failure strategy that "
            "tolerates it: the task has already gone on without it",
            hint="a tolerated failure holds nothing back and is not repaired",
        )


def state_hint(state: str) -> str:
    """Why a step in ``state`` needs no repair, or what to do instead."""
    hints = {
        StepState.PENDING: "it has not run yet",
        StepState.ENQUEUED: "it waits for a worker to run it",
        StepState.COMPLETE: "it completed; nothing to repair",
        StepState.RESOLVED_MANUALLY: "it was resolved by hand; nothing to repair",
        StepState.CANCELLED: "it was cancelled with its task",
        StepState.IN_PROGRESS: "an attempt is running; wait for its outcome",
        StepState.WAITING_FOR_RETRY: "it will be retried by the engine after its backoff",
    }
    return hints.get(StepState(state), "'tasker-ctl task show' lists the steps and their states")
