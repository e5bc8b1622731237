"""The bounded JSON reader: what jsonb cannot store and what passes a limit is a coded error.

Before it, each of these crashed ``tasker-ctl run --context`` (exit 3) or reached the
database: NaN, infinities, 1e999, ``\\u0000``, lone surrogates, 5,000-digit integers and
5,000 levels of nesting.
"""

from __future__ import annotations

import json
import math
import re
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.bounded_json import (
    MAX_JSON_BYTES,
    MAX_JSON_DEPTH,
    MAX_JSON_NUMBER_DIGITS,
    JsonLimits,
    loads,
)
from tasker_ctl.errors import ExitCode, JsonInputError, UsageError

CODES = {
    "INPUT_TOO_LARGE",
    "INPUT_TOO_DEEP",
    "NUMBER_TOO_LARGE",
    "NUMBER_NOT_FINITE",
    "TEXT_NOT_STORABLE",
    "ENCODING_ERROR",
    "JSON_SYNTAX",
}


def refused(text: str | bytes, limits: JsonLimits | None = None) -> JsonInputError:
    with pytest.raises(JsonInputError) as caught:
        loads(text) if limits is None else loads(text, limits=limits)
    assert caught.value.code in CODES
    return caught.value


@pytest.mark.parametrize(
    ("text", "code", "where"),
    [
        ('{"a": NaN}', "NUMBER_NOT_FINITE", "$.a"),
        ('{"a": [1, Infinity]}', "NUMBER_NOT_FINITE", "$.a[1]"),
        ("-Infinity", "NUMBER_NOT_FINITE", "$"),
        ('{"a": {"b": 1e999}}', "NUMBER_TOO_LARGE", "$.a.b"),
        ('{"x y": -1e999}', "NUMBER_TOO_LARGE", '$["x y"]'),
        ('{"n": ' + "7" * 5000 + "}", "NUMBER_TOO_LARGE", "$.n"),
        ("-" + "1" * 4300, "NUMBER_TOO_LARGE", "$"),
        ("[0." + "1" * 200 + "]", "NUMBER_TOO_LARGE", "$[0]"),
        ('{"a": "x\\u0000"}', "TEXT_NOT_STORABLE", "$.a"),
        ('{"a\\u0000": 1}', "TEXT_NOT_STORABLE", '$["a\\u0000"]'),
        ('["\\ud800"]', "TEXT_NOT_STORABLE", "$[0]"),
        ('"x\\udfff"', "TEXT_NOT_STORABLE", "$"),
        ('"\\udbff\\u0041"', "TEXT_NOT_STORABLE", "$"),
        ("[" * 5000 + "]" * 5000, "INPUT_TOO_DEEP", "character 65"),
        ('{"a":' * 5000 + "1" + "}" * 5000, "INPUT_TOO_DEEP", "character 321"),
        ("[" * 100_000 + "]" * 100_000, "INPUT_TOO_DEEP", "line 1, column 65"),
        ('"' + "x" * 5_000_000 + '"', "INPUT_TOO_LARGE", "4 MiB"),
        ('{"a": 1,}', "JSON_SYNTAX", "line 1, column 9"),
        ("{} {}", "JSON_SYNTAX", "character 4"),
        ('{"a": 1}\x00', "JSON_SYNTAX", "character 9"),
        ("", "JSON_SYNTAX", "character 1"),
        ('"\udc80"', "ENCODING_ERROR", "U+DC80"),
    ],
)
def test_unusable_json_is_refused_with_where(text: str, code: str, where: str) -> None:
    started = time.process_time()
    error = refused(text)
    assert time.process_time() - started < 1
    assert error.code == code
    assert where in error.message
    assert error.hint


def test_the_error_is_a_usage_error() -> None:
    error = refused("NaN")
    assert isinstance(error, UsageError)
    assert error.exit_code is ExitCode.USAGE


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"\\ud83d\\ude00"', "\U0001f600"),  # a surrogate pair is one character
        ('"\\\\u0000"', "\\u0000"),  # an escaped backslash, then text
        ('{"a": 1, "a": 2}', {"a": 2}),
        ("1e308", 1e308),
        ("1e-999", 0.0),
        (str(2**64), 2**64),
        ("9" * MAX_JSON_NUMBER_DIGITS, int("9" * MAX_JSON_NUMBER_DIGITS)),
        ("\ufeff{}", {}),
        ('"[[[[ {{{{"', "[[[[ {{{{"),
    ],
)
def test_usable_json_is_read(text: str, value: Any) -> None:
    assert loads(text) == value


def test_bytes_are_utf8_with_an_optional_byte_order_mark() -> None:
    assert loads(b'\xef\xbb\xbf{"a": "\xc3\xa9"}') == {"a": "é"}
    error = refused(b'{"a": "\xff"}')
    assert error.code == "ENCODING_ERROR"
    assert "0xff" in error.message


def test_size_is_counted_in_bytes() -> None:
    limits = JsonLimits(max_bytes=10)
    assert loads('"ééé"', limits=limits) == "ééé"  # 8 bytes
    assert refused('"ééééé"', limits).code == "INPUT_TOO_LARGE"  # 7 characters, 12 bytes
    assert refused(b"[" + b"1," * 10 + b"1]", limits).code == "INPUT_TOO_LARGE"


def test_a_large_value_within_the_limits_is_quick() -> None:
    text = "[" + ",".join(["1"] * 500_000) + "]"
    assert len(text) < MAX_JSON_BYTES
    started = time.process_time()
    assert len(loads(text)) == 500_000
    assert time.process_time() - started < 1


def test_brackets_inside_strings_are_not_nesting() -> None:
    text = json.dumps({"a": "[" * 1000, "b": "{" * 1000})
    assert loads(text) == {"a": "[" * 1000, "b": "{" * 1000}


# -- properties ------------------------------------------------------------------------------------


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=3 * MAX_JSON_DEPTH), st.sampled_from(["[]", "{}"]))
def test_nesting_is_accepted_up_to_the_limit(depth: int, brackets: str) -> None:
    opening, closing = brackets
    inner = '{"k": ' if opening == "{" else "["
    text = inner * (depth - 1) + opening + closing + ("}" if opening == "{" else "]") * (depth - 1)
    if depth <= MAX_JSON_DEPTH:
        loads(text)
    else:
        assert refused(text).code == "INPUT_TOO_DEEP"


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=1, max_value=6000), st.booleans())
def test_integer_digits_are_accepted_up_to_the_limit(digits: int, negative: bool) -> None:
    text = ("-" if negative else "") + "1" + "0" * (digits - 1)
    if digits <= MAX_JSON_NUMBER_DIGITS:
        assert loads(text) == int(text)
    else:
        assert refused(text).code == "NUMBER_TOO_LARGE"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=40,
)


def _storable(value: Any) -> bool:
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")  # raises for a lone surrogate
    return "\\u0000" not in json.dumps(value, allow_nan=False)


def outcome(text: str | bytes) -> Any:
    """The value of ``text``, or the ``JsonInputError`` it raises."""
    try:
        return loads(text)
    except JsonInputError as error:
        return error


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(JSON_VALUES)
def test_what_json_dumps_writes_reads_back_or_is_refused(value: Any) -> None:
    text = json.dumps(value)
    result = outcome(text)
    if isinstance(result, JsonInputError):
        # only what jsonb cannot store: a NUL or lone surrogate in a string
        assert result.code == "TEXT_NOT_STORABLE", result.message
        assert re.search(r"\\u(0000|d[89a-f])", text)
        return
    assert result == value
    assert _storable(result)


# pieces of hostile JSON, repeated and joined at random
_PIECES = st.sampled_from(
    [
        "[", "]", "{", "}", ",", ":", '"', '"k"', "1", "-", "0", "9" * 120, ".5", "e999",
        "NaN", "Infinity", "-Infinity", "null", "true", "\\u0000", "\\ud800", "\\udc00",
        "\\\\", "\\", " ", "\n", "\x00", "\ufeff", "é", "\ud800",
    ]
)  # fmt: skip
_REPEATED = st.tuples(_PIECES, st.integers(min_value=1, max_value=300)).map(lambda p: p[0] * p[1])
JSON_SOUP = st.lists(st.one_of(_PIECES, _REPEATED, st.text(max_size=10)), max_size=40).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.one_of(JSON_SOUP, st.text()))
def test_any_text_gives_a_storable_value_or_the_coded_error(text: str) -> None:
    result = outcome(text)
    if isinstance(result, JsonInputError):
        assert result.code in CODES
        assert result.message
        return
    assert _storable(result)
    assert _depth(result) <= MAX_JSON_DEPTH
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in _leaves(result))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.binary(max_size=200))
def test_any_bytes_give_a_storable_value_or_the_coded_error(raw: bytes) -> None:
    result = outcome(raw)
    if isinstance(result, JsonInputError):
        assert result.code in CODES
        return
    assert _storable(result)


def _leaves(value: Any) -> list[Any]:
    found, stack = [], [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        else:
            found.append(item)
    return found


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend(
                (child, depth) for child in (item.values() if isinstance(item, dict) else item)
            )
    return deepest
