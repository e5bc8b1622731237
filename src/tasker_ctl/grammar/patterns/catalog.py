"""The named compositions shipped with the package.

Every expansion is itself a valid composition: mutating invocations are checkpointed, and a
pattern without a mutation ends with a transform that declares the outcome's shape so it can be
checked before the step runs. Patterns that mutate end with the mutation instead, since a
fallible invocation after a write would fail a step whose effect has already happened.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from tasker_ctl.grammar.capabilities._support import (
    EntityName,
    FieldName,
    JsonSchema,
    LowerCase,
    Resource,
    ResourceName,
    ResourceRef,
)
from tasker_ctl.grammar.capabilities.acquire import AcquireConstraints
from tasker_ctl.grammar.capabilities.base import Expression
from tasker_ctl.grammar.capabilities.emit import EVENT_NAME_PATTERN, DeliveryMode
from tasker_ctl.grammar.capabilities.persist import OnConflict, PersistMode
from tasker_ctl.grammar.patterns.base import (
    Pattern,
    PatternParams,
    composition,
    expect_params,
    invocation,
)

PASS_ON = ".prev"


def _not_empty(schema: dict[str, Any]) -> dict[str, Any]:
    # an empty schema declares nothing, and composition validation refuses it as transform output
    if not schema:
        raise ValueError("an empty schema declares nothing; describe the data")
    return schema


DeclaredSchema = Annotated[
    JsonSchema, AfterValidator(_not_empty), Field(json_schema_extra={"minProperties": 1})
]


def _dump(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def _number_as_text(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


class HttpRequestParams(PatternParams):
    """Parameters of http_request."""

    resource: ResourceName = Field(
        description="Name of the HTTP resource (its base URL and credentials are configured)."
    )
    entity: EntityName = Field(
        description="Path below the resource's base URL, e.g. 'v1/customers'."
    )
    params: Expression | None = Field(
        default=None,
        description="jq expression over the envelope producing the request's query parameters.",
    )
    constraints: AcquireConstraints | None = Field(
        default=None, description="Limit, offset, timeout and retry of the request."
    )
    response_schema: DeclaredSchema | None = Field(
        default=None,
        description=(
            "JSON Schema the response body must match; when given the response is validated "
            "and becomes the step's declared result."
        ),
    )
    coerce: bool = Field(
        default=False,
        description="Coerce response values to the types response_schema declares first.",
    )

    @model_validator(mode="after")
    def _coerce_needs_schema(self) -> HttpRequestParams:
        if self.coerce and self.response_schema is None:
            raise ValueError("'coerce' needs a 'response_schema' to coerce to")
        return self


class HttpRequest(Pattern):
    name = "http_request"
    summary = "Fetch from an HTTP endpoint, optionally validating the response against a schema."
    description = (
        "Reads an HTTP resource entity with query parameters taken from the envelope. With a "
        "response_schema the response is validated (optionally coerced) and declared as the "
        "step's result."
    )
    params_model = HttpRequestParams
    capabilities = ("acquire", "validate", "transform")
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "resource": "weather-api",
            "entity": "v1/forecast",
            "params": {"expression": "{city: .context.city}"},
            "constraints": {"timeout_ms": 5000},
            "response_schema": {
                "type": "object",
                "required": ["temperature"],
                "properties": {"temperature": {"type": "number"}},
            },
        },
    )

    def build(self, params: PatternParams) -> dict[str, Any]:
        parsed = expect_params(params, HttpRequestParams)
        acquire: dict[str, Any] = {"resource": {"ref": parsed.resource, "entity": parsed.entity}}
        if parsed.params is not None:
            acquire["params"] = _dump(parsed.params)
        if parsed.constraints is not None:
            acquire["constraints"] = _dump(parsed.constraints)
        invocations = [invocation("acquire", acquire)]
        schema: dict[str, Any] = {}
        if parsed.response_schema is not None:
            schema = parsed.response_schema
            invocations.append(invocation("validate", {"schema": schema, "coerce": parsed.coerce}))
            invocations.append(invocation("transform", {"filter": PASS_ON, "output": schema}))
        description = parsed.description or f"The response of {parsed.resource}/{parsed.entity}."
        return composition(self.name, description, schema, invocations)


class FetchAndValidateParams(PatternParams):
    """Parameters of fetch_and_validate."""

    # ``schema`` would shadow a BaseModel attribute; only the alias is accepted as a key
    model_config = ConfigDict(extra="forbid", validate_by_name=False, validate_by_alias=True)

    resource: Resource = Field(
        description=(
            "The resource to read: a name used as both resource and entity, or {ref, entity}."
        )
    )
    params: Expression | None = Field(
        default=None,
        description="jq expression over the envelope producing the query parameters.",
    )
    constraints: AcquireConstraints | None = Field(
        default=None, description="Limit, offset, timeout and retry of the read."
    )
    schema_: DeclaredSchema = Field(
        alias="schema", description="JSON Schema the fetched data must match."
    )
    coerce: bool = Field(
        default=True,
        description="Coerce fetched values to the types schema declares before checking.",
    )
    filter_extra: bool = Field(
        default=False,
        description="Drop properties schema does not declare before checking.",
    )
    filter: str = Field(
        min_length=1,
        description=(
            "jq filter over the envelope shaping the validated data (found in .prev) into the "
            "step's result."
        ),
    )
    output: DeclaredSchema = Field(description="JSON Schema of the shaped result.")


class FetchAndValidate(Pattern):
    name = "fetch_and_validate"
    summary = "Read data, hold it to a schema (with coercion), and shape it with a jq filter."
    description = (
        "The trust-boundary pipeline for external data: acquire from a resource, validate "
        "against a JSON Schema (coercing loose types by default), then reshape with a jq "
        "filter whose declared output is the step's result."
    )
    params_model = FetchAndValidateParams
    capabilities = ("acquire", "validate", "transform")
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "resource": {"ref": "crm-db", "entity": "customers"},
            "params": {"expression": "{id: .context.customer_id}"},
            "schema": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "email"],
                    "properties": {"id": {"type": "string"}, "email": {"type": "string"}},
                },
            },
            "filter": ".prev[0] | {customer_id: .id, email}",
            "output": {
                "type": "object",
                "required": ["customer_id", "email"],
                "properties": {
                    "customer_id": {"type": "string"},
                    "email": {"type": "string"},
                },
            },
        },
    )

    def build(self, params: PatternParams) -> dict[str, Any]:
        parsed = expect_params(params, FetchAndValidateParams)
        resource: Any = parsed.resource
        acquire: dict[str, Any] = {
            "resource": _dump(resource) if isinstance(resource, ResourceRef) else resource
        }
        if parsed.params is not None:
            acquire["params"] = _dump(parsed.params)
        if parsed.constraints is not None:
            acquire["constraints"] = _dump(parsed.constraints)
        validate = {
            "schema": parsed.schema_,
            "coerce": parsed.coerce,
            "filter_extra": parsed.filter_extra,
        }
        invocations = [
            invocation("acquire", acquire),
            invocation("validate", validate),
            invocation("transform", {"filter": parsed.filter, "output": parsed.output}),
        ]
        description = parsed.description or "Fetched, validated and shaped data."
        return composition(self.name, description, parsed.output, invocations)


class TransformAndPersistParams(PatternParams):
    """Parameters of transform_and_persist."""

    filter: str = Field(
        min_length=1,
        description="jq filter over the envelope producing the record to write.",
    )
    output: DeclaredSchema = Field(description="JSON Schema of the record the filter produces.")
    resource: Resource = Field(
        description=(
            "The resource to write: a name used as both resource and entity, or {ref, entity}."
        )
    )
    mode: Annotated[PersistMode, LowerCase] = Field(
        default="insert", description="insert, update, upsert or delete."
    )
    primary_key: list[FieldName] | None = Field(
        default=None,
        min_length=1,
        description="Fields identifying the record; required for update, upsert and delete.",
    )
    on_conflict: Annotated[OnConflict, LowerCase] | None = Field(
        default=None, description="reject, update or skip when the record already exists."
    )
    result_shape: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the write's result envelope {data, affected_rows, "
            "affected_count} producing the step's result; the written data when absent."
        ),
    )
    result_schema: DeclaredSchema | None = Field(
        default=None,
        description="JSON Schema of the step's result, checked after the write.",
    )

    @model_validator(mode="after")
    def _keyed_modes_have_key(self) -> TransformAndPersistParams:
        if self.mode in {"update", "upsert", "delete"} and self.primary_key is None:
            raise ValueError(f"mode '{self.mode}' needs 'primary_key'")
        return self


class TransformAndPersist(Pattern):
    name = "transform_and_persist"
    summary = "Build a record with a jq filter and write it to a resource (checkpointed)."
    description = (
        "Computes a record from the envelope with a jq filter, checks it against output, and "
        "writes it with the chosen mode. The write is checkpointed, so a retried step does not "
        "write twice."
    )
    params_model = TransformAndPersistParams
    capabilities = ("transform", "persist")
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "filter": '{order_id: .context.order_id, status: "confirmed"}',
            "output": {
                "type": "object",
                "required": ["order_id", "status"],
                "properties": {"order_id": {"type": "string"}, "status": {"type": "string"}},
            },
            "resource": "orders-db",
            "mode": "upsert",
            "primary_key": ["order_id"],
        },
    )

    def build(self, params: PatternParams) -> dict[str, Any]:
        parsed = expect_params(params, TransformAndPersistParams)
        resource: Any = parsed.resource
        persist: dict[str, Any] = {
            "resource": _dump(resource) if isinstance(resource, ResourceRef) else resource,
            "mode": parsed.mode,
            "data": {"expression": PASS_ON},
        }
        if parsed.primary_key is not None:
            persist["identity"] = {"primary_key": list(parsed.primary_key)}
        if parsed.on_conflict is not None:
            persist["constraints"] = {"on_conflict": parsed.on_conflict}
        if parsed.result_shape is not None:
            persist["result_shape"] = _dump(parsed.result_shape)
        if parsed.result_schema is not None:
            persist["output"] = parsed.result_schema
        invocations = [
            invocation("transform", {"filter": parsed.filter, "output": parsed.output}),
            invocation("persist", persist, checkpoint=True),
        ]
        description = parsed.description or "A computed record, written to its resource."
        return composition(self.name, description, parsed.result_schema or {}, invocations)


class NotifyParams(PatternParams):
    """Parameters of notify."""

    event_name: str = Field(
        max_length=128,
        pattern=EVENT_NAME_PATTERN,
        description="Dotted lowercase event name, e.g. 'order.shipped'.",
    )
    event_version: Annotated[str, BeforeValidator(_number_as_text)] | None = Field(
        default=None, min_length=1, max_length=64, description="Version of the payload contract."
    )
    resource: ResourceName = Field(
        default="events", description="Name of the event bus resource to publish on."
    )
    payload: Expression = Field(
        description="jq expression over the envelope producing the event's payload."
    )
    condition: Expression | None = Field(
        default=None,
        description="jq expression over the envelope; the event is published only when truthy.",
    )
    correlation_id: Expression | None = Field(
        default=None,
        description="jq expression over the envelope producing the event's correlation id.",
    )
    delivery_mode: Annotated[DeliveryMode, LowerCase] = Field(
        default="async", description="async (publish and continue) or sync (await confirmation)."
    )


class Notify(Pattern):
    name = "notify"
    summary = "Publish a domain event, optionally only when a condition holds (checkpointed)."
    description = (
        "Publishes one domain event built from the envelope. The publication is checkpointed, "
        "so a retried step does not publish twice; with a condition that does not hold the "
        "step's result is {emitted: false, reason}."
    )
    params_model = NotifyParams
    capabilities = ("emit",)
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "event_name": "order.shipped",
            "payload": {"expression": "{order_id: .context.order_id}"},
            "condition": {"expression": ".deps.ship_order.shipped"},
        },
    )

    def build(self, params: PatternParams) -> dict[str, Any]:
        parsed = expect_params(params, NotifyParams)
        emit: dict[str, Any] = {
            "event_name": parsed.event_name,
            "resource": parsed.resource,
            "delivery_mode": parsed.delivery_mode,
            "payload": _dump(parsed.payload),
        }
        if parsed.event_version is not None:
            emit["event_version"] = parsed.event_version
        if parsed.condition is not None:
            emit["condition"] = _dump(parsed.condition)
        if parsed.correlation_id is not None:
            emit["metadata"] = {"correlation_id": _dump(parsed.correlation_id)}
        description = parsed.description or f"The {parsed.event_name} event, published."
        invocations = [invocation("emit", emit, checkpoint=True)]
        return composition(self.name, description, {}, invocations)


CATALOG: tuple[Pattern, ...] = (HttpRequest(), FetchAndValidate(), TransformAndPersist(), Notify())
