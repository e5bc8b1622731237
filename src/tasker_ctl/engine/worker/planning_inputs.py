"""What a planning step's attempts are built from: its phase, the frame a fragment is checked
against, and the prompt (the task as it is now: its context, the results before the step,
the names already taken, the budget left)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.graph.planning_ledger import read_budget
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.attempt import Attempt
from tasker_ctl.engine.worker.claimed_step import ClaimedStep
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.template.model import PlanningBlock, StepDefinition, TaskTemplate
from tasker_ctl.trust import TrustPolicy

if TYPE_CHECKING:
    from tasker_ctl.planning.context_plan import ContextInput
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.planning.prompt import PlanningPrompt

RESOURCES = ("steps", "phases", "llm_calls", "tokens", "cost_usd", "wall_seconds")


def phase_of(step: ClaimedStep) -> int:
    """The planning phase a planning step fills: 1 for the template's, one more than the
    phase that planned it for a nested planner."""
    from tasker_ctl.planning.plan import phase_of_planner

    return phase_of_planner(step.provenance.created_by, step.provenance.planning_phase)


def results_of(attempt: Attempt) -> dict[str, Any]:
    """The results of the step's completed ancestors, by name."""
    return results_in(attempt.ancestors)


def results_in(ancestors: AncestorResults) -> dict[str, Any]:
    """The results in the stored envelopes of completed ancestors, by name."""
    return {
        name: envelope.get("result") if isinstance(envelope, Mapping) else None
        for name, envelope in ancestors.everything().items()
    }


@dataclass(frozen=True)
class PlanningInputs:
    """Builds a planning step's frame and prompt from the database as it is now."""

    registry: HandlerRegistry
    trust: TrustPolicy

    def frame(
        self, store: Store, attempt: Attempt, template: TaskTemplate, held_steps: int = 0
    ) -> FragmentFrame:
        """What a fragment is checked against; ``held_steps`` are reserved for the fragment
        being checked itself (an accepted one whose fill was not written)."""
        from tasker_ctl.planning.frame import FragmentFrame

        step = attempt.step
        remaining = read_budget(store, step.task_uuid, lock=False).remaining("steps")
        if remaining is not None:
            remaining += held_steps
        rows = store.fetch_all("task_planned_definitions", task_uuid=step.task_uuid)
        existing = frozenset(row["name"] for row in rows)
        planned = {
            row["name"]: StepDefinition.model_validate(row["step_definition"])
            for row in rows
            if row["step_definition"] is not None
        }
        nested = step.step_definition is not None
        return FragmentFrame(
            template=template,
            planning_step=attempt.definition.name,
            context=step.task.context,
            results=results_of(attempt),
            remaining_steps=None if remaining is None else max(0, int(remaining)),
            existing_steps=existing,
            callables=frozenset(self.registry.known_callables()) or None,
            trust=self.trust,
            planning_definition=attempt.definition if nested else None,
            nesting=phase_of(step) - 1,
            planned_steps=planned,
        )

    def prompt(
        self,
        store: Store,
        attempt: Attempt,
        template: TaskTemplate,
        block: PlanningBlock,
        frame: FragmentFrame,
        context_inputs: Sequence[ContextInput] | None = None,
    ) -> PlanningPrompt:
        """The prompt; ``context_inputs`` say how each input is given (``context_values``
        planned, the summaries made), else the prompt plans them without a model."""
        from tasker_ctl.engine.rules.budget import planning_step_limits
        from tasker_ctl.planning.callables import expand
        from tasker_ctl.planning.prompt import build_prompt

        # what the planner is told it has left: the least of its task's and its own bounds
        budget = read_budget(
            store,
            attempt.step.task_uuid,
            lock=False,
            step_uuid=attempt.step.step_uuid,
            step_limits=planning_step_limits(block),
        )
        results = results_of(attempt)
        remaining: dict[str, float | None] = {}
        for resource in RESOURCES:
            left = budget.remaining(resource)
            remaining[resource] = None if left is None else float(left)
        max_steps = block.bounds.max_steps
        if frame.remaining_steps is not None:
            max_steps = min(max_steps, frame.remaining_steps)
        return build_prompt(
            template=template,
            step=attempt.definition.name,
            context=attempt.step.task.context,
            upstream={name: results.get(name) for name in block.context_from},
            callables=expand(block.allowed_callables, self.registry.known_callables()),
            patterns=list(block.allowed_patterns),
            remaining=remaining,
            max_steps=max_steps,
            max_depth=block.bounds.max_depth,
            context_inputs=context_inputs,
            definition=attempt.definition,
            upstream_schemas={name: frame.result_schema_of(name) for name in block.context_from},
        )

    def context_values(
        self, attempt: Attempt, template: TaskTemplate, block: PlanningBlock, frame: FragmentFrame
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """The prompt's inputs (the task context, the ``context_from`` results) and their
        schemas, by name, as ``plan_context`` takes them."""
        from tasker_ctl.planning.context_plan import TASK_CONTEXT

        results = results_of(attempt)
        values: dict[str, Any] = {TASK_CONTEXT: attempt.step.task.context}
        schemas: dict[str, Any] = {TASK_CONTEXT: template.input_schema}
        for name in block.context_from:
            values[name] = results.get(name)
            schemas[name] = frame.result_schema_of(name)
        return values, schemas


def with_failure_context(prompt: PlanningPrompt, findings: list[Any], model: str) -> Any:
    """The first request of a fresh round: the round's prompt with what made the last round
    fail (its findings, not its answers), so the planner starts again knowing why."""
    from tasker_ctl.engine.worker.planning_answers import summary

    note = (
        "\n\n## The previous plan was refused\n"
        f"A previous round of planning (model {model}) produced no valid fragment. Its last "
        f"findings: {summary(findings, limit=10)}. Plan again from the results above; do not "
        "repeat those mistakes."
    )
    return replace(prompt.request, prompt=prompt.request.prompt + note)


def planned_inputs_resolved(step: ClaimedStep, ancestors: AncestorResults) -> ClaimedStep:
    """A planned step with its input references replaced by the values they name."""
    from tasker_ctl.planning.plan import resolve_inputs

    if not isinstance(step.inputs, Mapping) or not step.inputs:
        return step
    return replace(
        step, inputs=resolve_inputs(step.inputs, step.task.context, results_in(ancestors))
    )
