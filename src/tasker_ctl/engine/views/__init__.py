"""Read models: what a task, its events, lineage and budget look like to people and scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.engine.rules.budget import BudgetLine
    from tasker_ctl.engine.views.budget import TaskBudget, task_budget
    from tasker_ctl.engine.views.domain_events import (
        DomainEvent,
        follow_domain_events,
        read_domain_events,
    )
    from tasker_ctl.engine.views.events import (
        DEFAULT_LIMIT,
        EARLIEST,
        TransitionEvent,
        follow_events,
        read_events,
        read_last_events,
    )
    from tasker_ctl.engine.views.inspection import (
        InspectedStep,
        Provenance,
        StepDetail,
        TaskInspection,
        Transition,
        inspect_step,
        inspect_task,
    )
    from tasker_ctl.engine.views.inspection_layers import (
        CompositionLayer,
        PlanningAttemptRecord,
        composition_layer,
    )
    from tasker_ctl.engine.views.lineage import Lineage, LineageNode, task_lineage
    from tasker_ctl.engine.views.planning_layers import (
        FragmentLayer,
        PlanningAttemptView,
        PlanningLayer,
        fragment_layer,
        planning_layer,
    )
    from tasker_ctl.engine.views.task_listing import (
        TaskPage,
        TaskSummary,
        TemplateFilter,
        check_task_status,
        list_task_page,
        list_tasks,
    )
    from tasker_ctl.engine.views.task_reference import resolve_task
    from tasker_ctl.engine.views.task_report import StepReport, TaskReport

_EXPORTS = {
    "StepReport": "task_report",
    "TaskReport": "task_report",
    "BudgetLine": "budget",
    "TaskBudget": "budget",
    "task_budget": "budget",
    "DEFAULT_LIMIT": "events",
    "EARLIEST": "events",
    "TransitionEvent": "events",
    "DomainEvent": "domain_events",
    "follow_domain_events": "domain_events",
    "read_domain_events": "domain_events",
    "follow_events": "events",
    "read_events": "events",
    "read_last_events": "events",
    "InspectedStep": "inspection",
    "Provenance": "inspection",
    "StepDetail": "inspection",
    "TaskInspection": "inspection",
    "Transition": "inspection",
    "inspect_step": "inspection",
    "inspect_task": "inspection",
    "resolve_task": "task_reference",
    "CompositionLayer": "inspection_layers",
    "FragmentLayer": "planning_layers",
    "PlanningAttemptRecord": "inspection_layers",
    "PlanningAttemptView": "planning_layers",
    "PlanningLayer": "planning_layers",
    "composition_layer": "inspection_layers",
    "fragment_layer": "planning_layers",
    "planning_layer": "planning_layers",
    "Lineage": "lineage",
    "LineageNode": "lineage",
    "task_lineage": "lineage",
    "TaskPage": "task_listing",
    "TaskSummary": "task_listing",
    "TemplateFilter": "task_listing",
    "list_task_page": "task_listing",
    "check_task_status": "task_listing",
    "list_tasks": "task_listing",
}
__all__ = [
    "DEFAULT_LIMIT",
    "EARLIEST",
    "BudgetLine",
    "CompositionLayer",
    "DomainEvent",
    "FragmentLayer",
    "InspectedStep",
    "Lineage",
    "LineageNode",
    "PlanningAttemptRecord",
    "PlanningAttemptView",
    "PlanningLayer",
    "Provenance",
    "StepDetail",
    "StepReport",
    "TaskBudget",
    "TaskInspection",
    "TaskPage",
    "TaskReport",
    "TaskSummary",
    "TemplateFilter",
    "Transition",
    "TransitionEvent",
    "check_task_status",
    "composition_layer",
    "follow_domain_events",
    "follow_events",
    "fragment_layer",
    "inspect_step",
    "inspect_task",
    "list_task_page",
    "list_tasks",
    "planning_layer",
    "read_domain_events",
    "read_events",
    "read_last_events",
    "resolve_task",
    "task_budget",
    "task_lineage",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
