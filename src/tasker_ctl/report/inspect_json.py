"""The JSON documents of ``inspect task``, ``report provenance|budget`` and ``task graph``.

Every document has ``version`` (bumped on breaking changes), ``tool`` and ``view`` (which
document it is), then the view's model from the engine (``engine.inspection``,
``inspection_layers``, ``lineage``, ``budget``). docs/inspect.md describes each; the models
are the reference (``tasker-ctl`` prints their JSON Schema with ``inspect schema``).
"""

from __future__ import annotations

import json
import uuid
from typing import Literal

from pydantic import BaseModel, Field

from tasker_ctl.engine.views import (
    CompositionLayer,
    FragmentLayer,
    Lineage,
    PlanningLayer,
    Provenance,
    StepDetail,
    TaskBudget,
    TaskInspection,
)
from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

FORMAT_VERSION = 1

__all__ = [
    "BudgetDocument",
    "CompositionDocument",
    "FragmentDocument",
    "LineageBudgetDocument",
    "LineageDocument",
    "OverviewDocument",
    "PlanningDocument",
    "ProvenanceDocument",
    "StepDocument",
    "document_json",
    "provenance_document",
]


class _Document(StrictOutput):
    version: Literal[1] = Field(default=1, description="format version")
    tool: ToolOutput = Field(default_factory=this_tool)


class OverviewDocument(_Document):
    """``inspect task --json``."""

    view: Literal["overview"] = "overview"
    task: TaskInspection


class StepDocument(_Document):
    """``inspect task --step NAME --json``."""

    view: Literal["step"] = "step"
    step: StepDetail


class PlanningDocument(_Document):
    """``inspect task --planning --json``."""

    view: Literal["planning"] = "planning"
    planning: PlanningLayer


class FragmentDocument(_Document):
    """``inspect task --fragment --json``."""

    view: Literal["fragment"] = "fragment"
    fragment: FragmentLayer


class CompositionDocument(_Document):
    """``inspect task --composition --json``."""

    view: Literal["composition"] = "composition"
    composition: CompositionLayer


class LineageDocument(_Document):
    """``inspect task --lineage --json``."""

    view: Literal["lineage"] = "lineage"
    lineage: Lineage


class ProvenanceStep(StrictOutput):
    name: str
    uuid: uuid.UUID
    state: str
    provenance: Provenance


class ProvenanceDocument(_Document):
    """``report provenance --json``."""

    view: Literal["provenance"] = "provenance"
    task_uuid: uuid.UUID
    task: str
    status: str
    summary: str = Field(description="the overview's summary line")
    steps: list[ProvenanceStep]


class BudgetDocument(_Document):
    """``report budget --json``."""

    view: Literal["budget"] = "budget"
    budget: TaskBudget


class LineageBudgetDocument(_Document):
    """``report budget --lineage --json``."""

    view: Literal["lineage_budget"] = "lineage_budget"
    lineage: Lineage


DOCUMENTS: dict[str, type[_Document]] = {
    model.model_fields["view"].default: model
    for model in (
        OverviewDocument,
        StepDocument,
        PlanningDocument,
        FragmentDocument,
        CompositionDocument,
        LineageDocument,
        ProvenanceDocument,
        BudgetDocument,
        LineageBudgetDocument,
    )
}


def provenance_document(task: TaskInspection) -> ProvenanceDocument:
    return ProvenanceDocument(
        task_uuid=task.task_uuid,
        task=task.task,
        status=task.status,
        summary=task.summary.line(),
        steps=[
            ProvenanceStep(name=s.name, uuid=s.uuid, state=s.state, provenance=s.provenance)
            for s in task.steps
        ],
    )


def document_json(document: BaseModel) -> str:
    """Indented JSON ending with a newline, keys in model order, edges as from/to."""
    return (
        json.dumps(document.model_dump(mode="json", by_alias=True), indent=2, ensure_ascii=False)
        + "\n"
    )
