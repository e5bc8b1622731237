"""The pattern catalog: parameters, expansions, and the errors a bad reference gets."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.grammar.capabilities import REGISTRY
from tasker_ctl.grammar.patterns import (
    PATTERNS,
    Pattern,
    PatternError,
    expand_pattern,
    get_pattern,
)
from tasker_ctl.template.model import CompositionSpec
from tests.unit.grammar.test_capabilities import FakeOperations, make_context

PATTERN_NAMES = tuple(PATTERNS)


def _run(spec: dict[str, Any], context: Any, operations: FakeOperations) -> Any:
    prev: Any = None
    for index, item in enumerate(spec["invocations"]):
        capability = REGISTRY[item["capability"]]
        invocation_context = make_context(
            context=context, prev=prev, operations=operations, index=index
        )
        prev = capability.execute(capability.parse(item["config"]), invocation_context)
    return prev


def _assert_valid_composition(spec: dict[str, Any]) -> None:
    parsed = CompositionSpec.model_validate(spec)
    assert parsed.pattern is None
    assert parsed.invocations
    assert spec["outcome"]["description"]
    for item in spec["invocations"]:
        capability = REGISTRY[item["capability"]]
        capability.parse(item["config"])
        assert item["checkpoint"] is capability.requires_checkpoint
    # without a write, a declared outcome is produced by a final transform declaring it
    last = spec["invocations"][-1]
    writes = any(REGISTRY[item["capability"]].mutating for item in spec["invocations"])
    if not writes and spec["outcome"]["output_schema"]:
        assert last["capability"] == "transform"
        assert last["config"]["output"] == spec["outcome"]["output_schema"]


def test_catalog() -> None:
    assert PATTERN_NAMES == (
        "http_request",
        "fetch_and_validate",
        "transform_and_persist",
        "notify",
    )
    for name, pattern in PATTERNS.items():
        assert isinstance(pattern, Pattern)
        assert get_pattern(name) is pattern
        assert pattern.summary
        assert "\n" not in pattern.summary
        assert pattern.description
        assert pattern.examples
        assert set(pattern.capabilities) <= set(REGISTRY)
    assert get_pattern("HTTP_REQUEST") is None


@pytest.mark.parametrize("name", PATTERN_NAMES)
def test_parameter_models_are_closed_and_described(name: str) -> None:
    schema = PATTERNS[name].params_schema()
    assert schema["additionalProperties"] is False
    properties = dict(schema["properties"])
    for definition in schema.get("$defs", {}).values():
        properties.update(definition.get("properties", {}))
    for field, prop in properties.items():
        assert prop.get("description"), f"{name}: {field}"


@pytest.mark.parametrize("name", PATTERN_NAMES)
def test_examples_expand_to_valid_compositions(name: str) -> None:
    pattern = PATTERNS[name]
    for example in pattern.examples:
        spec = expand_pattern(name, example)
        assert spec["name"] == name
        used = {item["capability"] for item in spec["invocations"]}
        assert used <= set(pattern.capabilities)
        _assert_valid_composition(spec)


def test_http_request_without_a_schema_is_a_single_acquire() -> None:
    spec = expand_pattern("http_request", {"resource": "api", "entity": "v1/status"})
    assert spec == {
        "name": "http_request",
        "outcome": {"description": "The response of api/v1/status.", "output_schema": {}},
        "invocations": [
            {
                "capability": "acquire",
                "config": {"resource": {"ref": "api", "entity": "v1/status"}},
                "checkpoint": False,
            }
        ],
    }


def test_http_request_with_a_schema_validates_and_declares_the_response() -> None:
    schema = {"type": "object", "properties": {"temp": {"type": "number"}}, "required": ["temp"]}
    spec = expand_pattern(
        "http_request",
        {
            "resource": "weather",
            "entity": "forecast",
            "params": {"expression": "{city: .context.city}"},
            "constraints": {"timeout_ms": 100},
            "response_schema": schema,
            "coerce": True,
            "description": "The forecast.",
        },
    )
    assert [item["capability"] for item in spec["invocations"]] == [
        "acquire",
        "validate",
        "transform",
    ]
    assert spec["outcome"] == {"description": "The forecast.", "output_schema": schema}
    assert spec["invocations"][0]["config"]["constraints"] == {"timeout_ms": 100}
    assert spec["invocations"][1]["config"] == {"schema": schema, "coerce": True}
    operations = FakeOperations(acquired={"temp": "21.5"})
    assert _run(spec, {"city": "Oslo"}, operations) == {"temp": 21.5}
    assert operations.calls[0][1][:3] == ("weather", "forecast", {"city": "Oslo"})


def test_fetch_and_validate_runs_through() -> None:
    example = PATTERNS["fetch_and_validate"].examples[0]
    spec = expand_pattern("fetch_and_validate", example)
    operations = FakeOperations(acquired=[{"id": "c1", "email": "a@b.c", "extra": 1}])
    assert _run(spec, {"customer_id": "c1"}, operations) == {
        "customer_id": "c1",
        "email": "a@b.c",
    }
    assert spec["invocations"][1]["config"]["coerce"] is True


def test_transform_and_persist_checkpoints_the_write() -> None:
    spec = expand_pattern(
        "transform_and_persist",
        {
            "filter": "{id: .context.id, total: .context.total}",
            "output": {"type": "object", "required": ["id"]},
            "resource": {"ref": "db", "entity": "orders"},
            "mode": "UPSERT",
            "primary_key": ["id"],
            "on_conflict": "Update",
            "result_shape": {"expression": "{id: .data.id, rows: .affected_rows}"},
            "result_schema": {"type": "object", "required": ["id", "rows"]},
        },
    )
    persist = spec["invocations"][1]
    assert persist == {
        "capability": "persist",
        "config": {
            "resource": {"ref": "db", "entity": "orders"},
            "mode": "upsert",
            "data": {"expression": ".prev"},
            "identity": {"primary_key": ["id"]},
            "constraints": {"on_conflict": "update"},
            "result_shape": {"expression": "{id: .data.id, rows: .affected_rows}"},
            "output": {"type": "object", "required": ["id", "rows"]},
        },
        "checkpoint": True,
    }
    assert spec["outcome"]["output_schema"] == {"type": "object", "required": ["id", "rows"]}
    _assert_valid_composition(spec)
    operations = FakeOperations(affected_count=1)
    assert _run(spec, {"id": "o1", "total": 3}, operations) == {"id": "o1", "rows": 1}
    assert operations.calls[0][1][3]["upsert_key"] == ["id"]


def test_notify_is_one_checkpointed_emit() -> None:
    spec = expand_pattern(
        "notify",
        {
            "event_name": "order.shipped",
            "event_version": 2,
            "payload": {"expression": "{id: .context.id}"},
            "condition": {"expression": ".context.shipped"},
            "correlation_id": {"expression": ".context.id"},
        },
    )
    (emit,) = spec["invocations"]
    assert emit["checkpoint"] is True
    assert emit["config"]["event_version"] == "2"
    assert emit["config"]["metadata"] == {"correlation_id": {"expression": ".context.id"}}
    _assert_valid_composition(spec)
    operations = FakeOperations()
    assert _run(spec, {"id": "o1", "shipped": False}, operations) == {
        "emitted": False,
        "reason": "condition not met",
    }
    assert operations.calls == []


def test_unknown_patterns_get_a_suggestion() -> None:
    with pytest.raises(PatternError) as caught:
        expand_pattern("http_requests", {})
    error = caught.value
    assert error.code == "PATTERN_INVALID"
    assert error.message == "unknown pattern 'http_requests'; did you mean 'http_request'?"
    assert error.hint is not None
    assert "notify" in error.hint
    with pytest.raises(PatternError, match=r"^unknown pattern 'zzz'$"):
        expand_pattern("zzz", {})


@pytest.mark.parametrize(
    ("name", "config", "message"),
    [
        ("http_request", {"resource": "api"}, "config.entity: Field required"),
        ("http_request", {"resource": "api", "entity": "x", "verb": "GET"}, "config.verb"),
        (
            "http_request",
            {"resource": "api", "entity": "x", "coerce": True},
            "'coerce' needs a 'response_schema'",
        ),
        ("http_request", {"resource": "api", "entity": "../x"}, "config.entity"),
        (
            "transform_and_persist",
            {"filter": ".", "output": {"type": "object"}, "resource": "db", "mode": "delete"},
            "mode 'delete' needs 'primary_key'",
        ),
        (
            "fetch_and_validate",
            {"resource": "db", "schema": {}, "filter": ".prev", "output": {"type": "object"}},
            "config.schema: an empty schema declares nothing",
        ),
        ("notify", {"event_name": "Shipped", "payload": {"expression": "."}}, "config.event_name"),
        ("notify", [1, 2], "config: Input should be a valid dictionary"),
    ],
)
def test_bad_parameters_name_the_pattern_and_the_field(
    name: str, config: Any, message: str
) -> None:
    with pytest.raises(PatternError) as caught:
        expand_pattern(name, config)
    error = caught.value
    assert error.message.startswith(f"pattern '{name}': ")
    assert message in error.message
    assert "Traceback" not in error.message
    assert "errors.pydantic.dev" not in error.message
    assert error.__cause__ is None
    assert error.__suppress_context__


def test_bad_parameters_do_not_echo_their_values() -> None:
    with pytest.raises(PatternError) as caught:
        expand_pattern("notify", {"event_name": "Secret.Value", "payload": {"expression": "."}})
    assert "Secret.Value" not in caught.value.message


def test_expand_accepts_parsed_parameters() -> None:
    pattern = PATTERNS["notify"]
    parsed = pattern.parse({"event_name": "a.b", "payload": {"expression": "."}})
    assert pattern.expand(parsed) == expand_pattern(
        "notify", {"event_name": "a.b", "payload": {"expression": "."}}
    )


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=10,
)


@pytest.mark.parametrize("name", PATTERN_NAMES)
def test_arbitrary_parameters_expand_or_raise_pattern_errors(name: str) -> None:
    pattern = PATTERNS[name]
    keys = sorted(pattern.params_schema()["properties"])

    @settings(max_examples=100, deadline=None)
    @given(st.dictionaries(st.sampled_from(keys) | st.text(max_size=6), _json, max_size=6))
    def check(config: dict[str, Any]) -> None:
        try:
            spec = expand_pattern(name, config)
        except PatternError:
            return
        _assert_valid_composition(spec)

    check()
