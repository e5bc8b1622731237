"""What a template's compositions reach, as ``tasker-ctl validate`` findings.

The same checks the engine makes before ``persist``, ``acquire`` and ``emit`` touch anything
(``tasker_ctl.grammar.reach``), reported where the template says it: a reserved schema or a
malformed name under the resource, an undeclared table or a resource of the wrong kind under
the invocation that uses it. Registered with the grammar's other template rules
(``template_rules`` imports this module).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import TypeAdapter, ValidationError

from tasker_ctl.grammar.reach import (
    DEFAULT_EVENT_RESOURCE,
    KIND_OF_CAPABILITY,
    Refusal,
    kind_refusal,
    resource_refusals,
    undeclared_entity,
    undeclared_resource,
)
from tasker_ctl.template.context import RuleContext, StepView
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.model import PostgresResource, ResourceDefinition
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import JsonPath

CODES = (
    "PERSIST_RESERVED_SCHEMA",
    "PERSIST_UNDECLARED_TABLE",
    "ACQUIRE_HOST_NOT_ALLOWED",
    "RESOURCE_INVALID",
    "RESOURCE_KIND_MISMATCH",
    "RESOURCE_NOT_DECLARED",
)

_RESOURCE: TypeAdapter[ResourceDefinition] = TypeAdapter(ResourceDefinition)


@dataclass(frozen=True)
class ResourceUse:
    """One invocation's use of a resource: where it names the resource and the entity."""

    capability: str
    name: str
    entity: str
    name_path: JsonPath
    entity_path: JsonPath


@rule(*CODES)
def resource_reach(context: RuleContext) -> Iterator[Issue]:
    raw = context.data.get("resources")
    written = raw if isinstance(raw, dict) else {}
    declared = _parsed(written)
    for name, resource in declared.items():
        for refusal in resource_refusals(name, resource):
            yield _issue(refusal, ("resources", name, *refusal.path))
    for step in context.steps:
        composition = step.data.get("composition")
        if not isinstance(composition, dict):
            continue
        for use in resource_uses(composition, (*step.path, "composition")):
            yield from _use_issues(use, written, declared, step)


def resource_uses(composition: Mapping[str, Any], base: JsonPath) -> Iterator[ResourceUse]:
    """The resources a composition's acquire, persist and emit invocations address; those of
    a pattern's expansion are placed at its ``pattern`` key."""
    if "pattern" in composition:
        from tasker_ctl.grammar.validation.pattern_refs import expand

        name = composition.get("pattern")
        if not isinstance(name, str):
            return
        expanded, problems = expand(name, composition.get("config"))
        if problems or not isinstance(expanded, Mapping):
            return  # PATTERN_INVALID says why
        pattern_at: JsonPath = (*base, "pattern")
        for use in resource_uses(expanded, base):
            yield ResourceUse(use.capability, use.name, use.entity, pattern_at, pattern_at)
        return
    invocations = composition.get("invocations")
    if not isinstance(invocations, list):
        return
    for index, invocation in enumerate(invocations):
        if not isinstance(invocation, dict):
            continue
        capability = invocation.get("capability")
        config = invocation.get("config")
        if not isinstance(capability, str) or capability not in KIND_OF_CAPABILITY:
            continue
        if not isinstance(config, dict):
            continue
        at: JsonPath = (*base, "invocations", index)
        resource = config.get("resource", DEFAULT_EVENT_RESOURCE if capability == "emit" else None)
        if isinstance(resource, str) and resource:
            where = (*at, "config", "resource") if "resource" in config else at
            yield ResourceUse(capability, resource, resource, where, where)
        elif isinstance(resource, dict):
            ref, entity = resource.get("ref"), resource.get("entity")
            if isinstance(ref, str) and isinstance(entity, str):
                resource_at = (*at, "config", "resource")
                yield ResourceUse(
                    capability, ref, entity, (*resource_at, "ref"), (*resource_at, "entity")
                )
        # anything else is a CONFIG_SCHEMA_VIOLATION


def _use_issues(
    use: ResourceUse,
    written: Mapping[str, Any],
    declared: Mapping[str, ResourceDefinition],
    step: StepView,
) -> Iterator[Issue]:
    if use.name not in declared:
        # a declaration that does not parse is reported by the template's shape checks
        refusal = undeclared_resource(use.capability, use.name, dict(written))
        if refusal is not None:
            yield _issue(refusal, use.name_path, step)
        return
    resource = declared[use.name]
    mismatch = kind_refusal(use.capability, use.name, resource)
    if mismatch is not None:
        yield _issue(mismatch, use.name_path, step)
    elif use.capability == "persist" and isinstance(resource, PostgresResource):
        missing = undeclared_entity(use.name, resource, use.entity)
        if missing is not None:
            yield _issue(missing, use.entity_path, step)


def _parsed(written: Mapping[str, Any]) -> dict[str, ResourceDefinition]:
    found = {}
    for name, raw in written.items():
        try:
            found[str(name)] = _RESOURCE.validate_python(raw)
        except ValidationError:
            continue  # the template's shape checks report it
    return found


def _issue(refusal: Refusal, path: JsonPath, step: StepView | None = None) -> Issue:
    return Issue(
        refusal.code,
        refusal.message,
        path,
        refusal.hint,
        step=step.name if step is not None else None,
    )
