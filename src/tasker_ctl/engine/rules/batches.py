"""How a batchable step's outcome grows a task: its workers, their convergence, what follows.

Pure functions over a template; ``growth.py`` writes the plan in the transaction that
completes the batchable step. The rules are Tasker Core's (``batch_processing_outcome``),
without its defects; docs/compatibility.md lists where they differ:

- a worker is named ``{worker_template}_{batch_id}`` and gets the template's initialization
  merged with ``cursor``, ``batch_metadata``, ``is_no_op`` and ``__template_step_name``;
- every deferred convergence step waiting on the worker template is created, with an edge
  from every worker; steps after it are created once all their dependencies exist (Tasker
  Core creates them with the task and runs them before the batch has finished);
- ``no_batches`` creates one no-op placeholder worker ``{worker_template}_000`` when the
  batchable step names its worker template in ``worker_template_name`` (as Tasker Core
  does), so that the convergence still runs; without that name nothing is created;
- the batch worker template's ``parallelism`` is enforced: workers beyond it wait for a
  slot (see ``BatchGrowth.slotted``); Tasker Core treats it as advice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any

from tasker_ctl.engine.errors import BatchOutcomeError
from tasker_ctl.engine.rules.decisions import NewEdge, NewStep, template_graph
from tasker_ctl.template.limits import MAX_STEP_NAME
from tasker_ctl.template.model import BatchConfig, StepDefinition, StepType, TaskTemplate

# More workers than this from one outcome is a runaway analyzer, not a plan.
MAX_WORKERS = 10_000
PLACEHOLDER_BATCH_ID = "000"
# Tasker Core's defaults for a worker template without a batch_config block
DEFAULT_PARALLELISM = 10
DEFAULT_CURSOR_FIELD = "id"
DEFAULT_FAILURE_STRATEGY = "continue_on_failure"
_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class BatchOutcome:
    """What a batchable step asked for: workers over these cursors, or none."""

    worker_template: str | None  # None: no_batches
    cursors: tuple[dict[str, Any], ...]

    @property
    def no_batches(self) -> bool:
        return self.worker_template is None


@dataclass(frozen=True)
class BatchGrowth:
    steps: tuple[NewStep, ...]
    edges: tuple[NewEdge, ...]
    # every worker of the batch in the order they get a slot, when they outnumber the
    # template's parallelism (else empty: no slots needed); the first `parallelism` run
    slotted: tuple[str, ...] = ()
    parallelism: int = DEFAULT_PARALLELISM


def read_batch_outcome(result: Any) -> BatchOutcome | None:
    """The ``batch_processing_outcome`` of a batchable step's result; None when it has none
    (the step then creates nothing, as in Tasker Core)."""
    if not isinstance(result, Mapping) or "batch_processing_outcome" not in result:
        return None
    outcome = result["batch_processing_outcome"]
    kind = outcome.get("type") if isinstance(outcome, Mapping) else None
    if kind == "no_batches":
        return BatchOutcome(None, ())
    if kind != "create_batches":
        raise BatchOutcomeError(
            "BATCH_OUTCOME_INVALID",
            f"batch_processing_outcome.type must be 'create_batches' or 'no_batches', not {kind!r}",
        )
    assert isinstance(outcome, Mapping)
    template = outcome.get("worker_template_name")
    if not isinstance(template, str) or not template:
        raise BatchOutcomeError(
            "BATCH_OUTCOME_INVALID",
            "batch_processing_outcome.worker_template_name must name a batch_worker step",
        )
    cursors = outcome.get("cursor_configs")
    if not isinstance(cursors, list) or not cursors:
        raise BatchOutcomeError(
            "BATCH_OUTCOME_INVALID",
            "batch_processing_outcome.cursor_configs must be a non-empty list "
            "(return no_batches when there is nothing to do)",
        )
    if len(cursors) > MAX_WORKERS:
        raise BatchOutcomeError(
            "BATCH_TOO_MANY_WORKERS",
            f"batch_processing_outcome asks for {len(cursors)} workers; at most {MAX_WORKERS} "
            "are created from one outcome (use larger batches)",
        )
    seen: set[str] = set()
    for index, cursor in enumerate(cursors):
        where = f"batch_processing_outcome.cursor_configs[{index}]"
        batch_id = cursor.get("batch_id") if isinstance(cursor, Mapping) else None
        if not isinstance(batch_id, str) or not _BATCH_ID.match(batch_id):
            raise BatchOutcomeError(
                "BATCH_OUTCOME_INVALID",
                f"{where}.batch_id must be a string of letters, digits, '_', '.' or '-' "
                f"(at most 64), not {batch_id!r}",
            )
        if batch_id in seen:
            raise BatchOutcomeError(
                "BATCH_OUTCOME_INVALID", f"{where}.batch_id {batch_id!r} is used twice"
            )
        seen.add(batch_id)
    return BatchOutcome(template, tuple(dict(cursor) for cursor in cursors))


class BatchPlanner:
    """A template's batchable steps, their worker templates and what follows them."""

    def __init__(self, template: TaskTemplate) -> None:
        self.steps = {step.name: step for step in template.steps}
        self.order = {name: index for index, name in enumerate(self.steps)}
        self.children = template_graph(template).children

    def worker_template(self, batchable: str, outcome: BatchOutcome) -> StepDefinition | None:
        """The batch_worker step the outcome instantiates (None: no_batches without a
        ``worker_template_name`` in the batchable step's initialization: nothing to create).
        Raises BatchOutcomeError for a name that is not a worker template of this step."""
        name = outcome.worker_template
        if name is None:
            configured = self.steps[batchable].handler.initialization.get("worker_template_name")
            if not isinstance(configured, str):
                return None
            name = configured
        step = self.steps.get(name)
        if step is None or step.step_type is not StepType.BATCH_WORKER:
            workers = self.workers_of(batchable)
            raise BatchOutcomeError(
                "BATCH_WORKER_TEMPLATE_UNKNOWN",
                f"batchable step '{batchable}' names worker template '{name}', which is not a "
                "batch_worker step of the template ("
                + ("its worker templates: " + ", ".join(workers) if workers else "it has none")
                + ")",
            )
        if batchable not in step.dependencies:
            raise BatchOutcomeError(
                "BATCH_WORKER_TEMPLATE_UNKNOWN",
                f"worker template '{name}' does not depend on batchable step '{batchable}'",
            )
        return step

    def workers_of(self, batchable: str) -> list[str]:
        return [
            name
            for name in self.children.get(batchable, [])
            if self.steps[name].step_type is StepType.BATCH_WORKER
        ]

    def check(self, batchable: str, outcome: BatchOutcome) -> None:
        """Raise BatchOutcomeError when the outcome cannot be carried out."""
        template = self.worker_template(batchable, outcome)
        if template is None:
            return
        for cursor in outcome.cursors:
            name = f"{template.name}_{cursor['batch_id']}"
            if len(name) > MAX_STEP_NAME:
                raise BatchOutcomeError(
                    "BATCH_OUTCOME_INVALID",
                    f"worker name '{name[:40]}...' would have {len(name)} characters; a step "
                    f"name holds at most {MAX_STEP_NAME} (choose shorter batch_ids)",
                )

    def growth(self, batchable: str, outcome: BatchOutcome, existing: Set[str]) -> BatchGrowth:
        """The workers, convergence steps and edges the outcome creates; ``existing``: names
        of the task's steps."""
        template = self.worker_template(batchable, outcome)
        if template is None:
            return BatchGrowth((), ())
        config = template.batch_config
        cursors = outcome.cursors or (
            {
                "batch_id": PLACEHOLDER_BATCH_ID,
                "start_cursor": 0,
                "end_cursor": 0,
                "batch_size": 0,
            },
        )
        metadata = {
            "cursor_field": config.cursor_field if config else DEFAULT_CURSOR_FIELD,
            "failure_strategy": _strategy(config),
        }
        workers = [
            NewStep(
                definition=template,
                name=f"{template.name}_{cursor['batch_id']}",
                inputs={
                    **template.handler.initialization,
                    "cursor": cursor,
                    "batch_metadata": metadata,
                    "is_no_op": outcome.no_batches,
                    "__template_step_name": template.name,
                },
                created_by="batch_spawn",
            )
            for cursor in cursors
        ]
        clashes = [worker.name for worker in workers if worker.name in existing]
        if clashes:
            raise BatchOutcomeError(
                "BATCH_OUTCOME_INVALID",
                f"worker names {', '.join(clashes[:5])} are taken by steps of the task "
                "(choose other batch_ids)",
            )
        edges = [NewEdge(batchable, worker.name, "batch_dependency") for worker in workers]
        created = {template.name}
        following: list[NewStep] = []
        for name, step in self.steps.items():
            if (
                step.step_type is StepType.DEFERRED_CONVERGENCE
                and template.name in step.dependencies
                and name not in existing
            ):
                created.add(name)
                following.append(
                    NewStep(step, name, dict(step.handler.initialization), "batch_spawn")
                )
                edges.extend(
                    NewEdge(worker.name, name, "worker_to_convergence") for worker in workers
                )
        following.extend(self._after_convergence(template.name, workers, created, existing, edges))
        parallelism = config.parallelism if config else DEFAULT_PARALLELISM
        slotted = [worker.name for worker in workers] if len(workers) > parallelism else []
        return BatchGrowth(
            steps=(*workers, *following),
            edges=tuple(edges),
            slotted=tuple(slotted),
            parallelism=parallelism,
        )

    def _after_convergence(
        self,
        template: str,
        workers: list[NewStep],
        created: set[str],
        existing: Set[str],
        edges: list[NewEdge],
    ) -> list[NewStep]:
        """Steps that follow a created convergence step and whose dependencies all exist
        now (a dependency on the worker template waits for every worker); ``created`` holds
        the template's name and the convergence steps, and grows."""
        found: list[NewStep] = []
        frontier = sorted(created, key=self.order.__getitem__)
        while frontier:
            for child in self.children[frontier.pop()]:
                step = self.steps[child]
                if child in created or child in existing or step.step_type in _CREATED_ELSEWHERE:
                    continue
                if not all(d in created or d in existing for d in step.dependencies):
                    continue  # created by the pass that creates its last dependency
                created.add(child)
                frontier.append(child)
                found.append(NewStep(step, child, dict(step.handler.initialization), "batch_spawn"))
                for dependency in dict.fromkeys(step.dependencies):
                    parents = [w.name for w in workers] if dependency == template else [dependency]
                    edges.extend(NewEdge(parent, child) for parent in parents)
        return sorted(found, key=lambda new: self.order[new.name])


# a convergence step is created by the pass that creates its workers; a worker template
# only by its batchable step
_CREATED_ELSEWHERE = (StepType.DEFERRED_CONVERGENCE, StepType.BATCH_WORKER)


def _strategy(config: BatchConfig | None) -> str:
    return config.failure_strategy.value if config else DEFAULT_FAILURE_STRATEGY
