"""A template's schemas as documents: its input_schema and result_schemas with their fields
flattened (``schema inspect``), and what one step reads of another's result held to that
result's schema (``schema compare``).

Fields are listed by a JSON pointer into the data they describe (``/order/lines/*/sku``:
``*`` is any element of an array). Local ``$ref`` pointers are followed and ``allOf`` parts
merged, as the composition checks read schemas; alternatives (``anyOf``/``oneOf``) give the
union of their fields. Walks are bounded in depth and in fields, so a hostile schema cannot
make a document without end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field

from tasker_ctl.documents.templates import TemplateRead, read_template
from tasker_ctl.errors import TemplateStepNotFoundError
from tasker_ctl.report.json_output import StrictOutput

__all__ = [
    "CompareIssue",
    "FieldRead",
    "SchemaComparison",
    "SchemaField",
    "SchemaInspection",
    "SchemaOutput",
    "StepSchemas",
    "flatten_fields",
    "schema_compare_document",
    "schema_inspect_document",
    "step_of",
]

MAX_DEPTH = 16
MAX_FIELDS = 1000


class SchemaField(StrictOutput):
    path: str = Field(description="JSON pointer into the data; '*' is any array element")
    type: str | None = Field(description="the JSON type(s), 'a|b'; null when unsaid")
    items: str | None = Field(description="arrays: the items' type, when said")
    required: bool = Field(description="whether its parent object requires it")
    description: str | None


class SchemaOutput(StrictOutput):
    schema_: Any = Field(alias="schema", description="the schema as written")
    fields: list[SchemaField]
    truncated: bool = Field(description="true when the walk stopped at its bounds")

    model_config = ConfigDict(extra="forbid", serialize_by_alias=True, populate_by_name=True)


class StepSchemas(StrictOutput):
    step: str
    result_schema: SchemaOutput | None = Field(description="null when the step declares none")


class SchemaInspection(StrictOutput):
    """The document of ``tasker-ctl schema inspect --json`` and of ``schema_inspect``."""

    template: str = Field(description="'namespace/name@version'")
    file: str
    input_schema: SchemaOutput | None = Field(description="null when the template has none")
    steps: list[StepSchemas]


def _types(schema: Any) -> str | None:
    from tasker_ctl.grammar.validation.schemas import branches, types_of

    found = types_of(schema)
    if found is None:
        options = branches(schema)
        if options:
            union: set[str] = set()
            for option in options:
                kinds = types_of(option)
                if kinds is None:
                    return None
                union |= kinds
            found = frozenset(union)
    return "|".join(sorted(found)) if found else None


def _pointer_part(name: str) -> str:
    return name.replace("~", "~0").replace("/", "~1")


def flatten_fields(schema: Any) -> tuple[list[SchemaField], bool]:
    """Every field ``schema`` declares, depth first in declaration order, and whether the
    walk stopped at its bounds (depth, fields)."""
    from tasker_ctl.grammar.validation.schemas import (
        branches,
        flatten_all_of,
        properties,
        required,
        resolve,
    )

    fields: list[SchemaField] = []
    truncated = False
    # (schema, pointer, depth): an explicit stack, popped in declaration order
    stack: list[tuple[Any, str, int]] = [(schema, "", 0)]
    while stack:
        current, pointer, depth = stack.pop()
        if depth > MAX_DEPTH:
            truncated = True
            continue
        current = flatten_all_of(resolve(current, schema), schema)
        if not isinstance(current, dict):
            continue
        options = [
            flatten_all_of(resolve(part, schema), schema) for part in branches(current) or []
        ]
        declared: dict[str, Any] = dict(properties(current))
        wanted = set(required(current))
        for option in options:
            for name, value in properties(option).items():
                declared.setdefault(name, value)
        if options:  # required whichever alternative holds
            wanted |= set.intersection(*(set(required(option)) for option in options))
        children: list[tuple[Any, str, int]] = []
        for name, value in declared.items():
            if len(fields) >= MAX_FIELDS:
                truncated = True
                break
            value = flatten_all_of(resolve(value, schema), schema)
            path = f"{pointer}/{_pointer_part(name)}"
            items = value.get("items") if isinstance(value, dict) else None
            items = flatten_all_of(resolve(items, schema), schema)
            description = value.get("description") if isinstance(value, dict) else None
            fields.append(
                SchemaField(
                    path=path,
                    type=_types(value),
                    items=_types(items),
                    required=name in wanted,
                    description=description if isinstance(description, str) else None,
                )
            )
            children.append((value, path, depth + 1))
            if isinstance(items, dict):
                children.append((items, f"{path}/*", depth + 1))
        items = current.get("items") if depth == 0 else None
        if isinstance(items, dict):  # a top-level array: its elements' fields
            children.append((items, f"{pointer}/*", depth + 1))
        stack.extend(reversed(children))
    return fields, truncated


def schema_output(schema: Any) -> SchemaOutput | None:
    if schema is None:
        return None
    fields, truncated = flatten_fields(schema)
    return SchemaOutput(schema_=schema, fields=fields, truncated=truncated)


def step_of(read: TemplateRead, name: str, *, role: str = "step") -> Any:
    step = read.template.step(name)
    if step is None:
        from tasker_ctl.template.issue import did_you_mean

        names = [item.name for item in read.template.steps]
        match = did_you_mean(name, names)
        raise TemplateStepNotFoundError(
            f"{role} '{name}' is not a step of {read.template.identifier}",
            hint=f"did you mean '{match}'?" if match else f"its steps: {', '.join(names)}",
        )
    return step


def schema_inspect_document(
    path: Path, *, shown: str | None = None, step: str | None = None
) -> SchemaInspection:
    """The template's input_schema and each step's result_schema (or ``step``'s alone)."""
    read = read_template(path, shown or str(path))
    chosen = [step_of(read, step)] if step is not None else read.template.steps
    return SchemaInspection(
        template=read.template.identifier,
        file=read.shown,
        input_schema=schema_output(read.template.input_schema),
        steps=[
            StepSchemas(step=item.name, result_schema=schema_output(item.result_schema))
            for item in chosen
        ],
    )


# ---------------------------------------------------------------------------- compare

ReadStatus = Literal["ok", "unknown_field", "undeclared_field", "type_mismatch", "unchecked"]
_PROBLEM_CODES = {
    "unknown_field": "UNKNOWN_FIELD",
    "undeclared_field": "UNDECLARED_FIELD",
    "type_mismatch": "PATH_TYPE_MISMATCH",
}


class FieldRead(StrictOutput):
    expression: str = Field(description="the path as the consumer's expression reads it")
    field: str = Field(description="the field of the result read; '' for the whole result")
    where: str = Field(description="where the consumer reads it")
    status: ReadStatus
    type: str | None = Field(description="the producer's declared type there, when known")


class CompareIssue(StrictOutput):
    code: str
    severity: Literal["error", "warning", "info"]
    message: str
    field: str | None = None


class SchemaComparison(StrictOutput):
    """The document of ``tasker-ctl schema compare --json`` and of ``schema_compare``."""

    template: str
    producer: str
    consumer: str
    dependency: bool = Field(description="whether the consumer lists the producer")
    producer_schema: bool = Field(description="whether the producer declares a result_schema")
    reads: list[FieldRead] = Field(description="what the consumer reads of the result")
    offered: list[SchemaField] = Field(description="the producer's result fields")
    issues: list[CompareIssue]
    compatible: bool = Field(description="true when no issue is an error")


def schema_compare_document(
    path: Path, producer: str, consumer: str, *, shown: str | None = None
) -> SchemaComparison:
    """What ``consumer`` reads of ``producer``'s result, each read held to its result_schema."""
    from tasker_ctl.template.codes import severity_of

    read = read_template(path, shown or str(path))
    source = step_of(read, producer, role="producer")
    target = step_of(read, consumer, role="consumer")
    schema = source.result_schema
    dependency = producer in target.dependencies
    issues: list[CompareIssue] = []
    reads = _reads(target, producer, schema)
    if not dependency:
        issues.append(
            CompareIssue(
                code="NOT_A_DEPENDENCY",
                severity="error",
                message=f"'{consumer}' does not list '{producer}' in its dependencies, so "
                f"'{producer}''s result is not among what it is given",
            )
        )
    if schema is None:
        issues.append(
            CompareIssue(
                code="MISSING_PRODUCER_SCHEMA",
                severity=severity_of("MISSING_PRODUCER_SCHEMA").value,
                message=f"'{producer}' declares no result_schema: what '{consumer}' reads of "
                "it cannot be checked",
            )
        )
    for item in reads:
        code = _PROBLEM_CODES.get(item.status)
        if code is not None:
            issues.append(
                CompareIssue(
                    code=code,
                    severity=severity_of(code).value,
                    message=f"{item.where} reads {item.expression}: "
                    + _status_text(item.status, producer),
                    field=item.field,
                )
            )
    if not reads and target.composition is None and target.planning is None:
        issues.append(
            CompareIssue(
                code="READS_NOT_DECLARED",
                severity="info",
                message=f"'{consumer}' runs application code ({target.handler.callable}): "
                f"what it reads of '{producer}' is not declared; 'offered' lists what it may "
                "rely on (required fields always there)",
            )
        )
    offered = flatten_fields(schema)[0] if schema is not None else []
    return SchemaComparison(
        template=read.template.identifier,
        producer=producer,
        consumer=consumer,
        dependency=dependency,
        producer_schema=schema is not None,
        reads=reads,
        offered=offered,
        issues=issues,
        compatible=not any(issue.severity == "error" for issue in issues),
    )


def _status_text(status: str, producer: str) -> str:
    return {
        "unknown_field": f"no such field in the result_schema of '{producer}'",
        "undeclared_field": f"the result_schema of '{producer}' does not declare it",
        "type_mismatch": f"the result_schema of '{producer}' gives another type on the way",
    }[status]


def _reads(step: Any, producer: str, schema: Any) -> list[FieldRead]:
    """Every path of ``producer``'s result the step's composition reads (``.deps.P...``),
    and the whole result for a planning step that takes it as context."""
    found: list[FieldRead] = []
    if step.planning is not None and producer in step.planning.context_from:
        found.append(
            FieldRead(
                expression=f"context_from: {producer}",
                field="",
                where="the planning block",
                status="ok" if schema is not None else "unchecked",
                type=_types(schema),
            )
        )
    if step.composition is None:
        return found
    from tasker_ctl.errors import TaskerError
    from tasker_ctl.grammar.compositions import written_out
    from tasker_ctl.grammar.validation.analysis import envelope_sites, read_invocations
    from tasker_ctl.grammar.validation.data_flow import referenced
    from tasker_ctl.grammar.validation.shape import MAX_INVOCATIONS

    try:
        spec, _ = written_out(step.composition)
    except TaskerError:
        return found  # validate reports the bad pattern reference
    invocations = spec.get("invocations")
    if not isinstance(invocations, list) or len(invocations) > MAX_INVOCATIONS:
        return found  # validate reports a composition too long to check
    for view in read_invocations(invocations, _capability, None):
        for site in envelope_sites(view):
            for ref in referenced(site.expression):
                segments = tuple(getattr(ref, "segments", ()) or ())
                if str(getattr(ref, "root", "")) != "deps" or not segments:
                    continue
                if segments[0] != producer:
                    continue
                found.append(_field_read(ref, segments[1:], schema, view, site))
    return found


def _field_read(
    ref: Any, segments: tuple[Any, ...], schema: Any, view: Any, site: Any
) -> FieldRead:
    from tasker_ctl.grammar.validation.schema_paths import check_path

    field = ".".join("[]" if part is None else str(part) for part in segments).replace(".[]", "[]")
    status: ReadStatus = "unchecked"
    if schema is not None:
        problem = check_path(schema, tuple(segments))
        status = "ok" if problem is None else problem.kind
    return FieldRead(
        expression=str(getattr(ref, "text", "")),
        field=field,
        where=f"{view.label}, {site.field_path}",
        status=status,
        type=_type_at(schema, segments) if status == "ok" else None,
    )


def _type_at(schema: Any, segments: tuple[Any, ...]) -> str | None:
    from tasker_ctl.grammar.validation.schemas import flatten_all_of, properties, resolve

    current = schema
    for part in segments[:MAX_DEPTH]:
        current = flatten_all_of(resolve(current, schema), schema)
        if not isinstance(current, dict):
            return None
        current = current.get("items") if part is None else properties(current).get(str(part))
    return _types(flatten_all_of(resolve(current, schema), schema))


def _capability(name: str) -> Any:
    from tasker_ctl.grammar.capabilities import get_capability

    return get_capability(name)
