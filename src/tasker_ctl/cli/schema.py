"""``tasker-ctl schema ...``: a template's contracts read offline: its schemas with their fields
flattened (inspect), what one step reads of another's result (compare), and what changed
between two versions of a template (diff).

Not to be confused with ``tasker-ctl inspect schema``, which prints the JSON Schema of an
inspect view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

TemplateArgument = Annotated[
    Path, typer.Argument(metavar="TEMPLATE", help="The TaskTemplate YAML file.", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the document as JSON.")]

_INSPECT_EPILOG = (
    "Exit codes: 0 shown; 1 a template whose shape cannot be read; 2 bad usage, a file that "
    "does not exist or cannot be read, or a step the template does not have."
)
_COMPARE_EPILOG = (
    "Exit codes: 0 compatible; 1 an incompatible read (or the consumer does not depend on "
    "the producer), or a template whose shape cannot be read; 2 bad usage, a file that does "
    "not exist or a step the template does not have."
)
_DIFF_EPILOG = (
    "Exit codes: 0 no breaking change; 1 breaking changes found, or a template whose shape "
    "cannot be read; 2 bad usage or a file that does not exist."
)


def register(app: typer.Typer) -> None:
    schema_app = typer.Typer(
        help="A template's input and result schemas: fields, compatibility, changes.",
        no_args_is_help=True,
    )
    app.add_typer(schema_app, name="schema")

    @schema_app.command(name="inspect", epilog=_INSPECT_EPILOG)
    def inspect_schemas(
        template: TemplateArgument,
        step: Annotated[
            str | None,
            typer.Option("--step", metavar="NAME", help="Only this step's result_schema."),
        ] = None,
        json_flag: JsonOption = False,
    ) -> None:
        """The template's input_schema and each step's result_schema, every field flattened:
        its JSON pointer ('*' is any array element), type, whether required, description."""
        from tasker_ctl.documents.schemas import schema_inspect_document

        document = schema_inspect_document(template, shown=str(template), step=step)
        if json_flag:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.template_view import render_schemas

        render_schemas(document)

    @schema_app.command(epilog=_COMPARE_EPILOG)
    def compare(
        template: TemplateArgument,
        producer: Annotated[
            str, typer.Argument(metavar="PRODUCER", help="The step whose result is read.")
        ],
        consumer: Annotated[
            str, typer.Argument(metavar="CONSUMER", help="The step that reads it.")
        ],
        json_flag: JsonOption = False,
    ) -> None:
        """What CONSUMER reads of PRODUCER's result, each read held to PRODUCER's
        result_schema.

        A composition's reads are its expressions' '.deps.PRODUCER...' paths; a planning step
        reads the whole result when its context_from names PRODUCER. Application code
        declares no reads: the document then lists the fields it may rely on ('offered').
        """
        from tasker_ctl.documents.schemas import schema_compare_document

        document = schema_compare_document(template, producer, consumer, shown=str(template))
        if json_flag:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
        else:
            from tasker_ctl.report.template_view import render_comparison

            render_comparison(document)
        if not document.compatible:
            raise typer.Exit(1)

    @schema_app.command(epilog=_DIFF_EPILOG)
    def diff(
        old: Annotated[
            Path, typer.Argument(metavar="OLD", help="The old version of the template.")
        ],
        new: Annotated[
            Path, typer.Argument(metavar="NEW", help="The new version of the template.")
        ],
        json_flag: JsonOption = False,
    ) -> None:
        """The schema changes from OLD to NEW, each breaking or not.

        input_schema (what callers send): a field removed, made required or added required,
        or a type narrowed, breaks; an optional field added or a type widened does not.
        result_schema (what the handler produces and later steps read): a field removed,
        made optional or added required, a type narrowed or widened, breaks. A step removed
        breaks; a step added does not.
        """
        from tasker_ctl.documents.schema_diff import schema_diff_document

        document = schema_diff_document(old, new, old_shown=str(old), new_shown=str(new))
        if json_flag:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
        else:
            from tasker_ctl.report.template_view import render_diff

            render_diff(document)
        if document.breaking:
            raise typer.Exit(1)
