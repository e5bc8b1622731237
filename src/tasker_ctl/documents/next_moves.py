"""What would move a task on from where it rests: each move as the command line a person
runs and as the MCP tool call an agent makes (``task explain``'s ``next``, ``task
diagnose``'s ``repairs``). A tool call's ``reason`` of ``REASON`` is the caller's to fill in.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput

if TYPE_CHECKING:
    from tasker_ctl.engine.views import InspectedStep, TaskInspection

__all__ = ["REASON", "NextMove", "ToolCall", "next_moves", "settle_moves"]

REASON = "REASON"
_FINISHED_TASK = frozenset({"complete", "cancelled", "error", "resolved_manually"})
_DONE_STEP = frozenset({"complete", "resolved_manually"})
_WAITING_STEP = frozenset({"pending", "enqueued", "waiting_for_retry"})


class ToolCall(StrictOutput):
    name: str = Field(description="the MCP tool")
    arguments: dict[str, Any] = Field(description="its arguments; fill in reason")


class NextMove(StrictOutput):
    why: str
    command: str = Field(description="the command line a person runs")
    tool: ToolCall | None = Field(description="the same move as an MCP tool call, if one")

    def concerns(self, step: str) -> bool:
        """A move about ``step``, or about the whole task (a DLQ entry)."""
        if self.tool is None:
            return False
        named = self.tool.arguments.get("step")
        return named == step or (named is None and self.tool.name == "dlq_resolve")


# -- moves ----------------------------------------------------------------------------


def next_moves(overview: TaskInspection, dlq_entry: str | None) -> list[NextMove]:
    """The commands (and tool calls) that would move the task on from where it rests."""
    task = str(overview.task_uuid)
    moves: list[NextMove] = []
    if dlq_entry is not None:
        moves.append(
            _move(
                "the task was dead-lettered; record what became of it",
                f"tasker-ctl dlq resolve {dlq_entry} --status manually_resolved --notes TEXT",
                "dlq_resolve",
                {"entry": dlq_entry, "status": "manually_resolved"},
            )
        )
    if overview.status in _FINISHED_TASK:
        return moves
    for step in overview.steps:
        moves += _step_moves(task, step)
    if any(step.state == "enqueued" for step in overview.steps):
        moves.append(
            NextMove(
                why="steps are ready: a worker runs them",
                command=f"tasker-ctl worker --handlers HANDLERS --namespace {overview.namespace}",
                tool=None,
            )
        )
    return moves


def _step_moves(task: str, step: InspectedStep) -> list[NextMove]:
    target = {"task": task, "step": step.name}
    base = f"{task} {step.name}"
    if step.approval is not None:
        from tasker_ctl.report.run_json import decide_commands

        approve, reject = decide_commands(uuid.UUID(task), step)
        why = f"'{step.name}' waits for approval"
        if step.approval.approvers:  # the tool acts as the server's client, who must be one
            why += f" by {' or '.join(step.approval.approvers)}"
        return [
            _move(why, approve, "gate_approve", target),
            _move(why, reject, "gate_reject", target),
        ]
    if step.state == "error" and step.error is not None:
        why = f"'{step.name}' failed"
        return [
            _move(
                why + "; run it again once its cause is fixed",
                f"tasker-ctl task retry-step {base} --reason TEXT",
                "step_retry",
                target,
            ),
            _move(
                why + "; settle it by hand so its children run",
                f"tasker-ctl task resolve-step {base} --reason TEXT",
                "step_resolve",
                target,
            ),
            _move(
                why + "; complete it by hand with the result it should have given",
                f"tasker-ctl task complete-step {base} --result JSON --reason TEXT",
                "step_complete",
                {**target, "result": {}},
            ),
        ]
    if step.state == "in_progress":
        return [
            _move(
                f"'{step.name}' is running; settle it by hand only if its worker is gone",
                f"tasker-ctl task resolve-step {base} --force --reason TEXT",
                "step_resolve",
                {**target, "force": True},
            )
        ]
    return []


def settle_moves(overview: TaskInspection, step: InspectedStep) -> list[NextMove]:
    """For a step waiting to run (or to be retried) whose parents are done: settling it by
    hand, which an operator may do instead of a worker. Nothing for a finished task, a gate,
    or a step whose parents have not all finished."""
    states = {item.name: item.state for item in overview.steps}
    if (
        overview.status in _FINISHED_TASK
        or step.approval is not None
        or step.state not in _WAITING_STEP
        or any(states.get(parent) not in _DONE_STEP for parent in step.parents)
    ):
        return []
    task = str(overview.task_uuid)
    target = {"task": task, "step": step.name}
    why = f"'{step.name}' is {step.state}; instead of waiting for a worker"
    return [
        _move(
            why + ", settle it by hand",
            f"tasker-ctl task resolve-step {task} {step.name} --reason TEXT",
            "step_resolve",
            target,
        ),
        _move(
            why + ", complete it by hand with its result",
            f"tasker-ctl task complete-step {task} {step.name} --result JSON --reason TEXT",
            "step_complete",
            {**target, "result": {}},
        ),
    ]


def _move(why: str, command: str, tool: str, arguments: dict[str, Any]) -> NextMove:
    return NextMove(
        why=why,
        command=command,
        tool=ToolCall(name=tool, arguments={**arguments, "reason": REASON}),
    )
