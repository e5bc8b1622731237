"""JSON Schema checks for input, result, event and composition schemas.

A schema's ``$ref`` must resolve inside its own document or to a registered schema
(``tasker_ctl.schema_refs``): nothing is fetched at run time, so a reference that leads
elsewhere is an error here rather than a failure mid-run.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from functools import cache
from typing import Any

from tasker_ctl.schema_refs import build_validator, ref_problems, shown_ref
from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue, suggestion_hint
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import JsonPath

_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
_MAX_ERRORS_PER_SCHEMA = 5
_ERRORS_READ = 10 * _MAX_ERRORS_PER_SCHEMA


def schema_locations(context: RuleContext) -> Iterator[tuple[JsonPath, Any, str | None]]:
    """(path, schema, step name) for every JSON Schema a template holds."""
    if context.data.get("input_schema") is not None:
        yield ("input_schema",), context.data["input_schema"], None
    events = context.data.get("domain_events")
    for index, event in enumerate(events if isinstance(events, list) else []):
        if isinstance(event, dict) and event.get("schema") is not None:
            yield ("domain_events", index, "schema"), event["schema"], None
    for step in context.steps:
        if step.data.get("result_schema") is not None:
            yield (*step.path, "result_schema"), step.data["result_schema"], step.name
        declared = step.data.get("publishes_events")
        for index, event in enumerate(declared if isinstance(declared, list) else []):
            if isinstance(event, dict) and event.get("schema") is not None:
                yield (*step.path, "publishes_events", index, "schema"), event["schema"], step.name
        composition = step.mapping("composition")
        outcome = composition.get("outcome") if composition else None
        if isinstance(outcome, dict) and outcome.get("output_schema") is not None:
            yield (
                (*step.path, "composition", "outcome", "output_schema"),
                outcome["output_schema"],
                step.name,
            )


def reference_locations(context: RuleContext) -> Iterator[tuple[JsonPath, Any, str | None]]:
    """Every schema whose references must stay inside it: ``schema_locations``, plus the
    schemas a written-out composition's invocations declare (``config.schema`` of validate,
    ``config.output`` of any capability) and a pattern's ``*schema`` and ``output`` config
    values."""
    yield from schema_locations(context)
    for step in context.steps:
        composition = step.mapping("composition")
        if not composition:
            continue
        base = (*step.path, "composition")
        invocations = composition.get("invocations")
        for index, invocation in enumerate(invocations if isinstance(invocations, list) else []):
            config = invocation.get("config") if isinstance(invocation, dict) else None
            if not isinstance(config, dict):
                continue
            for key in ("schema", "output"):
                if isinstance(config.get(key), dict):
                    yield (*base, "invocations", index, "config", key), config[key], step.name
        pattern_config = composition.get("config")
        if isinstance(pattern_config, dict):
            for key, value in pattern_config.items():
                named_as_schema = isinstance(key, str) and (
                    key.endswith("schema") or key == "output"
                )
                if named_as_schema and isinstance(value, dict):
                    yield (*base, "config", key), value, step.name


@rule("EXTERNAL_SCHEMA_REF", "UNRESOLVED_SCHEMA_REF")
def references_stay_inside(context: RuleContext) -> Iterator[Issue]:
    for path, schema, step in reference_locations(context):
        for problem in ref_problems(schema):
            where = (*path, *problem.path)
            ref = shown_ref(problem.ref)
            if problem.kind == "external":
                yield Issue(
                    "EXTERNAL_SCHEMA_REF",
                    f"{_label(path)}: $ref '{ref}' leads outside the schema; schemas are never "
                    "fetched, so it cannot resolve",
                    where,
                    "copy the schema under $defs and refer to it as #/$defs/NAME",
                    step=step,
                )
            else:
                yield Issue(
                    "UNRESOLVED_SCHEMA_REF",
                    f"{_label(path)}: $ref '{ref}' points to nothing in the schema",
                    where,
                    "point it at a definition that exists, e.g. #/$defs/NAME with NAME under "
                    "the schema's $defs",
                    step=step,
                )


@cache
def _metaschema_validator(uri: str | None) -> Any:
    from jsonschema import validators

    cls = validators.validator_for(
        {"$schema": uri} if uri else {}, default=validators.Draft202012Validator
    )
    # the metaschemas ship with jsonschema; any other reference is refused, never fetched
    return build_validator(cls.META_SCHEMA, validator_class=cls)


@rule("INVALID_JSON_SCHEMA")
def schemas_are_json_schema(context: RuleContext) -> Iterator[Issue]:
    for path, schema, step in schema_locations(context):
        if not isinstance(schema, dict | bool):
            yield Issue(
                "INVALID_JSON_SCHEMA",
                f"{_label(path)} must be a JSON Schema object, got {type(schema).__name__}",
                path,
                "write a mapping such as '{type: object, properties: {...}}'",
                step=step,
            )
            continue
        if isinstance(schema, bool):
            continue
        uri = schema.get("$schema") if isinstance(schema.get("$schema"), str) else None
        validator = _metaschema_validator(uri)
        # a bounded number, taken lazily: a schema with 20,000 broken subschemas would
        # otherwise build every error (each with its context) before one is reported
        found = itertools.islice(validator.iter_errors(schema), _ERRORS_READ)
        errors = sorted(found, key=lambda error: list(error.path))
        for error in errors[:_MAX_ERRORS_PER_SCHEMA]:
            inner = tuple(error.path)
            yield Issue(
                "INVALID_JSON_SCHEMA",
                _message(path, inner, error),
                (*path, *inner),
                _hint(inner, error),
                step=step,
            )


def _label(path: JsonPath) -> str:
    from tasker_ctl.template.source import format_path

    return format_path(path)


def _message(path: JsonPath, inner: JsonPath, error: Any) -> str:
    where = _label((*path, *inner))
    if inner and inner[-1] == "type" and isinstance(error.instance, str):
        return f"{where}: '{error.instance}' is not a JSON Schema type"
    return f"{where}: {error.message}"


def _hint(inner: JsonPath, error: Any) -> str | None:
    if inner and inner[-1] == "type" and isinstance(error.instance, str):
        return suggestion_hint(error.instance, _TYPES) or f"types are: {', '.join(_TYPES)}"
    if inner and inner[-1] == "required":
        return "'required' is a list of property names, e.g. 'required: [id]'"
    return None


@rule("SCHEMA_REQUIRED_UNDECLARED")
def required_properties_declared(context: RuleContext) -> Iterator[Issue]:
    for path, schema, step in schema_locations(context):
        yield from _undeclared(schema, path, step)


def _undeclared(schema: Any, path: JsonPath, step: str | None) -> Iterator[Issue]:
    if isinstance(schema, list):
        for index, item in enumerate(schema):
            yield from _undeclared(item, (*path, index), step)
        return
    if not isinstance(schema, dict):
        return
    properties, required = schema.get("properties"), schema.get("required")
    if isinstance(properties, dict) and isinstance(required, list):
        for index, name in enumerate(required):
            if isinstance(name, str) and name not in properties:
                yield Issue(
                    "SCHEMA_REQUIRED_UNDECLARED",
                    f"{_label(path)} requires '{name}' but does not declare it in properties",
                    (*path, "required", index),
                    suggestion_hint(name, list(properties)) or "declare the property",
                    step=step,
                )
    for key, value in schema.items():
        if key not in ("required", "enum", "const", "examples", "default"):
            yield from _undeclared(value, (*path, key), step)
