"""validate: the trust boundary, where data from outside is held to a JSON Schema."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field

from tasker_ctl.grammar.capabilities._support import (
    GrammarCapability,
    JsonSchema,
    LowerCase,
    expect,
    format_problems,
    schema_problems,
)
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    ExpressionSite,
    FlowKind,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.capabilities.coercion import coerce, drop_undeclared
from tasker_ctl.grammar.errors import FailureKind, InvocationError

OnFailure = Literal["error", "warn", "skip"]
WARNINGS_KEY = "_validation_warnings"
WRAPPED_VALUE_KEY = "_value"


class ValidateConfig(CapabilityConfig):
    """Check the invocation's input (prev, or context on the first invocation) against a JSON
    Schema, optionally coercing loose types and dropping undeclared properties first."""

    # ``schema`` would shadow a BaseModel attribute, so the field hides behind its alias; the
    # Python name must not be accepted as a key, or ``schema_:`` would pass for ``schema:``
    model_config = ConfigDict(extra="forbid", validate_by_name=False, validate_by_alias=True)

    schema_: JsonSchema = Field(
        alias="schema",
        description=(
            "JSON Schema (draft 2020-12) the data must conform to. Its declared shape is also "
            "this invocation's output shape."
        ),
    )
    coerce: bool = Field(
        default=False,
        description=(
            "Convert values to the declared types before checking: numeric and boolean strings "
            "to numbers and booleans, numbers and booleans to strings where a string is "
            "declared, and dates (ISO, MM/DD/YYYY, DD.MM.YYYY, epoch seconds) under format "
            "date-time to RFC 3339 UTC and under format date to YYYY-MM-DD."
        ),
    )
    filter_extra: bool = Field(
        default=False,
        description=(
            "Drop object properties the schema does not declare (recursively) before checking; "
            "objects that declare no properties keep all of theirs."
        ),
    )
    on_failure: Annotated[OnFailure, LowerCase] = Field(
        default="error",
        description=(
            "What a violation does: error fails the step; warn passes the data on with a "
            "_validation_warnings list added (non-objects wrapped as {_value: ...}); skip passes "
            "the data on unchanged."
        ),
    )


class ValidateCapability(GrammarCapability):
    name = "validate"
    category = Category.VALIDATE
    summary = "Check data against a JSON Schema, with optional type coercion and extra-key removal."
    config_model = ValidateConfig
    input_contract = "Reads prev, or context on the first invocation; no expressions."
    output_contract = "The checked (coerced, filtered) data, in the shape the schema declares."
    failure_kinds = (FailureKind.INPUT_VALIDATION,)
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "schema": {
                "type": "object",
                "required": ["email", "age"],
                "properties": {"email": {"type": "string"}, "age": {"type": "integer"}},
            },
            "coerce": True,
            "on_failure": "error",
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        expect(config, ValidateConfig)
        return []

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        # under warn or skip non-conforming data flows on too; the schema still states what the
        # composition expects there, which is what static checks need
        return OutputFlow(FlowKind.DECLARED, expect(config, ValidateConfig).schema_)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, ValidateConfig)
        data = context.target
        if parsed.coerce:
            data = coerce(data, parsed.schema_)
        if parsed.filter_extra:
            data = drop_undeclared(data, parsed.schema_)
        try:
            problems = schema_problems(data, parsed.schema_)
        except ValueError as exc:
            raise InvocationError(FailureKind.CONFIG_VALIDATION, f"config.schema: {exc}") from None
        if not problems:
            return data
        if parsed.on_failure == "skip":
            return data
        messages = [str(problem) for problem in problems]
        if parsed.on_failure == "warn":
            if isinstance(data, dict):
                return {**data, WARNINGS_KEY: messages}
            return {WRAPPED_VALUE_KEY: data, WARNINGS_KEY: messages}
        raise InvocationError(
            FailureKind.INPUT_VALIDATION,
            f"input does not match config.schema: {format_problems(problems)}",
            details={"problems": [{"path": p.path, "constraint": p.constraint} for p in problems]},
        )
