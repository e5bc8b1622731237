"""What every capability provides: one config model, its contracts, its expressions, its run.

A capability's Pydantic config model is the single source of truth: its JSON Schema is what
``grammar document`` serves and what the validator checks configs against, and the same model
parses the config the executor runs. Nothing about a capability is written down twice.
"""

from __future__ import annotations

import copy
import functools
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar, Protocol

from pydantic import BaseModel, ConfigDict, Field

JsonValue = Any


class Category(StrEnum):
    TRANSFORM = "transform"
    VALIDATE = "validate"
    ASSERT = "assert"
    ACQUIRE = "acquire"
    PERSIST = "persist"
    EMIT = "emit"
    GATE = "gate"


class CapabilityConfig(BaseModel):
    """Base of every capability's config: unknown keys are errors, never silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Expression(BaseModel):
    """A jq expression evaluated over the invocation envelope ``{context, deps, prev, step}``."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, description="jq filter; its first output is used")


class Target(StrEnum):
    """What an expression is evaluated against."""

    ENVELOPE = "envelope"  # {context, deps, prev, step}
    RESULT = "result"  # the operation's result envelope (validate_success, result_shape)


@dataclass(frozen=True)
class ExpressionSite:
    """One expression inside a config, located by its path (``config.params.expression``)."""

    field_path: str
    expression: str
    target: Target = Target.ENVELOPE


class FlowKind(StrEnum):
    """How an invocation's output relates to what came before, for static data-flow checks."""

    DECLARED = "declared"  # the config declares the output schema (transform.output, ...)
    PASS_THROUGH = "pass_through"  # the output is the input target unchanged (assert, gate)
    UNKNOWN = "unknown"  # only known at run time (an acquire without a declared output)


@dataclass(frozen=True)
class OutputFlow:
    """The statically known output of one invocation."""

    kind: FlowKind
    schema: JsonValue = None  # the JSON Schema of the output when ``kind`` is DECLARED

    @classmethod
    def declared(cls, schema: JsonValue) -> OutputFlow:
        """DECLARED with ``schema`` when the config gives one, else UNKNOWN."""
        return cls(FlowKind.UNKNOWN) if schema is None else cls(FlowKind.DECLARED, schema)


@dataclass(frozen=True)
class IdempotencyKey:
    """Deterministic per (task, step, invocation): a retried step sends the same key again."""

    value: str


class Operations(Protocol):
    """The side-effecting world a composition reaches: provided by the engine at run time and
    by fixtures in ``composition explain``. Implementations raise ``InvocationError``.

    Every call names the invocation making it (``invocation_index``): the engine records
    effects with it, fixtures answer with that invocation's mock output."""

    def acquire(
        self,
        resource: str,
        entity: str,
        params: Mapping[str, Any],
        constraints: Mapping[str, Any],
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        """Returns ``{"data": ..., "total_count": int | None}``."""
        ...

    def persist(
        self,
        resource: str,
        entity: str,
        data: Any,
        constraints: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        """Returns ``{"data": ..., "affected_count": int | None}``."""
        ...

    def emit(
        self,
        resource: str,
        event_name: str,
        payload: Any,
        metadata: Mapping[str, Any],
        idempotency_key: str,
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        """Returns ``{"data": ..., "confirmed": bool}``."""
        ...

    def gate_decision(self, invocation_index: int) -> Mapping[str, Any] | None:
        """The recorded approval decision for a gate, or None while nobody has decided:
        ``{"decision": "approved" | "rejected", "by": str, "reason": str | None, "at": str}``."""
        ...


Evaluate = Callable[[str, JsonValue], JsonValue]


@dataclass
class InvocationContext:
    """What one invocation runs with."""

    index: int
    envelope: dict[str, JsonValue]  # {"context", "deps", "prev", "step"}
    operations: Operations
    evaluate: Evaluate  # evaluate(expression, input) -> first output (sandboxed jq)
    idempotency_key: IdempotencyKey
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def target(self) -> JsonValue:
        """``prev`` when there is one, else ``context`` (what validate, assert and gate see)."""
        prev = self.envelope.get("prev")
        return prev if prev is not None else self.envelope.get("context")


class Capability(ABC):
    """One capability of the vocabulary."""

    name: ClassVar[str]
    category: ClassVar[Category]
    summary: ClassVar[str]  # one line, for the tier-1 vocabulary
    config_model: ClassVar[type[CapabilityConfig]]
    mutating: ClassVar[bool] = False
    supports_idempotency_key: ClassVar[bool] = False
    input_contract: ClassVar[str]  # what the invocation reads, in words
    output_contract: ClassVar[str]  # what it produces, in words
    tags: ClassVar[tuple[str, ...]] = ()
    version: ClassVar[str] = "1"

    @property
    def requires_checkpoint(self) -> bool:
        return self.mutating

    def config_schema(self) -> dict[str, Any]:
        """The JSON Schema of the config, generated from the model (once: validation asks
        for it per invocation, and a composition may have thousands)."""
        return copy.deepcopy(_json_schema_of(self.config_model))

    def parse(self, config: JsonValue) -> CapabilityConfig:
        """Parse a raw config (raises pydantic.ValidationError)."""
        return self.config_model.model_validate(config if config is not None else {})

    @abstractmethod
    def expressions(self, config: CapabilityConfig) -> list[ExpressionSite]:
        """Every jq expression of the config, with its field path."""

    @abstractmethod
    def output_flow(self, config: CapabilityConfig) -> OutputFlow:
        """What is statically known about the output."""

    @abstractmethod
    def execute(self, config: CapabilityConfig, context: InvocationContext) -> JsonValue:
        """Run the invocation and return its output (raises InvocationError or GatePending)."""


@functools.cache
def _json_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()
