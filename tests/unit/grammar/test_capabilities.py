"""The capability vocabulary: config models, expression sites, output flows and execution.

Expressions run on real jq through a small evaluator with the contract of the grammar's
expression engine (first output, errors as ValueError); the operations seam is a recording fake.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from ruamel.yaml import YAML

from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES, REGISTRY, get_capability
from tasker_ctl.grammar.capabilities.base import (
    Capability,
    FlowKind,
    IdempotencyKey,
    InvocationContext,
    Target,
)
from tasker_ctl.grammar.errors import ApprovalPending, FailureKind, GatePending, InvocationError

WORKFLOWS = Path("crates/tasker-grammar/tests/fixtures/workflows")
FIXTURE_NAMES = (
    "ecommerce_order_processing",
    "payment_reconciliation",
    "customer_onboarding",
)


# -- the seams ----------------------------------------------------------------------------


def jq_evaluate(expression: str, value: Any) -> Any:
    """The expression engine's contract on plain jq: the first output, or an error."""
    try:
        return jq.compile(expression).input_value(value).first()
    except StopIteration:
        raise ValueError(f"{expression!r} produced no output") from None


class FakeOperations:
    """Records every call and answers with canned results."""

    def __init__(
        self,
        *,
        acquired: Any = None,
        total_count: int | None = None,
        affected_count: int | None = 1,
        confirmed: bool = True,
        decisions: Mapping[int, Mapping[str, Any]] | None = None,
        failure: InvocationError | None = None,
    ) -> None:
        self.acquired = acquired
        self.total_count = total_count
        self.affected_count = affected_count
        self.confirmed = confirmed
        self.decisions = dict(decisions or {})
        self.failure = failure
        self.calls: list[tuple[str, tuple[Any, ...]]] = []
        self.indexes: list[int] = []  # the invocation_index of each acquire, persist, emit

    def acquire(
        self,
        resource: str,
        entity: str,
        params: Mapping[str, Any],
        constraints: Mapping[str, Any],
        *,
        invocation_index: int,
    ) -> dict[str, Any]:
        self.indexes.append(invocation_index)
        self.calls.append(("acquire", (resource, entity, params, constraints)))
        if self.failure is not None:
            raise self.failure
        return {"data": self.acquired, "total_count": self.total_count}

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
        self.indexes.append(invocation_index)
        self.calls.append(("persist", (resource, entity, data, constraints, idempotency_key)))
        if self.failure is not None:
            raise self.failure
        return {"data": data, "affected_count": self.affected_count}

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
        self.indexes.append(invocation_index)
        self.calls.append(("emit", (resource, event_name, payload, metadata, idempotency_key)))
        if self.failure is not None:
            raise self.failure
        return {"data": {"message_id": f"msg-{len(self.calls)}"}, "confirmed": self.confirmed}

    def gate_decision(self, invocation_index: int) -> Mapping[str, Any] | None:
        self.calls.append(("gate_decision", (invocation_index,)))
        return self.decisions.get(invocation_index)


def make_context(
    *,
    context: Any = None,
    prev: Any = None,
    deps: Any = None,
    operations: FakeOperations | None = None,
    index: int = 0,
    key: str = "task-1:step-1:0",
) -> InvocationContext:
    return InvocationContext(
        index=index,
        envelope={
            "context": context if context is not None else {},
            "deps": deps if deps is not None else {},
            "prev": prev,
            "step": {"name": "step", "attempts": 1},
        },
        operations=operations or FakeOperations(),
        evaluate=jq_evaluate,
        idempotency_key=IdempotencyKey(key),
    )


def run(name: str, config: Any, context: InvocationContext) -> Any:
    capability = REGISTRY[name]
    return capability.execute(capability.parse(config), context)


def failure(name: str, config: Any, context: InvocationContext) -> InvocationError:
    with pytest.raises(InvocationError) as caught:
        run(name, config, context)
    return caught.value


def sites(name: str, config: Any) -> list[tuple[str, str, Target]]:
    capability = REGISTRY[name]
    parsed = capability.parse(config)
    return [(s.field_path, s.expression, s.target) for s in capability.expressions(parsed)]


def load_workflow(corpus_root: Path, name: str) -> dict[str, Any]:
    text = (corpus_root / WORKFLOWS / f"{name}.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = YAML(typ="safe").load(text)
    return loaded


# -- the registry -------------------------------------------------------------------------


def test_registry_lists_the_capabilities_in_document_order() -> None:
    expected = ("transform", "validate", "assert", "acquire", "persist", "emit", "gate")
    assert expected == CAPABILITY_NAMES
    assert tuple(REGISTRY) == expected
    for name in expected:
        capability = get_capability(name)
        assert capability is not None
        assert capability.name == name
        assert str(capability.category) == name
    assert get_capability("Transform") is None
    assert get_capability("decide") is None


def test_only_persist_and_emit_mutate_and_need_checkpoints() -> None:
    mutating = {name for name, cap in REGISTRY.items() if cap.mutating}
    assert mutating == {"persist", "emit"}
    for name, capability in REGISTRY.items():
        assert capability.requires_checkpoint is (name in mutating)
        assert capability.supports_idempotency_key is (name in mutating)


def test_every_capability_documents_itself_in_one_line() -> None:
    for capability in REGISTRY.values():
        for text in (capability.summary, capability.input_contract, capability.output_contract):
            assert text
            assert "\n" not in text
            assert len(text) <= 120


def _schema_nodes(node: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every (name, property schema) of a model schema, its definitions included."""
    found: list[tuple[str, dict[str, Any]]] = []
    for definition in node.get("$defs", {}).values():
        found.extend(definition.get("properties", {}).items())
    found.extend(node.get("properties", {}).items())
    return found


@pytest.mark.parametrize("name", CAPABILITY_NAMES)
def test_every_config_field_has_a_description(name: str) -> None:
    schema = REGISTRY[name].config_schema()
    assert schema["additionalProperties"] is False
    for field, prop in _schema_nodes(schema):
        assert prop.get("description"), f"{name}: field {field} has no description"


@pytest.mark.parametrize("name", CAPABILITY_NAMES)
def test_config_models_are_closed_everywhere(name: str) -> None:
    schema = REGISTRY[name].config_schema()
    for definition_name, definition in schema.get("$defs", {}).items():
        if definition.get("type") == "object":
            assert definition.get("additionalProperties") is False, definition_name


@pytest.mark.parametrize("name", CAPABILITY_NAMES)
def test_unknown_keys_are_errors(name: str) -> None:
    example = REGISTRY[name].examples[0]  # type: ignore[attr-defined]
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        REGISTRY[name].parse({**example, "outptu": {}})


def _enums(node: Any) -> list[list[Any]]:
    if isinstance(node, dict):
        found = [node["enum"]] if "enum" in node else []
        for value in node.values():
            found.extend(_enums(value))
        return found
    if isinstance(node, list):
        return [enum for item in node for enum in _enums(item)]
    return []


def test_enum_values_accept_any_case_and_the_schema_lists_lowercase() -> None:
    persist = REGISTRY["persist"].parse(
        {
            "resource": "db",
            "mode": "UpSert",
            "data": {"expression": ".prev"},
            "identity": {"primary_key": ["id"]},
            "constraints": {"on_conflict": "Update"},
        }
    )
    assert persist.mode == "upsert"  # type: ignore[attr-defined]
    assert persist.constraints.on_conflict == "update"  # type: ignore[attr-defined]
    validate = REGISTRY["validate"].parse({"schema": {}, "on_failure": "WARN"})
    assert validate.on_failure == "warn"  # type: ignore[attr-defined]
    emit = REGISTRY["emit"].parse(
        {"event_name": "a.b", "payload": {"expression": "."}, "delivery_mode": "Sync"}
    )
    assert emit.delivery_mode == "sync"  # type: ignore[attr-defined]
    assertion = REGISTRY["assert"].parse(
        {"conditions": [{"expression": "true"}], "quantifier": "ANY"}
    )
    assert assertion.quantifier == "any"  # type: ignore[attr-defined]
    for capability in REGISTRY.values():
        for values in _enums(capability.config_schema()):
            assert all(v == v.lower() for v in values if isinstance(v, str)), values


# -- the reference workflows ----------------------------------------------------------------


@pytest.mark.corpus
@pytest.mark.parametrize("workflow", FIXTURE_NAMES)
def test_every_fixture_invocation_config_parses(corpus_root: Path, workflow: str) -> None:
    spec = load_workflow(corpus_root, workflow)
    assert len(spec["invocations"]) == 6
    for invocation in spec["invocations"]:
        capability = get_capability(invocation["capability"])
        assert capability is not None
        parsed = capability.parse(invocation["config"])
        assert capability.output_flow(parsed).kind in set(FlowKind)
        for site in capability.expressions(parsed):
            assert jq.compile(site.expression) is not None, site.field_path
        assert invocation.get("checkpoint", False) is capability.requires_checkpoint


@pytest.mark.corpus
def test_fixture_expression_sites_have_exact_paths(corpus_root: Path) -> None:
    onboarding = load_workflow(corpus_root, "customer_onboarding")["invocations"]
    paths = [
        [path for path, _, _ in sites(item["capability"], item["config"])] for item in onboarding
    ]
    assert paths == [
        ["config.params.expression", "config.result_shape.expression"],
        [],
        ["config.filter"],
        ["config.filter"],
        [
            "config.data.expression",
            "config.validate_success.expression",
            "config.result_shape.expression",
        ],
        [
            "config.payload.expression",
            "config.metadata.correlation_id.expression",
            "config.metadata.idempotency_key.expression",
            "config.result_shape.expression",
        ],
    ]
    persist = sites("persist", onboarding[4]["config"])
    assert [target for _, _, target in persist] == [Target.ENVELOPE, Target.RESULT, Target.RESULT]


@pytest.mark.corpus
def test_the_ecommerce_workflow_runs_end_to_end(corpus_root: Path) -> None:
    spec = load_workflow(corpus_root, "ecommerce_order_processing")
    fixtures = json.loads(
        (corpus_root / WORKFLOWS / "ecommerce_order_processing_fixtures.json").read_text("utf-8")
    )
    operations = FakeOperations()
    prev: Any = None
    for index, invocation in enumerate(spec["invocations"]):
        context = make_context(
            context=fixtures["input"]["context"], prev=prev, operations=operations, index=index
        )
        prev = run(invocation["capability"], invocation["config"], context)
        if index == 0:
            assert prev == fixtures["expected_intermediate_outputs"]["step_0_validate"]["output"]
    assert prev == {"event_id": "msg-2", "event_name": "order.confirmed"}
    (_, persisted), (_, emitted) = operations.calls
    assert persisted[0] == persisted[1] == "orders-db"
    assert persisted[3]["mode"] == "insert"
    assert persisted[4] == "task-1:step-1:0"
    assert emitted[1] == "order.confirmed"
    assert emitted[3] == {
        "correlation_id": "cust-12345",
        "event_version": "1.0",
        "delivery_mode": "async",
    }


@pytest.mark.corpus
def test_the_ecommerce_workflow_rejects_an_empty_cart(corpus_root: Path) -> None:
    spec = load_workflow(corpus_root, "ecommerce_order_processing")
    fixtures = json.loads(
        (corpus_root / WORKFLOWS / "ecommerce_order_processing_fixtures.json").read_text("utf-8")
    )
    case = fixtures["failure_cases"]["missing_items"]["input"]
    first = spec["invocations"][0]
    error = failure(first["capability"], first["config"], make_context(context=case["context"]))
    assert error.kind is FailureKind.INPUT_VALIDATION
    assert "at /items: must have at least 1 items" in error.message


# -- transform ------------------------------------------------------------------------------


def test_transform_returns_the_filter_result_checked_against_output() -> None:
    config = {
        "filter": "{total: (.prev.items | map(.price) | add)}",
        "output": {"type": "object", "properties": {"total": {"type": "number"}}},
    }
    context = make_context(prev={"items": [{"price": 2}, {"price": 3.5}]})
    assert run("transform", config, context) == {"total": 5.5}
    assert sites("transform", config) == [("config.filter", config["filter"], Target.ENVELOPE)]
    flow = REGISTRY["transform"].output_flow(REGISTRY["transform"].parse(config))
    assert flow.kind is FlowKind.DECLARED
    assert flow.schema == config["output"]


def test_transform_output_violations_name_paths_not_values() -> None:
    config = {
        "filter": "{email: .context.email, age: .context.age}",
        "output": {
            "type": "object",
            "required": ["email", "age", "name"],
            "properties": {"email": {"type": "integer"}, "age": {"maximum": 120}},
        },
    }
    context = make_context(context={"email": "jane@secret.example", "age": 999})
    error = failure("transform", config, context)
    assert error.kind is FailureKind.OUTPUT_VALIDATION
    assert "at (root): missing required property 'name'" in error.message
    assert "at /email: must be of type integer" in error.message
    assert "at /age: must be <= 120" in error.message
    assert "secret" not in error.message
    assert "999" not in error.message
    assert "secret" not in json.dumps(error.details)


def test_transform_without_output_has_unknown_flow() -> None:
    capability = REGISTRY["transform"]
    parsed = capability.parse({"filter": ".context"})
    assert capability.output_flow(parsed).kind is FlowKind.UNKNOWN
    assert capability.execute(parsed, make_context(context={"a": 1})) == {"a": 1}


def test_transform_refuses_a_malformed_output_schema() -> None:
    with pytest.raises(ValidationError, match="not a valid JSON Schema"):
        REGISTRY["transform"].parse({"filter": ".", "output": {"type": "objekt"}})


def test_expression_failures_name_the_field() -> None:
    error = failure("transform", {"filter": ".context.a.b"}, make_context(context={"a": "text"}))
    assert error.kind is FailureKind.EXPRESSION_EVALUATION
    assert error.message.startswith("config.filter failed:")
    assert error.retryable is True
    error = failure("transform", {"filter": "empty"}, make_context())
    assert error.kind is FailureKind.EXPRESSION_EVALUATION


class _EngineError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.kind = "timeout"


def test_engine_errors_with_a_kind_become_expression_failures() -> None:
    def engine(expression: str, value: Any) -> Any:
        raise _EngineError("took too long")

    context = make_context()
    context.evaluate = engine
    error = failure("transform", {"filter": "."}, context)
    assert error.kind is FailureKind.EXPRESSION_EVALUATION
    assert error.message == "config.filter failed: took too long"
    assert isinstance(error.__cause__, _EngineError)


def test_unrelated_exceptions_are_not_disguised() -> None:
    def engine(expression: str, value: Any) -> Any:
        raise RuntimeError("bug")

    context = make_context()
    context.evaluate = engine
    with pytest.raises(RuntimeError, match="bug"):
        run("transform", {"filter": "."}, context)


# -- validate -------------------------------------------------------------------------------

PERSON = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {
        "name": {"type": "string"},
        "age": {"type": "integer"},
        "vip": {"type": "boolean"},
        "born": {"type": "string", "format": "date"},
        "address": {
            "type": "object",
            "properties": {"zip": {"type": "string"}},
        },
    },
}


def test_validate_reads_context_on_the_first_invocation_and_prev_later() -> None:
    config = {"schema": {"type": "object", "required": ["a"]}}
    assert run("validate", config, make_context(context={"a": 1})) == {"a": 1}
    assert run("validate", config, make_context(context={}, prev={"a": 2})) == {"a": 2}
    assert sites("validate", config) == []


def test_validate_coerces_before_checking() -> None:
    config = {"schema": PERSON, "coerce": True}
    data = {
        "name": "Ann",
        "age": "42",
        "vip": "TRUE",
        "born": "03/14/1990",
        "address": {"zip": 97201},
    }
    assert run("validate", config, make_context(prev=data)) == {
        "name": "Ann",
        "age": 42,
        "vip": True,
        "born": "1990-03-14",
        "address": {"zip": "97201"},
    }
    assert data["age"] == "42"  # the input is not modified


def test_validate_without_coercion_fails_on_loose_types() -> None:
    error = failure("validate", {"schema": PERSON}, make_context(prev={"name": "Ann", "age": "42"}))
    assert error.kind is FailureKind.INPUT_VALIDATION
    assert error.message == "input does not match config.schema: at /age: must be of type integer"
    assert error.details["problems"] == [{"path": "/age", "constraint": "must be of type integer"}]


def test_validate_filter_extra_drops_undeclared_properties_recursively() -> None:
    config = {
        "schema": {**PERSON, "additionalProperties": False},
        "filter_extra": True,
    }
    data = {"name": "Ann", "age": 3, "password": "x", "address": {"zip": "1", "note": "y"}}
    assert run("validate", config, make_context(prev=data)) == {
        "name": "Ann",
        "age": 3,
        "address": {"zip": "1"},
    }


def test_validate_warn_adds_warnings_and_wraps_non_objects() -> None:
    config = {"schema": {"type": "object", "required": ["id"]}, "on_failure": "warn"}
    assert run("validate", config, make_context(prev={"x": 1})) == {
        "x": 1,
        "_validation_warnings": ["at (root): missing required property 'id'"],
    }
    assert run("validate", config, make_context(prev=[1, 2])) == {
        "_value": [1, 2],
        "_validation_warnings": ["at (root): must be of type object"],
    }
    assert run("validate", config, make_context(prev={"id": 1})) == {"id": 1}


def test_validate_skip_passes_the_data_on() -> None:
    config = {"schema": {"type": "integer"}, "on_failure": "skip"}
    assert run("validate", config, make_context(prev="seven")) == "seven"


def test_validate_error_messages_never_echo_values() -> None:
    schema = {
        "type": "object",
        "properties": {
            "ssn": {"type": "string", "pattern": "^[0-9]{3}$"},
            "kind": {"enum": ["a", "b"]},
            "tags": {"type": "array", "maxItems": 1, "uniqueItems": True},
            "code": {"const": "fixed"},
            "note": {"type": "string", "minLength": 50},
        },
        "additionalProperties": False,
    }
    data = {
        "ssn": "secret-123",
        "kind": "secret-kind",
        "tags": ["secret", "secret"],
        "code": "secret",
        "note": "secret",
        "secret_extra": 1,
    }
    error = failure("validate", {"schema": schema}, make_context(prev=data))
    assert "secret" not in error.message.replace("'secret_extra'", "")
    assert "at /ssn: must match the pattern '^[0-9]{3}$'" in error.message
    assert 'at /kind: must be one of ["a", "b"]' in error.message
    assert "at /tags: must have at most 1 items" in error.message
    assert "at /tags: items must be unique" in error.message
    assert "at /code: must equal the constant the schema declares" in error.message
    assert "has properties the schema does not allow: 'secret_extra'" in error.message


def test_validate_declares_its_schema_as_output() -> None:
    capability = REGISTRY["validate"]
    flow = capability.output_flow(capability.parse({"schema": PERSON, "on_failure": "warn"}))
    assert flow.kind is FlowKind.DECLARED
    assert flow.schema == PERSON


def test_validate_accepts_schema_only_under_its_own_name() -> None:
    with pytest.raises(ValidationError):
        REGISTRY["validate"].parse({"schema_": {"type": "object"}})


# -- assert ---------------------------------------------------------------------------------


def test_assert_simple_form_passes_the_target_through() -> None:
    config = {"filter": ".prev.total < .context.limit", "error": "too expensive"}
    context = make_context(context={"limit": 10}, prev={"total": 5})
    assert run("assert", config, context) == {"total": 5}
    assert run("assert", config, make_context(context={"limit": 10, "total": 5})) == {
        "limit": 10,
        "total": 5,
    }
    flow = REGISTRY["assert"].output_flow(REGISTRY["assert"].parse(config))
    assert flow.kind is FlowKind.PASS_THROUGH


def test_assert_simple_form_fails_with_its_error() -> None:
    config = {"filter": ".prev.total < .context.limit", "error": "too expensive"}
    error = failure("assert", config, make_context(context={"limit": 1}, prev={"total": 5}))
    assert error.kind is FailureKind.EXECUTION
    assert error.message == "too expensive (filter: .prev.total < .context.limit)"
    assert error.retryable is False


def test_assert_treats_only_null_and_false_as_false() -> None:
    for value in (0, "", [], {}):
        assert run("assert", {"filter": ".context.v"}, make_context(context={"v": value}))
    error = failure("assert", {"filter": ".context.missing"}, make_context(context={}))
    assert error.message.startswith("assertion failed")


CONDITIONS = [
    {"name": "positive", "expression": ".prev.n > 0"},
    {"name": "even", "expression": ".prev.n % 2 == 0"},
    {"expression": ".prev.n < 100"},
]


@pytest.mark.parametrize(
    ("quantifier", "n", "failed"),
    [
        ("all", 4, None),
        ("all", 3, "even"),
        ("all", -3, "positive"),
        ("any", 3, None),
        ("any", -3, None),
        ("any", 101, None),
        ("none", -3, "unnamed"),
        ("none", 4, "positive"),
    ],
)
def test_assert_named_conditions_follow_the_quantifier(
    quantifier: str, n: int, failed: str | None
) -> None:
    config = {"conditions": CONDITIONS, "quantifier": quantifier, "error": "bad n"}
    context = make_context(prev={"n": n})
    if failed is None:
        assert run("assert", config, context) == {"n": n}
        return
    error = failure("assert", config, context)
    assert error.kind is FailureKind.EXECUTION
    assert error.message.startswith("bad n: conditions")
    assert failed in error.message


def test_assert_any_names_every_condition_when_none_holds() -> None:
    config = {
        "conditions": [
            {"name": "a", "expression": ".prev.a"},
            {"name": "b", "expression": ".prev.b"},
        ],
        "quantifier": "any",
    }
    error = failure("assert", config, make_context(prev={}))
    assert [item["name"] for item in error.details["failed"]] == ["a", "b"]


def test_assert_truncates_long_expressions_in_messages() -> None:
    expression = "false and (" + " or ".join(["true"] * 100) + ")"
    error = failure("assert", {"conditions": [{"expression": expression}]}, make_context())
    reported = error.details["failed"][0]["expression"]
    assert len(reported) == 200
    assert expression not in error.message


def test_assert_condition_sites_are_indexed() -> None:
    assert [path for path, _, _ in sites("assert", {"conditions": CONDITIONS})] == [
        "config.conditions[0].expression",
        "config.conditions[1].expression",
        "config.conditions[2].expression",
    ]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({}, "either 'filter' or 'conditions'"),
        ({"filter": "true", "conditions": [{"expression": "true"}]}, "not both"),
        ({"filter": "true", "quantifier": "any"}, "'quantifier' applies to 'conditions'"),
        ({"conditions": []}, "at least 1 item"),
    ],
)
def test_assert_needs_exactly_one_form(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        REGISTRY["assert"].parse(config)


def test_assert_with_a_dependency_precedent_skips_when_the_dependency_is_null() -> None:
    config = {"filter": "false", "dependency_precedent": "check_credit"}
    assert run("assert", config, make_context(prev={"a": 1}, deps={})) == {"a": 1}
    assert run("assert", config, make_context(prev=1, deps={"check_credit": None})) == 1
    error = failure("assert", config, make_context(prev=1, deps={"check_credit": {"ok": True}}))
    assert error.kind is FailureKind.EXECUTION


# -- acquire --------------------------------------------------------------------------------


def test_acquire_forwards_every_parsed_field() -> None:
    config = {
        "resource": {"ref": "crm-api", "entity": "v2/customers"},
        "select": {
            "columns": ["id", "email"],
            "include": {
                "orders": {"entity": "orders", "foreign_key": ["id"], "references": ["cid"]}
            },
        },
        "filter": {"status": {"in": ["active", "trial"]}, "age": {"gte": 18, "lt": 65}},
        "params": {"expression": "{id: .context.customer_id}"},
        "constraints": {
            "limit": 10,
            "offset": 20,
            "timeout_ms": 5000,
            "retry": {"max_attempts": 3, "backoff_ms": 100},
        },
    }
    operations = FakeOperations(acquired=[{"id": "c1"}], total_count=31)
    output = run(
        "acquire", config, make_context(context={"customer_id": "c1"}, operations=operations)
    )
    assert output == [{"id": "c1"}]
    assert operations.calls == [
        (
            "acquire",
            (
                "crm-api",
                "v2/customers",
                {"id": "c1"},
                {
                    "limit": 10,
                    "offset": 20,
                    "timeout_ms": 5000,
                    "retry": {"max_attempts": 3, "backoff_ms": 100},
                    "select": {
                        "columns": ["id", "email"],
                        "include": {
                            "orders": {
                                "entity": "orders",
                                "foreign_key": ["id"],
                                "references": ["cid"],
                            }
                        },
                    },
                    "filter": {"status": {"in": ["active", "trial"]}, "age": {"gte": 18, "lt": 65}},
                },
            ),
        )
    ]


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("acquire", {"resource": "settings"}),
        ("persist", {"resource": "db", "data": {"expression": "{a: 1}"}}),
        ("emit", {"event_name": "order.done", "payload": {"expression": "{a: 1}"}}),
    ],
)
def test_operations_are_told_which_invocation_calls_them(name: str, config: Any) -> None:
    operations = FakeOperations(acquired=[])
    run(name, config, make_context(operations=operations, index=4))
    assert operations.indexes == [4]


def test_acquire_defaults_params_and_names_resource_as_entity() -> None:
    operations = FakeOperations(acquired={"one": 1})
    assert run("acquire", {"resource": "settings"}, make_context(operations=operations)) == {
        "one": 1
    }
    (_, (ref, entity, params, constraints)), *_ = operations.calls
    assert (ref, entity, params) == ("settings", "settings", {})
    assert constraints == dict.fromkeys(
        ("limit", "offset", "timeout_ms", "retry", "select", "filter")
    )


def test_acquire_result_envelope_feeds_result_shape_and_validate_success() -> None:
    config = {
        "resource": "db",
        "validate_success": {"expression": ".record_count > 0"},
        "result_shape": {"expression": "{rows: .data, n: .record_count, of: .total_count}"},
    }
    operations = FakeOperations(acquired=[1, 2], total_count=9)
    assert run("acquire", config, make_context(operations=operations)) == {
        "rows": [1, 2],
        "n": 2,
        "of": 9,
    }
    error = failure("acquire", config, make_context(operations=FakeOperations(acquired=[])))
    assert error.kind is FailureKind.EXECUTION
    assert "validate_success" in error.message
    assert [target for _, _, target in sites("acquire", config)] == [Target.RESULT, Target.RESULT]


def test_acquire_counts_records() -> None:
    shape = {"resource": "db", "result_shape": {"expression": ".record_count"}}
    for data, count in (([1, 2, 3], 3), ({"a": 1}, 1), (None, 0), ("x", 1)):
        context = make_context(operations=FakeOperations(acquired=data))
        assert run("acquire", shape, context) == count


def test_acquire_params_must_be_an_object() -> None:
    config = {"resource": "db", "params": {"expression": ".context.id"}}
    error = failure("acquire", config, make_context(context={"id": 5}))
    assert error.kind is FailureKind.EXPRESSION_EVALUATION
    assert "config.params.expression" in error.message


def test_acquire_checks_its_declared_output() -> None:
    config = {"resource": "db", "output": {"type": "array", "items": {"type": "object"}}}
    capability = REGISTRY["acquire"]
    assert capability.output_flow(capability.parse(config)).kind is FlowKind.DECLARED
    assert capability.output_flow(capability.parse({"resource": "db"})).kind is FlowKind.UNKNOWN
    error = failure("acquire", config, make_context(operations=FakeOperations(acquired=[1])))
    assert error.kind is FailureKind.OUTPUT_VALIDATION
    assert "at /0: must be of type object" in error.message


def test_operation_errors_pass_unchanged() -> None:
    unavailable = InvocationError(FailureKind.RESOURCE_UNAVAILABLE, "crm is down")
    with pytest.raises(InvocationError) as caught:
        run(
            "acquire",
            {"resource": "crm"},
            make_context(operations=FakeOperations(failure=unavailable)),
        )
    assert caught.value is unavailable


@pytest.mark.parametrize(
    "resource",
    [
        "",
        "has space",
        "a/b",
        "x" * 129,
        {"ref": "a/b", "entity": "t"},
        {"ref": "db", "entity": "/leading"},
        {"ref": "db", "entity": "trailing/"},
        {"ref": "db", "entity": "a//b"},
        {"ref": "db", "entity": "../etc"},
        {"ref": "db", "entity": "v1/./x"},
        {"ref": "db", "entity": "semi;colon"},
        {"ref": "db"},
        {"ref": "db", "entity": "t", "extra": 1},
    ],
)
def test_acquire_refuses_bad_resource_names(resource: Any) -> None:
    with pytest.raises(ValidationError):
        REGISTRY["acquire"].parse({"resource": resource})


@pytest.mark.parametrize(
    "resource",
    ["orders-db", "crm_api.v2", {"ref": "api", "entity": "v1/customers/active"}, "a" * 128],
)
def test_acquire_accepts_good_resource_names(resource: Any) -> None:
    REGISTRY["acquire"].parse({"resource": resource})


@pytest.mark.parametrize(
    "config",
    [
        {"filter": {"status": {}}},
        {"filter": {"status": {"eq": None}}},
        {"filter": {"status": {"equals": 1}}},
        {"filter": {"bad key": {"eq": 1}}},
        {"select": {"include": {"o": {"entity": "o", "foreign_key": ["a"], "references": []}}}},
        {
            "select": {
                "include": {"o": {"entity": "o", "foreign_key": ["a", "b"], "references": ["c"]}}
            }
        },
        {"constraints": {"limit": 0}},
        {"constraints": {"limit": "10"}},
        {"constraints": {"retry": {"backoff_ms": 5}}},
    ],
)
def test_acquire_refuses_bad_queries(config: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        REGISTRY["acquire"].parse({"resource": "db", **config})


# -- persist --------------------------------------------------------------------------------


def test_persist_forwards_mode_identity_and_conflict_handling() -> None:
    config = {
        "resource": {"ref": "crm-db", "entity": "customers"},
        "mode": "upsert",
        "data": {"expression": ".prev"},
        "identity": {"primary_key": ["customer_id"]},
        "constraints": {"on_conflict": "update"},
    }
    operations = FakeOperations(affected_count=1)
    context = make_context(prev={"customer_id": "c1"}, operations=operations)
    assert run("persist", config, context) == {"customer_id": "c1"}
    assert operations.calls == [
        (
            "persist",
            (
                "crm-db",
                "customers",
                {"customer_id": "c1"},
                {
                    "mode": "upsert",
                    "identity_keys": ["customer_id"],
                    "on_conflict": "update",
                    "upsert_key": ["customer_id"],
                },
                "task-1:step-1:0",
            ),
        )
    ]


def test_persist_prefers_an_explicit_upsert_key() -> None:
    config = {
        "resource": "db",
        "mode": "upsert",
        "data": {"expression": "."},
        "identity": {"primary_key": ["id"]},
        "constraints": {"upsert_key": ["email"]},
    }
    operations = FakeOperations()
    run("persist", config, make_context(operations=operations))
    assert operations.calls[0][1][3]["upsert_key"] == ["email"]


def test_persist_insert_sends_no_keys() -> None:
    operations = FakeOperations()
    run(
        "persist",
        {"resource": "db", "data": {"expression": "1"}},
        make_context(operations=operations),
    )
    assert operations.calls[0][1][3] == {
        "mode": "insert",
        "identity_keys": None,
        "on_conflict": None,
        "upsert_key": None,
    }


@pytest.mark.parametrize("mode", ["update", "upsert", "delete", "DELETE"])
def test_persist_keyed_modes_need_an_identity(mode: str) -> None:
    with pytest.raises(ValidationError, match="needs 'identity'"):
        REGISTRY["persist"].parse({"resource": "db", "mode": mode, "data": {"expression": "."}})


def test_persist_idempotency_key_override_is_evaluated() -> None:
    config = {
        "resource": "db",
        "data": {"expression": ".prev"},
        "constraints": {"idempotency_key": {"expression": '"order-" + .prev.id'}},
    }
    operations = FakeOperations()
    run("persist", config, make_context(prev={"id": "7"}, operations=operations))
    assert operations.calls[0][1][4] == "order-7"
    assert ("config.constraints.idempotency_key.expression") in [
        path for path, _, _ in sites("persist", config)
    ]
    error = failure("persist", config, make_context(prev={"id": 7}))
    assert error.kind is FailureKind.EXPRESSION_EVALUATION
    error = failure(
        "persist",
        {**config, "constraints": {"idempotency_key": {"expression": ".prev.id"}}},
        make_context(prev={"id": 7}),
    )
    assert error.message == (
        "config.constraints.idempotency_key.expression must produce a string, got integer"
    )


def test_persist_result_envelope_counts_affected_rows() -> None:
    config = {
        "resource": "db",
        "data": {"expression": "{a: 1}"},
        "validate_success": {"expression": ".affected_rows > 0"},
        "result_shape": {"expression": "{rows: .affected_rows, count: .affected_count, d: .data}"},
    }
    context = make_context(operations=FakeOperations(affected_count=2))
    assert run("persist", config, context) == {"rows": 2, "count": 2, "d": {"a": 1}}
    error = failure("persist", config, make_context(operations=FakeOperations(affected_count=None)))
    assert error.kind is FailureKind.EXECUTION
    shape_only = {**config, "validate_success": None}
    context = make_context(operations=FakeOperations(affected_count=None))
    assert run("persist", shape_only, context) == {"rows": 0, "count": None, "d": {"a": 1}}


# -- emit -----------------------------------------------------------------------------------

EMIT = {
    "event_name": "order.confirmed",
    "event_version": "1.0",
    "resource": "event-bus",
    "delivery_mode": "sync",
    "condition": {"expression": ".prev.total > 0"},
    "payload": {"expression": "{order_id: .prev.id}"},
    "metadata": {
        "correlation_id": {"expression": ".context.request_id"},
        "idempotency_key": {"expression": '"confirm-" + .prev.id'},
    },
    "result_shape": {
        "expression": "{id: .data.message_id, name: .event_name, v: .event_version, ok: .confirmed}"
    },
}


def test_emit_publishes_with_metadata_and_shapes_the_result() -> None:
    operations = FakeOperations()
    context = make_context(
        context={"request_id": "req-9"}, prev={"id": "o1", "total": 3}, operations=operations
    )
    assert run("emit", EMIT, context) == {
        "id": "msg-1",
        "name": "order.confirmed",
        "v": "1.0",
        "ok": True,
    }
    assert operations.calls == [
        (
            "emit",
            (
                "event-bus",
                "order.confirmed",
                {"order_id": "o1"},
                {"correlation_id": "req-9", "event_version": "1.0", "delivery_mode": "sync"},
                "confirm-o1",
            ),
        )
    ]


def test_emit_skips_when_the_condition_does_not_hold() -> None:
    operations = FakeOperations()
    context = make_context(prev={"id": "o1", "total": 0}, operations=operations)
    assert run("emit", EMIT, context) == {"emitted": False, "reason": "condition not met"}
    assert operations.calls == []


def test_emit_refuses_non_string_metadata() -> None:
    context = make_context(context={"request_id": 42}, prev={"id": "o1", "total": 3})
    error = failure("emit", EMIT, context)
    assert error.kind is FailureKind.EXPRESSION_EVALUATION
    assert "config.metadata.correlation_id.expression" in error.message
    context = make_context(context={}, prev={"id": "o1", "total": 3})
    error = failure("emit", EMIT, context)
    assert "got null" in error.message


def test_emit_defaults() -> None:
    operations = FakeOperations()
    config = {"event_name": "user.created", "payload": {"expression": ".context"}}
    assert run("emit", config, make_context(context={"u": 1}, operations=operations)) == {
        "message_id": "msg-1"
    }
    resource, name, payload, metadata, key = operations.calls[0][1]
    assert (resource, name, payload, key) == ("events", "user.created", {"u": 1}, "task-1:step-1:0")
    assert metadata == {"correlation_id": None, "event_version": None, "delivery_mode": "async"}


def test_emit_expression_sites() -> None:
    assert sites("emit", EMIT) == [
        ("config.condition.expression", ".prev.total > 0", Target.ENVELOPE),
        ("config.payload.expression", "{order_id: .prev.id}", Target.ENVELOPE),
        ("config.metadata.correlation_id.expression", ".context.request_id", Target.ENVELOPE),
        ("config.metadata.idempotency_key.expression", '"confirm-" + .prev.id', Target.ENVELOPE),
        ("config.result_shape.expression", EMIT["result_shape"]["expression"], Target.RESULT),  # type: ignore[index]
    ]


def test_emit_declared_output_includes_the_skip_marker_when_conditional() -> None:
    capability = REGISTRY["emit"]
    output = {"type": "object", "required": ["id"]}
    flow = capability.output_flow(capability.parse({**EMIT, "output": output}))
    assert flow.kind is FlowKind.DECLARED
    assert flow.schema["anyOf"][0] == output
    unconditional = {key: value for key, value in EMIT.items() if key != "condition"}
    flow = capability.output_flow(capability.parse({**unconditional, "output": output}))
    assert flow.schema == output


@pytest.mark.parametrize(
    "name", ["Order.Confirmed", "order", "order..confirmed", ".order", "order.confirmed."]
)
def test_emit_event_names_are_dotted_lowercase(name: str) -> None:
    with pytest.raises(ValidationError):
        REGISTRY["emit"].parse({"event_name": name, "payload": {"expression": "."}})


def test_emit_reads_a_numeric_version_as_text() -> None:
    parsed = REGISTRY["emit"].parse(
        {"event_name": "a.b", "event_version": 2, "payload": {"expression": "."}}
    )
    assert parsed.event_version == "2"  # type: ignore[attr-defined]


def test_emit_payload_must_be_an_expression_object() -> None:
    with pytest.raises(ValidationError):
        REGISTRY["emit"].parse({"event_name": "a.b", "payload": ".prev"})


# -- gate -----------------------------------------------------------------------------------

GATE = {
    "prompt": "Refund this order?",
    "approvers": ["alice", "bob"],
    "summary": {"expression": "{amount: .prev.amount}"},
}


def test_gate_without_a_decision_suspends_with_the_summary() -> None:
    operations = FakeOperations()
    context = make_context(prev={"amount": 120}, operations=operations, index=3)
    with pytest.raises(GatePending) as caught:
        run("gate", GATE, context)
    pending = caught.value
    assert isinstance(pending, ApprovalPending)
    assert pending.prompt == "Refund this order?"
    assert pending.approvers == ["alice", "bob"]
    assert pending.summary == {"amount": 120}
    assert pending.invocation_index == 3
    assert operations.calls == [("gate_decision", (3,))]


def test_gate_approved_passes_the_target_through() -> None:
    decision = {"decision": "approved", "by": "alice", "reason": None, "at": "2026-01-01T00:00:00Z"}
    operations = FakeOperations(decisions={0: decision})
    assert run("gate", GATE, make_context(prev={"amount": 1}, operations=operations)) == {
        "amount": 1
    }
    capability = REGISTRY["gate"]
    assert capability.output_flow(capability.parse(GATE)).kind is FlowKind.PASS_THROUGH
    assert capability.requires_checkpoint is False


def test_gate_rejected_fails_for_good() -> None:
    decision = {"decision": "rejected", "by": "bob", "reason": "duplicate refund", "at": "t"}
    operations = FakeOperations(decisions={0: decision})
    error = failure("gate", GATE, make_context(operations=operations))
    assert error.kind is FailureKind.GATE_REJECTED
    assert error.message == "rejected by bob: duplicate refund"
    assert error.retryable is False
    operations = FakeOperations(decisions={0: {**decision, "reason": None}})
    assert failure("gate", GATE, make_context(operations=operations)).message == "rejected by bob"


def test_gate_refuses_a_decision_by_someone_else() -> None:
    decision = {"decision": "approved", "by": "mallory", "reason": None, "at": "t"}
    error = failure("gate", GATE, make_context(operations=FakeOperations(decisions={0: decision})))
    assert error.kind is FailureKind.EXECUTION
    open_gate = {"prompt": "ok?"}
    context = make_context(prev=1, operations=FakeOperations(decisions={0: decision}))
    assert run("gate", open_gate, context) == 1


def test_gate_sites() -> None:
    assert sites("gate", GATE) == [
        ("config.summary.expression", "{amount: .prev.amount}", Target.ENVELOPE)
    ]
    assert sites("gate", {"prompt": "ok?"}) == []


# -- robustness -----------------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _keys(capability: Capability) -> list[str]:
    schema = capability.config_schema()
    names = set(schema.get("properties", {}))
    for definition in schema.get("$defs", {}).values():
        names.update(definition.get("properties", {}))
    return sorted(names)


@pytest.mark.parametrize("name", CAPABILITY_NAMES)
def test_arbitrary_configs_raise_only_validation_errors(name: str) -> None:
    capability = REGISTRY[name]
    keys = st.sampled_from(_keys(capability)) | st.text(max_size=8)
    values = _json | st.dictionaries(st.sampled_from(_keys(capability)), _json, max_size=4)

    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(keys, values, max_size=6) | _json)
    def check(config: Any) -> None:
        try:
            parsed = capability.parse(config)
        except ValidationError:
            return
        capability.expressions(parsed)
        capability.output_flow(parsed)

    check()
