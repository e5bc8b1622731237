"""Compositions in files: a composition of its own (YAML or JSON) or the composition steps of
a template, validated into the template validator's ``FileReport`` (so its renderers and exit
codes apply) or loaded for ``explain``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tasker_ctl.bounded_json import loads
from tasker_ctl.errors import FileReadError, JsonInputError
from tasker_ctl.grammar.errors import CompositionFileError
from tasker_ctl.grammar.template_rules import as_issue, step_contract
from tasker_ctl.grammar.validation import (
    MutationPolicy,
    StepContract,
    validate_composition,
)
from tasker_ctl.template.context import RuleContext, StepView
from tasker_ctl.template.diagnostics import FileReport, Finding
from tasker_ctl.template.issue import Issue, did_you_mean, quote_list
from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES
from tasker_ctl.template.source import (
    SourceDocument,
    SourceProblem,
    read_document,
)
from tasker_ctl.template.validator import (
    finding_order,
    looks_like_template,
    place_issues,
    problem_finding,
    template_identity,
    unreadable_report,
)

_NOT_A_COMPOSITION = "write the composition as a mapping with 'outcome:' and 'invocations:'"


def validate_composition_file(
    path: str | Path, *, step_name: str | None = None, policy: MutationPolicy = "checkpointed"
) -> FileReport:
    """Findings for a composition file, or for the composition steps of a template (only
    ``step_name`` if given). An unreadable file gives FILE_UNREADABLE, bad YAML YAML_SYNTAX.

    Raises ``CompositionFileError`` when ``step_name`` names no composition step."""
    shown = str(path)
    try:
        document = _read(Path(path), shown)
    except FileReadError as error:
        return unreadable_report(shown, error)
    return validate_composition_document(document, step_name=step_name, policy=policy)


def in_memory(data: Any, shown: str) -> SourceDocument:
    """A composition (or template) given as data rather than a file: a document without
    positions, checked by the same functions as a file's."""
    return SourceDocument(path=Path(shown), display_path=shown, data=data)


def validate_composition_document(
    document: SourceDocument,
    *,
    step_name: str | None = None,
    policy: MutationPolicy = "checkpointed",
) -> FileReport:
    """``validate_composition_file`` on a document already read (a file's, or ``in_memory``
    data's): the same checks whichever way the composition came."""
    shown = document.display_path
    report = FileReport(file=shown, findings=[_problem(document, p) for p in document.problems])
    if not document.usable:
        return report
    data = document.data
    issues: list[Issue] = []
    if looks_like_template(document):
        context = RuleContext(data=data)
        for step in _composition_steps(context, step_name, shown):
            found = validate_composition(
                step.data["composition"], step=step_contract(context, step), policy=policy
            )
            base = (*step.path, "composition")
            issues += [as_issue(finding, base, step.name) for finding in found.findings]
        report.template = template_identity(data)
    else:
        found = validate_composition(data, policy=policy)
        issues += [as_issue(finding, (), None) for finding in found.findings]
    report.findings += place_issues(issues, shown, document.positions)
    report.findings.sort(key=finding_order)
    return report


def load_composition_file(
    path: str | Path, step_name: str | None = None
) -> tuple[Any, StepContract | None]:
    """The composition of a file and, for a template's step, its ``StepContract``.

    A template needs ``step_name`` unless exactly one of its steps has a composition. Raises
    ``FileReadError`` when the file cannot be read and ``CompositionFileError`` when it holds
    no usable composition."""
    shown = str(path)
    return composition_of(_read(Path(path), shown), step_name)


def composition_of(
    document: SourceDocument, step_name: str | None = None
) -> tuple[Any, StepContract | None]:
    """``load_composition_file`` on a document already read (a file's or ``in_memory``)."""
    shown = document.display_path
    if document.problems:
        first = document.problems[0]
        where = f"{shown}:{first.position[0]}:{first.position[1]}" if first.position else shown
        raise CompositionFileError(
            f"{where}: {first.code} {_retitled(first.message)}", hint=first.hint
        )
    data = document.data
    if not looks_like_template(document):
        return data, None
    context = RuleContext(data=data)
    steps = _composition_steps(context, step_name, shown)
    if len(steps) > 1:
        names = [step.label for step in steps]
        raise CompositionFileError(
            f"'{shown}' has {len(steps)} steps with a composition",
            hint=f"pick one with --step: {quote_list(names)}",
        )
    step = steps[0]
    return step.data["composition"], step_contract(context, step)


def read_composition(path: Path, shown: str) -> SourceDocument:
    """The file as a document for ``validate_composition_document`` and ``composition_of``;
    raises ``FileReadError`` when it cannot be read."""
    return _read(path, shown)


def _read(path: Path, shown: str) -> SourceDocument:
    """The file parsed as YAML (which covers JSON), falling back to strict JSON for the rare
    JSON text the YAML reader refuses (tabs as indentation). Both readers are bounded: a
    hostile file ends in a finding (INPUT_TOO_DEEP...), not a crash."""
    document = read_document(path, shown)
    if document.problems and any(p.code == "YAML_SYNTAX" for p in document.problems):
        try:
            with path.open("rb") as file:
                data = loads(file.read(MAX_TEMPLATE_BYTES + 1))
        except (OSError, JsonInputError):
            return document
        return SourceDocument(path=path, display_path=shown, data=data)
    return document


def _composition_steps(context: RuleContext, step_name: str | None, shown: str) -> list[StepView]:
    steps = [step for step in context.steps if isinstance(step.data.get("composition"), dict)]
    if step_name is None:
        if not steps:
            raise CompositionFileError(
                f"'{shown}' is a template without composition steps",
                hint="give a composition file, or a template with a step that has 'composition:'",
            )
        return steps
    chosen = [step for step in steps if step.name == step_name]
    if not chosen:
        names = [step.label for step in steps]
        match = did_you_mean(step_name, names)
        hint = (
            f"did you mean '{match}'?"
            if match
            else (f"steps with a composition: {quote_list(names)}" if names else None)
        )
        raise CompositionFileError(
            f"'{shown}' has no step '{step_name}' with a composition", hint=hint
        )
    return chosen


def _problem(document: SourceDocument, problem: SourceProblem) -> Finding:
    found = problem_finding(problem, document.display_path)
    hint = _NOT_A_COMPOSITION if problem.code in ("NOT_A_MAPPING", "EMPTY_FILE") else found.hint
    return found.model_copy(update={"message": _retitled(found.message), "hint": hint})


def _retitled(message: str) -> str:
    return message.replace("a TaskTemplate", "a composition or template")
