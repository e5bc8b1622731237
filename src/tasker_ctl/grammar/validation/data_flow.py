"""Data contracts between invocations, their inputs and the outcome.

Three checks, all static:

* every path an expression reads (``.prev``, ``.deps.NAME``, ``.context``, ``.step``) is held
  to the schema of what it reads: the previous known output, the dependency's
  ``result_schema``, the template's ``input_schema``, the fixed step metadata;
* a ``validate`` is held to what reaches it: a conflict that must fail it is an error;
* the last output converges on ``outcome.output_schema``, and that on the step's
  ``result_schema``.
"""

from __future__ import annotations

import difflib
from typing import Any

from tasker_ctl.grammar.capabilities.base import ExpressionSite
from tasker_ctl.grammar.validation.analysis import (
    InvocationView,
    KnownSchema,
    envelope_sites,
    site_path,
)
from tasker_ctl.grammar.validation.contract import STEP_SCHEMA, StepContract
from tasker_ctl.grammar.validation.findings import CompositionFinding, FindingPath, finding
from tasker_ctl.grammar.validation.schema_compat import check_compatibility
from tasker_ctl.grammar.validation.schema_paths import PathProblem, check_path
from tasker_ctl.grammar.validation.schemas import is_trivial
from tasker_ctl.template.issue import did_you_mean, quote_list

OUTCOME_PATH: FindingPath = ("outcome", "output_schema")
_CODES = {
    "unknown_field": "UNKNOWN_FIELD",
    "undeclared_field": "UNDECLARED_FIELD",
    "type_mismatch": "PATH_TYPE_MISMATCH",
}


def contract_findings(
    views: list[InvocationView], step: StepContract | None, broken: set[str]
) -> list[CompositionFinding]:
    findings: list[CompositionFinding] = []
    for view in views:
        findings += _chaining(view, step)
        for site in envelope_sites(view):
            if site.expression not in broken:
                findings += _site(view, site, step)
    return findings


def referenced(expression: str) -> list[Any]:
    """The envelope paths an expression reads (none when they cannot be worked out)."""
    from tasker_ctl.grammar.expressions import referenced_paths

    try:
        return list(referenced_paths(expression))
    except Exception:
        return []


def _site(
    view: InvocationView, site: ExpressionSite, step: StepContract | None
) -> list[CompositionFinding]:
    """Findings for the paths one expression reads: one per distinct problem, and the
    undeclared fields of one source gathered into one finding."""
    findings = []
    reported: set[tuple[Any, ...]] = set()
    undeclared: dict[tuple[str, str], list[tuple[str, tuple[str, ...]]]] = {}
    for ref in referenced(site.expression):
        text = str(getattr(ref, "text", ""))
        root = str(getattr(ref, "root", ""))
        segments = tuple(getattr(ref, "segments", ()) or ())
        exact = bool(getattr(ref, "exact", False))
        if root == "prev" and view.index == 0:
            if ("prev",) not in reported:
                reported.add(("prev",))
                findings.append(
                    finding(
                        "PREV_ON_FIRST_INVOCATION",
                        f"{view.label}: {site.field_path} reads {text}, but .prev is null on "
                        "the first invocation",
                        hint="read .context (the task input) or .deps instead",
                        index=view.index,
                        path=site_path(view, site),
                    )
                )
            continue
        located = _source(view, root, segments, step)
        if located is None:
            continue
        if isinstance(located, str):  # an unknown dependency
            if ("deps", located) not in reported:
                reported.add(("deps", located))
                findings.append(_unknown_dependency(view, site, text, located, step, exact))
            continue
        schema, offset, source = located
        problem = check_path(schema, segments[offset:])
        if problem is None:
            continue
        depth = offset + problem.depth
        key = (problem.kind, root, segments[:depth], problem.segment, exact)
        if key in reported:
            continue
        reported.add(key)
        if problem.kind == "undeclared_field":
            if exact:  # an inferred path to an undeclared field is too weak to report
                parent = _render(root, segments[:depth])
                undeclared.setdefault((source, parent), []).append(
                    (str(problem.segment), problem.candidates)
                )
            continue
        findings.append(_path_finding(view, site, root, segments, offset, source, problem, exact))
    for (source, parent), names in undeclared.items():
        findings.append(_undeclared(view, site, source, parent, names))
    return findings


def _undeclared(
    view: InvocationView,
    site: ExpressionSite,
    source: str,
    parent: str,
    names: list[tuple[str, tuple[str, ...]]],
) -> CompositionFinding:
    fields = [f"{parent}.{name}" for name, _ in names]
    reads = fields[0] if len(fields) == 1 else ", ".join(fields[:-1]) + " and " + fields[-1]
    what = "no field" if len(names) == 1 else "none of the fields"
    quoted = quote_list(name for name, _ in names)
    guesses = [
        (name, match) for name, candidates in names if (match := suggest_field(name, candidates))
    ]
    candidates = names[0][1]
    if guesses:
        hint = "; ".join(f"did you mean '{match}' for '{name}'?" for name, match in guesses)
        if len(names) == 1:
            hint = f"did you mean '{guesses[0][1]}'?"
    else:
        them = "it" if len(names) == 1 else "them"
        declared = f"declared: {quote_list(candidates[:12])}; or " if candidates else ""
        hint = f"{declared}declare {them} in the producer's schema"
    return finding(
        "UNDECLARED_FIELD",
        f"{view.label}: {site.field_path} reads {reads}, but {source} declares {what} {quoted}",
        hint=hint,
        index=view.index,
        path=site_path(view, site),
    )


def _source(
    view: InvocationView, root: str, segments: tuple[Any, ...], step: StepContract | None
) -> tuple[Any, int, str] | str | None:
    """(schema, segments consumed to reach it, description) for a path's root; the name of
    an unknown dependency; None when nothing is known to check against."""
    if root == "prev":
        known: KnownSchema | None = view.prev
        return (known.schema, 0, known.source) if known is not None else None
    if root == "step":
        return STEP_SCHEMA, 0, "the step metadata"
    if step is None:
        return None
    if root == "context":
        if is_trivial(step.input_schema):
            return None
        return step.input_schema, 0, "the template's input_schema"
    if root == "deps":
        if step.dependency_names is None or not segments or not isinstance(segments[0], str):
            return None
        name = segments[0]
        if name not in step.dependency_names:
            return name
        schema = step.dependency_schemas.get(name)
        if is_trivial(schema):
            return None
        return schema, 1, f"the result_schema of step '{name}'"
    return None


def _unknown_dependency(
    view: InvocationView,
    site: ExpressionSite,
    text: str,
    name: str,
    step: StepContract | None,
    exact: bool,
) -> CompositionFinding:
    names = list(step.dependency_names or ()) if step is not None else []
    match = did_you_mean(name, names)
    if match:
        hint = f"did you mean '{match}'?"
    elif names:
        hint = f"the step's dependencies: {quote_list(names)}"
    else:
        hint = "the step has no dependencies: add the step to 'dependencies'"
    owner = f"step '{step.step_name}'" if step is not None and step.step_name else "the step"
    message = (
        f"{view.label}: {site.field_path} reads {text}, but '{name}' is not a dependency of {owner}"
    )
    return _path_problem("UNKNOWN_DEPENDENCY", message, hint, view, site, exact)


def _path_finding(
    view: InvocationView,
    site: ExpressionSite,
    root: str,
    segments: tuple[Any, ...],
    offset: int,
    source: str,
    problem: PathProblem,
    exact: bool,
) -> CompositionFinding:
    depth = offset + problem.depth
    reached = _render(root, segments[:depth])
    read = _render(root, segments)
    if problem.kind == "type_mismatch":
        kinds = " or ".join(problem.types)
        step_text = "elements" if problem.segment is None else f"field '{problem.segment}'"
        message = (
            f"{view.label}: {site.field_path} reads {read}, but {reached} is {kinds} in "
            f"{source}, which has no {step_text}"
        )
        hint: str | None = "fix the path to follow the producer's schema"
    else:
        name = str(problem.segment)
        where = "" if depth == offset else f" at {reached}"
        message = (
            f"{view.label}: {site.field_path} reads {read}, but {source} declares no field "
            f"'{name}'{where} (its schema allows no other fields)"
        )
        match = suggest_field(name, problem.candidates)
        if match:
            hint = f"did you mean '{match}'?"
        elif problem.candidates:
            hint = f"declared: {quote_list(problem.candidates[:12])}"
        else:
            hint = None
    return _path_problem(_CODES[problem.kind], message, hint, view, site, exact)


def _path_problem(
    code: str,
    message: str,
    hint: str | None,
    view: InvocationView,
    site: ExpressionSite,
    exact: bool,
) -> CompositionFinding:
    """``code`` for a path read exactly; only a SUSPECT_PATH warning for one partly computed."""
    if not exact:
        code, message = (
            "SUSPECT_PATH",
            message + " (the path is partly computed, so this is not certain)",
        )
    return finding(code, message, hint=hint, index=view.index, path=site_path(view, site))


def suggest_field(name: str, candidates: tuple[str, ...]) -> str | None:
    """A declared field ``name`` is probably a typo of: stricter than key suggestions, since
    sibling fields often share a prefix (``unmatched_count`` is no spelling of
    ``unmatched_external``)."""
    folded = {candidate.lower(): candidate for candidate in candidates}
    if name.lower() in folded:
        return folded[name.lower()]
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.75)
    return matches[0] if matches else None


def _render(root: str, segments: tuple[Any, ...]) -> str:
    return f".{root}" + "".join("[]" if part is None else f".{part}" for part in segments)


def _chaining(view: InvocationView, step: StepContract | None) -> list[CompositionFinding]:
    """A validate whose input is statically known must be able to pass for some input."""
    if view.category != "validate" or view.config is None:
        return []
    config = view.raw.get("config")
    if not isinstance(config, dict):
        return []
    target = view.prev if view.index > 0 else _context(step)
    if target is None:
        return []
    issues = check_compatibility(
        target.schema, config.get("schema"), mode="certain", coerce=config.get("coerce") is True
    )
    findings = []
    for issue in issues:
        if issue.code == "EXTRA_FIELD_REJECTED" and config.get("filter_extra") is True:
            continue  # filter_extra drops those fields before checking
        findings.append(
            finding(
                issue.code,
                f"{view.label} can never accept {target.source}: {issue.message}",
                hint="make the schemas agree, or fix the data before this validate",
                index=view.index,
                path=(*view.path, "config", "schema", *issue.consumer_path),
            )
        )
    return findings


def _context(step: StepContract | None) -> KnownSchema | None:
    if step is None or is_trivial(step.input_schema):
        return None
    return KnownSchema(step.input_schema, "the template's input_schema", None)


def convergence_findings(views: list[InvocationView], schema: Any) -> list[CompositionFinding]:
    """The last invocation's output against ``outcome.output_schema``."""
    if is_trivial(schema) or not views:
        return []
    last = views[-1]
    if last.output is None:
        return [
            finding(
                "UNVERIFIABLE_OUTCOME",
                f"the output of {last.label} is not statically known, so it cannot be checked "
                "against outcome.output_schema",
                hint="declare 'output' on the last invocation, or end with a transform",
                index=last.index,
                path=last.path,
            )
        ]
    return [
        finding(
            issue.code,
            f"{last.output.source} against outcome.output_schema: {issue.message}",
            hint="make the last output's schema produce what the outcome promises",
            index=last.index,
            path=(*OUTCOME_PATH, *issue.consumer_path),
        )
        for issue in check_compatibility(last.output.schema, schema)
    ]


def result_schema_findings(schema: Any, step: StepContract) -> list[CompositionFinding]:
    """``outcome.output_schema`` against the step's ``result_schema``."""
    if is_trivial(step.result_schema) or not isinstance(step.result_schema, dict | bool):
        return []
    findings = []
    for issue in check_compatibility(schema, step.result_schema):
        code = "COMPOSITION_RESULT_SCHEMA_MISMATCH" if issue.is_error else issue.code
        findings.append(
            finding(
                code,
                f"outcome.output_schema against the step's result_schema: {issue.message}",
                hint="make the outcome schema produce what result_schema requires",
                path=OUTCOME_PATH,
            )
        )
    return findings
