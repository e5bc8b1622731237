"""The workflow fragment format v1.0: what a planner proposes for a ``type: planning`` step.

A fragment is untrusted input (a model wrote it), so the models refuse anything outside the
format: unknown keys, a handler of two shapes at once, an input that is not a known reference,
a nested planning step with a handler, and sizes beyond the bounds below. ``parse_fragment``
turns those refusals into coded findings.
Only the structure is checked here; whether a pattern or callable exists, whether the steps form
a DAG, and whether references resolve are later stages (docs/fragments.md).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    StrictInt,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from tasker_ctl.template.limits import MAX_STEP_NAME
from tasker_ctl.template.model import CompositionSpec

MAX_FRAGMENT_STEPS = 100
"""Steps in one fragment; a planning step's own bound (``planning.bounds``) is far lower."""

MAX_DEPENDENCIES = 100
"""Dependencies of one fragment step."""

MAX_INPUTS = 64
"""Inputs of one fragment step."""

MAX_TEXT = 8_000
"""Characters of free text (goal, reasoning, names of patterns and callables)."""

MAX_REFERENCE = 1_024
"""Characters of one input reference."""

# Step names appear inside ``${steps.<name>.result...}``, so unlike template step names (which
# only have a length limit) they may hold no dot or brace: the reference stays unambiguous.
STEP_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"

_SEGMENT = r"[A-Za-z0-9_-]+"
_REFERENCE = re.compile(
    r"\$\{(?:(?P<task>task\.context)|steps\.(?P<step>[A-Za-z_][A-Za-z0-9_-]*)\.result)"
    rf"(?P<path>(?:\.{_SEGMENT})*)\}}\Z"
)
REFERENCE_PATTERN = (
    r"^\$\{(?:task\.context|steps\.[A-Za-z_][A-Za-z0-9_-]*\.result)"
    rf"(?:\.{_SEGMENT})*\}}$"
)
"""The same grammar for JSON Schema (ECMA regular expressions have no named groups)."""

_CLOSED = ConfigDict(extra="forbid", frozen=True)

StepName = Annotated[str, Field(min_length=1, max_length=MAX_STEP_NAME, pattern=STEP_NAME_PATTERN)]
ShortText = Annotated[str, Field(min_length=1, max_length=MAX_TEXT)]
Count = Annotated[StrictInt, Field(ge=0, le=1_000_000)]


class InputReference(BaseModel):
    """A parsed ``${task.context.<path>}`` or ``${steps.<name>.result.<path>}``."""

    model_config = _CLOSED

    root: Literal["task_context", "step_result"]
    step: str | None = None
    path: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = "task.context" if self.root == "task_context" else f"steps.{self.step}.result"
        return "${" + ".".join([head, *self.path]) + "}"


def parse_reference(value: Any) -> Any:
    """The reference ``value`` names; a coded error for anything else."""
    if isinstance(value, InputReference):
        return value
    if not isinstance(value, str):
        raise PydanticCustomError(
            "fragment_reference_invalid",
            "an input must be a reference string, not {kind}",
            {"kind": type(value).__name__},
        )
    match = _REFERENCE.match(value) if len(value) <= MAX_REFERENCE else None
    if match is None:
        raise PydanticCustomError(
            "fragment_reference_invalid",
            "an input must be '${task.context.<path>}' or '${steps.<name>.result.<path>}'",
        )
    path = tuple(part for part in match["path"].split(".") if part)
    if match["task"]:
        return InputReference(root="task_context", path=path)
    return InputReference(root="step_result", step=match["step"], path=path)


Reference = Annotated[
    InputReference,
    BeforeValidator(parse_reference),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "pattern": REFERENCE_PATTERN, "maxLength": MAX_REFERENCE}),
]


class PlanningContext(BaseModel):
    """Why the planner proposes this fragment, and how large it expects it to be."""

    model_config = _CLOSED

    goal: ShortText
    reasoning: ShortText
    estimated_steps: Count
    estimated_depth: Count


class ResourceBounds(BaseModel):
    """How far the fragment's downstream may grow."""

    model_config = _CLOSED

    max_downstream_steps: Count | None = None
    max_downstream_depth: Count | None = None


class GrammarHandler(BaseModel):
    """A named pattern of the grammar's catalog, with its config."""

    model_config = _CLOSED

    grammar: ShortText
    config: dict[str, Any] = Field(default_factory=dict)


class CompositionHandler(BaseModel):
    """A composition written out by the planner (only when dynamic composition is allowed)."""

    model_config = _CLOSED

    composition: CompositionSpec


class CallableHandler(BaseModel):
    """A handler registered with the application."""

    model_config = _CLOSED

    callable: ShortText


HANDLER_KEYS = ("grammar", "composition", "callable")


def _present_handler_keys(value: Any) -> list[str]:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    return [key for key in HANDLER_KEYS if isinstance(value, dict) and key in value]


def _handler_shape(value: Any) -> str | None:
    present = _present_handler_keys(value)
    return f"{present[0]}_handler" if len(present) == 1 else None


def _exactly_one_shape(value: Any) -> Any:
    """A coded error for a handler of two shapes, or of none (the union alone says less)."""
    present = _present_handler_keys(value)
    if len(present) > 1:
        raise PydanticCustomError(
            "fragment_handler_ambiguous",
            "a handler has exactly one of 'grammar', 'composition' or 'callable', not {keys}",
            {"keys": " and ".join(present)},
        )
    if not present and isinstance(value, dict):
        raise PydanticCustomError(
            "fragment_handler_missing",
            "a handler needs one of 'grammar', 'composition' or 'callable'",
        )
    if not isinstance(value, dict | BaseModel):
        raise PydanticCustomError(
            "fragment_handler_shape",
            "a handler is an object with one of 'grammar', 'composition' or 'callable'",
        )
    return value


# The tags end in "_handler" so that parse_fragment can drop them from error locations.
Handler = Annotated[
    Annotated[GrammarHandler, Tag("grammar_handler")]
    | Annotated[CompositionHandler, Tag("composition_handler")]
    | Annotated[CallableHandler, Tag("callable_handler")],
    Discriminator(_handler_shape),
    BeforeValidator(_exactly_one_shape),
]


Bound = Annotated[StrictInt, Field(ge=1, le=1_000_000)]


class NestedPlanning(BaseModel):
    """What a nested planning step of a fragment plans: its goal, the results its planner
    reads, and the size of its own fill. Everything else (convergence, allow-lists, model,
    budget) it inherits from the planning step whose fragment holds it, so there is no key
    for it: a nested planner cannot name another convergence."""

    model_config = _CLOSED

    goal: ShortText
    context_from: list[StepName] = Field(default_factory=list, max_length=MAX_DEPENDENCIES)
    max_steps: Bound
    max_depth: Bound


class FragmentStep(BaseModel):
    """One step the planner proposes. A ``step_type: planning`` step is a nested planner: it
    has a ``planning`` object and no handler nor inputs (the engine plans it in turn); any
    other step has a handler and no ``planning``."""

    model_config = _CLOSED

    name: StepName
    # left out of a dump when absent, so that a dumped step matches the JSON Schema's shape
    handler: Handler | None = Field(default=None, exclude_if=lambda value: value is None)
    dependencies: list[StepName] = Field(
        default_factory=list, max_length=MAX_DEPENDENCIES, json_schema_extra={"uniqueItems": True}
    )
    inputs: dict[Annotated[str, Field(max_length=MAX_STEP_NAME)], Reference] = Field(
        default_factory=dict, max_length=MAX_INPUTS
    )
    step_type: Literal["standard", "deferred_convergence", "planning"] = "standard"
    planning: NestedPlanning | None = Field(default=None, exclude_if=lambda value: value is None)
    reasoning: ShortText | None = None

    @field_validator("dependencies")
    @classmethod
    def _unique_dependencies(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise PydanticCustomError(
                "fragment_dependency_duplicate",
                "dependencies repeat {names}",
                {"names": ", ".join(repeated)},
            )
        return value

    @model_validator(mode="after")
    def _shape_of_its_type(self) -> FragmentStep:
        if self.step_type == "planning":
            if self.handler is not None:
                raise _planning_step_error(
                    "handler", "a planning step has no handler: the engine plans it"
                )
            if self.inputs:
                raise _planning_step_error(
                    "inputs",
                    "a planning step has no inputs: name the steps its planner reads in "
                    "planning.context_from",
                )
            if self.planning is None:
                raise _planning_step_error(
                    "planning", "a planning step needs a 'planning' object (goal, bounds)"
                )
        else:
            if self.planning is not None:
                raise _planning_step_error(
                    "planning", "only a 'step_type: planning' step has a 'planning' object"
                )
            if self.handler is None:
                raise PydanticCustomError(
                    "fragment_handler_required",
                    "a {kind} step needs a 'handler'",
                    {"kind": self.step_type},
                )
        return self


def _planning_step_error(key: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("fragment_planning_step_invalid", message, {"key": key})


class Fragment(BaseModel):
    """A workflow fragment, format v1.0."""

    model_config = _CLOSED

    fragment_version: Literal["1.0"]
    planning_context: PlanningContext
    # no steps is a fill of nothing: the convergence runs next
    steps: list[FragmentStep] = Field(min_length=0, max_length=MAX_FRAGMENT_STEPS)
    convergence: StepName | None = None
    resource_bounds: ResourceBounds | None = None

    @model_validator(mode="after")
    def _names_hold_together(self) -> Fragment:
        names = [step.name for step in self.steps]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise PydanticCustomError(
                "fragment_step_duplicate",
                "step names repeat: {names}",
                {"names": ", ".join(repeated)},
            )
        if self.convergence is not None and self.convergence not in names:
            raise PydanticCustomError(
                "fragment_convergence_unknown",
                "convergence names '{name}', which is not a step of the fragment",
                {"name": self.convergence},
            )
        return self
