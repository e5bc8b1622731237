"""The documents of the commands about templates: ``validate``, ``template visualize``,
``template inspect`` and ``generate handlers`` (``template generate`` is in
``template_spec``, the ``schema`` commands in ``schemas`` and ``schema_diff``).

A command passes the path as the user gave it (``shown``, which the document repeats); the
MCP tool passes the path resolved inside the project and ``shown`` relative to the project's
root, so that both give one document for one file.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput

if TYPE_CHECKING:
    from tasker_ctl.report.dag import DagView
    from tasker_ctl.report.validation_json import ValidationOutput
    from tasker_ctl.template.diagnostics import FileReport, ValidationReport
    from tasker_ctl.template.model import TaskTemplate
    from tasker_ctl.template.source import SourceDocument

__all__ = [
    "FindingCounts",
    "GeneratedFileOutput",
    "HandlersDocument",
    "RetryOutput",
    "StepInspection",
    "TemplateInspection",
    "TemplateRead",
    "content_validation_document",
    "drawable_template",
    "handlers_document",
    "inspect_document",
    "read_template",
    "shown_in",
    "validation_document",
    "validation_report",
    "visualize_document",
]

DEFAULT_POLICY = "checkpointed"


def shown_in(root: Path, path: Path) -> str:
    """``path`` (resolved) as the command shows it when run from ``root``: relative to it."""
    try:
        return path.relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return path.as_posix()


# ---------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class TemplateRead:
    """A template read and checked: its model (its shape is sound), its findings, its name."""

    template: TaskTemplate
    report: FileReport
    shown: str


def _one_file(path: Path, shown: str) -> None:
    from tasker_ctl.errors import PathNotFoundError, UsageError

    if not path.exists():
        raise PathNotFoundError(f"'{shown}' does not exist", hint="name a TaskTemplate YAML file")
    if path.is_dir():
        raise UsageError(
            f"'{shown}' is a directory",
            hint="name one TaskTemplate YAML file ('validate' takes directories)",
        )


def read_template(path: Path, shown: str, *, environment: str | None = None) -> TemplateRead:
    """The template at ``path``, findings and all; refused (``TEMPLATE_INVALID``, carrying
    the report) only when its shape does not make a template. Rule errors are findings."""
    from tasker_ctl.errors import TemplateLoadError
    from tasker_ctl.template.source import read_document
    from tasker_ctl.template.validator import check_document

    _one_file(path, shown)
    report, template = check_document(read_document(path, shown), environment=environment)
    if template is None:
        errors = [finding for finding in report.findings if finding.severity == "error"]
        refused = TemplateLoadError(
            f"'{shown}' is not a template that can be read: {len(errors)} error(s)",
            hint=f"run 'tasker-ctl validate {shown}' for every finding",
        )
        refused.report = report  # type: ignore[attr-defined]  # printed by the app's root
        raise refused
    _environment_declared(report, environment, shown)
    return TemplateRead(template, report, shown)


def _environment_declared(report: FileReport, environment: str | None, shown: str) -> None:
    from tasker_ctl.errors import UnknownEnvironmentError

    undeclared = next((f for f in report.findings if f.code == "ENVIRONMENT_NOT_DECLARED"), None)
    if undeclared is not None:
        raise UnknownEnvironmentError(
            f"environment '{environment}' is not declared by '{shown}'", hint=undeclared.hint
        )


def drawable_template(
    document: SourceDocument, *, environment: str | None = None, rerun: str | None = None
) -> TaskTemplate:
    """A parsed template with no errors (what visualize draws); ``TEMPLATE_INVALID`` carrying
    the report otherwise. ``rerun``: the path to name in the hint."""
    from tasker_ctl.errors import TemplateLoadError
    from tasker_ctl.template.diagnostics import Severity
    from tasker_ctl.template.validator import check_document

    shown = document.display_path
    report, template = check_document(document, environment=environment)
    errors = [finding for finding in report.findings if finding.severity is Severity.ERROR]
    if template is None or errors:
        refused = TemplateLoadError(
            f"template '{shown}' has {len(errors)} error(s); nothing to draw",
            hint=f"run 'tasker-ctl validate {rerun}' for every finding"
            if rerun is not None
            else "fix the errors above and try again",
        )
        refused.report = report  # type: ignore[attr-defined]  # printed by the app's root
        raise refused
    _environment_declared(report, environment, shown)
    return template


# ---------------------------------------------------------------------------- validate


def validation_report(
    paths: Sequence[str],
    *,
    environment: str | None = None,
    only_templates: bool = False,
    policy: str = DEFAULT_POLICY,
) -> ValidationReport:
    """``tasker-ctl validate PATH...``: files, directories (recursively) and globs."""
    from tasker_ctl.template import validate_paths

    return validate_paths(
        list(paths),
        environment=environment,
        only_templates=only_templates,
        rule_options={"mutation_policy": policy},
    )


def validation_output(report: ValidationReport, *, strict: bool = False) -> ValidationOutput:
    from tasker_ctl.report.validation_json import build_output

    return build_output(report, strict=strict)


def validation_document(
    paths: Sequence[Path],
    *,
    environment: str | None = None,
    strict: bool = False,
    root: Path | None = None,
) -> ValidationOutput:
    """The validation document of ``paths``; with ``root`` the files are named relative to
    it, as a command run there names them."""
    report = validation_report([str(path) for path in paths], environment=environment)
    if root is not None:
        for file in report.files:
            file.file = _relative(root, file.file)
        report.skipped = [_relative(root, name) for name in report.skipped]
    return validation_output(report, strict=strict)


def _relative(root: Path, name: str) -> str:
    return shown_in(root, Path(name)) if os.path.isabs(name) else name


def content_validation_document(
    text: str,
    *,
    file_name: str = "template.yaml",
    environment: str | None = None,
    strict: bool = False,
) -> ValidationOutput:
    """The validation document of a whole template file's text, as if named ``file_name``."""
    from tasker_ctl.template import ValidationReport
    from tasker_ctl.template.validator import validate_text

    checked = validate_text(
        text,
        name=file_name,
        environment=environment,
        rule_options={"mutation_policy": "checkpointed"},
    )
    return validation_output(
        ValidationReport(files=[checked], environment=environment), strict=strict
    )


# ---------------------------------------------------------------------------- visualize


def visualize_document(
    path: Path, *, shown: str | None = None, environment: str | None = None
) -> DagView:
    """``tasker-ctl template visualize FILE --json``: the planned DAG of a template."""
    from tasker_ctl.report.dag import build_dag_view
    from tasker_ctl.template.source import read_document

    shown = shown or str(path)
    _one_file(path, shown)
    template = drawable_template(read_document(path, shown), environment=environment, rerun=shown)
    return build_dag_view(template)


# ---------------------------------------------------------------------------- inspect


class RetryOutput(StrictOutput):
    retryable: bool
    max_attempts: int
    backoff: str
    backoff_base_ms: int | None
    max_backoff_ms: int | None


class TopField(StrictOutput):
    name: str
    type: str | None = Field(description="the JSON type(s), 'a|b'; null when unsaid")
    required: bool


class StepInspection(StrictOutput):
    name: str
    type: str = Field(description="the step_type")
    handler: str = Field(description="the handler callable")
    description: str | None
    dependencies: list[str]
    dependents: list[str] = Field(description="steps that list this one as a dependency")
    retry: RetryOutput
    timeout_seconds: int | None
    result_schema: bool = Field(description="whether the step declares a result_schema")
    result_fields: list[TopField] = Field(description="the result's top-level properties")
    composition: bool = Field(description="whether the step runs a grammar composition")
    planning: bool = Field(description="whether the step has a planning block")


class FindingCounts(StrictOutput):
    errors: int
    warnings: int
    infos: int


class TemplateInspection(StrictOutput):
    """The document of ``tasker-ctl template inspect --json`` and of ``template_inspect``."""

    template: str = Field(description="'namespace/name@version'")
    file: str
    name: str
    namespace: str
    version: str
    description: str | None
    input_fields: list[TopField] | None = Field(
        description="the input_schema's top-level properties; null without one"
    )
    steps: list[StepInspection]
    findings: FindingCounts = Field(description="what validate finds in the file")
    valid: bool = Field(description="true when validate finds no error")


def _top_fields(schema: object) -> list[TopField]:
    from tasker_ctl.documents.schemas import flatten_fields

    fields, _ = flatten_fields(schema)
    return [
        TopField(
            name=field.path[1:].replace("~1", "/").replace("~0", "~"),
            type=field.type,
            required=field.required,
        )
        for field in fields
        if field.path.count("/") == 1
    ]


def inspect_document(
    path: Path, *, shown: str | None = None, environment: str | None = None
) -> TemplateInspection:
    """One template's structure in one document; a template with rule errors is inspected
    too (its findings are counted), one whose shape is broken is refused."""
    from tasker_ctl.template.diagnostics import Severity

    read = read_template(path, shown or str(path), environment=environment)
    template = read.template
    dependents: dict[str, list[str]] = {step.name: [] for step in template.steps}
    for step in template.steps:
        for name in dict.fromkeys(step.dependencies):
            if name in dependents and step.name not in dependents[name]:
                dependents[name].append(step.name)
    steps = [
        StepInspection(
            name=step.name,
            type=step.step_type.value,
            handler=step.handler.callable,
            description=step.description,
            dependencies=list(step.dependencies),
            dependents=dependents.get(step.name, []),
            retry=RetryOutput(
                retryable=step.retry.retryable,
                max_attempts=step.retry.max_attempts,
                backoff=step.retry.backoff.value,
                backoff_base_ms=step.retry.backoff_base_ms,
                max_backoff_ms=step.retry.max_backoff_ms,
            ),
            timeout_seconds=step.timeout_seconds,
            result_schema=step.result_schema is not None,
            result_fields=_top_fields(step.result_schema),
            composition=step.composition is not None,
            planning=step.planning is not None,
        )
        for step in template.steps
    ]
    errors = read.report.count(Severity.ERROR)
    return TemplateInspection(
        template=template.identifier,
        file=read.shown,
        name=template.name,
        namespace=template.namespace_name,
        version=template.version,
        description=template.description,
        input_fields=None if template.input_schema is None else _top_fields(template.input_schema),
        steps=steps,
        findings=FindingCounts(
            errors=errors,
            warnings=read.report.count(Severity.WARNING),
            infos=read.report.count(Severity.INFO),
        ),
        valid=errors == 0,
    )


# ---------------------------------------------------------------------------- handlers


class GeneratedFileOutput(StrictOutput):
    path: str = Field(description="where the command writes it (-o), else its file name")
    content: str


class HandlersDocument(StrictOutput):
    """The document of ``tasker-ctl generate handlers --json`` and of ``handler_generate``."""

    template: str = Field(description="'namespace/name@version'")
    language: Literal["python"]
    files: list[GeneratedFileOutput]
    warnings: list[str] = Field(description="what the generator warns about")


def handlers_document(
    path: Path,
    *,
    shown: str | None = None,
    base: Path | None = None,
    output: str | None = None,
    scaffolds: Path | None = None,
) -> HandlersDocument:
    """Typed handler stubs for every step of the template: what ``generate handlers``
    writes. ``base``: the directory the generated code imports the template from (the output
    file's, or the working directory); ``output``: the file name as the user gave it."""
    from tasker_ctl.codegen import generate_handlers

    _one_file(path, shown or str(path))
    generation = generate_handlers(path, base=base, scaffolds=scaffolds)
    return HandlersDocument(
        template=generation.template.identifier,
        language="python",
        files=[
            GeneratedFileOutput(path=output or file.path, content=file.content)
            for file in generation.files
        ],
        # the warnings name the template as the command was given it
        warnings=[
            warning.replace(f"'{path}'", f"'{shown or path}'") for warning in generation.warnings
        ],
    )
