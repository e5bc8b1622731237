"""The agent-shaped tools (tier2, read-only): a whole question answered in one call.

``task_explain`` is ``tasker-ctl task explain --json`` and ``step_diagnose`` is ``tasker-ctl
task diagnose --json`` (``tasker_ctl.documents.explain``, ``.diagnose``): what an agent would
otherwise piece together from several reads, with the next moves given as tool calls it can
make.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from tasker_ctl.documents.diagnose import StepDiagnosis
from tasker_ctl.documents.explain import TaskExplanation
from tasker_ctl.mcp.spec import ToolArguments, ToolContext, ToolSpec, ToolTier

__all__ = ["TOOLS"]


class ExplainArguments(ToolArguments):
    task: str = Field(
        min_length=1,
        max_length=64,
        description="the task: its UUID, a unique prefix (8+ hex digits) or 'latest'",
    )


class DiagnoseArguments(ExplainArguments):
    step: str = Field(min_length=1, max_length=256, description="the step's name")


def _explain(args: ExplainArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.explain import explain_task

    return explain_task(args.task, database_url=context.database_url)


def _diagnose(args: DiagnoseArguments, context: ToolContext) -> BaseModel:
    from tasker_ctl.documents.diagnose import diagnose_step

    return diagnose_step(args.task, args.step, database_url=context.database_url)


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="task_explain",
        title="Explain a task",
        description="A task in one answer: steps run, plans and why, failures, gates, and "
        "the next moves as commands and tool calls.",
        tier=ToolTier.READ,
        arguments=ExplainArguments,
        output=TaskExplanation,
        run=_explain,
        cli="tasker-ctl task explain TASK --json",
        tags=("task", "agent"),
    ),
    ToolSpec(
        name="step_diagnose",
        title="Diagnose a step",
        description="One step: its failure, attempts, provenance up to the planning decision, "
        "inputs, and the repairs that apply.",
        tier=ToolTier.READ,
        arguments=DiagnoseArguments,
        output=StepDiagnosis,
        run=_diagnose,
        cli="tasker-ctl task diagnose TASK STEP --json",
        tags=("task", "agent"),
    ),
)
