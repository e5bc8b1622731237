"""Stages 2, 3, 4 and 7: what each step's handler names exists and is allowed, its composition
is sound under the strict mutation policy and reaches only what the template and the trust
policy allow, its config fits its schema, and the data its jq reads is declared upstream.

The grammar's composition validator runs once per step; its findings are sorted into the
stages by their code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tasker_ctl.grammar.validation import CompositionFinding, StepContract, validate_composition
from tasker_ctl.grammar.validation.pattern_refs import expand
from tasker_ctl.planning.callables import matches, suggest
from tasker_ctl.planning.fragment import (
    CallableHandler,
    CompositionHandler,
    FragmentStep,
    GrammarHandler,
)
from tasker_ctl.planning.stages_base import Draft, HandlerView, Path, PlacedStep
from tasker_ctl.template.issue import did_you_mean, quote_list
from tasker_ctl.template.model import CompositionSpec

_MUTATION = frozenset(
    {
        "CHECKPOINT_REQUIRED",
        "MULTIPLE_MUTATIONS",
        "INVOCATION_AFTER_MUTATION",
        "EMIT_NOT_LAST",
        "ASSERT_AFTER_MUTATION",
    }
)
_SUSPECT_COMPOSITION = frozenset({"PREV_ON_FIRST_INVOCATION", "UNVERIFIABLE_OUTCOME"})
_CONFIG = frozenset({"CONFIG_SCHEMA_VIOLATION", "PATTERN_INVALID"})
# a planned step's jq may read only what a schema declares: UNDECLARED_FIELD is an error here
_UNDECLARED = frozenset(
    {
        "UNKNOWN_DEPENDENCY",
        "UNKNOWN_FIELD",
        "UNDECLARED_FIELD",
        "PATH_TYPE_MISMATCH",
        "MISSING_PRODUCER_SCHEMA",
    }
)
_INCOMPATIBLE = frozenset(
    {"MISSING_REQUIRED_FIELD", "TYPE_MISMATCH", "ENUM_MISMATCH", "EXTRA_FIELD_REJECTED"}
)
_SUSPECT_DATA = frozenset(
    {"SUSPECT_PATH", "FIELD_NOT_GUARANTEED", "ENUM_NOT_CONSTRAINED", "SCHEMA_DEPTH_EXCEEDED"}
)


def view_handler(step: FragmentStep) -> HandlerView:
    """The written-out composition a step's handler stands for, and its output schema (none
    for a callable or a nested planning step)."""
    handler = step.handler
    if isinstance(handler, GrammarHandler):
        return _expanded(handler.grammar, handler.config)
    if isinstance(handler, CompositionHandler):
        return composition_view(handler.composition)
    return HandlerView()


def composition_view(composition: CompositionSpec) -> HandlerView:
    """What a composition block stands for: a pattern reference expanded, or the block as
    written, with its output schema."""
    spec = composition.model_dump(mode="json", exclude_none=True, by_alias=True)
    if "pattern" in spec:
        return _expanded(str(spec["pattern"]), spec.get("config"))
    outcome = spec.get("outcome")
    schema = outcome.get("output_schema") if isinstance(outcome, Mapping) else None
    return HandlerView(spec=spec, output_schema=schema)


def _expanded(name: str, config: Any) -> HandlerView:
    from tasker_ctl.grammar.patterns import PATTERNS

    if name not in PATTERNS:
        return HandlerView()  # stage 2 names it
    spec, problems = expand(name, config)
    if not isinstance(spec, dict):
        return HandlerView(expansion_problems=problems)
    outcome = spec.get("outcome")
    schema = outcome.get("output_schema") if isinstance(outcome, Mapping) else None
    return HandlerView(spec=spec, output_schema=schema, expansion_problems=problems)


def check_existence(draft: Draft) -> None:
    """Stage 2: patterns in the catalog and allowed, callables allowed (and registered),
    compositions only when dynamic composition is allowed."""
    from tasker_ctl.grammar.patterns import PATTERNS

    frame, block = draft.frame, draft.frame.block
    for placed, handler in draft.iter_handlers():
        at = (*placed.path, "handler")
        if isinstance(handler, GrammarHandler):
            name = handler.grammar
            if name not in PATTERNS:
                match = did_you_mean(name, list(PATTERNS))
                draft.add(
                    "FRAGMENT_PATTERN_UNKNOWN",
                    f"step '{placed.name}': pattern '{name}' is not in the grammar's catalog",
                    (*at, "grammar"),
                    step=placed.name,
                    hint=f"did you mean '{match}'?" if match else _allowed_patterns(draft),
                )
            elif not frame.allowed_pattern(name):
                draft.add(
                    "FRAGMENT_PATTERN_NOT_ALLOWED",
                    f"step '{placed.name}': pattern '{name}' is not allowed for planning step "
                    f"'{frame.planning_step}'",
                    (*at, "grammar"),
                    step=placed.name,
                    hint=_allowed_patterns(draft),
                )
        elif isinstance(handler, CallableHandler):
            _check_callable(draft, placed, handler.callable, (*at, "callable"))
        elif isinstance(handler, CompositionHandler) and not block.allow_dynamic_composition:
            draft.add(
                "FRAGMENT_COMPOSITION_NOT_ALLOWED",
                f"step '{placed.name}': a composition handler, but planning step "
                f"'{frame.planning_step}' does not allow dynamic composition",
                (*at, "composition"),
                step=placed.name,
                hint="use an allowed pattern or callable",
            )


def _check_callable(draft: Draft, placed: PlacedStep, name: str, at: Path) -> None:
    frame = draft.frame
    allow_list = frame.block.allowed_callables
    on_list = matches(name, allow_list)
    if not on_list and name not in (frame.callables or ()):
        candidates = [*allow_list, *sorted(frame.callables or ())]
        match = suggest(name, candidates)
        listed = quote_list(allow_list) if allow_list else "none"
        draft.add(
            "FRAGMENT_CALLABLE_NOT_ALLOWED",
            f"step '{placed.name}': handler '{name}' is not allowed",
            at,
            step=placed.name,
            hint=f"did you mean '{match}'?" if match else f"allowed callables: {listed}",
        )
    elif not on_list:
        draft.add(
            "FRAGMENT_CALLABLE_NOT_ALLOWED",
            f"step '{placed.name}': handler '{name}' is registered but not allowed for "
            f"planning step '{frame.planning_step}'",
            at,
            step=placed.name,
            hint="allowed callables: " + (quote_list(allow_list) or "none"),
        )
    elif frame.callables is not None and name not in frame.callables:
        match = suggest(name, sorted(frame.callables))
        draft.add(
            "FRAGMENT_CALLABLE_NOT_REGISTERED",
            f"step '{placed.name}': handler '{name}' is allowed but the worker has not "
            "registered it",
            at,
            step=placed.name,
            hint=f"did you mean '{match}'?" if match else None,
        )


def _allowed_patterns(draft: Draft) -> str:
    allowed = draft.frame.block.allowed_patterns
    return "allowed patterns: " + (quote_list(allowed) if allowed else "none")


def contract_for(draft: Draft, placed: PlacedStep) -> StepContract:
    """What ``.deps`` and ``.context`` hold for a fragment step: its fragment dependencies
    (with the schemas their handlers declare), or, for a root, the planning step."""
    frame = draft.frame
    names = list(dict.fromkeys(placed.step.dependencies))
    if not draft.internal_dependencies(placed) and frame.planning_step not in names:
        names.append(frame.planning_step)
    schemas: dict[str, Any] = {}
    for name in names:
        if name in draft.by_name:
            schema = draft.handlers[name].output_schema
        else:
            schema = frame.result_schema_of(name)
        if schema is not None:
            schemas[name] = schema
    return StepContract(
        step_name=placed.name,
        dependency_names=tuple(names),
        dependency_schemas=schemas,
        input_schema=frame.template.input_schema,
    )


def check_compositions(draft: Draft) -> None:
    """Stages 2 (capabilities), 3 (structure, mutation policy), 4 (config) and 7 (data read
    by jq): the grammar's validator on each composition or pattern expansion."""
    for placed in draft.steps:
        view = draft.handlers[placed.name]
        handler = placed.step.handler
        written_out = (
            isinstance(handler, CompositionHandler) and handler.composition.pattern is None
        )
        base: Path = (*placed.path, "handler")
        if isinstance(handler, GrammarHandler):
            pattern_base: Path = base
        else:
            pattern_base = (*base, "composition")
        for problem in view.expansion_problems:
            draft.add(
                "FRAGMENT_CONFIG_INVALID",
                f"step '{placed.name}': {problem.message}",
                (*pattern_base, *problem.path),
                step=placed.name,
                hint=problem.hint,
            )
        if view.spec is None:
            continue
        report = validate_composition(view.spec, step=contract_for(draft, placed), policy="strict")
        for item in report.findings:
            if written_out:
                path: Path = (*base, "composition", *item.path)
                where = ""
            else:
                path = (*pattern_base, "config") if _has_config(handler) else pattern_base
                where = " (in the pattern's expansion)"
            draft.add(
                _code_of(item),
                f"step '{placed.name}': {item.message}{where} [{item.code}]",
                path,
                step=placed.name,
                hint=item.hint,
            )


def _has_config(handler: Any) -> bool:
    if isinstance(handler, GrammarHandler):
        return bool(handler.config)
    return isinstance(handler, CompositionHandler) and handler.composition.config is not None


def _code_of(item: CompositionFinding) -> str:
    code = item.code
    if code == "MISSING_CAPABILITY":
        return "FRAGMENT_CAPABILITY_UNKNOWN"
    if code in _MUTATION:
        return "FRAGMENT_MUTATION_POLICY"
    if code in _CONFIG:
        return "FRAGMENT_CONFIG_INVALID"
    if code in _UNDECLARED:
        return "FRAGMENT_DATA_UNDECLARED"
    if code in _INCOMPATIBLE:
        return "FRAGMENT_DATA_INCOMPATIBLE"
    if code in _SUSPECT_DATA:
        return "FRAGMENT_DATA_SUSPECT"
    if code in _SUSPECT_COMPOSITION:
        return "FRAGMENT_COMPOSITION_SUSPECT"
    return "FRAGMENT_COMPOSITION_INVALID"
