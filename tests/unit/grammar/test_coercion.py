"""Coercion and extra-property removal of ``validate``, rule by rule."""

from __future__ import annotations

from typing import Any

import pytest

from tasker_ctl.grammar.capabilities.coercion import (
    MAX_DEPTH,
    coerce,
    coerce_date,
    coerce_date_time,
    drop_undeclared,
)

DATE_TIME = {"type": "string", "format": "date-time"}
DATE = {"type": "string", "format": "date"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # RFC 3339, any offset, converted to UTC
        ("2024-03-01T09:30:00Z", "2024-03-01T09:30:00Z"),
        ("2024-03-01t09:30:00z", "2024-03-01T09:30:00Z"),
        ("2024-03-01T09:30:00+02:00", "2024-03-01T07:30:00Z"),
        ("2024-03-01T23:30:00-05:00", "2024-03-02T04:30:00Z"),
        ("2024-03-01T09:30:00+0530", "2024-03-01T04:00:00Z"),
        ("2024-03-01T09:30:00.250Z", "2024-03-01T09:30:00.250Z"),
        ("2024-03-01T09:30:00.123456Z", "2024-03-01T09:30:00.123456Z"),
        ("2024-03-01T09:30:00.1234567Z", "2024-03-01T09:30:00.123456Z"),
        # naive ISO, read as UTC
        ("2024-03-01T09:30:00", "2024-03-01T09:30:00Z"),
        ("2024-03-01 09:30:00", "2024-03-01T09:30:00Z"),
        ("2024-03-01T09:30", "2024-03-01T09:30:00Z"),
        # a date alone is midnight UTC
        ("2024-03-01", "2024-03-01T00:00:00Z"),
        # MM/DD/YYYY
        ("03/01/2024", "2024-03-01T00:00:00Z"),
        ("3/1/2024", "2024-03-01T00:00:00Z"),
        ("12/31/1999", "1999-12-31T00:00:00Z"),
        # DD.MM.YYYY
        ("01.03.2024", "2024-03-01T00:00:00Z"),
        ("31.12.1999", "1999-12-31T00:00:00Z"),
        # epoch seconds, fractional ones included
        ("0", "1970-01-01T00:00:00Z"),
        ("1709285400", "2024-03-01T09:30:00Z"),
        ("1709285400.5", "2024-03-01T09:30:00.500Z"),
        ("-86400", "1969-12-31T00:00:00Z"),
        # surrounding whitespace is ignored
        ("  2024-03-01  ", "2024-03-01T00:00:00Z"),
    ],
)
def test_date_time_notations(text: str, expected: str) -> None:
    assert coerce_date_time(text) == expected
    assert coerce(text, DATE_TIME) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2024-02-30",
        "02/30/2024",
        "13/01/2024",
        "32.01.2024",
        "2024-03-01T25:00:00Z",
        "2024-03-01T09:30:00+25:00",
        "2024/03/01",
        "1e10",
        "99999999999999999999",
        "2024-3-1",
    ],
)
def test_unreadable_dates_are_left_alone(text: str) -> None:
    assert coerce_date_time(text) is None
    assert coerce(text, DATE_TIME) == text
    assert coerce(text, DATE) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01", "2024-03-01"),
        ("2024-03-01T09:30:00Z", "2024-03-01"),
        ("2024-03-01T23:30:00-05:00", "2024-03-02"),
        ("2024-03-01 09:30", "2024-03-01"),
        ("03/01/2024", "2024-03-01"),
        ("01.03.2024", "2024-03-01"),
        ("1709285400", "2024-03-01"),
        ("1709285400.75", "2024-03-01"),
    ],
)
def test_date_notations(text: str, expected: str) -> None:
    assert coerce_date(text) == expected
    assert coerce(text, DATE) == expected


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        # strings to the declared scalar type
        ("42", {"type": "integer"}, 42),
        (" -7 ", {"type": "integer"}, -7),
        ("5.0", {"type": "integer"}, 5),
        ("1e3", {"type": "integer"}, 1000),
        ("5.5", {"type": "integer"}, "5.5"),
        ("12", {"type": "number"}, 12),
        ("-1.5e3", {"type": "number"}, -1500.0),
        (".5", {"type": "number"}, 0.5),
        ("nan", {"type": "number"}, "nan"),
        ("inf", {"type": "number"}, "inf"),
        ("1_000", {"type": "number"}, "1_000"),
        ("1e999", {"type": "number"}, "1e999"),
        ("true", {"type": "boolean"}, True),
        ("FALSE", {"type": "boolean"}, False),
        ("yes", {"type": "boolean"}, "yes"),
        ("1", {"type": "boolean"}, "1"),
        ("7", {"type": ["integer", "null"]}, 7),
        ("true", {"type": ["integer", "boolean"]}, True),
        # a string where a string is allowed stays a string
        ("42", {"type": ["string", "integer"]}, "42"),
        ("42", {"type": "string"}, "42"),
        ("42", {}, "42"),
        # scalars to strings
        (42, {"type": "string"}, "42"),
        (1.5, {"type": "string"}, "1.5"),
        (True, {"type": "string"}, "true"),
        (False, {"type": "string"}, "false"),
        (42, {"type": ["string", "integer"]}, 42),
        (True, {"type": ["string", "boolean"]}, True),
        (42, {"type": "number"}, 42),
        # numbers under a date format are epoch seconds
        (1709285400, DATE_TIME, "2024-03-01T09:30:00Z"),
        (1709285400.5, DATE_TIME, "2024-03-01T09:30:00.500Z"),
        (1709285400, DATE, "2024-03-01"),
        # nothing else changes
        (None, {"type": "string"}, None),
        ([1], {"type": "string"}, [1]),
        ("x", True, "x"),
    ],
)
def test_scalar_coercion(value: Any, schema: Any, expected: Any) -> None:
    result = coerce(value, schema)
    assert result == expected
    assert type(result) is type(expected)


def test_coercion_recurses_through_properties_and_items() -> None:
    schema = {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "lines": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {"qty": {"type": "integer"}, "at": DATE_TIME},
                        },
                    },
                    "pair": {"type": "array", "prefixItems": [{"type": "integer"}, DATE]},
                },
            },
            "meta": {"type": "object", "additionalProperties": {"type": "number"}},
        },
    }
    value = {
        "order": {
            "lines": [{"qty": "2", "at": "03/01/2024"}, {"qty": "x", "at": "never"}],
            "pair": ["1", "01.03.2024", "extra"],
        },
        "meta": {"a": "1.5", "b": "n/a"},
        "other": "3",
    }
    assert coerce(value, schema) == {
        "order": {
            "lines": [{"qty": 2, "at": "2024-03-01T00:00:00Z"}, {"qty": "x", "at": "never"}],
            "pair": [1, "2024-03-01", "extra"],
        },
        "meta": {"a": 1.5, "b": "n/a"},
        "other": "3",
    }
    assert value["order"]["lines"][0]["qty"] == "2"  # type: ignore[index]


def _nested(depth: int, leaf: Any) -> tuple[Any, Any]:
    schema: Any = {"type": "integer"}
    value: Any = leaf
    for _ in range(depth):
        schema = {"type": "object", "properties": {"n": schema}}
        value = {"n": value}
    return value, schema


def _leaf(value: Any, depth: int) -> Any:
    for _ in range(depth):
        value = value["n"]
    return value


def test_coercion_stops_below_the_depth_limit() -> None:
    value, schema = _nested(MAX_DEPTH, "1")
    assert _leaf(coerce(value, schema), MAX_DEPTH) == 1
    value, schema = _nested(MAX_DEPTH + 1, "1")
    assert _leaf(coerce(value, schema), MAX_DEPTH + 1) == "1"


def test_drop_undeclared_keeps_declared_and_open_parts() -> None:
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"sku": {"type": "string"}}},
            },
            "prefs": {"type": "object"},
            "labels": {
                "type": "object",
                "additionalProperties": {
                    "type": "object",
                    "properties": {"text": {"type": "string"}},
                },
            },
        },
        "patternProperties": {"^x-": {"type": "string"}},
    }
    value = {
        "id": "1",
        "secret": "drop me",
        "x-trace": "kept by pattern",
        "items": [{"sku": "a", "cost": 1}, "not an object"],
        "prefs": {"anything": True},
        "labels": {"en": {"text": "hi", "debug": 1}},
    }
    assert drop_undeclared(value, schema) == {
        "id": "1",
        "x-trace": "kept by pattern",
        "items": [{"sku": "a"}, "not an object"],
        "prefs": {"anything": True},
        "labels": {"en": {"text": "hi"}},
    }
    assert "secret" in value


def test_drop_undeclared_ignores_unusable_schemas() -> None:
    assert drop_undeclared({"a": 1}, True) == {"a": 1}
    assert drop_undeclared({"a": 1}, {"patternProperties": {"(": {}}}) == {}
    assert drop_undeclared([{"a": 1}], {"type": "array"}) == [{"a": 1}]
