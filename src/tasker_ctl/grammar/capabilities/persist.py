"""persist: write a record to a configured resource; a mutation, so always checkpointed.

The operation receives the evaluated data and a constraints mapping that always carries
``mode``, ``identity_keys`` (the primary key fields, or None), ``on_conflict`` (or None) and
``upsert_key`` (for upserts, the identity's primary key when not given), so that the mode and
identity written in a config reach the resource instead of defaulting to an insert.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tasker_ctl.grammar.capabilities._support import (
    OUTPUT_DESCRIPTION,
    FieldName,
    GrammarCapability,
    JsonSchema,
    LowerCase,
    Resource,
    evaluate,
    evaluate_string,
    expect,
    finish,
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
from tasker_ctl.grammar.errors import FailureKind

PersistMode = Literal["insert", "update", "upsert", "delete"]
OnConflict = Literal["reject", "update", "skip"]
RESULT_ENVELOPE = "{data, affected_rows, affected_count}"
_KEYED_MODES = frozenset({"update", "upsert", "delete"})
_CLOSED = ConfigDict(extra="forbid")


class Identity(BaseModel):
    """How a record is recognized in the resource."""

    model_config = _CLOSED

    primary_key: list[FieldName] = Field(
        min_length=1, description="Fields that together identify one record."
    )


class PersistConstraints(BaseModel):
    """How a write resolves conflicts and repeats."""

    model_config = _CLOSED

    on_conflict: Annotated[OnConflict, LowerCase] | None = Field(
        default=None,
        description=(
            "What happens when the record already exists: reject (fail), update (overwrite) or "
            "skip (keep the existing record)."
        ),
    )
    upsert_key: list[FieldName] | None = Field(
        default=None,
        min_length=1,
        description="Fields an upsert matches on; identity.primary_key when absent.",
    )
    idempotency_key: Expression | None = Field(
        default=None,
        description=(
            "jq expression over the envelope producing the string that makes a repeated write "
            "harmless; when absent a key derived from the task, step and invocation is used, "
            "identical on every retry."
        ),
    )


class PersistConfig(CapabilityConfig):
    """Insert, update, upsert or delete a record in a resource; the output is the written data
    (or result_shape applied to the result envelope {data, affected_rows, affected_count})."""

    resource: Resource = Field(
        description=(
            "The resource to write: a name used as both resource and entity, or {ref, entity} to "
            "address an entity (table, collection, or HTTP path) inside a named resource."
        )
    )
    mode: Annotated[PersistMode, LowerCase] = Field(
        default="insert",
        description=(
            "insert a new record, update or delete an existing one (matched by "
            "identity.primary_key), or upsert (insert, or update on a match)."
        ),
    )
    data: Expression = Field(
        description="jq expression over the envelope producing the record (or records) to write."
    )
    identity: Identity | None = Field(
        default=None, description="Primary key of the record; required for update, upsert, delete."
    )
    constraints: PersistConstraints | None = Field(
        default=None, description="Conflict handling, upsert key and idempotency key."
    )
    validate_success: Expression | None = Field(
        default=None, description=validate_success_description(RESULT_ENVELOPE)
    )
    result_shape: Expression | None = Field(
        default=None, description=result_shape_description(RESULT_ENVELOPE)
    )
    output: JsonSchema | None = Field(default=None, description=OUTPUT_DESCRIPTION)

    @model_validator(mode="after")
    def _keyed_modes_have_identity(self) -> PersistConfig:
        if self.mode in _KEYED_MODES and self.identity is None:
            raise ValueError(f"mode '{self.mode}' needs 'identity' with its 'primary_key'")
        return self


def _constraints(config: PersistConfig) -> dict[str, Any]:
    extra = config.constraints or PersistConstraints()
    identity_keys = list(config.identity.primary_key) if config.identity is not None else None
    upsert_key = list(extra.upsert_key) if extra.upsert_key is not None else None
    if upsert_key is None and config.mode == "upsert":
        upsert_key = identity_keys
    return {
        "mode": config.mode,
        "identity_keys": identity_keys,
        "on_conflict": extra.on_conflict,
        "upsert_key": upsert_key,
    }


class PersistCapability(GrammarCapability):
    name = "persist"
    category = Category.PERSIST
    summary = "Insert, update, upsert or delete a record in a database table or HTTP resource."
    config_model = PersistConfig
    mutating = True
    supports_idempotency_key = True
    input_contract = "Reads the envelope through data (and an optional idempotency key)."
    output_contract = (
        "The written data (or result_shape of {data, affected_rows, affected_count}), "
        "conforming to output when declared."
    )
    failure_kinds = (
        FailureKind.EXPRESSION_EVALUATION,
        FailureKind.RESOURCE_NOT_FOUND,
        FailureKind.RESOURCE_UNAVAILABLE,
        FailureKind.CONFLICT,
        FailureKind.TIMEOUT,
        FailureKind.EXECUTION,
        FailureKind.OUTPUT_VALIDATION,
    )
    examples: ClassVar[tuple[dict[str, Any], ...]] = (
        {
            "resource": "orders-db",
            "mode": "upsert",
            "data": {"expression": "{order_id: .prev.order_id, total: .prev.total}"},
            "identity": {"primary_key": ["order_id"]},
            "constraints": {"on_conflict": "update"},
            "validate_success": {"expression": ".affected_rows > 0"},
        },
    )

    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        parsed = expect(config, PersistConfig)
        sites = [ExpressionSite("config.data.expression", parsed.data.expression)]
        if parsed.constraints is not None and parsed.constraints.idempotency_key is not None:
            sites.append(
                ExpressionSite(
                    "config.constraints.idempotency_key.expression",
                    parsed.constraints.idempotency_key.expression,
                )
            )
        return [*sites, *result_sites(parsed.validate_success, parsed.result_shape)]

    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        return OutputFlow.declared(expect(config, PersistConfig).output)

    def execute(self, config: CapabilityConfig, context: InvocationContext) -> Any:
        parsed = expect(config, PersistConfig)
        data = evaluate(context, parsed.data.expression, context.envelope, "config.data.expression")
        key = context.idempotency_key.value
        override = parsed.constraints.idempotency_key if parsed.constraints else None
        if override is not None:
            key = evaluate_string(
                context,
                override.expression,
                context.envelope,
                "config.constraints.idempotency_key.expression",
            )
        ref, entity = resolve_resource(parsed.resource)
        result = context.operations.persist(
            ref, entity, data, _constraints(parsed), key, invocation_index=context.index
        )
        affected_count = result.get("affected_count")
        envelope = {
            "data": result.get("data"),
            "affected_rows": affected_count if affected_count is not None else 0,
            "affected_count": affected_count,
        }
        return finish(
            context,
            envelope,
            validate_success=parsed.validate_success,
            result_shape=parsed.result_shape,
            output=parsed.output,
            capability="persist",
        )
