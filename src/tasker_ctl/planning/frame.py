"""The frame a fragment is checked against: the template around a planning step, and what is
known of the task it would fill (context, upstream results, budget left, steps already there).

No database is needed: the worker builds a frame from the task it plans for, ``tasker-ctl
fragment validate`` from a template file and the options given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from tasker_ctl.errors import PlanningStepError
from tasker_ctl.planning.callables import matches
from tasker_ctl.template.issue import suggestion_hint
from tasker_ctl.template.model import PlanningBlock, StepDefinition, TaskTemplate
from tasker_ctl.trust import TrustPolicy


# eq=False: a frame is compared and hashed by identity (the template model is not hashable)
@dataclass(frozen=True, eq=False)
class FragmentFrame:
    """What a fragment for ``planning_step`` of ``template`` is checked against.

    ``context``: the task context when known (None: only ``input_schema`` is checked);
    ``results``: known results of upstream steps by name; ``remaining_steps``: the steps the
    task's budget still allows (None: only the bounds apply); ``existing_steps``: step names
    already in the task (the template's and earlier fills'); ``callables``: those the worker
    registered (None: unknown, only the allow-list applies); ``trust``: what persist and
    acquire may reach (None: the template's resources and the default policy).

    Nested planning: ``planning_definition`` is the planning step's definition when a planner
    planned it (``nested_definition``), so the template does not declare it; ``nesting`` is
    how deep that step is (0: a template step, 1: planned by a template step's planner, ...);
    ``planned_steps`` are the steps planners already added to the task, with their
    definitions: their names are taken, and references to them resolve against their
    definitions (a callable declares no result schema, a grammar step's output does).
    """

    template: TaskTemplate = field(repr=False)  # a whole template would swamp the repr
    planning_step: str
    context: Any = None
    results: Mapping[str, Any] | None = None
    remaining_steps: int | None = None
    existing_steps: frozenset[str] = frozenset()
    callables: frozenset[str] | None = None
    trust: TrustPolicy | None = None
    planning_definition: StepDefinition | None = field(default=None, repr=False)
    nesting: int = 0
    planned_steps: Mapping[str, StepDefinition] = field(default_factory=dict, repr=False)
    # filled in __post_init__: the planning step's definition, checked once
    _step: StepDefinition = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.nesting < 0:
            raise PlanningStepError(f"nesting is {self.nesting}; it counts levels from 0")
        if self.planning_definition is not None:
            object.__setattr__(self, "_step", self._planned_definition(self.planning_definition))
            return
        step = self.template.step(self.planning_step)
        if step is None:
            planning = [s.name for s in self.template.steps if s.planning is not None]
            raise PlanningStepError(
                f"template '{self.template.name}' has no step '{self.planning_step}'",
                hint=suggestion_hint(self.planning_step, planning)
                or _planning_steps_hint(planning),
            )
        if step.planning is None or step.step_type.value != "planning":
            planning = [s.name for s in self.template.steps if s.planning is not None]
            raise PlanningStepError(
                f"step '{self.planning_step}' of template '{self.template.name}' is not a "
                "'type: planning' step with a 'planning:' block",
                hint=_planning_steps_hint(planning),
            )
        object.__setattr__(self, "_step", step)

    def _planned_definition(self, step: StepDefinition) -> StepDefinition:
        if step.name != self.planning_step:
            raise PlanningStepError(
                f"the planning definition is of step '{step.name}', not '{self.planning_step}'"
            )
        if step.planning is None or step.step_type.value != "planning":
            raise PlanningStepError(
                f"the definition of step '{step.name}' is not a 'type: planning' step with a "
                "'planning:' block"
            )
        return step

    @property
    def step(self) -> StepDefinition:
        """The planning step's definition."""
        return self._step

    @property
    def block(self) -> PlanningBlock:
        """The planning step's ``planning:`` block."""
        assert self._step.planning is not None  # checked in __post_init__
        return self._step.planning

    @property
    def convergence(self) -> str:
        """The frame's convergence step, which runs after the fill."""
        return self.block.convergence

    @property
    def nesting_left(self) -> int:
        """Levels of nested planning steps a fragment of this frame may still open: the
        block's ``max_nesting`` (a nested planner's block holds what its outer one left)."""
        return self.block.max_nesting

    @property
    def policy(self) -> TrustPolicy:
        return self.trust if self.trust is not None else TrustPolicy()

    def allowed_callable(self, name: str) -> bool:
        """Whether a fragment step may call ``name``: on the allow-list and, when the worker's
        registered callables are known, among them."""
        if not matches(name, self.block.allowed_callables):
            return False
        return self.callables is None or name in self.callables

    def allowed_pattern(self, name: str) -> bool:
        """Whether a fragment step may use the grammar pattern ``name``."""
        return name in self.block.allowed_patterns

    @cached_property
    def template_steps(self) -> dict[str, StepDefinition]:
        return {step.name: step for step in self.template.steps}

    @cached_property
    def known_steps(self) -> dict[str, StepDefinition]:
        """The definition of every step the frame knows: the template's, the planned ones
        and the planning step's own."""
        return {
            **self.template_steps,
            **self.planned_steps,
            self.planning_step: self._step,
        }

    @cached_property
    def frame_steps(self) -> frozenset[str]:
        """Every step name the fill must not take: the template's, the planned ones, the
        planning step's and those already there."""
        return frozenset(self.known_steps) | self.existing_steps

    @cached_property
    def upstream(self) -> frozenset[str]:
        """The steps the planning step depends on, directly or not (template steps and
        planned ones): the ones whose results a fragment step may read."""
        found: set[str] = set()
        pending = list(self._step.dependencies)
        while pending:
            name = pending.pop()
            if name in found:
                continue
            found.add(name)
            step = self.known_steps.get(name)
            if step is not None:
                pending.extend(step.dependencies)
        return frozenset(found)

    def result_schema_of(self, name: str) -> Any:
        """The schema a known step declares for its result (None: none): a template step's
        ``result_schema``; for a planned step, its ``result_schema`` or, for a grammar step,
        its composition's output schema (a callable declares none)."""
        step = self.known_steps.get(name)
        if step is None:
            return None
        if step.result_schema is not None or name not in self.planned_steps:
            return step.result_schema
        if step.composition is None:
            return None
        from tasker_ctl.planning.stages_handlers import composition_view

        return composition_view(step.composition).output_schema


def _planning_steps_hint(names: list[str]) -> str:
    if not names:
        return "the template has no 'type: planning' step"
    return "planning steps: " + ", ".join(f"'{name}'" for name in names)
