"""Tasker Core's SDK validator codes, with the same names and severities."""

from __future__ import annotations

from collections.abc import Iterator

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue, suggestion_hint
from tasker_ctl.template.rules import rule

NAMESPACE_MAX_BYTES = 29


@rule("DUPLICATE_STEP_NAME")
def duplicate_step_names(context: RuleContext) -> Iterator[Issue]:
    first_index: dict[str, int] = {}
    for step in context.steps:
        if step.name is None:
            continue
        if step.name in first_index:
            yield Issue(
                "DUPLICATE_STEP_NAME",
                f"Duplicate step name: '{step.name}'",
                (*step.path, "name"),
                f"step #{first_index[step.name]} already uses this name; rename one of them",
                step=step.name,
            )
        else:
            first_index[step.name] = step.index


@rule("SELF_DEPENDENCY", "MISSING_DEP_REF")
def dependency_references(context: RuleContext) -> Iterator[Issue]:
    names = set(context.named_steps)
    for step in context.steps:
        for dependency, path in step.dependencies:
            if dependency == step.name:
                yield Issue(
                    "SELF_DEPENDENCY",
                    f"Step '{step.name}' depends on itself",
                    path,
                    "remove it from its own dependencies",
                    step=step.name,
                )
            elif dependency not in names:
                others = sorted(names - {step.name or ""})
                yield Issue(
                    "MISSING_DEP_REF",
                    f"Step '{step.label}' depends on '{dependency}' which does not exist",
                    path,
                    suggestion_hint(dependency, others),
                    step=step.name,
                )


@rule("EMPTY_CALLABLE")
def empty_callables(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        callable_ = step.handler.get("callable")
        if isinstance(callable_, str) and not callable_.strip():
            yield Issue(
                "EMPTY_CALLABLE",
                f"Step '{step.label}' has an empty handler callable",
                (*step.path, "handler", "callable"),
                "name the handler, e.g. 'orders.handlers.ValidateOrder'",
                step=step.name,
            )


@rule("NAMESPACE_TOO_LONG")
def namespace_length(context: RuleContext) -> Iterator[Issue]:
    namespace = context.text("namespace_name")
    if namespace is None:
        return
    size = len(namespace.encode())
    if size > NAMESPACE_MAX_BYTES:
        yield Issue(
            "NAMESPACE_TOO_LONG",
            f"Namespace '{namespace}' is {size} chars (max {NAMESPACE_MAX_BYTES} for PGMQ "
            "queue names)",
            ("namespace_name",),
            f"shorten it by {size - NAMESPACE_MAX_BYTES} characters",
        )


@rule("SCHEMA_NOT_OBJECT", "NO_RESULT_SCHEMA")
def result_schema_presence(context: RuleContext) -> Iterator[Issue]:
    for step in context.steps:
        if "result_schema" not in step.data or step.data["result_schema"] is None:
            yield Issue(
                "NO_RESULT_SCHEMA",
                f"Step '{step.label}' has no result_schema defined",
                step.path,
                "add a result_schema to get typed models and handler stubs",
                step=step.name,
            )
            continue
        schema = step.data["result_schema"]
        if isinstance(schema, dict) and "type" in schema and schema["type"] != "object":
            shown = schema["type"] if isinstance(schema["type"], str) else "unknown"
            yield Issue(
                "SCHEMA_NOT_OBJECT",
                f"Step '{step.label}' result_schema type is '{shown}', expected 'object'",
                (*step.path, "result_schema", "type"),
                "step results are JSON objects; wrap the value in an object property",
                step=step.name,
            )


@rule("ORPHAN_STEP")
def orphan_steps(context: RuleContext) -> Iterator[Issue]:
    graph = context.graph
    if len(graph.order) <= 1:
        return
    for name in graph.order:
        step = context.named_steps[name]
        if not step.dependencies and not graph.children[name]:
            yield Issue(
                "ORPHAN_STEP",
                f"Step '{name}' has no dependencies and nothing depends on it",
                (*step.path, "name"),
                "connect it to the workflow or move it to a template of its own",
                step=name,
            )


@rule("CYCLE_DETECTED")
def dependency_cycles(context: RuleContext) -> Iterator[Issue]:
    for cycle in context.graph.cycles:
        closing = cycle[-2]
        step = context.named_steps[closing]
        dependency_path = next(
            (path for name, path in step.dependencies if name == cycle[-1]), step.path
        )
        shown = " -> ".join(cycle)
        yield Issue(
            "CYCLE_DETECTED",
            f"Dependency cycle detected: {shown}",
            dependency_path,
            f"break the cycle, e.g. remove '{cycle[-1]}' from the dependencies of '{closing}'",
            step=closing,
        )
