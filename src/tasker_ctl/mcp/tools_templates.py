"""The MCP tools about templates, handlers and schemas: offline, read-only, each the twin of a
command's ``--json`` (both call one function of ``tasker_ctl.documents``).

Paths a client names are resolved inside the project (``ToolContext.path``) and shown
relative to its root, as the command shows them when run there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from tasker_ctl.documents.schema_diff import SchemaDiff
from tasker_ctl.documents.schemas import SchemaComparison, SchemaInspection
from tasker_ctl.documents.template_spec import GeneratedTemplate, TemplateSpec
from tasker_ctl.documents.templates import HandlersDocument, TemplateInspection
from tasker_ctl.mcp.spec import ToolArguments, ToolContext, ToolSpec, ToolTier
from tasker_ctl.report.dag import DagView
from tasker_ctl.report.validation_json import ValidationOutput

if TYPE_CHECKING:
    pass

__all__ = ["TOOLS"]

_PATH = 4096
_NAME = 255
# the template reader's own limit: past it the text is one INPUT_TOO_LARGE finding
_CONTENT = 4 * 1024 * 1024


def _path_field(what: str) -> Any:
    return Field(min_length=1, max_length=_PATH, description=f"{what}, relative to the project")


def _environment_field() -> Any:
    return Field(default=None, min_length=1, max_length=64, description="apply its overrides")


class ValidateArguments(ToolArguments):
    path: str | None = Field(
        default=None, min_length=1, max_length=_PATH, description="template file or folder"
    )
    content: str | None = Field(
        default=None, min_length=1, max_length=_CONTENT, description="a whole template's YAML"
    )
    file_name: str = Field(
        default="template.yaml", min_length=1, max_length=_NAME, description="content's name"
    )
    environment: str | None = _environment_field()
    strict: bool = Field(default=False, description="warnings fail too")

    @model_validator(mode="after")
    def _one_source(self) -> ValidateArguments:
        if (self.path is None) == (self.content is None):
            raise ValueError("give either path or content, not both nor neither")
        return self


def _validate(arguments: ValidateArguments, context: ToolContext) -> ValidationOutput:
    from tasker_ctl.documents.templates import content_validation_document, validation_document

    if arguments.content is not None:
        return content_validation_document(
            arguments.content,
            file_name=arguments.file_name,
            environment=arguments.environment,
            strict=arguments.strict,
        )
    assert arguments.path is not None
    return validation_document(
        [context.path(arguments.path)],
        environment=arguments.environment,
        strict=arguments.strict,
        root=context.project_root,
    )


class TemplateFileArguments(ToolArguments):
    path: str = _path_field("the template file")
    environment: str | None = _environment_field()


def _visualize(arguments: TemplateFileArguments, context: ToolContext) -> DagView:
    from tasker_ctl.documents.templates import visualize_document

    path, shown = context.file(arguments.path)
    return visualize_document(path, shown=shown, environment=arguments.environment)


def _inspect(arguments: TemplateFileArguments, context: ToolContext) -> TemplateInspection:
    from tasker_ctl.documents.templates import inspect_document

    path, shown = context.file(arguments.path)
    return inspect_document(path, shown=shown, environment=arguments.environment)


# the spec itself (name, namespace, version, description, steps, input); no docstring, which
# would be one more description in the tool list
class GenerateArguments(ToolArguments, TemplateSpec):
    pass


def _generate(arguments: GenerateArguments, context: ToolContext) -> GeneratedTemplate:
    from tasker_ctl.documents.template_spec import template_document

    return template_document(arguments)


class HandlersArguments(ToolArguments):
    path: str = _path_field("the template file")


def _handlers(arguments: HandlersArguments, context: ToolContext) -> HandlersDocument:
    from tasker_ctl.documents.templates import handlers_document

    path, shown = context.file(arguments.path)
    return handlers_document(path, shown=shown, base=context.project_root.resolve())


class SchemaInspectArguments(ToolArguments):
    path: str = _path_field("the template file")
    step: str | None = Field(
        default=None, min_length=1, max_length=_NAME, description="only this step's schema"
    )


def _schema_inspect(arguments: SchemaInspectArguments, context: ToolContext) -> SchemaInspection:
    from tasker_ctl.documents.schemas import schema_inspect_document

    path, shown = context.file(arguments.path)
    return schema_inspect_document(path, shown=shown, step=arguments.step)


class SchemaCompareArguments(ToolArguments):
    path: str = _path_field("the template file")
    producer: str = Field(min_length=1, max_length=_NAME, description="the step whose result")
    consumer: str = Field(min_length=1, max_length=_NAME, description="the step that reads it")


def _schema_compare(arguments: SchemaCompareArguments, context: ToolContext) -> SchemaComparison:
    from tasker_ctl.documents.schemas import schema_compare_document

    path, shown = context.file(arguments.path)
    return schema_compare_document(path, arguments.producer, arguments.consumer, shown=shown)


class SchemaDiffArguments(ToolArguments):
    old: str = _path_field("the old template file")
    new: str = _path_field("the new template file")


def _schema_diff(arguments: SchemaDiffArguments, context: ToolContext) -> SchemaDiff:
    from tasker_ctl.documents.schema_diff import schema_diff_document

    old, old_shown = context.file(arguments.old)
    new, new_shown = context.file(arguments.new)
    return schema_diff_document(old, new, old_shown=old_shown, new_shown=new_shown)


TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="template_validate",
        title="Validate templates",
        description="Validate a template file, folder or YAML text: every finding, coded.",
        tier=ToolTier.OFFLINE,
        arguments=ValidateArguments,
        output=ValidationOutput,
        run=_validate,
        cli="tasker-ctl validate PATH --json",
        pages="files",
    ),
    ToolSpec(
        name="template_visualize",
        title="Draw a template's DAG",
        description="A template's planned DAG: steps, edges, and the steps created at run time.",
        tier=ToolTier.OFFLINE,
        arguments=TemplateFileArguments,
        output=DagView,
        run=_visualize,
        cli="tasker-ctl template visualize FILE --json",
    ),
    ToolSpec(
        name="template_inspect",
        title="Inspect a template",
        description="A template's structure: per step handler, dependencies, retry, result fields.",
        tier=ToolTier.OFFLINE,
        arguments=TemplateFileArguments,
        output=TemplateInspection,
        run=_inspect,
        cli="tasker-ctl template inspect FILE --json",
        pages="steps",
    ),
    ToolSpec(
        name="template_generate",
        title="Generate a template from a spec",
        description="A validated TaskTemplate YAML from steps, dependencies and typed outputs.",
        tier=ToolTier.OFFLINE,
        arguments=GenerateArguments,
        output=GeneratedTemplate,
        run=_generate,
        cli="tasker-ctl template generate SPEC_FILE --json",
    ),
    ToolSpec(
        name="handler_generate",
        title="Generate handler stubs",
        description="Typed Python handler stubs for a template's steps; nothing is written.",
        tier=ToolTier.OFFLINE,
        arguments=HandlersArguments,
        output=HandlersDocument,
        run=_handlers,
        cli="tasker-ctl generate handlers TEMPLATE --json",
    ),
    ToolSpec(
        name="schema_inspect",
        title="Inspect a template's schemas",
        description="A template's input and result schemas, every field flattened.",
        tier=ToolTier.OFFLINE,
        arguments=SchemaInspectArguments,
        output=SchemaInspection,
        run=_schema_inspect,
        cli="tasker-ctl schema inspect TEMPLATE --json",
        pages="steps",
    ),
    ToolSpec(
        name="schema_compare",
        title="Check a consumer against a producer",
        description="Hold what a step reads of another's result to that result's schema.",
        tier=ToolTier.OFFLINE,
        arguments=SchemaCompareArguments,
        output=SchemaComparison,
        run=_schema_compare,
        cli="tasker-ctl schema compare TEMPLATE PRODUCER CONSUMER --json",
    ),
    ToolSpec(
        name="schema_diff",
        title="Diff two template versions",
        description="Schema changes between two template versions, each breaking or not.",
        tier=ToolTier.OFFLINE,
        arguments=SchemaDiffArguments,
        output=SchemaDiff,
        run=_schema_diff,
        cli="tasker-ctl schema diff OLD NEW --json",
        pages="changes",
    ),
)
