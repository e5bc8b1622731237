"""Stage 6: each input reference names a step that runs before the referencing one (a fragment
ancestor, the planning step or a template or planned step upstream of it) and a path its source
declares down to the field: a template step's ``result_schema``, a pattern's or composition's
output schema, the template's ``input_schema``. A callable's result has no schema, so only the
whole of it (``${steps.X.result}``) may be read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tasker_ctl.grammar.validation.schemas import (
    branches,
    describe_types,
    flatten_all_of,
    is_trivial,
    properties,
    resolve,
    types_of,
)
from tasker_ctl.planning.fragment import InputReference
from tasker_ctl.planning.stages_base import Draft, PlacedStep
from tasker_ctl.template.issue import did_you_mean

_MAX_VISITS = 2000  # schema nodes one path may visit through alternatives and $refs


@dataclass(frozen=True)
class Resolution:
    """Where a reference reads from and what the schema says of it; ``problem`` is the
    finding's code and message when it cannot be read."""

    origin: Literal["task_context", "fragment_step", "template_step", "planned_step", "unknown"]
    schema: Any = None
    declared: bool = False  # whether a schema declares the value down to the field
    problem: tuple[str, str, str | None] | None = None  # (code, message, hint)

    @property
    def type_text(self) -> str:
        if not self.declared:
            return "undeclared"
        return describe_types(types_of(flatten_all_of(resolve(self.schema, None), None)))


def resolve_reference(draft: Draft, placed: PlacedStep, ref: InputReference) -> Resolution:
    """Where ``ref`` (an input of ``placed``) reads from, and whether it may."""
    frame = draft.frame
    if ref.root == "task_context":
        schema = frame.template.input_schema
        return _in_schema(ref, "task_context", schema, schema, "the template's input_schema")
    name = ref.step or ""
    if name in draft.ancestors.get(placed.name, frozenset()):
        view = draft.handlers[name]
        what = f"the output schema of step '{name}'"
        if view.spec is None and ref.path:
            return Resolution(
                "fragment_step",
                problem=(
                    "FRAGMENT_REFERENCE_NO_SCHEMA",
                    f"{ref} reads into the result of step '{name}', whose handler declares "
                    "no schema",
                    f"read the whole result: ${{steps.{name}.result}}",
                ),
            )
        return _in_schema(ref, "fragment_step", view.output_schema, view.output_schema, what)
    if name == frame.planning_step or name in frame.upstream:
        schema = frame.result_schema_of(name)
        if name in frame.template_steps:
            return _in_schema(
                ref, "template_step", schema, schema, f"the result_schema of step '{name}'"
            )
        if frame.known_steps.get(name) is not None and schema is None and ref.path:
            return Resolution(
                "planned_step",
                problem=(
                    "FRAGMENT_REFERENCE_NO_SCHEMA",
                    f"{ref} reads into the result of planned step '{name}', which declares no "
                    "schema",
                    f"read the whole result: ${{steps.{name}.result}}",
                ),
            )
        return _in_schema(
            ref, "planned_step", schema, schema, f"the output schema of planned step '{name}'"
        )
    if name in draft.by_name or name in frame.frame_steps:
        where = "the fragment" if name in draft.by_name else "the template"
        return Resolution(
            "unknown",
            problem=(
                "FRAGMENT_REFERENCE_NOT_UPSTREAM",
                f"{ref}: step '{name}' of {where} does not run before '{placed.name}'",
                f"add '{name}' to the dependencies of '{placed.name}'"
                if name in draft.by_name
                else "only steps upstream of the planning step can be read",
            ),
        )
    candidates = sorted(draft.ancestors.get(placed.name, frozenset()) | frame.upstream)
    match = did_you_mean(name, candidates)
    return Resolution(
        "unknown",
        problem=(
            "FRAGMENT_REFERENCE_UNKNOWN_STEP",
            f"{ref} names step '{name}', which does not exist",
            f"did you mean '{match}'?" if match else None,
        ),
    )


def _in_schema(ref: InputReference, origin: Any, schema: Any, root: Any, what: str) -> Resolution:
    if not ref.path:
        return Resolution(origin, schema, declared=not is_trivial(schema))
    if is_trivial(schema):
        return Resolution(
            origin,
            problem=(
                "FRAGMENT_REFERENCE_NO_SCHEMA",
                f"{ref} reads '{'.'.join(ref.path)}', but {what} declares nothing",
                "declare the field in the schema, or read the whole value",
            ),
        )
    failure = _undeclared(schema, ref.path, root)
    if isinstance(failure, _Found):
        return Resolution(origin, failure.schema, declared=True)
    depth, candidates = failure
    field, under = ref.path[depth], ".".join(ref.path[:depth])
    match = did_you_mean(field, candidates)
    listed = ", ".join(f"'{name}'" for name in candidates[:10])
    hint = f"did you mean '{match}'?" if match else (f"declared: {listed}" if listed else None)
    return Resolution(
        origin,
        problem=(
            "FRAGMENT_REFERENCE_UNKNOWN_FIELD",
            f"{ref}: {what} declares no field '{field}'" + (f" under '{under}'" if under else ""),
            hint,
        ),
    )


@dataclass(frozen=True)
class _Found:
    schema: Any


def declared_down_to(schema: Any, path: tuple[str, ...]) -> tuple[int, tuple[str, ...]] | None:
    """None when ``schema`` declares ``path`` down to its last field; otherwise the index of
    the first undeclared segment and the fields declared there."""
    found = _undeclared(schema, path, schema)
    return None if isinstance(found, _Found) else found


def _undeclared(
    schema: Any, path: tuple[str, ...], root: Any
) -> _Found | tuple[int, tuple[str, ...]]:
    """The schema at ``path``, or where the path stops being declared and what is there."""
    budget = [_MAX_VISITS]

    def walk(node: Any, depth: int) -> _Found | tuple[int, tuple[str, ...]]:
        budget[0] -= 1
        if budget[0] < 0:
            return _Found({})  # too costly to tell: count it as declared
        node = flatten_all_of(resolve(node, root), root)
        if depth == len(path):
            return _Found(node)
        if not isinstance(node, dict) or is_trivial(node):
            return depth, ()
        options = branches(node)
        if options is not None:
            failures: list[tuple[int, tuple[str, ...]]] = []
            for option in options:
                outcome = walk(option, depth)
                if isinstance(outcome, _Found):
                    return outcome
                failures.append(outcome)
            deepest = max(failure[0] for failure in failures)
            names = {name: None for f in failures if f[0] == deepest for name in f[1]}
            return deepest, tuple(names)
        segment = path[depth]
        declared = properties(node)
        if segment in declared:
            return walk(declared[segment], depth + 1)
        items = node.get("items")
        if segment.isdigit() and isinstance(items, dict):
            return walk(items, depth + 1)
        extra = node.get("additionalProperties")
        if isinstance(extra, dict) and not is_trivial(extra):
            return walk(extra, depth + 1)
        return depth, tuple(declared)

    return walk(schema, 0)


def check_references(draft: Draft) -> None:
    """Stage 6 for every input of every step; with the task's context known, a task-context
    reference must also find its field there."""
    frame = draft.frame
    for placed in draft.steps:
        for key, ref in placed.step.inputs.items():
            at = (*placed.path, "inputs", key)
            resolution = resolve_reference(draft, placed, ref)
            if resolution.problem is not None:
                code, message, hint = resolution.problem
                draft.add(code, f"step '{placed.name}': {message}", at, step=placed.name, hint=hint)
            elif ref.root == "task_context" and frame.context is not None:
                missing = _missing_in(frame.context, ref.path)
                if missing is not None:
                    draft.add(
                        "FRAGMENT_CONTEXT_FIELD_MISSING",
                        f"step '{placed.name}': {ref}: the task's context has no "
                        f"'{'.'.join(ref.path[: missing + 1])}'",
                        at,
                        step=placed.name,
                    )
            elif resolution.origin in ("template_step", "planned_step") and ref.step in (
                frame.results or {}
            ):
                known = (frame.results or {})[ref.step or ""]
                missing = _missing_in(known, ref.path)
                if missing is not None:
                    draft.add(
                        "FRAGMENT_RESULT_FIELD_MISSING",
                        f"step '{placed.name}': {ref}: the result of step '{ref.step}' has no "
                        f"'{'.'.join(ref.path[: missing + 1])}'",
                        at,
                        step=placed.name,
                    )


def _missing_in(value: Any, path: tuple[str, ...]) -> int | None:
    for depth, segment in enumerate(path):
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            return depth
    return None
