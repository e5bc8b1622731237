"""Stage 3, what a planned composition reaches: ``persist`` only to tables the template
declares and the trust policy allows, ``acquire`` only from the template's ``http`` resources
(never a host of its own choosing), ``emit`` only to declared outboxes.

The same refusals the engine makes before an invocation touches anything
(``tasker_ctl.grammar.reach``); a planner's composition gets no resource the template's author
did not grant.
"""

from __future__ import annotations

from tasker_ctl.grammar.reach import (
    Refusal,
    kind_refusal,
    persist_table,
    undeclared_entity,
    undeclared_resource,
)
from tasker_ctl.grammar.reach_rules import ResourceUse, resource_uses
from tasker_ctl.planning.fragment import CompositionHandler, GrammarHandler
from tasker_ctl.planning.stages_base import Draft, Path, PlacedStep
from tasker_ctl.template.model import PostgresResource

_CODE = {
    "persist": "FRAGMENT_PERSIST_NOT_ALLOWED",
    "acquire": "FRAGMENT_ACQUIRE_NOT_ALLOWED",
    "emit": "FRAGMENT_RESOURCE_NOT_ALLOWED",
}


def check_reach(draft: Draft) -> None:
    for placed in draft.steps:
        spec = draft.handlers[placed.name].spec
        if spec is None:
            continue
        handler = placed.step.handler
        written_out = (
            isinstance(handler, CompositionHandler) and handler.composition.pattern is None
        )
        base: Path = (*placed.path, "handler", "composition")
        for use in resource_uses(spec, base):
            at = use.name_path if written_out else _pattern_place(placed)
            _check_use(draft, placed, use, at)


def _pattern_place(placed: PlacedStep) -> Path:
    handler = placed.step.handler
    if isinstance(handler, GrammarHandler):
        key = "resource" if "resource" in handler.config else "grammar"
        return (
            (*placed.path, "handler", "config", key)
            if key == "resource"
            else (
                *placed.path,
                "handler",
                "grammar",
            )
        )
    return (*placed.path, "handler", "composition", "config")


def _check_use(draft: Draft, placed: PlacedStep, use: ResourceUse, at: Path) -> None:
    frame = draft.frame
    declared = frame.template.resources
    code = _CODE.get(use.capability, "FRAGMENT_RESOURCE_NOT_ALLOWED")
    refusal: Refusal | None
    if use.name not in declared:
        refusal = undeclared_resource(use.capability, use.name, dict(declared))
        if refusal is not None:
            draft.add(
                code,
                f"step '{placed.name}': {use.capability} uses resource '{use.name}', which "
                "the template does not declare; a planned step reaches only declared resources",
                at,
                step=placed.name,
                hint=_declared_hint(draft, use.capability),
            )
        return
    resource = declared[use.name]
    refusal = kind_refusal(use.capability, use.name, resource)
    if refusal is not None:
        draft.add(
            code,
            f"step '{placed.name}': {refusal.message}",
            at,
            step=placed.name,
            hint=_declared_hint(draft, use.capability),
        )
        return
    if use.capability == "acquire" and ("://" in use.entity or use.entity.startswith("//")):
        draft.add(
            code,
            f"step '{placed.name}': acquire entity '{use.entity}' names a host of its own; "
            f"acquire reaches only the base URL of resource '{use.name}'",
            at,
            step=placed.name,
            hint="give a path under the resource's base_url",
        )
    if use.capability == "persist" and isinstance(resource, PostgresResource):
        missing = undeclared_entity(use.name, resource, use.entity)
        if missing is not None:
            draft.add(code, f"step '{placed.name}': {missing.message}", at, step=placed.name)
            return
        try:
            schema, table = persist_table(use.name, resource, use.entity)
        except Exception as error:  # a reserved schema or a malformed name
            draft.add(code, f"step '{placed.name}': {error}", at, step=placed.name)
            return
        reason = frame.policy.table_refusal(schema, table)
        if reason is not None:
            draft.add(
                code,
                f"step '{placed.name}': persist to {schema}.{table} is refused: {reason}",
                at,
                step=placed.name,
            )


def _declared_hint(draft: Draft, capability: str) -> str:
    wanted = {"acquire": "http", "persist": "postgres", "emit": "outbox"}.get(capability)
    names = sorted(
        name for name, item in draft.frame.template.resources.items() if item.kind == wanted
    )
    if not names:
        return f"the template declares no {wanted} resource"
    return "declared: " + ", ".join(f"'{name}'" for name in names)
