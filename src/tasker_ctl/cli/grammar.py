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
from tasker_ctl.errors import UsageError


class DocumentFormat(StrEnum):
    MARKDOWN = "markdown"
    JSON = "json"


JsonFlag = Annotated[bool, typer.Option("--json", help="Print a JSON document instead.")]

_EPILOG = "Exit codes: 0 printed; 2 bad usage or a name that is neither a capability nor a pattern."


def register(app: typer.Typer) -> None:
    grammar_app = typer.Typer(
        help="The action grammar: capabilities and patterns that compose into steps.",
        no_args_is_help=True,
    )
    app.add_typer(grammar_app, name="grammar")

    @grammar_app.command("list", epilog="Exit codes: 0 printed; 2 bad usage.")
    def list_vocabulary(json_output: JsonFlag = False) -> None:
        """List every capability and pattern with its one-line summary."""
        from tasker_ctl.grammar.document import vocabulary

        document = vocabulary(tier=1)
        if json_output:
            sys.stdout.write(json.dumps(document.as_json(), indent=2) + "\n")
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
        from tasker_ctl.grammar.document import vocabulary

        is_capability = _find(name) == "capability"
        document = vocabulary(
            tier=3,
            capabilities=[name] if is_capability else [],
            patterns=[] if is_capability else [name],
        )
        if json_output:
            sys.stdout.write(json.dumps(document.as_json(), indent=2) + "\n")
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
                help="'markdown' for people; 'json' for the tool-call schemas an LLM is given "
                "(one per capability and pattern, each the config model's JSON Schema).",
            ),
        ] = DocumentFormat.MARKDOWN,
        json_flag: JsonFlagOption = False,
    ) -> None:
        """Print the vocabulary in tiers, as Markdown or as tool-call schemas."""
        from tasker_ctl.grammar.document import render_markdown, tool_schemas, vocabulary

        output_format = chosen_format(
            output_format,
            json_flag=json_flag,
            default=DocumentFormat.MARKDOWN,
            json=DocumentFormat.JSON,
        )
        for name in capability or []:
            if _find(name) != "capability":
                raise UsageError(
                    f"'{name}' is not a capability", hint="see 'tasker-ctl grammar list'"
                )
        if output_format is DocumentFormat.JSON:
            schemas = tool_schemas()
            if capability:
                wanted = set(capability)
                schemas = [tool for tool in schemas if tool["name"] in wanted]
            sys.stdout.write(json.dumps(schemas, indent=2) + "\n")
            return
        sys.stdout.write(render_markdown(vocabulary(tier=tier, capabilities=capability)))


def _find(name: str) -> str:
    """``capability`` or ``pattern``; a coded usage error with a suggestion otherwise."""
    from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES
    from tasker_ctl.grammar.errors import UnknownVocabularyError
    from tasker_ctl.grammar.patterns import PATTERNS
    from tasker_ctl.template.issue import suggestion_hint

    if name in CAPABILITY_NAMES:
        return "capability"
    if name in PATTERNS:
        return "pattern"
    known = [*CAPABILITY_NAMES, *PATTERNS]
    raise UnknownVocabularyError(
        f"no capability or pattern named '{name}'",
        hint=suggestion_hint(name, known) or "see 'tasker-ctl grammar list'",
    )
