"""Stage 7, the inputs a planned composition reads: at run time a fragment step's ``inputs``
arrive resolved under ``.step.inputs``, so a jq path ``.step.inputs.NAME.field`` must name one
of the step's inputs and a field the schema of what that input references declares.

The grammar's own data-flow check sees ``.step.inputs`` as open (a template step's inputs are
not typed); a fragment's are, so the check is made here.
"""

from __future__ import annotations

from typing import Any

from tasker_ctl.grammar.validation.analysis import (
    InvocationView,
    envelope_sites,
    read_invocations,
    site_path,
)
from tasker_ctl.grammar.validation.data_flow import referenced
from tasker_ctl.planning.fragment import CompositionHandler, InputReference
from tasker_ctl.planning.stages_base import Draft, Path, PlacedStep
from tasker_ctl.planning.stages_references import declared_down_to, resolve_reference
from tasker_ctl.template.issue import did_you_mean, quote_list


def check_input_reads(draft: Draft) -> None:
    for placed in draft.steps:
        spec = draft.handlers[placed.name].spec
        invocations = spec.get("invocations") if isinstance(spec, dict) else None
        if not isinstance(invocations, list):
            continue
        for view in read_invocations(invocations, _lookup, None):
            for site in envelope_sites(view):
                for ref in referenced(site.expression):
                    segments = tuple(getattr(ref, "segments", ()) or ())
                    if getattr(ref, "root", "") != "step" or segments[:1] != ("inputs",):
                        continue
                    if len(segments) < 2 or segments[1] is None:
                        continue  # all the inputs at once
                    at = _place(placed, view, site)
                    _check_read(draft, placed, str(segments[1]), segments[2:], at)


def _check_read(
    draft: Draft, placed: PlacedStep, name: str, rest: tuple[Any, ...], at: Path
) -> None:
    inputs = placed.step.inputs
    shown = f".step.inputs.{name}" + "".join("[]" if part is None else f".{part}" for part in rest)
    if name not in inputs:
        match = did_you_mean(name, list(inputs))
        listed = quote_list(list(inputs)) if inputs else "none"
        draft.add(
            "FRAGMENT_DATA_UNDECLARED",
            f"step '{placed.name}': a jq expression reads {shown}, but the step has no input "
            f"'{name}'",
            at,
            step=placed.name,
            hint=f"did you mean '{match}'?" if match else f"the step's inputs: {listed}",
        )
        return
    reference: InputReference = inputs[name]
    resolution = resolve_reference(draft, placed, reference)
    if resolution.problem is not None or not rest:
        return  # stage 6 reports a reference that does not resolve
    if not resolution.declared:
        draft.add(
            "FRAGMENT_DATA_UNDECLARED",
            f"step '{placed.name}': a jq expression reads {shown}, but input '{name}' "
            f"({reference}) has no declared schema to find it in",
            at,
            step=placed.name,
            hint=f"read the whole input (.step.inputs.{name}) or reference a declared field",
        )
        return
    segments = tuple("0" if part is None else str(part) for part in rest)
    failure = declared_down_to(resolution.schema, segments)
    if failure is None:
        return
    depth, candidates = failure
    match = did_you_mean(segments[depth], candidates)
    draft.add(
        "FRAGMENT_DATA_UNDECLARED",
        f"step '{placed.name}': a jq expression reads {shown}, but the schema of input "
        f"'{name}' ({reference}) declares no field '{segments[depth]}' there",
        at,
        step=placed.name,
        hint=f"did you mean '{match}'?"
        if match
        else (f"declared there: {quote_list(list(candidates))}" if candidates else None),
    )


def _place(placed: PlacedStep, view: InvocationView, site: Any) -> Path:
    handler = placed.step.handler
    if isinstance(handler, CompositionHandler) and handler.composition.pattern is None:
        return (*placed.path, "handler", "composition", *site_path(view, site))
    if isinstance(handler, CompositionHandler):
        return (*placed.path, "handler", "composition", "config")
    return (*placed.path, "handler", "config")


def _lookup(name: str) -> Any:
    from tasker_ctl.grammar.capabilities import get_capability

    return get_capability(name)
