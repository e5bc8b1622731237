"""How the graph of a running task grows: what a decision step's outcome creates.

Pure functions over a template; ``growth.py`` writes their plans in the transaction that
completes the step. The rules are Tasker Core's (decision points and deferred convergence),
without its defects; docs/compatibility.md lists where they differ:

- the decisions behind a decision's branches are created when a chosen step leads to them,
  or when they are chosen by name, not whenever any branch is chosen;
- a created step's dependency that already exists in the task is an edge from that step, not
  from the decision;
- a batch worker template cannot be chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.engine.errors import DecisionOutcomeError
from tasker_ctl.template.graph import StepGraph
from tasker_ctl.template.model import StepDefinition, StepType, TaskTemplate

NOT_DYNAMIC = (StepType.DEFERRED_CONVERGENCE, StepType.BATCH_WORKER)


@dataclass(frozen=True)
class DecisionOutcome:
    """What a decision step chose: the declared steps to create (none for no_branches)."""

    step_names: tuple[str, ...]


@dataclass(frozen=True)
class NewEdge:
    parent: str
    child: str
    name: str = "provides"


@dataclass(frozen=True)
class NewStep:
    """A step to create: its template definition, its name and inputs (a batch worker's
    differ from the definition's), and who puts it in the graph; a planned step also its
    planning provenance (planning_step_uuid, fragment_id, ..., step_definition)."""

    definition: StepDefinition
    name: str
    inputs: dict[str, Any]
    created_by: str
    provenance: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, definition: StepDefinition, created_by: str) -> NewStep:
        return cls(definition, definition.name, dict(definition.handler.initialization), created_by)


@dataclass(frozen=True)
class Growth:
    """Steps to create and edges to add, by step name."""

    steps: tuple[StepDefinition, ...]
    edges: tuple[NewEdge, ...]


def read_decision_outcome(result: Any) -> DecisionOutcome | None:
    """The ``decision_point_outcome`` of a decision step's result; None when it has none
    (the step then creates nothing, as in Tasker Core)."""
    if not isinstance(result, Mapping) or "decision_point_outcome" not in result:
        return None
    outcome = result["decision_point_outcome"]
    kind = outcome.get("type") if isinstance(outcome, Mapping) else None
    if kind == "no_branches":
        return DecisionOutcome(())
    if kind == "create_steps":
        names = outcome.get("step_names")
        if isinstance(names, list) and all(isinstance(name, str) for name in names):
            return DecisionOutcome(tuple(dict.fromkeys(names)))
        raise DecisionOutcomeError(
            "DECISION_OUTCOME_INVALID",
            "decision_point_outcome.step_names must be a list of step names",
        )
    raise DecisionOutcomeError(
        "DECISION_OUTCOME_INVALID",
        f"decision_point_outcome.type must be 'create_steps' or 'no_branches', not {kind!r}",
    )


def template_graph(template: TaskTemplate) -> StepGraph:
    """The template's steps as a dependency graph (``children``: dependents by step name)."""
    return StepGraph([(step.name, step.dependencies) for step in template.steps])


class DecisionSegments:
    """A template's steps as decision segments: for each decision, the steps reachable from
    its children without passing another decision (which is an exit of the segment)."""

    def __init__(self, template: TaskTemplate) -> None:
        self.steps = {step.name: step for step in template.steps}
        self.children = template_graph(template).children
        self.decisions = {
            name for name, step in self.steps.items() if step.step_type is StepType.DECISION
        }

    def segment(self, decision: str) -> set[str]:
        """Steps a decision may create by name: those reachable from its children without
        passing another decision, and the decisions where that stops (the segment's exits),
        batch worker templates left out (only their batchable step instantiates them)."""
        reached: set[str] = set()
        stack = list(self.children.get(decision, []))
        while stack:
            name = stack.pop()
            if name in reached:
                continue
            reached.add(name)
            if name not in self.decisions:
                stack.extend(self.children[name])
        return {name for name in reached if self.steps[name].step_type is not StepType.BATCH_WORKER}

    def growth(self, decision: str, chosen: Iterable[str], existing: Set[str]) -> Growth:
        """The steps and edges a decision's choice creates; ``existing``: names of the task's
        steps. Raises DecisionOutcomeError (nothing to create) for a name outside the
        decision's segment."""
        chosen = list(dict.fromkeys(chosen))
        self.check_choice(decision, chosen)
        created = self._expand(decision, chosen, self.segment(decision))
        edges = list(self._edges(decision, created, existing))
        # a created step without a parent (a convergence step chosen by name, say) waits for
        # the decision, whose completion enqueues it
        orphans = created - {edge.child for edge in edges} - existing
        edges.extend(NewEdge(decision, name) for name in self._ordered(orphans))
        return Growth(
            steps=tuple(self.steps[name] for name in self._ordered(created - existing)),
            edges=tuple(edges),
        )

    def check_choice(self, decision: str, chosen: Iterable[str]) -> None:
        """Raise DecisionOutcomeError when a chosen name is not one the decision may create."""
        segment = self.segment(decision)
        outside = [name for name in dict.fromkeys(chosen) if name not in segment]
        if outside:
            raise DecisionOutcomeError(
                "DECISION_UNDECLARED_STEP",
                f"decision '{decision}' chose {', '.join(repr(n) for n in outside)}, which "
                f"{'is' if len(outside) == 1 else 'are'} not among the steps it may create ("
                + (", ".join(sorted(segment)) or "none")
                + ")",
            )

    def _expand(self, decision: str, chosen: list[str], segment: set[str]) -> set[str]:
        created = set(chosen)
        # the chosen steps' dependents in the segment, up to the decisions they lead to
        frontier = [name for name in chosen if name not in self.decisions]
        while frontier:
            for child in self.children[frontier.pop()]:
                if child in created or self.steps[child].step_type in NOT_DYNAMIC:
                    continue
                if child in segment:
                    created.add(child)
                    if child not in self.decisions:
                        frontier.append(child)
        # deferred convergence: every such step waiting on something created now
        converging = [
            name
            for name, step in self.steps.items()
            if step.step_type is StepType.DEFERRED_CONVERGENCE
            and created.intersection(step.dependencies)
        ]
        created.update(converging)
        # and what follows a convergence step once all its dependencies exist
        frontier = list(converging)
        while frontier:
            for child in self.children[frontier.pop()]:
                step = self.steps[child]
                if (
                    child not in created
                    and step.step_type is not StepType.BATCH_WORKER
                    and all(d in created or d == decision for d in step.dependencies)
                ):
                    created.add(child)
                    frontier.append(child)
        return created

    def _edges(self, decision: str, created: set[str], existing: Set[str]) -> Iterable[NewEdge]:
        for name in self._ordered(created):
            step = self.steps[name]
            for dependency in dict.fromkeys(step.dependencies):
                if dependency in created:
                    yield NewEdge(dependency, name)
                elif step.step_type is StepType.DEFERRED_CONVERGENCE:
                    continue  # waits only on what this decision created
                elif dependency in existing:
                    yield NewEdge(dependency, name)
                else:
                    # a dependency that will never exist (a branch not taken) is the decision's
                    yield NewEdge(decision, name)

    def _ordered(self, names: set[str]) -> list[str]:
        return [name for name in self.steps if name in names]
