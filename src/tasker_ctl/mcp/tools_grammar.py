"""The MCP tools of the action grammar: the vocabulary (listed, searched, one entry, in tiers),
compositions validated and explained, planners' fragments validated and explained.

Every tool is offline (tier1), reads nothing but the project's files and changes nothing. Each
one's ``run`` calls the function its command's ``--json`` calls (``tasker_ctl.documents``). A
composition or fragment comes as a project file (``path``) or as an object; both reach the same
checks, the object's findings without line numbers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tasker_ctl.grammar.document import VocabularyDocument
from tasker_ctl.grammar.explain import ExplanationTrace
from tasker_ctl.mcp.spec import ToolArguments, ToolContext, ToolSpec, ToolTier
from tasker_ctl.planning.explain import FragmentExplanation
from tasker_ctl.report.fragment_view import FragmentCheckOutput
from tasker_ctl.report.validation_json import ValidationOutput

__all__ = ["TOOLS"]

_NAME = 128
_PATH = 1024
_STEP = 255  # the longest step name a database stores


# -- arguments ---------------------------------------------------------------------------------


class NoArguments(ToolArguments):
    pass


class SearchArguments(ToolArguments):
    query: str = Field(min_length=1, max_length=200, description="words to find (case aside)")
    category: str | None = Field(
        default=None, max_length=_NAME, description="only this category (e.g. acquire, persist)"
    )


class InspectArguments(ToolArguments):
    name: str = Field(min_length=1, max_length=_NAME, description="a capability or pattern name")


class DocumentArguments(ToolArguments):
    tier: int = Field(
        default=1, ge=1, le=3, description="1 index; 2 +contracts, schemas; 3 +fields, examples"
    )
    capabilities: list[str] | None = Field(
        default=None,
        max_length=20,
        description="only these capabilities (default: all)",
    )


class _OneSource(ToolArguments):
    """A file of the project or an object: exactly one."""

    path: str | None = Field(
        default=None, max_length=_PATH, description="a project file (relative path)"
    )

    @model_validator(mode="after")
    def _one_source(self) -> _OneSource:
        given = [name for name in self._sources() if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {' or '.join(self._sources())}")
        return self

    def _sources(self) -> tuple[str, str]:
        raise NotImplementedError


class CompositionArguments(_OneSource):
    composition: dict[str, Any] | None = Field(
        default=None, description="the composition (or a template) itself"
    )
    step: str | None = Field(
        default=None, max_length=_STEP, description="with a template: which step"
    )

    def _sources(self) -> tuple[str, str]:
        return ("path", "composition")


class CompositionValidateArguments(CompositionArguments):
    strict: bool = Field(default=False, description="warnings fail too")
    mutation_policy: Literal["checkpointed", "strict"] = Field(
        default="checkpointed", description="strict: at most one mutating invocation"
    )


class CompositionExplainArguments(CompositionArguments):
    sample_context: Any = Field(default=None, description="task context to run on")
    sample_deps: dict[str, Any] | None = Field(
        default=None, description="dependency results by step name"
    )
    sample_step: dict[str, Any] | None = Field(
        default=None, description="step metadata (name, attempt...)"
    )
    mock_outputs: dict[str, Any] | None = Field(
        default=None, description="operation outputs by invocation index"
    )
    fixtures: str | None = Field(
        default=None, max_length=_PATH, description="a Tasker Core *_fixtures.json"
    )
    case: str | None = Field(
        default=None, max_length=_NAME, description="a failure_case of the fixtures"
    )


class FragmentArguments(_OneSource):
    fragment: dict[str, Any] | None = Field(default=None, description="the fragment itself")
    template: str = Field(
        min_length=1, max_length=_PATH, description="the template file the fragment fills"
    )
    step: str = Field(
        min_length=1, max_length=_STEP, description="the template's 'type: planning' step"
    )
    context: dict[str, Any] | None = Field(default=None, description="the task context")
    results: dict[str, Any] | None = Field(
        default=None, description="known upstream results by step name"
    )
    remaining_steps: int | None = Field(
        default=None, ge=0, le=1_000_000, description="steps the task's budget still allows"
    )

    def _sources(self) -> tuple[str, str]:
        return ("path", "fragment")


# -- runs ------------------------------------------------------------------------------------


def _grammar_list(arguments: NoArguments, context: ToolContext) -> VocabularyDocument:
    from tasker_ctl.documents.grammar import grammar_list

    return grammar_list()


def _capability_search(arguments: SearchArguments, context: ToolContext) -> VocabularyDocument:
    from tasker_ctl.documents.grammar import grammar_list

    return grammar_list(search=arguments.query, category=arguments.category)


def _capability_inspect(arguments: InspectArguments, context: ToolContext) -> VocabularyDocument:
    from tasker_ctl.documents.grammar import capability_inspect

    return capability_inspect(arguments.name)


def _vocabulary_document(arguments: DocumentArguments, context: ToolContext) -> VocabularyDocument:
    from tasker_ctl.documents.grammar import vocabulary_document

    return vocabulary_document(tier=arguments.tier, capabilities=arguments.capabilities)


def _composition_source(arguments: CompositionArguments, context: ToolContext) -> dict[str, Any]:
    if arguments.path is None:
        return {"composition": arguments.composition, "step": arguments.step}
    resolved, shown = context.file(arguments.path)
    return {"path": resolved, "shown": shown, "step": arguments.step}


def _composition_validate(
    arguments: CompositionValidateArguments, context: ToolContext
) -> ValidationOutput:
    from tasker_ctl.documents.grammar import composition_validation

    return composition_validation(
        **_composition_source(arguments, context),
        policy=arguments.mutation_policy,
        strict=arguments.strict,
    )


def _composition_explain(
    arguments: CompositionExplainArguments, context: ToolContext
) -> ExplanationTrace:
    from tasker_ctl.documents.grammar import composition_explanation

    fixtures = None if arguments.fixtures is None else context.path(arguments.fixtures)
    return composition_explanation(
        **_composition_source(arguments, context),
        sample_context=arguments.sample_context,
        sample_deps=arguments.sample_deps,
        sample_step=arguments.sample_step,
        mock_outputs=arguments.mock_outputs,
        fixtures=fixtures,
        case=arguments.case,
    )


def _fragment_inputs(arguments: FragmentArguments, context: ToolContext) -> tuple[Any, Any]:
    from tasker_ctl.documents.fragments import fragment_data, fragment_frame, read_fragment

    if arguments.path is not None:
        document = read_fragment(*context.file(arguments.path))
    else:
        assert arguments.fragment is not None
        document = fragment_data(arguments.fragment)
    frame = fragment_frame(
        context.path(arguments.template),
        arguments.step,
        context=arguments.context,
        results=arguments.results,
        remaining_steps=arguments.remaining_steps,
    )
    return document, frame


def _fragment_validate(arguments: FragmentArguments, context: ToolContext) -> FragmentCheckOutput:
    from tasker_ctl.documents.fragments import fragment_validation

    return fragment_validation(*_fragment_inputs(arguments, context))


def _fragment_explain(arguments: FragmentArguments, context: ToolContext) -> FragmentExplanation:
    from tasker_ctl.documents.fragments import fragment_explanation

    return fragment_explanation(*_fragment_inputs(arguments, context))


# -- the tools --------------------------------------------------------------------------------

_FRAGMENT_CLI = "tasker-ctl fragment {} FILE --template T --step S --json"

TOOLS: tuple[ToolSpec, ...] = (
    ToolSpec(
        name="grammar_list",
        title="List the grammar",
        description="Every capability and pattern of the action grammar, one line each.",
        tier=ToolTier.OFFLINE,
        arguments=NoArguments,
        output=VocabularyDocument,
        run=_grammar_list,
        cli="tasker-ctl grammar list --json",
    ),
    ToolSpec(
        name="capability_search",
        title="Search capabilities",
        description="Capabilities and patterns whose name, summary or config fields hold "
        "every word of the query; name matches first.",
        tier=ToolTier.OFFLINE,
        arguments=SearchArguments,
        output=VocabularyDocument,
        run=_capability_search,
        cli="tasker-ctl grammar list --search TEXT --json",
    ),
    ToolSpec(
        name="capability_inspect",
        title="Inspect a capability",
        description="One capability or pattern in full: contracts, config schema, every "
        "field, examples, failure kinds.",
        tier=ToolTier.OFFLINE,
        arguments=InspectArguments,
        output=VocabularyDocument,
        run=_capability_inspect,
        cli="tasker-ctl grammar inspect NAME --json",
    ),
    ToolSpec(
        name="vocabulary_document",
        title="Grammar vocabulary",
        description="The grammar's vocabulary and composition rules by tier: ask tier 1 "
        "first; capability_inspect gives one entry in full.",
        tier=ToolTier.OFFLINE,
        arguments=DocumentArguments,
        output=VocabularyDocument,
        run=_vocabulary_document,
        cli="tasker-ctl grammar document --tier N --json",
        pages="capabilities",
    ),
    ToolSpec(
        name="composition_validate",
        title="Validate a composition",
        description="Check a composition (a file or an object): capabilities, configs, jq, "
        "checkpoints, data contracts. Writes nothing.",
        tier=ToolTier.OFFLINE,
        arguments=CompositionValidateArguments,
        output=ValidationOutput,
        run=_composition_validate,
        cli="tasker-ctl composition validate FILE --json",
    ),
    ToolSpec(
        name="composition_explain",
        title="Explain a composition",
        description="What each invocation reads and produces; with samples, the composition "
        "run on them (no network, no database).",
        tier=ToolTier.OFFLINE,
        arguments=CompositionExplainArguments,
        output=ExplanationTrace,
        run=_composition_explain,
        cli="tasker-ctl composition explain FILE --json",
    ),
    ToolSpec(
        name="fragment_validate",
        title="Validate a fragment",
        description="Check a planner's fragment (a file or an object) against a template's "
        "planning step in all nine stages.",
        tier=ToolTier.OFFLINE,
        arguments=FragmentArguments,
        output=FragmentCheckOutput,
        run=_fragment_validate,
        cli=_FRAGMENT_CLI.format("validate"),
    ),
    ToolSpec(
        name="fragment_explain",
        title="Explain a fragment",
        description="A fragment's data flow: each input's origin and type, the edges it adds, "
        "its findings.",
        tier=ToolTier.OFFLINE,
        arguments=FragmentArguments,
        output=FragmentExplanation,
        run=_fragment_explain,
        cli=_FRAGMENT_CLI.format("explain"),
    ),
)
