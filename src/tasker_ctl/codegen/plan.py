"""What to generate for each step: names, types, decorators and stub values.

Everything the Jinja scaffolds print is decided here, so the scaffolds stay declarative and
users who override them receive the same, documented context (see docs/cli/generate.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.codegen.bundle import SchemaBundle
from tasker_ctl.codegen.examples import ExampleBuilder
from tasker_ctl.codegen.literal import python_literal
from tasker_ctl.codegen.naming import snake_base, snake_case, unique
from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.model import StepType, TaskTemplate

UNTYPED = "dict[str, Any]"
_RESERVED_PARAMETERS = {"context", "inputs", "batch_context"}
# Module-level names of the generated handlers module: a step function must not shadow them.
_RESERVED_FUNCTIONS = frozenset(
    {
        "Any",
        "BatchConfig",
        "BatchWorkerContext",
        "Decision",
        "StepContext",
        "annotations",
        "batch_analyzer",
        "batch_worker",
        "decision_handler",
        "depends_on",
        "inputs",
        "step_handler",
    }
)


@dataclass(frozen=True)
class DependencyPlan:
    parameter: str
    step: str
    model: str | None
    optional: bool

    @property
    def annotation(self) -> str:
        base = self.model or UNTYPED
        return f"{base} | None" if self.optional else base


@dataclass
class StepPlan:
    name: str
    function: str
    callable: str
    kind: str  # standard | decision | batchable | batch_worker | convergence | planning
    description: str | None
    result_model: str | None
    stub: Any
    dependencies: list[DependencyPlan] = field(default_factory=list)
    dependency_examples: dict[str, Any] = field(default_factory=dict)
    initialization: dict[str, Any] = field(default_factory=dict)
    branches: list[str] = field(default_factory=list)
    worker_template: str | None = None
    batch_size: int | None = None
    batch_workers: list[str] = field(default_factory=list)
    result_schema: Any = None

    @property
    def result_annotation(self) -> str:
        return self.result_model or UNTYPED

    def stub_source(self, indent: int) -> str:
        return python_literal(self.stub, indent)


@dataclass
class TemplatePlan:
    identifier: str
    template_name: str
    input_model: str | None
    input_example: Any
    steps: list[StepPlan]
    bundle: SchemaBundle

    @property
    def model_names(self) -> list[str]:
        names = {step.result_model for step in self.steps if step.result_model}
        names |= {d.model for step in self.steps for d in step.dependencies if d.model}
        if self.input_model:
            names.add(self.input_model)
        return sorted(names)

    @property
    def needs_any(self) -> bool:
        return any(
            step.result_model is None or any(d.model is None for d in step.dependencies)
            for step in self.steps
        )

    @property
    def kinds(self) -> set[str]:
        return {step.kind for step in self.steps}


def plan_template(template: TaskTemplate, bundle: SchemaBundle) -> TemplatePlan:
    """Decide the generated code for every step of ``template``."""
    examples = ExampleBuilder(bundle.document())
    graph = StepGraph([(step.name, step.dependencies) for step in template.steps])
    by_name = {step.name: step for step in template.steps}
    result_examples = {
        step: examples.example(f"#/$defs/{model}") for step, model in bundle.result_models.items()
    }
    functions: set[str] = set()
    plans: list[StepPlan] = []
    for step in template.steps:
        if step.composition is not None:
            continue  # the grammar runs it: there is no handler to write
        kind = _kind(step.step_type)
        model = bundle.result_models.get(step.name)
        plan = StepPlan(
            name=step.name,
            function=_function_name(step.name, functions),
            callable=step.handler.callable,
            kind=kind,
            description=step.description,
            result_model=model,
            stub=result_examples.get(step.name, {}),
            initialization=dict(step.handler.initialization),
            result_schema=step.result_schema,
        )
        parameters = set(_RESERVED_PARAMETERS)
        for dependency in dict.fromkeys(step.dependencies):
            upstream = by_name.get(dependency)
            if upstream is None:
                continue
            if upstream.step_type is StepType.BATCH_WORKER:
                plan.batch_workers.append(dependency)
                continue
            plan.dependencies.append(
                DependencyPlan(
                    parameter=unique(f"{snake_base(dependency)}_result", parameters),
                    step=dependency,
                    model=bundle.result_models.get(dependency),
                    optional=kind == "convergence",
                )
            )
        for ancestor in graph.ancestors(step.name) if step.name in graph else set():
            if by_name[ancestor].step_type is not StepType.BATCH_WORKER:
                plan.dependency_examples[ancestor] = result_examples.get(ancestor, {})
        plan.dependency_examples = dict(sorted(plan.dependency_examples.items()))
        if kind == "decision":
            plan.branches = [
                child
                for child in graph.children.get(step.name, [])
                if by_name[child].step_type is not StepType.DEFERRED_CONVERGENCE
            ]
        if kind == "batchable":
            worker = next(
                (
                    child
                    for child in graph.children.get(step.name, [])
                    if by_name[child].step_type is StepType.BATCH_WORKER
                ),
                None,
            )
            plan.worker_template = worker
            config = by_name[worker].batch_config if worker else None
            plan.batch_size = config.batch_size if config else 100
        plans.append(plan)
    input_example = examples.example(f"#/$defs/{bundle.input_model}") if bundle.input_model else {}
    return TemplatePlan(
        identifier=template.identifier,
        template_name=template.name,
        input_model=bundle.input_model,
        input_example=input_example,
        steps=plans,
        bundle=bundle,
    )


def _function_name(step: str, taken: set[str]) -> str:
    name = snake_case(step)
    return unique(f"{name}_step" if name in _RESERVED_FUNCTIONS else name, taken)


def _kind(step_type: StepType) -> str:
    return {
        StepType.DECISION: "decision",
        StepType.BATCHABLE: "batchable",
        StepType.BATCH_WORKER: "batch_worker",
        StepType.DEFERRED_CONVERGENCE: "convergence",
        StepType.PLANNING: "planning",
    }.get(step_type, "standard")
