"""Checks on the shape of the DAG: batches, convergence, decisions, environment overrides."""

from __future__ import annotations

from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.environment import ALL_STEPS, declared_environments
from tasker_ctl.template.issue import Issue, suggestion_hint
from tasker_ctl.template.model import scalar_text
from tasker_ctl.template.rules import rule


@rule("BATCH_WORKER_TEMPLATE_UNKNOWN", "BATCH_WORKER_TEMPLATE_NOT_WORKER", "BATCH_CONFIG_IGNORED")
def batch_config_targets(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        config = step.mapping("batch_config")
        if config is None:
            continue
        if step.type != "batch_worker":
            yield Issue(
                "BATCH_CONFIG_IGNORED",
                f"Step '{step.label}' is '{step.type}', but batch_config is read only from "
                "the batch_worker step",
                (*step.path, "batch_config"),
                "move batch_config to the batch_worker step",
                step=step.name,
                at_key=True,
            )
        target = config.get("worker_template")
        if not isinstance(target, str):
            continue
        path = (*step.path, "batch_config", "worker_template")
        named = context.named_steps.get(target)
        if named is None:
            workers = [s.name for s in context.steps if s.type == "batch_worker" and s.name]
            yield Issue(
                "BATCH_WORKER_TEMPLATE_UNKNOWN",
                f"batch_config.worker_template '{target}' names no step",
                path,
                suggestion_hint(target, workers)
                or "name the batch_worker step that processes each batch",
                step=step.name,
            )
        elif named.type != "batch_worker":
            yield Issue(
                "BATCH_WORKER_TEMPLATE_NOT_WORKER",
                f"batch_config.worker_template '{target}' is a '{named.type}' step, not a "
                "batch_worker",
                path,
                step=step.name,
            )


@rule("BATCH_CONFIG_MISSING", "BATCH_WORKER_WITHOUT_BATCHABLE", "BATCHABLE_WITHOUT_WORKER")
def batch_roles(context: RuleContext) -> Iterator[Issue]:
    graph = context.graph
    for step in context.steps:
        if step.name is None or context.named_steps.get(step.name) is not step:
            continue
        if step.type == "batch_worker":
            if step.mapping("batch_config") is None:
                yield Issue(
                    "BATCH_CONFIG_MISSING",
                    f"batch_worker step '{step.name}' has no batch_config; the orchestrator "
                    "reads batch size, parallelism and cursor field from it",
                    (*step.path, "name"),
                    "add batch_config with batch_size, parallelism, cursor_field, "
                    f"worker_template: {step.name} and failure_strategy",
                    step=step.name,
                )
            if not any(
                context.named_steps[a].type == "batchable" for a in graph.ancestors(step.name)
            ):
                yield Issue(
                    "BATCH_WORKER_WITHOUT_BATCHABLE",
                    f"batch_worker step '{step.name}' has no batchable step among its "
                    "ancestors, so no step ever spawns its batches",
                    (*step.path, "name"),
                    "make it depend on the batchable analyzer step",
                    step=step.name,
                )
        elif step.type == "batchable":
            workers = [
                c
                for c in graph.descendants(step.name)
                if context.named_steps[c].type == "batch_worker"
            ]
            if not workers:
                yield Issue(
                    "BATCHABLE_WITHOUT_WORKER",
                    f"batchable step '{step.name}' has no batch_worker step depending on it",
                    (*step.path, "name"),
                    "add a batch_worker step with dependencies: [" + step.name + "]",
                    step=step.name,
                )


@rule("CONVERGENCE_WITHOUT_DYNAMIC_PARENT")
def convergence_has_dynamic_parent(context: RuleContext) -> Iterator[Issue]:
    """Tasker Core creates a deferred_convergence step in three ways only: at task start when
    the template has decisions and the step descends from none of them; in a decision pass
    when one of its dependencies is among the steps that pass creates (descendants of a
    decision); in a batch pass when it depends on the batch_worker template."""
    graph = context.graph
    named = context.named_steps
    decisions = {name for name in graph.order if named[name].type == "decision"}
    created_by_decisions = set().union(*(graph.descendants(name) for name in decisions))
    for step in context.steps:
        if step.type != "deferred_convergence" or step.name is None or step.name not in graph:
            continue
        if named[step.name] is not step:
            continue
        ancestors = graph.ancestors(step.name)
        parents = graph.parents[step.name]
        if any(named[a].type == "planning" for a in ancestors):
            continue  # a planning fill creates it (tasker-ctl extension)
        if any(named[parent].type == "batch_worker" for parent in parents):
            continue
        if decisions and not ancestors & decisions:
            continue  # created at task start, like any step outside a decision's branches
        if any(parent in created_by_decisions for parent in parents):
            continue
        if decisions:
            reason = (
                "a decision pass creates it only when one of its dependencies is a step the "
                "decision creates, and none is"
            )
            hint = "make it depend on the branch steps the decision creates"
        else:
            reason = (
                "without a decision in the template it is not created at task start, and a "
                "batch creates it only when it depends on the batch_worker step"
            )
            hint = "use 'type: standard' for an ordinary join, or depend on the batch_worker step"
        yield Issue(
            "CONVERGENCE_WITHOUT_DYNAMIC_PARENT",
            f"deferred_convergence step '{step.name}' is never created: {reason}",
            (*step.path, "type" if "type" in step.data else "step_type"),
            hint,
            step=step.name,
        )


@rule("DECISION_BRANCH_STEP")
def steps_behind_decisions(context: RuleContext) -> Iterator[Issue]:
    graph = context.graph
    decisions = [s.name for s in context.steps if s.type == "decision" and s.name in graph]
    reported: set[str] = set()
    for decision in decisions:
        assert decision is not None
        for name in graph.order:
            if name in reported or decision not in graph.ancestors(name):
                continue
            step = context.named_steps[name]
            if step.type in ("deferred_convergence", "batch_worker"):
                continue
            reported.add(name)
            yield Issue(
                "DECISION_BRANCH_STEP",
                f"Step '{name}' is created only if decision '{decision}' selects it (or a "
                "step leading to it)",
                (*step.path, "name"),
                f"the handler of '{decision}' must list it in decision_point_outcome.step_names",
                step=name,
            )


@rule("CONVERGENCE_AFTER_DECISION")
def convergence_behind_decisions(context: RuleContext) -> Iterator[Issue]:
    """A convergence step behind a decision exists only if the decision creates one of its
    dependencies: a decision that chooses no branches leaves it out, as in Tasker Core."""
    graph = context.graph
    decisions = [s.name for s in context.steps if s.type == "decision" and s.name in graph]
    for name in graph.order:
        step = context.named_steps[name]
        if step.type != "deferred_convergence":
            continue
        behind = [decision for decision in decisions if decision in graph.ancestors(name)]
        if not behind:
            continue
        named = ", ".join(f"'{decision}'" for decision in behind)
        yield Issue(
            "CONVERGENCE_AFTER_DECISION",
            f"Convergence step '{name}' is created only when decision {named} creates one of "
            "its dependencies: if it chooses no branches, the task completes without it",
            (*step.path, "name"),
            "for a final step that always runs, have the decision route to a branch that does "
            "nothing rather than choose no branches",
            step=name,
        )


@rule("ENV_UNKNOWN_STEP")
def environment_overrides_name_steps(context: RuleContext) -> Iterator[Issue]:
    environments = context.data.get("environments")
    if not isinstance(environments, dict):
        return
    names = list(context.named_steps)
    for environment, overrides in environments.items():
        entries = overrides.get("steps") if isinstance(overrides, dict) else None
        for index, entry in enumerate(entries if isinstance(entries, list) else []):
            name = scalar_text(entry.get("name")) if isinstance(entry, dict) else None
            if name is None or name == ALL_STEPS or name in context.named_steps:
                continue
            yield Issue(
                "ENV_UNKNOWN_STEP",
                f"environment '{environment}' overrides step '{name}', which does not "
                "exist; the override is ignored",
                ("environments", environment, "steps", index, "name"),
                suggestion_hint(name, [*names, ALL_STEPS]),
            )


@rule("ENVIRONMENT_NOT_DECLARED")
def requested_environment_declared(context: RuleContext) -> Iterator[Issue]:
    environment = context.environment
    declared = declared_environments(context.data)
    if environment is None or not declared or environment in declared:
        return
    hint = suggestion_hint(environment, declared) or f"declared: {', '.join(declared)}"
    yield Issue(
        "ENVIRONMENT_NOT_DECLARED",
        f"environment '{environment}' is not declared; the template was validated without "
        "overrides",
        ("environments",),
        hint,
        at_key=True,
    )
