"""Validation entry points: a document, a file, many paths; and loading a template for use.

Reading, checking and reporting stay apart: ``source`` reads, ``structure`` and ``rules`` check,
this module places each issue in its file and collects a ``ValidationReport``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasker_ctl.errors import (
    FileReadError,
    NoTemplatesFoundError,
    TemplateLoadError,
    UnknownEnvironmentError,
)
from tasker_ctl.template.codes import severity_of
from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.diagnostics import FileReport, Finding, Severity, ValidationReport
from tasker_ctl.template.discovery import discover
from tasker_ctl.template.environment import Graft, resolve_data
from tasker_ctl.template.extensions import without_extensions
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.model import TaskTemplate, scalar_text
from tasker_ctl.template.rules import run_rules
from tasker_ctl.template.source import (
    SourceDocument,
    SourceMap,
    SourceProblem,
    content_hash,
    format_path,
    parse_document,
    read_document,
)
from tasker_ctl.template.structure import check_structure

_TEMPLATE_KEYS = ("steps", "namespace_name")
# a workflow fragment has steps too, but says what it is (`tasker-ctl fragment validate`)
_FRAGMENT_KEY = "fragment_version"


def looks_like_template(document: SourceDocument) -> bool:
    """Whether a file found in a directory is a TaskTemplate (others, fragments among them,
    are skipped)."""
    if not document.usable:
        # broken files are reported: they may well be templates (unless too large to tell)
        return document.may_be_template
    if _FRAGMENT_KEY in document.data and "namespace_name" not in document.data:
        return False
    return any(key in document.data for key in _TEMPLATE_KEYS)


def check_document(
    document: SourceDocument,
    *,
    environment: str | None = None,
    rule_options: Mapping[str, Any] | None = None,
) -> tuple[FileReport, TaskTemplate | None]:
    """All findings for one parsed document, and the model when it has no shape errors.

    ``rule_options`` reach the rules as ``RuleContext.extras`` (the grammar's
    ``mutation_policy``, for one)."""
    findings = [problem_finding(problem, document.display_path) for problem in document.problems]
    report = FileReport(file=document.display_path, findings=findings)
    if not document.usable:
        return report, None
    # extension keys (x-*) hold anchors for aliases the reader has already expanded
    data, positions = without_extensions(document.data), document.positions
    grafts: list[Graft] = []
    if environment is not None:
        data, grafts = resolve_data(data, environment)
        positions = copy.deepcopy(document.positions)
        for source, target in grafts:
            positions.graft(source, target)
    template, issues = check_structure(data)
    context = RuleContext(
        data=data, template=template, environment=environment, extras=dict(rule_options or {})
    )
    issues.extend(run_rules(context))
    placed = place_issues(issues, document.display_path, positions)
    if environment is not None:
        placed = _without_override_echoes(placed, grafts)
    report.findings.extend(placed)
    report.findings.sort(key=finding_order)
    report.template = template_identity(data)
    return report, template


def validate_text(
    text: str,
    *,
    name: str = "<string>",
    environment: str | None = None,
    rule_options: Mapping[str, Any] | None = None,
) -> FileReport:
    """Validate template YAML held in memory."""
    document = parse_document(text, path=Path(name), display_path=name)
    return check_document(document, environment=environment, rule_options=rule_options)[0]


def validate_file(
    path: str | Path,
    *,
    environment: str | None = None,
    rule_options: Mapping[str, Any] | None = None,
) -> FileReport:
    """Validate one file. Unreadable files give a ``FILE_UNREADABLE`` finding."""
    target = Path(path)
    try:
        document = read_document(target, str(path))
    except FileReadError as exc:
        return unreadable_report(str(path), exc)
    return check_document(document, environment=environment, rule_options=rule_options)[0]


def validate_paths(
    paths: Iterable[str],
    *,
    environment: str | None = None,
    only_templates: bool = False,
    rule_options: Mapping[str, Any] | None = None,
) -> ValidationReport:
    """Validate files, directories (recursively) and globs.

    Files found in directories are validated only when they look like TaskTemplates; with
    ``only_templates`` the same applies to files named directly (as a pre-commit hook receives
    every staged YAML file), and finding no template at all is not an error.

    Raises ``PathNotFoundError`` for arguments that match nothing and ``NoTemplatesFoundError``
    when no TaskTemplate is found at all (unless ``only_templates``).
    """
    arguments = list(paths)
    found = discover(arguments)
    report = ValidationReport(environment=environment)
    for candidate in found.candidates:
        try:
            document = read_document(candidate.path, candidate.display)
        except FileReadError as exc:
            report.files.append(unreadable_report(candidate.display, exc))
            continue
        if (only_templates or not candidate.explicit) and not looks_like_template(document):
            report.skipped.append(candidate.display)
            continue
        report.files.append(
            check_document(document, environment=environment, rule_options=rule_options)[0]
        )
    if not report.files and not only_templates:
        searched = (
            ", ".join(f"'{item}'" for item in found.searched_directories) or "the paths given"
        )
        detail = (
            f" ({len(report.skipped)} YAML files without 'steps' skipped)" if report.skipped else ""
        )
        raise NoTemplatesFoundError(
            f"no TaskTemplate files found in {searched}{detail}",
            hint="templates are .yaml/.yml files with 'steps' and "
            "'namespace_name'; name a file directly to validate it anyway",
        )
    return report


@dataclass(frozen=True)
class LoadedTemplate:
    """A template that passed validation, with its findings and content hash."""

    template: TaskTemplate
    report: FileReport
    content_hash: str


def load_checked(path: str | Path, *, environment: str | None = None) -> LoadedTemplate:
    """Read and validate a template once; raise ``TemplateLoadError`` if it has errors.

    The error carries the report (``error.report``); ``FileReadError`` means the file could
    not be read, and ``UnknownEnvironmentError`` that ``environment`` is not among the ones
    the template declares. The content hash is of the file as written, before environment overrides.
    """
    return loaded_document(read_document(Path(path), str(path)), path, environment=environment)


def loaded_document(
    document: SourceDocument, path: str | Path, *, environment: str | None = None
) -> LoadedTemplate:
    """``load_checked`` for a document already read (from the bytes a caller holds)."""
    report, template = check_document(document, environment=environment)
    if template is None or report.count(Severity.ERROR):
        errors = [finding for finding in report.findings if finding.severity is Severity.ERROR]
        first = errors[0] if errors else None
        summary = f"{first.location}: {first.code} {first.message}" if first else "invalid template"
        error = TemplateLoadError(
            f"template '{path}' has {len(errors)} error(s); first: {summary}",
            hint=f"run 'tasker-ctl validate {path}' for every finding",
        )
        error.report = report  # type: ignore[attr-defined]
        raise error
    undeclared = next((f for f in report.findings if f.code == "ENVIRONMENT_NOT_DECLARED"), None)
    if undeclared is not None:
        # validate only warns; a command about to use the template must not run it unresolved
        raise UnknownEnvironmentError(
            f"environment '{environment}' is not declared by '{path}'", hint=undeclared.hint
        )
    return LoadedTemplate(template, report, content_hash(document.data))


def load_template(path: str | Path, *, environment: str | None = None) -> TaskTemplate:
    """Read, validate and return a template, resolved for ``environment`` if given.

    Raises ``TemplateLoadError`` (carrying the report) when the template has errors, and
    ``FileReadError`` when it cannot be read.
    """
    return load_checked(path, environment=environment).template


def problem_finding(problem: SourceProblem, file: str) -> Finding:
    """A problem with the file itself (unreadable, bad YAML, ...) as a finding."""
    line, column = problem.position if problem.position else (None, None)
    return Finding(
        code=problem.code,
        severity=severity_of(problem.code),
        message=problem.message,
        hint=problem.hint,
        file=file,
        line=line,
        column=column,
        path=format_path(problem.path),
    )


def unreadable_report(display: str, error: FileReadError) -> FileReport:
    finding = Finding(
        code="FILE_UNREADABLE",
        severity=severity_of("FILE_UNREADABLE"),
        message=error.message,
        hint="check the file's permissions",
        file=display,
    )
    return FileReport(file=display, findings=[finding])


def place_issues(issues: list[Issue], file: str, positions: SourceMap) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[tuple[str, tuple[str | int, ...], str]] = set()
    for issue in issues:
        key = (issue.code, issue.path, issue.message)
        if key in seen:
            continue
        seen.add(key)
        position = positions.locate(issue.path, key=issue.at_key)
        line, column = position if position else (None, None)
        findings.append(
            Finding(
                code=issue.code,
                severity=severity_of(issue.code),
                message=issue.message,
                hint=issue.hint,
                file=file,
                line=line,
                column=column,
                path=format_path(issue.path),
                step=issue.step,
            )
        )
    return findings


def _without_override_echoes(findings: list[Finding], grafts: list[Graft]) -> list[Finding]:
    """With an environment, a bad override value is found in the override itself and in every
    step it was copied into (all of them, for ``ALL``), each time at the override's position.
    Keep one finding per code and position: the first step's, which says what the resolved
    template holds."""
    copied = {format_path(target) for _, target in grafts}
    copied |= {format_path(source) for source, _ in grafts}

    def is_copy(path: str) -> bool:
        return any(path == p or path.startswith((f"{p}.", f"{p}[")) for p in copied)

    seen: set[tuple[str, int | None, int | None]] = set()
    kept: list[Finding] = []
    ranked = sorted(findings, key=lambda finding: finding.path.startswith("$.environments"))
    for finding in ranked:
        if is_copy(finding.path):
            key = (finding.code, finding.line, finding.column)
            if key in seen:
                continue
            seen.add(key)
        kept.append(finding)
    return kept


def finding_order(finding: Finding) -> tuple[int, int, int, str]:
    return (finding.line or 0, finding.column or 0, finding.severity.rank, finding.code)


def template_identity(data: object) -> str | None:
    if not isinstance(data, dict):
        return None
    namespace, name, version = (
        scalar_text(data.get(key)) for key in ("namespace_name", "name", "version")
    )
    if namespace is None or name is None or version is None:
        return None
    return f"{namespace}/{name}@{version}"
