"""What one attempt is: a template's steps prepared once per revision, the claimed attempt a
worker runs, and the outcome it records."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.rules.batches import BatchOutcome, BatchPlanner
from tasker_ctl.engine.rules.decisions import DecisionSegments
from tasker_ctl.engine.rules.retry import RetryPolicy
from tasker_ctl.engine.worker.ancestors import AncestorResults
from tasker_ctl.engine.worker.claimed_step import ClaimedStep, ClaimedTask
from tasker_ctl.engine.worker.composition_step import GateWait, GrammarPlan
from tasker_ctl.sdk.contracts import SchemaCheck, compile_schema
from tasker_ctl.template.model import ResourceDefinition, StepDefinition, StepType, TaskTemplate

if TYPE_CHECKING:
    from tasker_ctl.planning.plan import PlannedFill  # only a planning step's success has one


@dataclass(frozen=True)
class PreparedStep:
    """What every attempt of a template step needs, worked out once per template revision."""

    definition: StepDefinition
    definition_json: str  # decoded afresh for each dispatch: handlers may mutate the payload
    result_check: SchemaCheck | None
    retry_policy: RetryPolicy
    segments: DecisionSegments | None = None  # for a decision step: what it may create
    batches: BatchPlanner | None = None  # for a batchable step: its workers
    grammar: GrammarPlan | None = None  # for a step with a composition: what it runs

    @classmethod
    def of(
        cls,
        definition: StepDefinition,
        segments: DecisionSegments | None = None,
        batches: BatchPlanner | None = None,
        resources: Mapping[str, ResourceDefinition] | None = None,
    ) -> PreparedStep:
        grammar = None
        if definition.composition is not None:
            from tasker_ctl.grammar.compositions import written_out

            spec, source = written_out(definition.composition)
            grammar = GrammarPlan(spec, source, dict(resources or {}))
        return cls(
            definition=definition,
            definition_json=json.dumps(definition.model_dump(mode="json", by_alias=True)),
            result_check=compile_schema(definition.result_schema),
            retry_policy=RetryPolicy.from_template(definition.retry),
            segments=segments,
            batches=batches,
            grammar=grammar,
        )


@dataclass
class PreparedTemplate:
    """A parsed template with its steps prepared on first use."""

    template: TaskTemplate
    revision: int = 1
    _steps: dict[str, PreparedStep] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        # indexed once: a wide template would otherwise be scanned once per step
        self._definitions = {step.name: step for step in self.template.steps}
        kinds = {s.step_type for s in self.template.steps}
        self._segments = DecisionSegments(self.template) if StepType.DECISION in kinds else None
        self._batches = BatchPlanner(self.template) if StepType.BATCHABLE in kinds else None

    def planned(self, step: ClaimedStep) -> PreparedStep:
        """A planned step, prepared from the definition its row holds (each planned step's
        is its own, so nothing is cached)."""
        definition = StepDefinition.model_validate(step.step_definition)
        return PreparedStep.of(definition, resources=self.template.resources)

    def step(self, name: str) -> PreparedStep:
        prepared = self._steps.get(name)
        if prepared is None:
            definition = self._definitions.get(name)
            if definition is None:
                raise LookupError(f"template {self.template.identifier} has no step '{name}'")
            kind = definition.step_type
            segments = self._segments if kind is StepType.DECISION else None
            batches = self._batches if kind is StepType.BATCHABLE else None
            with self._lock:
                prepared = self._steps.setdefault(
                    name,
                    PreparedStep.of(definition, segments, batches, self.template.resources),
                )
        return prepared


@dataclass(frozen=True)
class Attempt:
    """What a worker needs to run one claimed attempt."""

    step: ClaimedStep
    prepared: PreparedStep
    ancestors: AncestorResults  # step name -> stored result envelope

    @property
    def task(self) -> ClaimedTask:
        return self.step.task

    @property
    def number(self) -> int:
        """The attempt number: the fencing token its outcome must carry."""
        return self.step.attempt

    def resumed_from(self, checkpoint: Any) -> Attempt:
        """This attempt once ``checkpoint`` is stored: its handler's next dispatch resumes
        from it."""
        return replace(self, step=self.step.resumed_from(checkpoint))

    @property
    def definition(self) -> StepDefinition:
        return self.prepared.definition


@dataclass(frozen=True)
class Outcome:
    success: bool
    envelope: dict[str, Any]  # what is stored in workflow_steps.results
    retryable: bool
    retry_after: float | None
    duration_ms: int
    chosen: tuple[str, ...] = ()  # a decision step's success: the steps it creates
    batch: BatchOutcome | None = None  # a batchable step's success: the workers it creates
    # a checkpoint_yield: the progress to keep before the handler is dispatched again (the
    # attempt goes on; nothing else of the outcome is stored)
    checkpoint: dict[str, Any] | None = None
    # a grammar step stopped at a gate: the step waits for a decision (nothing else is stored)
    awaiting: GateWait | None = None
    # a planning step's success: the accepted fragment's steps and edges
    fill: PlannedFill | None = None

    @property
    def grows(self) -> bool:
        """Whether recording this success adds steps to the task (a planning step's always
        does: its ledger commitment, even for a fragment of no steps)."""
        return bool(self.chosen) or self.batch is not None or self.fill is not None
