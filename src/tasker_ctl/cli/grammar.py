"""``tasker-ctl grammar list|inspect|document``: the action grammar's vocabulary.

Everything shown is generated from the capabilities' config models and the pattern catalog
(``tasker_ctl.grammar.document``), so the terminal, the docs and an LLM see the same thing.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from typing import Annotated

import typer

from tasker_ctl.cli.json_flag import JsonFlagOption, chosen_format


class DocumentFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"
    TOOLS = "tools"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead.")]

_EPILOG = "Exit codes: 0 printed; 2 bad usage or a name that is neither a capability nor a pattern."


def register(app: typer.Typer) -> None:
    grammar_app = typer.Typer(
        help="The action grammar: capabilities and patterns that compose into steps.",
        no_args_is_help=True,
    )
    app.add_typer(grammar_app, name="grammar")

    @grammar_app.command(
        "list", epilog="Exit codes: 0 printed (a search may find nothing); 2 bad usage."
    )
    def list_vocabulary(
        search: Annotated[
            str | None,
            typer.Option(
                "--search",
                "-s",
                metavar="TEXT",
                help="Only entries whose name, summary or config field names hold every word "
                "(case aside); name matches first.",
                show_default=False,
            ),
        ] = None,
        category: Annotated[
            str | None,
            typer.Option(
                "--category",
                metavar="NAME",
                help="Only this category's capabilities (transform, validate, assert, acquire, "
                "persist, emit, gate) and the patterns that use one.",
                show_default=False,
            ),
        ] = None,
        json_output: JsonFlag = False,
    ) -> None:
        """List every capability and pattern with its one-line summary, or those a search
        finds."""
        from tasker_ctl.documents.grammar import grammar_list

        document = grammar_list(search=search, category=category)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        if not document.capabilities and not document.patterns:
            typer.echo("no capability or pattern matches")
            return
        from tasker_ctl.report.grammar_view import render_vocabulary_list
        from tasker_ctl.report.run_view import make_console

        render_vocabulary_list(document, make_console())

    @grammar_app.command(epilog=_EPILOG)
    def inspect(
        name: Annotated[str, typer.Argument(metavar="NAME", help="A capability or pattern name.")],
        json_output: JsonFlag = False,
    ) -> None:
        """Show one capability (or pattern): contracts, config schema, fields and an example."""
        from tasker_ctl.documents.grammar import capability_inspect

        document = capability_inspect(name)
        if json_output:
            from tasker_ctl.report.json_output import write_document

            write_document(document)
            return
        from tasker_ctl.report.grammar_view import render_vocabulary_entry
        from tasker_ctl.report.run_view import make_console

        render_vocabulary_entry(document, name, make_console())

    @grammar_app.command(epilog=_EPILOG)
    def document(
        tier: Annotated[
            int,
            typer.Option(
                "--tier",
                min=1,
                max=3,
                help="1: one line each; 2: plus contracts and config schemas; 3: plus the "
                "full field reference and examples.",
            ),
        ] = 3,
        capability: Annotated[
            list[str] | None,
            typer.Option(
                "--capability",
                "-c",
                metavar="NAME",
                help="Only these capabilities (repeat the option); default: all.",
                show_default=False,
            ),
        ] = None,
        output_format: Annotated[
            DocumentFormat,
            typer.Option(
                "--format",
                "-f",
                case_sensitive=False,
                help="'markdown' for people; 'json' for the vocabulary at --tier as a JSON "
                "document; 'tools' for the tool-call schemas an LLM is given (one per "
                "capability and pattern, each the config model's JSON Schema).",
            ),
        ] = DocumentFormat.MARKDOWN,
        json_flag: JsonFlagOption = False,
    ) -> None:
        """Print the vocabulary in tiers, as Markdown, JSON or tool-call schemas."""
        from tasker_ctl.documents.grammar import vocabulary_document

        output_format = chosen_format(
            output_format,
            json_flag=json_flag,
            default=DocumentFormat.MARKDOWN,
            json=DocumentFormat.JSON,
        )
        vocabulary = vocabulary_document(tier=tier, capabilities=capability)
        if output_format is DocumentFormat.JSON:
            from tasker_ctl.report.json_output import write_document

            write_document(vocabulary)
        elif output_format is DocumentFormat.TOOLS:
            from tasker_ctl.grammar.document import tool_schemas

            schemas = tool_schemas()
            if capability:
                wanted = set(capability)
                schemas = [tool for tool in schemas if tool["name"] in wanted]
            sys.stdout.write(json.dumps(schemas, indent=2) + "\n")
        else:
            from tasker_ctl.grammar.document import render_markdown

            sys.stdout.write(render_markdown(vocabulary))
