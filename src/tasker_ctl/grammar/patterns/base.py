"""What a named composition is: typed parameters and an expansion into a written-out spec."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tasker_ctl.grammar.errors import PatternError

MAX_DESCRIPTION = 4096


class PatternParams(BaseModel):
    """Base of every pattern's parameters: unknown keys are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid")

    description: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_DESCRIPTION,
        description="What the step achieves, in words (the outcome description); optional.",
    )


ParamsT = TypeVar("ParamsT", bound=PatternParams)


def expect_params(params: PatternParams, model: type[ParamsT]) -> ParamsT:
    """Narrow parsed parameters to the pattern's own model (another model is a caller bug)."""
    if not isinstance(params, model):
        raise TypeError(f"expected {model.__name__}, got {type(params).__name__}")
    return params


def _location(loc: tuple[int | str, ...]) -> str:
    text = "config"
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def describe_validation_error(error: ValidationError) -> str:
    """Each problem as ``config.<field>: <message>``, without the offending input."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{_location(tuple(item['loc']))}: {message}")
    return "; ".join(problems)


class Pattern(ABC):
    """A named composition of the catalog: parameters in, a written-out composition out."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line
    description: ClassVar[str]  # what it does and when to use it
    params_model: ClassVar[type[PatternParams]]
    capabilities: ClassVar[tuple[str, ...]]  # every capability an expansion may use
    examples: ClassVar[tuple[dict[str, Any], ...]] = ()

    def params_schema(self) -> dict[str, Any]:
        """The JSON Schema of the parameters, generated from the model."""
        return self.params_model.model_json_schema()

    def parse(self, params: Any) -> PatternParams:
        """Parse raw parameters (raises pydantic.ValidationError)."""
        if isinstance(params, self.params_model):
            return params
        return self.params_model.model_validate(params if params is not None else {})

    def expand(self, params: Any) -> dict[str, Any]:
        """The written-out composition ``{name, outcome{description, output_schema},
        invocations[{capability, config, checkpoint}]}`` (raises PatternError)."""
        try:
            parsed = self.parse(params)
        except ValidationError as exc:
            raise PatternError(
                f"pattern '{self.name}': {describe_validation_error(exc)}",
                hint=f"see the parameters of '{self.name}' in docs/grammar-reference.md",
            ) from None
        return self.build(parsed)

    @abstractmethod
    def build(self, params: PatternParams) -> dict[str, Any]:
        """The expansion of already parsed parameters."""


def composition(
    name: str, description: str, output_schema: Any, invocations: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "name": name,
        "outcome": {"description": description, "output_schema": output_schema},
        "invocations": invocations,
    }


def invocation(
    capability: str, config: dict[str, Any], *, checkpoint: bool = False
) -> dict[str, Any]:
    return {"capability": capability, "config": config, "checkpoint": checkpoint}
