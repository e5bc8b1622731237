"""The documents of ``tasker-ctl grammar`` and ``tasker-ctl composition``: the vocabulary (whole,
searched, one entry, in tiers) and a composition's validation and explanation.

A composition comes from a file (``path``, shown as ``shown``) or as data (``composition``: an
object a client sent); both reach the same checks (``tasker_ctl.grammar.files``), the data
without line numbers. Every bad input is a coded error, never a traceback.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasker_ctl.errors import PathNotFoundError, SampleJsonError, UsageError

if TYPE_CHECKING:
    from tasker_ctl.grammar.document import CapabilityDoc, PatternDoc, VocabularyDocument
    from tasker_ctl.grammar.explain import ExplanationTrace
    from tasker_ctl.grammar.validation import MutationPolicy
    from tasker_ctl.report.validation_json import ValidationOutput
    from tasker_ctl.template.diagnostics import ValidationReport
    from tasker_ctl.template.source import SourceDocument

__all__ = [
    "IN_MEMORY_COMPOSITION",
    "capability_inspect",
    "composition_explanation",
    "composition_report",
    "composition_validation",
    "grammar_list",
    "plain_json",
    "vocabulary_document",
]

# how a composition given as data is named in findings (it has no file)
IN_MEMORY_COMPOSITION = "<composition>"


# -- the vocabulary ---------------------------------------------------------------------------


def grammar_list(search: str | None = None, category: str | None = None) -> VocabularyDocument:
    """``grammar list``: every capability and pattern, one line each (tier 1); with ``search``
    only those whose name, summary or config field names hold every word of it (case aside),
    names matching first; with ``category`` only that category's capabilities and the patterns
    that use one."""
    from tasker_ctl.grammar.document import vocabulary

    document = vocabulary(tier=1)
    capabilities, patterns = list(document.capabilities), list(document.patterns)
    if category is not None:
        kinds = _category_kinds(category)
        capabilities = [entry for entry in capabilities if entry.category == category]
        patterns = [entry for entry in patterns if set(entry.capabilities) & kinds]
    if search is not None:
        terms = search.casefold().split()
        if not terms:
            raise UsageError("the search is empty", hint="give one or more words to look for")
        capabilities = _ranked(capabilities, terms, _capability_texts)
        patterns = _ranked(patterns, terms, _pattern_texts)
    return document.model_copy(update={"capabilities": capabilities, "patterns": patterns})


def capability_inspect(name: str) -> VocabularyDocument:
    """``grammar inspect NAME``: one capability or pattern with everything about it (tier 3)."""
    from tasker_ctl.grammar.document import vocabulary

    is_capability = vocabulary_kind(name) == "capability"
    return vocabulary(
        tier=3,
        capabilities=[name] if is_capability else [],
        patterns=[] if is_capability else [name],
    )


def vocabulary_document(
    tier: int = 3, capabilities: Sequence[str] | None = None
) -> VocabularyDocument:
    """``grammar document --json``: the vocabulary at ``tier`` (1 one line each, 2 contracts and
    config schemas, 3 the field reference and examples), only ``capabilities`` when given."""
    from tasker_ctl.grammar.document import TIERS, vocabulary

    if tier not in TIERS:
        raise UsageError(f"tier {tier} does not exist", hint="1, 2 or 3")
    for name in capabilities or ():
        if vocabulary_kind(name) != "capability":
            raise _unknown(f"'{name}' is not a capability", name, capability_names())
    return vocabulary(tier=tier, capabilities=list(capabilities) if capabilities else None)


def vocabulary_kind(name: str) -> str:
    """``capability`` or ``pattern``; ``UNKNOWN_VOCABULARY`` with a suggestion otherwise."""
    from tasker_ctl.grammar.patterns import PATTERNS

    if name in capability_names():
        return "capability"
    if name in PATTERNS:
        return "pattern"
    raise _unknown(
        f"no capability or pattern named '{name}'", name, [*capability_names(), *PATTERNS]
    )


def capability_names() -> list[str]:
    from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES

    return list(CAPABILITY_NAMES)


def _unknown(message: str, name: str, known: Sequence[str]) -> Exception:
    from tasker_ctl.grammar.errors import UnknownVocabularyError
    from tasker_ctl.template.issue import suggestion_hint

    hint = suggestion_hint(name, known) or "see 'tasker-ctl grammar list'"
    return UnknownVocabularyError(message, hint=hint)


def _category_kinds(category: str) -> set[str]:
    """The capabilities of ``category``; a coded error naming the categories otherwise."""
    from tasker_ctl.grammar.capabilities import REGISTRY
    from tasker_ctl.grammar.capabilities.base import Category
    from tasker_ctl.grammar.errors import UnknownVocabularyError
    from tasker_ctl.template.issue import suggestion_hint

    known = [str(kind) for kind in Category]
    if category not in known:
        raise UnknownVocabularyError(
            f"no capability category named '{category}'",
            hint=suggestion_hint(category, known) or f"the categories: {', '.join(known)}",
        )
    return {name for name, entry in REGISTRY.items() if str(entry.category) == category}


def _capability_texts(entry: CapabilityDoc) -> tuple[str, str, list[str]]:
    from tasker_ctl.grammar.capabilities import REGISTRY
    from tasker_ctl.grammar.document import field_reference

    fields = field_reference(REGISTRY[entry.name].config_schema())
    return entry.name, entry.summary, [field.path for field in fields]


def _pattern_texts(entry: PatternDoc) -> tuple[str, str, list[str]]:
    from tasker_ctl.grammar.document import field_reference
    from tasker_ctl.grammar.patterns import PATTERNS

    pattern = PATTERNS[entry.name]
    fields = field_reference(pattern.params_schema())
    return entry.name, f"{entry.summary} {pattern.description}", [field.path for field in fields]


def _ranked(entries: list[Any], terms: list[str], texts: Any) -> list[Any]:
    """The entries holding every term somewhere, best first: the name is the whole query,
    then a term in the name, then in the summary, then only in config field names; catalog
    order within a rank."""
    query = " ".join(terms)
    found: list[tuple[int, int, Any]] = []
    for order, entry in enumerate(entries):
        name, summary, fields = texts(entry)
        name, summary = name.casefold(), summary.casefold()
        field_text = " ".join(fields).casefold()
        if not all(term in name or term in summary or term in field_text for term in terms):
            continue
        if name == query:
            rank = 0
        elif any(term in name for term in terms):
            rank = 1
        elif any(term in summary for term in terms):
            rank = 2
        else:
            rank = 3
        found.append((rank, order, entry))
    return [entry for _, _, entry in sorted(found, key=lambda item: item[:2])]


# -- compositions -----------------------------------------------------------------------------


def plain_json(value: Any, what: str, error: type[UsageError]) -> Any:
    """``value`` (data a client sent) held to the limits of a JSON file: nesting, numbers,
    text a database stores; ``error`` (coded) names ``what`` otherwise."""
    import json

    from tasker_ctl.bounded_json import loads
    from tasker_ctl.errors import JsonInputError

    try:
        text = json.dumps(value, allow_nan=True)
    except RecursionError:
        raise error(f"{what} is nested too deeply", hint="at most 64 levels") from None
    except (TypeError, ValueError) as problem:
        raise error(f"{what} is not JSON data: {problem}", hint="send JSON values") from None
    try:
        return loads(text)
    except JsonInputError as problem:
        raise error(f"{what}: {problem.message}", hint=problem.hint) from None


def _composition_source(
    path: Path | None, composition: Mapping[str, Any] | None, shown: str | None
) -> SourceDocument:
    """The composition as a document: the file read (FILE_UNREADABLE... become findings),
    or the data as it is; exactly one of the two."""
    from tasker_ctl.grammar.errors import CompositionFileError
    from tasker_ctl.grammar.files import in_memory, read_composition

    if (path is None) == (composition is None):
        raise UsageError(
            "give a composition file or a composition, not both or neither",
            hint="name a file with 'path', or send the composition as an object",
        )
    if composition is not None:
        data = plain_json(dict(composition), "the composition", CompositionFileError)
        return in_memory(data, shown or IN_MEMORY_COMPOSITION)
    assert path is not None
    _require_file(path, shown)
    return read_composition(path, shown or str(path))


def composition_report(
    *,
    path: Path | None = None,
    composition: Mapping[str, Any] | None = None,
    shown: str | None = None,
    step: str | None = None,
    policy: MutationPolicy = "checkpointed",
) -> ValidationReport:
    """The findings of a composition (or a template's composition steps, ``step`` alone if
    given), as ``composition validate`` reports them in every format."""
    from tasker_ctl.errors import FileReadError
    from tasker_ctl.grammar.files import validate_composition_document
    from tasker_ctl.template.diagnostics import ValidationReport
    from tasker_ctl.template.validator import unreadable_report

    try:
        document = _composition_source(path, composition, shown)
    except FileReadError as error:
        return ValidationReport(files=[unreadable_report(shown or str(path), error)])
    report = validate_composition_document(document, step_name=step, policy=policy)
    return ValidationReport(files=[report])


def composition_validation(
    *,
    path: Path | None = None,
    composition: Mapping[str, Any] | None = None,
    shown: str | None = None,
    step: str | None = None,
    policy: MutationPolicy = "checkpointed",
    strict: bool = False,
) -> ValidationOutput:
    """``composition validate --json``: ``composition_report`` as the validation document."""
    from tasker_ctl.report.validation_json import build_output

    report = composition_report(
        path=path, composition=composition, shown=shown, step=step, policy=policy
    )
    return build_output(report, strict=strict)


def composition_explanation(
    *,
    path: Path | None = None,
    composition: Mapping[str, Any] | None = None,
    shown: str | None = None,
    step: str | None = None,
    sample_context: Any = None,
    sample_deps: Any = None,
    sample_step: Any = None,
    mock_outputs: Any = None,
    fixtures: Path | None = None,
    case: str | None = None,
) -> ExplanationTrace:
    """``composition explain --json``: what each invocation reads and produces; with samples
    (None: not given) or a fixtures file, the composition run against them (no network, no
    database). A sample of the wrong shape is ``INVALID_SAMPLE_JSON``."""
    from pydantic import ValidationError

    from tasker_ctl.grammar.explain import Simulation, explain_composition, load_fixture_file
    from tasker_ctl.grammar.files import composition_of

    if case is not None and fixtures is None:
        raise UsageError("--case needs --fixtures", hint="name the *_fixtures.json file")
    spec, contract = composition_of(_composition_source(path, composition, shown), step)
    simulation = None
    if fixtures is not None:
        _require_file(fixtures, None)
        simulation = load_fixture_file(fixtures, case=case)
    samples = {
        "context": sample_context,
        "deps": sample_deps,
        "step": sample_step,
        "mock_outputs": mock_outputs,
    }
    given = {
        key: plain_json(value, f"the sample {key}", SampleJsonError)
        for key, value in samples.items()
        if value is not None
    }
    if given:
        base = simulation.model_dump() if simulation is not None else {}
        try:
            simulation = Simulation.model_validate({**base, **given})
        except ValidationError as error:
            problem = error.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in problem["loc"])
            raise SampleJsonError(
                f"the sample {where}: {problem['msg']}",
                hint="deps and step are objects; mock_outputs is an object keyed by "
                "invocation index",
            ) from None
    return explain_composition(spec, step=contract, simulation=simulation)


def _require_file(path: Path, shown: str | None) -> None:
    name = shown or str(path)
    if not path.exists():
        raise PathNotFoundError(f"'{name}' does not exist", hint="check the path")
    if not path.is_file():
        raise UsageError(f"'{name}' is not a file", hint="name a composition or template file")
