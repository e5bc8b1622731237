"""Example values: valid under their schema, small, and the same on every run."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tasker_ctl.codegen import CodegenError
from tasker_ctl.codegen.examples import ExampleBuilder

TREE = {
    "type": "object",
    "required": ["value", "children"],
    "properties": {
        "value": {"type": "integer"},
        "children": {"type": "array", "items": {"$ref": "#/$defs/Tree"}},
    },
}
LINKED = {
    "type": "object",
    "required": ["value", "next"],
    "properties": {
        "value": {"type": "string"},
        "next": {"anyOf": [{"$ref": "#/$defs/Linked"}, {"type": "null"}]},
    },
}
REFERRAL = {
    "oneOf": [
        {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "customer"}}},
        {"type": "object", "required": ["kind"], "properties": {"kind": {"const": "campaign"}}},
    ]
}
EXTRA_DEFS = {
    "Tree": TREE,
    "Linked": LINKED,
    "Money": {"type": "number", "minimum": 1, "multipleOf": 0.01},
    "Price": {"$ref": "#/$defs/Money"},
    "Cost": {"$ref": "#/$defs/Price", "maximum": 5},
    "Code": {"type": "string", "pattern": "^[A-Z]{3}$"},
}

CASES: dict[str, Any] = {
    # values the schema offers
    "enum": {"enum": ["b", "a"]},
    "enum with an invalid first value": {"type": "string", "enum": [1, "x"]},
    "const": {"const": {"a": [1, 2]}},
    "default": {"type": "integer", "default": 7},
    "invalid default": {"type": "integer", "minimum": 10, "default": 3},
    "examples": {"type": "string", "examples": ["hello"]},
    "invalid first example": {"type": "string", "maxLength": 3, "examples": ["too long", "ok"]},
    "OpenAPI example": {"type": "integer", "example": 42},
    # formats
    "date-time": {"type": "string", "format": "date-time"},
    "date": {"type": "string", "format": "date"},
    "time": {"type": "string", "format": "time"},
    "email": {"type": "string", "format": "email"},
    "uri": {"type": "string", "format": "uri"},
    "uuid": {"type": "string", "format": "uuid"},
    "ipv4": {"type": "string", "format": "ipv4"},
    "ipv6": {"type": "string", "format": "ipv6"},
    "hostname": {"type": "string", "format": "hostname"},
    "unknown format": {"type": "string", "format": "x-custom"},
    # patterns
    "anchored class": {"type": "string", "pattern": "^[A-Z]{2}$"},
    "class with spaces": {"type": "string", "pattern": "^[0-9A-Z -]{3,10}$"},
    "alternation": {"type": "string", "pattern": "^(red|green|blue)-[0-9]+$"},
    "negated class": {"type": "string", "pattern": "^[^a-z0-9]+$"},
    "unanchored": {"type": "string", "pattern": "[aeiou]{3}"},
    "escapes": {"type": "string", "pattern": r"^\w+@\w+\.com$"},
    "quantifiers": {"type": "string", "pattern": r"^a{2,}b?c*d+$"},
    "lookaheads": {"type": "string", "pattern": "^(?=.*[0-9])(?=.*[A-Z])[A-Za-z0-9]{8,}$"},
    "backreference": {"type": "string", "pattern": r"^(ab|cd)-\1$"},
    "words": {"type": "string", "pattern": "^[A-Z][a-z]+( [A-Z][a-z]+)*$"},
    "pattern and minLength": {"type": "string", "pattern": "^a+$", "minLength": 5},
    "pattern and exact length": {"type": "string", "pattern": "b", "minLength": 4, "maxLength": 4},
    # lengths
    "minLength": {"type": "string", "minLength": 12},
    "maxLength": {"type": "string", "maxLength": 2},
    "exact length": {"type": "string", "minLength": 3, "maxLength": 3},
    # numbers
    "integer minimum": {"type": "integer", "minimum": 5},
    "integer negative maximum": {"type": "integer", "maximum": -3},
    "integer exclusive minimum": {"type": "integer", "exclusiveMinimum": 0},
    "integer exclusive range": {"type": "integer", "exclusiveMinimum": 4, "exclusiveMaximum": 6},
    "integer multipleOf": {"type": "integer", "multipleOf": 7, "minimum": 10},
    "number open interval": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
    "number exclusive minimum": {"type": "number", "exclusiveMinimum": 2.5},
    "number exclusive maximum": {"type": "number", "exclusiveMaximum": 0},
    "number negative maximum": {"type": "number", "maximum": -0.5},
    "decimal multipleOf": {"type": "number", "multipleOf": 0.1, "minimum": 0.25},
    "cent multipleOf": {"type": "number", "multipleOf": 0.01, "minimum": 1.005, "maximum": 2},
    "multipleOf above an exclusive bound": {
        "type": "number",
        "multipleOf": 0.5,
        "exclusiveMinimum": 1,
    },
    "draft-04 exclusive flag": {"type": "number", "minimum": 3, "exclusiveMinimum": True},
    "inferred number": {"minimum": 3, "maximum": 4},
    # arrays
    "minItems": {"type": "array", "minItems": 3, "items": {"type": "integer"}},
    "unique strings": {
        "type": "array",
        "minItems": 3,
        "uniqueItems": True,
        "items": {"type": "string"},
    },
    "unique objects": {
        "type": "array",
        "minItems": 3,
        "uniqueItems": True,
        "items": {"type": "object", "required": ["k"], "properties": {"k": {"type": "integer"}}},
    },
    "unique enum items": {
        "type": "array",
        "minItems": 3,
        "uniqueItems": True,
        "items": {"enum": ["x", "y", "z"]},
    },
    "unique booleans": {
        "type": "array",
        "minItems": 2,
        "uniqueItems": True,
        "items": {"type": "boolean"},
    },
    "prefixItems": {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "string", "format": "date"}],
        "items": False,
    },
    "contains": {"type": "array", "contains": {"const": 5}},
    "contains among items": {
        "type": "array",
        "minItems": 2,
        "items": {"type": "integer"},
        "contains": {"type": "integer", "minimum": 10},
    },
    "maxItems zero": {"type": "array", "maxItems": 0},
    # objects
    "nested objects": {
        "type": "object",
        "required": ["customer"],
        "properties": {
            "customer": {
                "type": "object",
                "required": ["address"],
                "properties": {
                    "address": {
                        "type": "object",
                        "required": ["city"],
                        "properties": {"city": {"type": "string", "minLength": 1}},
                    }
                },
            }
        },
    },
    "required but not declared": {
        "type": "object",
        "required": ["a", "b"],
        "properties": {"a": {"type": "string"}},
    },
    "additionalProperties schema": {
        "type": "object",
        "required": ["x"],
        "additionalProperties": {"type": "integer", "minimum": 2},
    },
    "minProperties": {
        "type": "object",
        "minProperties": 2,
        "additionalProperties": {"type": "string"},
    },
    "closed object with minProperties": {
        "type": "object",
        "minProperties": 1,
        "properties": {"a": {"type": "boolean"}},
        "additionalProperties": False,
    },
    "patternProperties": {
        "type": "object",
        "required": ["x_1"],
        "patternProperties": {"^x_": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    },
    # combinators
    "oneOf needing the second branch": {
        "type": "string",
        "oneOf": [{"type": "integer"}, {"minLength": 2}],
    },
    "oneOf of tagged objects": REFERRAL,
    "oneOf where every built value matches both": {
        "oneOf": [{"type": "string", "maxLength": 20}, {"type": "string", "minLength": 5}]
    },
    "anyOf": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 3}]},
    "allOf objects": {
        "allOf": [
            {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}},
            {"required": ["b"], "properties": {"b": {"type": "integer", "minimum": 3}}},
        ]
    },
    "allOf numbers": {
        "allOf": [{"type": "integer", "minimum": 5}, {"maximum": 10, "multipleOf": 3}]
    },
    "allOf bounds": {"type": "number", "allOf": [{"minimum": 2}, {"minimum": 8}, {"maximum": 9}]},
    "allOf with a ref": {"allOf": [{"$ref": "#/$defs/Code"}, {"type": "string"}]},
    "nested allOf": {"allOf": [{"allOf": [{"type": "integer"}, {"minimum": 4}]}, {"maximum": 4}]},
    # references
    "ref chain": {"$ref": "#/$defs/Cost"},
    "ref with siblings": {"$ref": "#/$defs/Code", "description": "a code"},
    "recursive tree": {"$ref": "#/$defs/Tree"},
    "recursive list": {"$ref": "#/$defs/Linked"},
    "recursive oneOf": {
        "oneOf": [{"$ref": "#/$defs/Linked"}, {"type": "integer"}],
    },
    # not
    "not a const": {"type": "string", "not": {"const": "example"}},
    "not some types": {"not": {"type": ["null", "boolean", "object", "array"]}},
    "not the least number": {"type": "integer", "minimum": 0, "not": {"const": 0}},
    "not an enum member": {"enum": ["a", "b", "c"], "not": {"enum": ["a", "b"]}},
    "not a property": {
        "type": "object",
        "minProperties": 1,
        "properties": {"a": {"type": "string"}},
        "not": {"required": ["a"]},
    },
    "not inside a property": {
        "type": "object",
        "required": ["code"],
        "properties": {"code": {"type": "string", "pattern": "^[a-c]$", "not": {"const": "a"}}},
    },
    "not with a ref": {"$ref": "#/$defs/Code", "not": {"const": "AAA"}},
    # if / then / else
    "if then": {
        "type": "object",
        "required": ["kind", "size"],
        "properties": {"kind": {"enum": ["box", "bag"]}, "size": {"type": "integer"}},
        "if": {"properties": {"kind": {"const": "box"}}},
        "then": {"properties": {"size": {"minimum": 10}}},
        "else": {"properties": {"size": {"maximum": 5}}},
    },
    "if then on numbers": {
        "type": "integer",
        "if": {"maximum": 100},
        "then": {"multipleOf": 7, "minimum": 1},
        "else": {"minimum": 1000},
    },
    "else taken": {
        "type": "string",
        "if": {"maxLength": 3},
        "then": False,
        "else": {"pattern": "^x+$"},
    },
    "else on a property": {
        "type": "object",
        "required": ["kind", "size"],
        "properties": {"kind": {"enum": ["box", "bag"]}, "size": {"type": "integer"}},
        "if": {"properties": {"kind": {"const": "box"}}},
        "then": False,
    },
    "if without then or else": {"type": "string", "if": {"minLength": 2}},
    # dependencies
    "dependentRequired": {
        "type": "object",
        "required": ["card"],
        "properties": {"card": {"type": "string"}, "billing": {"type": "string", "minLength": 3}},
        "dependentRequired": {"card": ["billing"]},
    },
    "dependentSchemas": {
        "type": "object",
        "required": ["card"],
        "properties": {"card": {"type": "string"}},
        "dependentSchemas": {
            "card": {
                "required": ["billing"],
                "properties": {"billing": {"type": "integer", "minimum": 5}},
            }
        },
    },
    "chained dependencies": {
        "type": "object",
        "required": ["a"],
        "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
        "dependentRequired": {"a": ["b"]},
        "dependentSchemas": {
            "b": {"required": ["c"], "properties": {"c": {"const": 3}}},
            "c": {"properties": {"b": {"maxLength": 2}}},
        },
    },
    "dependency of a property taken for minProperties": {
        "type": "object",
        "minProperties": 1,
        "properties": {"a": {"type": "boolean"}, "b": {"type": "integer", "minimum": 4}},
        "dependentRequired": {"a": ["b"]},
    },
    # lookarounds
    "lookaheads of every class": {
        "type": "string",
        "pattern": "^(?=.*\\d)(?=.*[a-z])(?=.*[A-Z])(?=.*[!@#$%^&*]).{8,}$",
    },
    "negative lookahead": {"type": "string", "pattern": "^(?!0)\\d{3}$"},
    "negative lookahead of words": {"type": "string", "pattern": "^(?!admin$|root$)[a-z]{4,5}$"},
    "negative lookahead of the first choices": {"type": "string", "pattern": "^(?!a)(?!b)[a-c]$"},
    "lookbehind": {"type": "string", "pattern": "(?<=@)[a-z]+"},
    "negative lookbehind": {"type": "string", "pattern": "^[a-z]+(?<!a)$"},
    # types
    "nullable string": {"type": ["string", "null"], "minLength": 2},
    "null only": {"type": ["null"]},
    "nullable integer": {"type": ["null", "integer"], "minimum": 3},
    "boolean": {"type": "boolean"},
    "true schema": True,
    "empty schema": {},
    "true property": {"type": "object", "required": ["a"], "properties": {"a": True}},
    "false optional property": {"type": "object", "properties": {"a": False}},
}

EXPECTED: dict[str, Any] = {
    "enum": "b",
    "enum with an invalid first value": "x",
    "const": {"a": [1, 2]},
    "default": 7,
    "examples": "hello",
    "invalid first example": "ok",
    "OpenAPI example": 42,
    "date-time": "2024-01-01T00:00:00Z",
    "anchored class": "AA",
    "integer minimum": 5,
    "nested objects": {"customer": {"address": {"city": "example"}}},
    "recursive tree": {"value": 0, "children": []},
    "recursive list": {"value": "example", "next": None},
    "prefixItems": [0, "2024-01-01"],
    "null only": None,
    "nullable integer": 3,
    "not a const": "example1",
    "not the least number": 1,
    "if then": {"kind": "box", "size": 10},
    "if then on numbers": 7,
    "dependentRequired": {"card": "example", "billing": "example"},
    "dependentSchemas": {"card": "example", "billing": 5},
    "negative lookahead": "999",
}


def _example(schema: Any) -> Any:
    return ExampleBuilder({"$defs": {"Subject": schema, **EXTRA_DEFS}}).example("#/$defs/Subject")


def _errors(schema: Any, value: Any) -> list[str]:
    document = {"$defs": {"Subject": schema, **EXTRA_DEFS}, "$ref": "#/$defs/Subject"}
    validator = Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return [error.message for error in validator.iter_errors(value)]


@pytest.mark.parametrize("name", list(CASES))
def test_example_is_valid(name: str) -> None:
    value = _example(CASES[name])
    assert _errors(CASES[name], value) == [], value


@pytest.mark.parametrize("name", list(EXPECTED))
def test_example_is_the_plain_expected_value(name: str) -> None:
    assert _example(CASES[name]) == EXPECTED[name]


def test_integers_are_int_and_numbers_may_be_float() -> None:
    assert type(_example({"type": "integer", "multipleOf": 0.5, "minimum": 0.2})) is int
    assert type(_example({"type": "integer", "exclusiveMinimum": 0.5})) is int
    assert isinstance(_example({"type": "number", "exclusiveMinimum": 0.5}), float)


def test_optional_properties_are_left_out() -> None:
    schema = {
        "type": "object",
        "required": ["id"],
        "properties": {"id": {"type": "string"}, "note": {"type": "string"}},
    }
    assert _example(schema) == {"id": "example"}


@pytest.mark.parametrize("name", list(CASES))
def test_examples_are_deterministic(name: str) -> None:
    assert repr(_example(CASES[name])) == repr(_example(CASES[name]))


@pytest.mark.parametrize(
    "schema",
    [
        False,
        {"not": {}},
        {"type": "integer", "minimum": 5, "maximum": 4},
        {"type": "string", "not": {"type": "string"}},
        {"if": True, "then": False},
        {"type": "integer", "if": {"minimum": 0}, "then": {"maximum": -1}, "else": False},
        {"type": "string", "pattern": "^(?=a)b$"},
        {
            "type": "object",
            "required": ["a"],
            "dependentRequired": {"a": ["b"]},
            "properties": {"a": {"type": "string"}},
            "additionalProperties": False,
        },
    ],
    ids=[
        "false",
        "not anything",
        "empty range",
        "not its own type",
        "then nothing",
        "neither branch",
        "contradicting lookahead",
        "dependency on a forbidden property",
    ],
)
def test_unsatisfiable_schemas_are_reported(schema: Any) -> None:
    with pytest.raises(CodegenError) as raised:
        _example(schema)
    assert raised.value.code == "NO_EXAMPLE_VALUE"
    assert "Subject" in raised.value.message
    assert "examples" in str(raised.value.hint)


# -- property: random simple schemas ----------------------------------------------------------

_PATTERNS = ["^[a-z]+$", "^[A-Z]{2}[0-9]{2}$", "^(yes|no)$", "[0-9]", "^[^ ]+$"]
_FORMATS = ["date-time", "date", "email", "uri", "uuid", "ipv4"]


@st.composite
def _strings(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "lengths", "pattern", "format"]))
    if choice == "lengths":
        low = draw(st.integers(0, 12))
        schema["minLength"] = low
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 5))
    elif choice == "pattern":
        schema["pattern"] = draw(st.sampled_from(_PATTERNS))
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(_FORMATS))
    return schema


@st.composite
def _numbers(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    low = draw(st.integers(-1000, 1000))
    span = draw(st.integers(2, 100))
    if draw(st.booleans()):
        schema["exclusiveMinimum" if draw(st.booleans()) else "minimum"] = low
    if draw(st.booleans()):
        schema["exclusiveMaximum" if draw(st.booleans()) else "maximum"] = low + span
    if draw(st.booleans()):
        options = [1, 2, 3, 5] if kind == "integer" else [0.1, 0.25, 0.5, 1.5]
        schema["multipleOf"] = draw(st.sampled_from(options))
    return schema


_scalars = st.none() | st.booleans() | st.integers(-50, 50) | st.text(max_size=5)
_leaves = st.one_of(
    _strings(),
    _numbers(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(_scalars, min_size=1, max_size=4, unique_by=repr).map(lambda values: {"enum": values}),
    _scalars.map(lambda value: {"const": value}),
)


def _containers(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    names = st.text("abcdefXYZ_", min_size=1, max_size=6)

    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(names, children, max_size=4))
        required = [name for name in properties if draw(st.booleans())]
        schema: dict[str, Any] = {"type": "object", "properties": properties, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    nullable = children.map(lambda child: {"anyOf": [child, {"type": "null"}]})
    return st.one_of(objects(), arrays(), nullable)


_schemas = st.recursive(_leaves, _containers, max_leaves=8)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_schemas)
@example(schema={"type": "array", "items": {"type": "integer", "maximum": -1, "multipleOf": 2}})
@example(schema={"type": "array", "items": {"type": "number", "maximum": -1, "multipleOf": 0.1}})
@example(schema={"type": "number", "exclusiveMaximum": -1, "multipleOf": 0.5})
def test_random_simple_schemas_get_valid_examples(schema: dict[str, Any]) -> None:
    builder = ExampleBuilder({"$defs": {"Subject": schema}})

    def no_search(ref: str) -> Any:
        raise AssertionError(f"construction failed for {schema}")

    builder._alternative = no_search  # type: ignore[method-assign]
    value = builder.example("#/$defs/Subject")
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(value), (schema, value)


# -- property: not, if/then/else, dependencies, lookarounds ------------------------------------


def _assert_valid_or_refused(schema: dict[str, Any]) -> Any:
    """The example validates, or the builder says it found none: never an invalid one."""
    refused: str | None
    try:
        value = ExampleBuilder({"$defs": {"Subject": schema}}).example("#/$defs/Subject")
    except CodegenError as error:
        refused = error.code
    else:
        refused = None
    if refused is not None:
        assert refused == "NO_EXAMPLE_VALUE"
        return None
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(value), (schema, value)
    return value


def _example_of(schema: dict[str, Any]) -> Any:
    value = ExampleBuilder({"$defs": {"Subject": schema}}).example("#/$defs/Subject")
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    assert validator.is_valid(value), (schema, value)
    return value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_strings(), excluded=_scalars)
def test_a_string_other_than_a_value_is_found(schema: dict[str, Any], excluded: Any) -> None:
    # every string schema drawn allows more than one value but the empty one
    assume(schema.get("maxLength") != 0)
    _example_of({**schema, "not": {"const": excluded}})
    _example_of({**schema, "not": {"const": _example_of(schema)}})


@st.composite
def _conditionals(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = dict(draw(_schemas))
    if draw(st.booleans()):
        schema["not"] = draw(_leaves)
    if draw(st.booleans()):
        schema["if"] = draw(_leaves)
        for key in ("then", "else"):
            if draw(st.booleans()):
                schema[key] = draw(_leaves | st.booleans())
    return schema


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_conditionals())
@example(schema={"type": "integer", "if": {"minimum": 0}, "then": False})
@example(schema={"enum": [1, "a"], "not": {"type": "integer"}})
def test_conditions_give_a_valid_example_or_a_coded_refusal(schema: dict[str, Any]) -> None:
    _assert_valid_or_refused(schema)


_dependency_leaves = st.one_of(
    _strings(),
    st.just({"type": "boolean"}),
    st.lists(_scalars, min_size=1, max_size=3, unique_by=repr).map(lambda vs: {"enum": vs}),
)


@st.composite
def _dependent_objects(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=6, unique=True))
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: draw(_dependency_leaves) for name in names},
        "required": [name for name in names if draw(st.booleans())],
        "additionalProperties": draw(st.booleans()),
    }
    others = st.lists(st.sampled_from(names), max_size=3, unique=True)
    schema["dependentRequired"] = {name: draw(others) for name in names if draw(st.booleans())}
    schema["dependentSchemas"] = {
        name: {"required": draw(others), "minProperties": draw(st.integers(0, len(names)))}
        for name in names
        if draw(st.booleans())
    }
    if draw(st.booleans()):
        schema["minProperties"] = draw(st.integers(1, len(names)))
    return schema


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=_dependent_objects())
def test_dependencies_are_followed(schema: dict[str, Any]) -> None:
    # every schema drawn is satisfiable: all its properties together satisfy it
    _example_of(schema)


_CLASSES = ["[0-9]", "[a-z]", "[A-Z]", "[!@#$%^&*]", "\\d", "[^a-zA-Z0-9]"]


@settings(max_examples=150, deadline=None)
@given(
    wanted=st.lists(st.sampled_from(_CLASSES), min_size=1, max_size=4, unique=True),
    body=st.sampled_from([".", "[A-Za-z0-9!@#$%^&*]", "\\S"]),
    length=st.integers(1, 12),
)
def test_lookaheads_a_password_policy_asks_for_are_met(
    wanted: list[str], body: str, length: int
) -> None:
    lookaheads = "".join(f"(?=.*{cls})" for cls in wanted)
    pattern = f"^{lookaheads}{body}{{{max(length, len(wanted))},}}$"
    _example_of({"type": "string", "pattern": pattern})


@settings(max_examples=100, deadline=None)
@given(
    refused=st.lists(st.sampled_from("abc"), min_size=1, max_size=2, unique=True),
    repeat=st.sampled_from(["", "+", "{2}", "{1,3}"]),
)
def test_negative_lookaheads_are_got_past(refused: list[str], repeat: str) -> None:
    pattern = "^" + "".join(f"(?!{char})" for char in refused) + f"[a-c]{repeat}$"
    _example_of({"type": "string", "pattern": pattern})
