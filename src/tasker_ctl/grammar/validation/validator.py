"""Design-time validation of a composition, in Tasker Core's order and with its codes.

Checks run in this order and all findings are collected: shape, EMPTY_COMPOSITION and
TOO_MANY_INVOCATIONS (both stop), FIELD_TOO_LONG, MISSING_CAPABILITY, CONFIG_SCHEMA_VIOLATION,
MISSING_OUTPUT_SCHEMA, INVALID_EXPRESSION, CHECKPOINT_REQUIRED, the mutation policy, contract
chaining and data contracts, outcome convergence, and the step's result_schema. Nothing here
raises: any input, however malformed, comes back as findings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from tasker_ctl.grammar.validation.analysis import (
    InvocationView,
    raw_sites,
    read_invocations,
    site_path,
)
from tasker_ctl.grammar.validation.config_errors import config_findings
from tasker_ctl.grammar.validation.contract import MUTATION_POLICIES, MutationPolicy, StepContract
from tasker_ctl.grammar.validation.data_flow import (
    contract_findings,
    convergence_findings,
    result_schema_findings,
)
from tasker_ctl.grammar.validation.findings import (
    CompositionFinding,
    CompositionReport,
    finding,
)
from tasker_ctl.grammar.validation.mutations import mutation_findings
from tasker_ctl.grammar.validation.pattern_refs import expand
from tasker_ctl.grammar.validation.shape import (
    MAX_INVOCATIONS,
    existence,
    kind,
    lengths,
    spec_shape,
)

__all__ = ["MAX_INVOCATIONS", "expand", "validate_composition"]


def validate_composition(
    spec: Any, *, step: StepContract | None = None, policy: MutationPolicy = "checkpointed"
) -> CompositionReport:
    """Every finding for ``spec``: a written-out composition ``{name, outcome, invocations}``
    or a pattern reference ``{pattern, config}`` (expanded first), as plain data or as a
    template's ``CompositionSpec``."""
    if policy not in MUTATION_POLICIES:
        policy = "checkpointed"
    if isinstance(spec, BaseModel):  # a template's parsed CompositionSpec
        spec = spec.model_dump(mode="json", exclude_none=True, by_alias=True)
    if isinstance(spec, Mapping) and "pattern" in spec:
        return CompositionReport(findings=_pattern(spec, step, policy))
    return CompositionReport(findings=_written_out(spec, step, policy))


def _pattern(
    spec: Mapping[str, Any], step: StepContract | None, policy: MutationPolicy
) -> list[CompositionFinding]:
    name = spec.get("pattern")
    findings = [
        finding(
            "COMPOSITION_PARSE_ERROR",
            f"a pattern reference has only 'pattern' and 'config', not '{key}'",
            hint="write the invocations out, or use the pattern alone",
            path=(str(key),),
            at_key=True,
        )
        for key in spec
        if key not in ("pattern", "config", "name")
    ]
    if not isinstance(name, str) or not name.strip():
        findings.append(
            finding(
                "PATTERN_INVALID",
                "'pattern' must name a pattern of the catalogue",
                path=("pattern",),
            )
        )
        return findings
    expanded, problems = expand(name, spec.get("config"))
    if problems:
        return [*findings, *problems]
    suffix = f" (in the expansion of pattern '{name}')"
    for item in _written_out(expanded, step, policy):
        findings.append(
            item.model_copy(update={"message": item.message + suffix, "path": ("pattern",)})
        )
    return findings


def _written_out(
    spec: Any, step: StepContract | None, policy: MutationPolicy
) -> list[CompositionFinding]:
    if not isinstance(spec, Mapping):
        return [
            finding(
                "COMPOSITION_PARSE_ERROR",
                f"a composition is a mapping of 'outcome' and 'invocations', got {kind(spec)}",
            )
        ]
    findings = spec_shape(spec)
    invocations = spec.get("invocations")
    if not isinstance(invocations, list):
        return findings
    if not invocations:
        return [
            *findings,
            finding(
                "EMPTY_COMPOSITION",
                "composition has no invocations",
                hint="add at least one invocation",
                path=("invocations",),
            ),
        ]
    if len(invocations) > MAX_INVOCATIONS:
        return [
            *findings,
            finding(
                "TOO_MANY_INVOCATIONS",
                f"composition has {len(invocations)} invocations (max {MAX_INVOCATIONS})",
                hint="split the work over several steps",
                path=("invocations",),
            ),
        ]
    findings += lengths(spec, invocations)
    views = read_invocations(invocations, _lookup, step)
    findings += existence(views, invocations)
    for view in views:
        if view.config_error is not None:
            findings += config_findings(view)
    findings += _output_schemas(views)
    broken, expression_findings = _expressions(views)
    findings += expression_findings
    findings += _checkpoints(views)
    findings += mutation_findings(views, policy)
    findings += contract_findings(views, step, broken)
    outcome = spec.get("outcome")
    schema = outcome.get("output_schema") if isinstance(outcome, Mapping) else None
    findings += convergence_findings(views, schema)
    if step is not None:
        findings += result_schema_findings(schema, step)
    return findings


def _lookup(name: str) -> Any:
    from tasker_ctl.grammar.capabilities import get_capability

    try:
        return get_capability(name)
    except Exception:
        return None


def _output_schemas(views: list[InvocationView]) -> list[CompositionFinding]:
    findings = []
    for view in views:
        if view.capability is None or view.category != "transform":
            continue
        config = view.raw.get("config")
        output = config.get("output") if isinstance(config, Mapping) else None
        if output is None or output == {}:
            present = isinstance(config, Mapping) and "output" in config
            findings.append(
                finding(
                    "MISSING_OUTPUT_SCHEMA",
                    f"{view.label}: transform declares no output schema",
                    hint="describe the filter's result in 'config.output' (a JSON Schema)",
                    index=view.index,
                    path=(*view.path, "config", "output") if present else (*view.path, "config"),
                )
            )
    return findings


def _expressions(views: list[InvocationView]) -> tuple[set[str], list[CompositionFinding]]:
    from tasker_ctl.grammar.expressions import check_syntax

    broken: set[str] = set()
    findings = []
    for view in views:
        if view.capability is None:
            continue
        sites = view.sites if view.config is not None else raw_sites(view.raw.get("config"))
        for site in sites:
            try:
                problem = check_syntax(site.expression)
            except Exception as error:  # the checker itself failed on this text
                broken.add(site.expression)
                findings.append(
                    finding(
                        "INVALID_EXPRESSION",
                        f"{view.label}: {site.field_path} could not be checked: {error}",
                        index=view.index,
                        path=site_path(view, site),
                    )
                )
                continue
            if problem is None:
                continue
            broken.add(site.expression)
            findings.append(_expression_finding(view, site, problem))
    return broken, findings


def _expression_finding(view: InvocationView, site: Any, problem: Any) -> CompositionFinding:
    kind = str(getattr(getattr(problem, "kind", None), "value", getattr(problem, "kind", "")))
    line, column = getattr(problem, "line", None), getattr(problem, "column", None)
    where = f" (line {line}, column {column})" if line is not None and column is not None else ""
    detail = (getattr(problem, "message", None) or str(problem)).strip().splitlines()[0]
    detail = re.sub(r"\s+at line \d+(, column \d+)?$", "", detail) if where else detail
    if kind.lower() == "forbidden":
        message = f"{view.label}: {site.field_path} is not allowed{where}: {detail}"
        hint = getattr(problem, "hint", None) or (
            "compute the value outside the composition and pass it in through the context"
        )
    else:
        message = f"{view.label}: {site.field_path} is not valid jq{where}: {detail}"
        hint = getattr(problem, "hint", None) or "fix the jq syntax at the reported position"
    return finding(
        "INVALID_EXPRESSION", message, hint=hint, index=view.index, path=site_path(view, site)
    )


def _checkpoints(views: list[InvocationView]) -> list[CompositionFinding]:
    findings = []
    for view in views:
        if view.capability is None or not _requires_checkpoint(view) or view.checkpoint:
            continue
        findings.append(
            finding(
                "CHECKPOINT_REQUIRED",
                f"{view.label}: mutating capability '{view.name}' must be a checkpoint boundary",
                hint="add 'checkpoint: true'",
                index=view.index,
                path=(*view.path, "checkpoint") if "checkpoint" in view.raw else view.path,
            )
        )
    return findings


def _requires_checkpoint(view: InvocationView) -> bool:
    try:
        return bool(view.capability is not None and view.capability.requires_checkpoint)
    except Exception:
        return view.mutating
