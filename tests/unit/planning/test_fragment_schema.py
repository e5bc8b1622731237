"""The JSON Schema given to a planner: narrowed to the allowed names, deterministic, closed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tasker_ctl.planning import fragment_json_schema
from tests.unit.planning.examples import (
    CALLABLE_STEP,
    CALLABLES,
    COMPOSITION_STEP,
    EXAMPLES,
    GRAMMAR_STEP,
    PATTERNS,
    fragment,
)


def validator(*, composition: bool = True) -> Draft202012Validator:
    schema = fragment_json_schema(CALLABLES, PATTERNS, composition)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


@pytest.mark.parametrize("data", EXAMPLES)
def test_the_example_fragments_validate(data: dict[str, Any]) -> None:
    validator().validate(data)


def test_a_callable_or_pattern_not_allowed_is_rejected() -> None:
    schema = validator()
    assert not schema.is_valid(fragment(CALLABLE_STEP | {"handler": {"callable": "os.system"}}))
    unknown_pattern = GRAMMAR_STEP | {"handler": {"grammar": "shell_exec", "config": {}}}
    assert not schema.is_valid(fragment(unknown_pattern))


def test_composition_is_rejected_unless_dynamic_composition_is_allowed() -> None:
    data = fragment(GRAMMAR_STEP, CALLABLE_STEP, COMPOSITION_STEP)
    assert validator(composition=True).is_valid(data)
    assert not validator(composition=False).is_valid(data)
    schema = fragment_json_schema(CALLABLES, PATTERNS, False)
    assert "CompositionHandler" not in schema["$defs"]
    assert "CompositionSpec" not in schema["$defs"]


def test_two_handler_shapes_and_bad_references_are_rejected_by_the_schema_too() -> None:
    schema = validator()
    both = CALLABLE_STEP | {"handler": {"callable": "orders.Notify", "grammar": "http_request"}}
    assert not schema.is_valid(fragment(both))
    assert not schema.is_valid(fragment(CALLABLE_STEP | {"inputs": {"x": "${task.ctx}"}}))
    repeated = CALLABLE_STEP | {"dependencies": ["a", "a"]}
    assert not schema.is_valid(fragment(repeated))


def test_the_schema_is_deterministic_draft_2020_12_and_self_contained() -> None:
    first = fragment_json_schema(["b", "a", "a"], ["q", "p"], True)
    second = fragment_json_schema(["a", "b"], ["p", "q"], True)
    assert json.dumps(first) == json.dumps(second)
    assert first["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert first["$defs"]["CallableHandler"]["properties"]["callable"]["enum"] == ["a", "b"]
    text = json.dumps(first)
    references = {part.split('"')[0] for part in text.split('"$ref": "')[1:]}
    assert references
    assert all(ref.startswith("#/$defs/") for ref in references)
    assert all(ref.removeprefix("#/$defs/") in first["$defs"] for ref in references)
