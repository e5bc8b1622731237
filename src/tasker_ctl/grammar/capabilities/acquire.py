"""acquire: read data from a configured resource (a database, an HTTP API).

The operation receives every parsed part of the config: the query parameters evaluated from the
envelope, and a constraints mapping that always carries the keys ``limit``, ``offset``,
``timeout_ms``, ``retry`` (``{max_attempts, backoff_ms}``), ``select`` (``{columns, include}``)
and ``filter`` (``{field: {operator: value}}``), each None when not configured, so that nothing
written in a config is silently ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    model_validator,
)

from tasker_ctl.grammar.capabilities._support import (
    OUTPUT_DESCRIPTION,
    EntityName,
    FieldName,
    GrammarCapability,
    JsonSchema,
    Resource,
    evaluate,
    expect,
    finish,
    record_count,
    resolve_resource,
    result_shape_description,
    result_sites,
    validate_success_description,
)
from tasker_ctl.grammar.capabilities.base import (
    CapabilityConfig,
    Category,
    Expression,
    ExpressionSite,
    InvocationContext,
    OutputFlow,
)
from tasker_ctl.grammar.errors import FailureKind, InvocationError

RESULT_ENVELOPE = "{data, total_count, record_count}"

Scalar = StrictStr | StrictInt | Annotated[StrictFloat, Field(allow_inf_nan=False)] | StrictBool

_CLOSED = ConfigDict(extra="forbid")
# keys are validated by pattern, which the schema states as patternProperties; closing it makes
# the schema refuse the keys the model refuses
_CLOSED_MAP = Field(json_schema_extra={"additionalProperties": False})
_OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "is_null", "like")


class Include(BaseModel):
    """A related entity joined into each record."""

    model_config = _CLOSED

    entity: EntityName = Field(description="The related entity inside the same resource.")
    foreign_key: list[FieldName] = Field(
        min_length=1, description="Fields of the acquired entity that point at the related one."
    )
    references: list[FieldName] = Field(
        min_length=1,
        description="Fields of the related entity they point at, in the same order.",
    )
    columns: list[FieldName] | None = Field(
        default=None,
        min_length=1,
        description="Fields of the related entity to include; all when absent.",
    )

    @model_validator(mode="after")
    def _keys_pair_up(self) -> Include:
        if len(self.foreign_key) != len(self.references):
            raise ValueError("'foreign_key' and 'references' must list the same number of fields")
        return self


class Select(BaseModel):
    """Which fields to fetch and which related entities to join in."""

    model_config = _CLOSED

    columns: list[FieldName] | None = Field(
        default=None, min_length=1, description="Fields to fetch; all when absent."
    )
    include: Annotated[dict[FieldName, Include], _CLOSED_MAP] | None = Field(
        default=None,
        description="Related entities to join, keyed by the name they appear under in a record.",
    )


class FilterCondition(BaseModel):
    """Operators a field must satisfy; several operators on one field must all hold."""

    model_config = ConfigDict(extra="forbid", validate_by_name=False, validate_by_alias=True)

    eq: Scalar | None = Field(default=None, description="Equal to the value.")
    neq: Scalar | None = Field(default=None, description="Not equal to the value.")
    gt: Scalar | None = Field(default=None, description="Greater than the value.")
    gte: Scalar | None = Field(default=None, description="Greater than or equal to the value.")
    lt: Scalar | None = Field(default=None, description="Less than the value.")
    lte: Scalar | None = Field(default=None, description="Less than or equal to the value.")
    in_: list[Scalar] | None = Field(
        default=None, alias="in", description="Equal to one of the listed values."
    )
    not_in: list[Scalar] | None = Field(
        default=None, description="Equal to none of the listed values."
    )
    is_null: StrictBool | None = Field(
        default=None, description="true: the field is null; false: it is not."
    )
    like: StrictStr | None = Field(
        default=None, description="Matches an SQL LIKE pattern ('%' any run, '_' one character)."
    )

    @model_validator(mode="after")
    def _has_operator(self) -> FilterCondition:
        if not self.as_operators():
            raise ValueError(
                f"a filter condition needs one of the operators {', '.join(_OPERATORS)}"
            )
        return self

    def as_operators(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True)


class Retry(BaseModel):
    """How the operation retries a failed read before the invocation fails."""

    model_config = _CLOSED

    max_attempts: StrictInt = Field(
        ge=1, le=100, description="Attempts in total, the first included."
    )
    backoff_ms: StrictInt | None = Field(
        default=None, ge=0, le=3_600_000, description="Wait between attempts in milliseconds."
    )


class AcquireConstraints(BaseModel):
    """Bounds of one read."""

    model_config = _CLOSED

    limit: StrictInt | None = Field(default=None, ge=1, description="Most records to return.")
    offset: StrictInt | None = Field(
        default=None, ge=0, description="Records to skip before the first one returned."
    )
    timeout_ms: StrictInt | None = Field(
        default=None, ge=1, le=3_600_000, description="Time allowed for the read in milliseconds."
    )
    retry: Retry | None = Field(default=None, description="Retry of the read inside the step.")


class AcquireConfig(CapabilityConfig):
    """Read records from a resource, optionally filtered, projected and joined; the output is
    the data (or result_shape applied to the result envelope {data, total_count,
    record_count})."""

    resource: Resource = Field(
        description=(
            "The resource to read: a name used as both resource and entity, or {ref, entity} to "
            "address an entity (table, collection, or HTTP path) inside a named resource."
        )
    )
    select: Select | None = Field(
        default=None, description="Fields to fetch and related entities to join."
    )
    filter: Annotated[dict[FieldName, FilterCondition], _CLOSED_MAP] | None = Field(
        default=None,
        description=(
            'Static conditions per field, e.g. {"status": {"eq": "active"}, "total": '
            '{"gte": 100}}. Values that come from the envelope belong in params.'
        ),
    )
    params: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope producing an object of query parameters (for "
            "instance the id to look up, taken from context); {} when absent."
        ),
    )
    constraints: AcquireConstraints | None = Field(
        default=None, description="Limit, offset, timeout and retry of the read."
    )
    validate_success: Expression | None = Field(
        default=None, description=validate_success_description(RESULT_ENVELOPE)
    )
    result_shape: Expression | None = Field(
        default=None, description=result_shape_description(RESULT_ENVELOPE)
    )
    output: JsonSchema | None = Field(default=None, description=OUTPUT_DESCRIPTION)


def _constraints(config: AcquireConfig) -> dict[str, Any]:
    bounds = config.constraints or AcquireConstraints()
    return {
        "limit": bounds.limit,
        "offset": bounds.offset,
        "timeout_ms": bounds.timeout_ms,
        "retry": bounds.retry.model_dump() if bounds.retry is not None else None,
        "select": config.select.model_dump(exclude_none=True) if config.select else None,
        "filter": (
            {name: condition.as_operators() for name, condition in config.filter.items()}
            if config.filter is not None
            else None
        ),
    }


class AcquireCapability(GrammarCapability):
    name = "acquire"
    category = Category.ACQUIRE
    summary = "Read records from a database table or HTTP endpoint, with filters and parameters."
    config_model = AcquireConfig
    input_contract = "Reads the envelope only through params; the resource supplies the data."
    output_contract = (
        "The records read (or result_shape of {data, total_count, record_count}), conforming to "
        "output when declared."
    )
    failure_kinds = (
        FailureKind.EXPRESSION_EVALUATION,
        FailureKind.RESOURCE_NOT_FOUND,
        FailureKind.RESOURCE_UNAVAILABLE,
        FailureKind.TIMEOUT,
        FailureKind.EXECUTION,
        FailureKind.OUTPUT_VALIDATION,
    )
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "resource": {"ref": "crm-db", "entity": "customers"},
            "filter": {"status": {"eq": "active"}},
            "params": {"expression": "{id: .context.customer_id}"},
            "constraints": {"limit": 1, "timeout_ms": 5000},
            "result_shape": {"expression": ".data[0]"},
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, AcquireConfig)
        sites = []
        if parsed.params is not None:
            sites.append(ExpressionSite("config.params.expression", parsed.params.expression))
        return [*sites, *result_sites(parsed.validate_success, parsed.result_shape)]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        return OutputFlow.declared(expect(config, AcquireConfig).output)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, AcquireConfig)
        params: Any = {}
        if parsed.params is not None:
            params = evaluate(
                context, parsed.params.expression, context.envelope, "config.params.expression"
            )
            if not isinstance(params, dict):
                raise InvocationError(
                    FailureKind.EXPRESSION_EVALUATION,
                    "config.params.expression must produce an object of query parameters",
                    details={"field_path": "config.params.expression"},
                )
        ref, entity = resolve_resource(parsed.resource)
        result = context.operations.acquire(
            ref, entity, params, _constraints(parsed), invocation_index=context.index
        )
        data = result.get("data")
        envelope = {
            "data": data,
            "total_count": result.get("total_count"),
            "record_count": record_count(data),
        }
        return finish(
            context,
            envelope,
            validate_success=parsed.validate_success,
            result_shape=parsed.result_shape,
            output=parsed.output,
            capability="acquire",
        )
