"""Pieces every capability module shares: resource names, expression evaluation with error
mapping, sanitized JSON-Schema checks and the documentation a capability carries.

Private to the package: the public surface is the registry in ``capabilities/__init__.py``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, TypeVar

import jsonschema
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from tasker_ctl.errors import SchemaUnusableError
from tasker_ctl.grammar.capabilities.base import (
    Capability,
    CapabilityConfig,
    Expression,
    ExpressionSite,
    InvocationContext,
    Target,
)
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.grammar.json_types import json_type
from tasker_ctl.schema_refs import build_validator, validation_errors

MAX_NAME_LENGTH = 128
REF_PATTERN = r"^[A-Za-z0-9_.-]+$"
# HTTP resources address collections by path (``v1/customers``), so an entity may have several
# segments; empty, ``.`` and ``..`` segments are refused so an entity can never climb out of the
# resource's base path.
ENTITY_PATTERN = r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$"
MAX_REPORTED_PROBLEMS = 20
MAX_EXPRESSION_IN_MESSAGE = 200


class GrammarCapability(Capability):
    """A capability of the shipped vocabulary, with the documentation tier 3 renders."""

    failure_kinds: ClassVar[tuple[FailureKind, ...]] = ()
    examples: ClassVar[tuple[dict[str, Any], ...]] = ()


ConfigT = TypeVar("ConfigT", bound=CapabilityConfig)


def expect(config: CapabilityConfig, model: type[ConfigT]) -> ConfigT:
    """Narrow a parsed config to the capability's own model (another model is a caller bug)."""
    if not isinstance(config, model):
        raise TypeError(f"expected a {model.__name__}, got {type(config).__name__}")
    return config


def lowercase(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


# enum-like fields accept any letter case, since configs in the wild spell them both ``Update``
# and ``update``; the schema lists the lowercase spelling only, so generated configs agree
LowerCase = BeforeValidator(lowercase)


def _no_dot_segments(entity: str) -> str:
    if any(segment in {".", ".."} for segment in entity.split("/")):
        raise ValueError("an entity path may not contain '.' or '..' segments")
    return entity


ResourceName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=REF_PATTERN),
]
EntityName = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=ENTITY_PATTERN),
    AfterValidator(_no_dot_segments),
]

# a field (column, JSON property) of an entity, as filters, projections and keys name it
FieldName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=REF_PATTERN)]


class ResourceRef(BaseModel):
    """A resource named separately from the entity addressed inside it."""

    model_config = ConfigDict(extra="forbid")

    ref: ResourceName = Field(
        description=(
            "Name of a resource configured for the worker (a database, an HTTP API, an event "
            "bus): letters, digits, '_', '.' and '-', at most 128 characters."
        )
    )
    entity: EntityName = Field(
        description=(
            "What to address inside the resource: a table or collection name, or for HTTP "
            "resources a '/'-separated path relative to the resource's base URL (no '.' or '..' "
            "segments), at most 128 characters."
        )
    )


Resource = ResourceName | ResourceRef


def resolve_resource(resource: str | ResourceRef) -> tuple[str, str]:
    """``(ref, entity)``: a bare name is both."""
    if isinstance(resource, ResourceRef):
        return resource.ref, resource.entity
    return resource, resource


def _metaschema_validator() -> Any:
    cls = jsonschema.Draft202012Validator
    return build_validator(cls.META_SCHEMA, validator_class=cls, check_formats=True)


def check_schema(schema: Any) -> Any:
    """Reject a JSON Schema that is itself malformed, at parse time rather than mid-run."""
    # the first error, as jsonschema's own check_schema reports it
    for exc in _metaschema_validator().iter_errors(schema):
        where = "/".join(str(part) for part in exc.absolute_path) or "(root)"
        raise ValueError(f"not a valid JSON Schema at {where}: {exc.validator} constraint")
    return schema


JsonSchema = Annotated[dict[str, Any], AfterValidator(check_schema)]


def is_truthy(value: Any) -> bool:
    """jq truthiness: only null and false are false."""
    return value is not None and value is not False


def truncate(text: str, limit: int = MAX_EXPRESSION_IN_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evaluate(context: InvocationContext, expression: str, value: Any, field_path: str) -> Any:
    """Evaluate through the injected engine, naming the config field when it fails."""
    try:
        return context.evaluate(expression, value)
    except InvocationError:
        raise
    except Exception as exc:
        # the expression engine's errors carry ``.kind``; bare jq bindings raise ValueError
        if not (hasattr(exc, "kind") or isinstance(exc, ValueError)):
            raise
        raise InvocationError(
            FailureKind.EXPRESSION_EVALUATION,
            f"{field_path} failed: {exc}",
            details={"field_path": field_path},
        ) from exc


def evaluate_string(
    context: InvocationContext, expression: str, value: Any, field_path: str
) -> str:
    """Evaluate an expression that must produce a string (keys, ids): anything else is an
    error rather than a silently missing value."""
    result = evaluate(context, expression, value, field_path)
    if not isinstance(result, str):
        raise InvocationError(
            FailureKind.EXPRESSION_EVALUATION,
            f"{field_path} must produce a string, got {json_type(result)}",
            details={"field_path": field_path},
        )
    return result


@dataclass(frozen=True)
class SchemaProblem:
    """One schema violation, described without the offending value."""

    path: str
    constraint: str

    def __str__(self) -> str:
        return f"at {self.path}: {self.constraint}"


def _pointer(parts: Any) -> str:
    escaped = [str(part).replace("~", "~0").replace("/", "~1") for part in parts]
    return "/" + "/".join(escaped) if escaped else "(root)"


def _names(names: Any) -> str:
    return ", ".join(repr(str(name)) for name in names)


_BOUNDS = {
    "minimum": ">=",
    "maximum": "<=",
    "exclusiveMinimum": ">",
    "exclusiveMaximum": "<",
}
_SIZES = {
    "minLength": ("at least", "characters"),
    "maxLength": ("at most", "characters"),
    "minItems": ("at least", "items"),
    "maxItems": ("at most", "items"),
    "minProperties": ("at least", "properties"),
    "maxProperties": ("at most", "properties"),
}


def _describe(error: jsonschema.ValidationError) -> str:
    # built from the keyword and the schema's own value: jsonschema's messages quote the
    # instance, and inputs may carry personal data that must not reach logs
    keyword = str(error.validator)
    expected: Any = error.validator_value
    instance: Any = error.instance
    if keyword == "type":
        types = expected if isinstance(expected, list) else [expected]
        return f"must be of type {' or '.join(str(t) for t in types)}"
    if keyword == "required":
        present = instance if isinstance(instance, Mapping) else {}
        missing = [name for name in expected if name not in present]
        noun = "property" if len(missing) == 1 else "properties"
        return f"missing required {noun} {_names(missing)}"
    if keyword in _BOUNDS:
        return f"must be {_BOUNDS[keyword]} {expected}"
    if keyword in _SIZES:
        amount, unit = _SIZES[keyword]
        return f"must have {amount} {expected} {unit}"
    if keyword == "enum":
        allowed = json.dumps(expected, sort_keys=True, default=str)
        return f"must be one of {truncate(allowed, 120)}"
    if keyword == "const":
        return "must equal the constant the schema declares"
    if keyword == "multipleOf":
        return f"must be a multiple of {expected}"
    if keyword == "uniqueItems":
        return "items must be unique"
    if keyword == "pattern":
        return f"must match the pattern {expected!r}"
    if keyword == "format":
        return f"must be a valid {expected}"
    if keyword in {"additionalProperties", "unevaluatedProperties"}:
        # property names are the schema's vocabulary, not the data, so naming them is safe
        declared = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        if isinstance(instance, Mapping) and isinstance(declared, Mapping):
            extra = sorted(str(k) for k in instance if k not in declared)
            if extra:
                return f"has properties the schema does not allow: {_names(extra)}"
        return "has properties the schema does not allow"
    if keyword == "anyOf":
        return "must match at least one of the alternatives (anyOf)"
    if keyword == "oneOf":
        return "must match exactly one of the alternatives (oneOf)"
    if keyword == "not":
        return "must not match the excluded schema (not)"
    if keyword == "contains":
        return "must contain an item matching the 'contains' schema"
    if keyword == "dependentRequired":
        return "missing a property that another present property requires"
    if keyword == "false":
        return "is not allowed here"
    return f"fails the {keyword!r} constraint"


def schema_problems(value: Any, schema: Any) -> list[SchemaProblem]:
    """Every violation of ``schema`` by ``value``, ordered by location.

    Raises ValueError when the schema cannot be applied: a ``$ref`` outside the schema (named
    in the message; nothing is ever fetched), or a construct the validator cannot run."""
    validator = build_validator(schema, validator_class=jsonschema.Draft202012Validator)
    try:
        errors = validation_errors(validator, value)
    except SchemaUnusableError as exc:
        raise ValueError(f"the schema cannot be applied: {exc.message}") from None
    errors.sort(key=lambda e: ([str(p) for p in e.absolute_path], str(e.validator)))
    return [SchemaProblem(_pointer(e.absolute_path), _describe(e)) for e in errors]


def format_problems(problems: list[SchemaProblem]) -> str:
    shown = [str(problem) for problem in problems[:MAX_REPORTED_PROBLEMS]]
    rest = len(problems) - len(shown)
    if rest > 0:
        shown.append(f"and {rest} more")
    return "; ".join(shown)


def check_output(value: Any, schema: dict[str, Any] | None, field_path: str) -> Any:
    """Hold an invocation's output to the schema it declared."""
    if schema is None:
        return value
    try:
        problems = schema_problems(value, schema)
    except ValueError as exc:
        raise InvocationError(FailureKind.CONFIG_VALIDATION, f"{field_path}: {exc}") from None
    if problems:
        raise InvocationError(
            FailureKind.OUTPUT_VALIDATION,
            f"output does not match {field_path}: {format_problems(problems)}",
            details={
                "field_path": field_path,
                "problems": [{"path": p.path, "constraint": p.constraint} for p in problems],
            },
        )
    return value


def validate_success_description(envelope: str) -> str:
    return (
        f"Optional jq expression over the result envelope {envelope}; the invocation fails "
        "unless its value is truthy (anything but null and false)."
    )


def result_shape_description(envelope: str) -> str:
    return (
        f"Optional jq expression over the result envelope {envelope} whose value becomes the "
        "invocation's output; without it the output is the envelope's data."
    )


OUTPUT_DESCRIPTION = (
    "Optional JSON Schema of this invocation's output (after result_shape). Declaring it lets "
    "later invocations and the outcome be checked before the step runs; the output is also "
    "validated against it at run time."
)


def record_count(data: Any) -> int:
    """Records in an operation's data: a list counts its items, no data counts none, and any
    other value is one record."""
    if data is None:
        return 0
    return len(data) if isinstance(data, list) else 1


def finish(
    context: InvocationContext,
    envelope: dict[str, Any],
    *,
    validate_success: Any,
    result_shape: Any,
    output: dict[str, Any] | None,
    capability: str,
) -> Any:
    """The tail every side-effecting capability shares: check success over the result envelope,
    shape it, then hold the result to the declared output schema."""
    if validate_success is not None:
        verdict = evaluate(
            context, validate_success.expression, envelope, "config.validate_success.expression"
        )
        if not is_truthy(verdict):
            raise InvocationError(
                FailureKind.EXECUTION,
                f"{capability} finished but validate_success is not met "
                f"({truncate(validate_success.expression)})",
                details={"field_path": "config.validate_success.expression"},
            )
    if result_shape is not None:
        result = evaluate(
            context, result_shape.expression, envelope, "config.result_shape.expression"
        )
    else:
        result = envelope.get("data")
    return check_output(result, output, "config.output")


def result_sites(
    validate_success: Expression | None, result_shape: Expression | None
) -> list[ExpressionSite]:
    """The expressions an action capability evaluates over its operation's result envelope."""
    sites = []
    if validate_success is not None:
        sites.append(
            ExpressionSite(
                "config.validate_success.expression", validate_success.expression, Target.RESULT
            )
        )
    if result_shape is not None:
        sites.append(
            ExpressionSite("config.result_shape.expression", result_shape.expression, Target.RESULT)
        )
    return sites
