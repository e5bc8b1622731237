"""The JSON documents of the operator commands: ``task list --json`` and the repairs'
(``task cancel|retry-step|resolve-step|complete-step --json``).

The shapes are fixed by the models below and documented in ``docs/operations.md``. Adding a
key is a minor change; renaming or removing one bumps ``version``. A repair's document holds
the action and then the task as ``run --json`` prints it (``task`` and ``steps``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool
from tasker_ctl.report.run_json import StepOutput, TaskOutput, build_output

if TYPE_CHECKING:
    from tasker_ctl.engine.operator import RepairOutcome
    from tasker_ctl.engine.views import TaskPage

__all__ = [
    "FORMAT_VERSION",
    "ActionOutput",
    "RepairOutput",
    "TaskListItemOutput",
    "TaskListOutput",
    "render_repair_json",
    "render_task_list_json",
]

FORMAT_VERSION = 1


class TaskListItemOutput(StrictOutput):
    uuid: UUID
    status: str = Field(description="the task's state, e.g. 'steps_in_process', 'complete'")
    namespace: str
    name: str
    version: str = Field(description="the template's version")
    steps: dict[str, int] = Field(description="how many steps are in each state")
    step_total: int
    created_at: datetime
    updated_at: datetime = Field(
        description="the task's latest change: the newest transition of the task or of one "
        "of its steps"
    )
    completed_at: datetime | None = Field(description="null until the task completes")


class TaskListOutput(StrictOutput):
    """The whole document written by ``tasker-ctl task list --json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    tasks: list[TaskListItemOutput] = Field(description="newest first")
    truncated: bool = Field(description="more tasks match than this page holds")
    next_cursor: str | None = Field(
        description="pass it to --after for the next page; null on the last page"
    )


class ActionOutput(StrictOutput):
    name: str = Field(
        description="'cancel_task', 'retry_step', 'resolve_step', 'complete_step', "
        "'approve_step' or 'reject_step'"
    )
    by: str = Field(description="who acted (--by, $TASKER_ACTOR or user@host)")
    reason: str
    step: str | None = Field(description="the step repaired; null for cancel")
    step_state_before: str | None
    step_state_after: str | None
    task_state_before: str
    task_state_after: str
    resumed: bool = Field(description="a task blocked by failures runs (or completed) again")
    cancelled_steps: list[str] = Field(description="the steps cancel moved to 'cancelled'")
    enqueued: int = Field(description="steps the change made ready to claim")
    blocking_steps: list[str] = Field(
        description="failed steps that still hold the task blocked (empty unless it is)"
    )


class RepairOutput(StrictOutput):
    """The whole document written by a repair command with ``--json``."""

    version: Literal[1] = Field(description="format version; bumped on breaking changes")
    tool: ToolOutput
    action: ActionOutput
    task: TaskOutput
    steps: list[StepOutput]


def build_task_list(page: TaskPage) -> TaskListOutput:
    return TaskListOutput(
        version=FORMAT_VERSION,
        tool=this_tool(),
        tasks=[
            TaskListItemOutput(
                uuid=task.task_uuid,
                status=task.status,
                namespace=task.namespace,
                name=task.name,
                version=task.version,
                steps=task.step_counts,
                step_total=task.step_total,
                created_at=task.created_at,
                updated_at=task.updated_at,
                completed_at=task.completed_at,
            )
            for task in page.tasks
        ],
        truncated=page.truncated,
        next_cursor=page.next_cursor,
    )


def build_repair(outcome: RepairOutcome) -> RepairOutput:
    report = build_output(outcome.report)
    return RepairOutput(
        version=FORMAT_VERSION,
        tool=this_tool(),
        action=ActionOutput(
            name=outcome.action,
            by=outcome.by,
            reason=outcome.reason,
            step=outcome.step,
            step_state_before=outcome.step_state_before,
            step_state_after=outcome.step_state_after,
            task_state_before=outcome.task_state_before,
            task_state_after=outcome.task_state_after,
            resumed=outcome.resumed,
            cancelled_steps=outcome.cancelled_steps,
            enqueued=outcome.enqueued,
            blocking_steps=outcome.blocking_steps,
        ),
        task=report.task,
        steps=report.steps,
    )


def render_task_list_json(page: TaskPage) -> str:
    return _dumps(build_task_list(page))


def render_repair_json(outcome: RepairOutcome) -> str:
    return _dumps(build_repair(outcome))


def _dumps(document: BaseModel) -> str:
    """Indented JSON text ending with a newline, keys in model order."""
    return json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
