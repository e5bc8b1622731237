"""What jsonb can store: every kind of unstorable value is named by path, nothing ever raises.

The properties: whatever ``unstorable`` accepts, ``json.dumps(allow_nan=False)`` serializes
within the size limit (the integration test round-trips accepted values through PostgreSQL);
whatever it refuses comes with a JSON path and a message; no value makes it raise or recurse.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import json
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.storable import (
    DEFAULT_MAX_RESULT_BYTES,
    StorableLimits,
    cut_text,
    storable_text,
    unstorable,
)


def nested(depth: int, leaf: Any = None) -> dict[str, Any]:
    value: dict[str, Any] = {} if leaf is None else leaf
    for _ in range(depth):
        value = {"a": value}
    return value


def cycle() -> dict[str, Any]:
    loop: list[Any] = [1]
    loop.append({"back": loop})
    return {"items": loop}


class Colour(enum.Enum):
    RED = "red"


@dataclass
class Point:
    x: int


def json_size(value: Any) -> int:
    """The size the limit is about: compact JSON text in UTF-8."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return len(text.encode("utf-8"))


# Each of the reported poison results, with where it is refused and what the message says.
REFUSED = [
    ({"x": object()}, "$.x", "object is not JSON"),
    ({"tags": {"a", "b"}}, "$.tags", "set is not JSON; return a list"),
    (
        {"items": [0, 1, 2, {"when": datetime.datetime(2026, 1, 1)}]},
        "$.items[3].when",
        "datetime is not JSON; return an ISO string",
    ),
    ({"price": decimal.Decimal("1.10")}, "$.price", "Decimal is not JSON"),
    ({"blob": b"\x00\x01"}, "$.blob", "bytes is not JSON"),
    (cycle(), "$.items[1].back", "contains itself (it is $.items again)"),
    (nested(100_000), "$.a.a.a.a.a.a.a.a…(", "nesting is deeper than 200 levels"),
    ({"n": 10**4300}, "$.n", "an integer of more than 1,000 digits"),
    ({"n": -(10**1000)}, "$.n", "an integer of more than 1,000 digits"),
    ({"ratio": float("nan")}, "$.ratio", "NaN is not JSON"),
    ({"ratio": [float("inf")]}, "$.ratio[0]", "Infinity is not JSON"),
    ({"text": "a\x00b"}, "$.text", "NUL character (\\u0000) at index 1"),
    ({"a\x00b": 1}, '$["a\\u0000b"]', "the key contains the NUL character"),
    ({"text": ["ok", "x\ud800"]}, "$.text[1]", "surrogate code point U+D800 at index 1"),
    ({"\udfff": 1}, '$["\\udfff"]', "the key contains the surrogate code point U+DFFF"),
    ({"by_id": {1: "x"}}, "$.by_id", "has a key of type int (1)"),
    ({"id": uuid.UUID(int=1)}, "$.id", "UUID is not JSON; return a string"),
    ({"colour": Colour.RED}, "$.colour", "Colour is not JSON; return its value"),
    ({"point": Point(1)}, "$.point", "return dataclasses.asdict(value)"),
    ({"odd key": {"é": 1j}}, '$["odd key"]["\\u00e9"]', "complex is not JSON"),
]


@pytest.mark.parametrize(("value", "path", "message"), REFUSED)
def test_each_poison_is_named_by_path_and_problem(value: Any, path: str, message: str) -> None:
    problem = unstorable(value)
    assert problem is not None
    assert problem.path.startswith(path)
    assert message in problem.message
    assert not problem.too_large


def test_json_values_and_their_subclasses_are_storable() -> None:
    value = {
        "none": None,
        "flags": [True, False],
        "numbers": (0, -1, 10**999, 1.5, -0.0, 1e308),
        "text": 'ünïcödé \u2028 \U0001f600 "quoted" \\ \n\t\x01',
        "ordered": OrderedDict(b=1, a=2),
        "nested": nested(198),  # 200 levels with the outer dict
    }
    assert unstorable(value) is None
    json.dumps(value, allow_nan=False)


def test_size_is_the_compact_utf8_json_text() -> None:
    value = {"a": [1, 2.5, "x\n\u00e9\U0001f600", None, True, {"b": ()}], "c": "\x01"}
    size = json_size(value)
    assert unstorable(value, StorableLimits(max_bytes=size)) is None
    problem = unstorable(value, StorableLimits(max_bytes=size - 1))
    assert problem is not None
    assert problem.too_large
    assert "passes the limit of" in problem.message


def test_a_huge_string_is_refused_at_its_path_without_encoding_it() -> None:
    problem = unstorable({"log": "x" * (DEFAULT_MAX_RESULT_BYTES + 1)})
    assert problem is not None
    assert problem.too_large
    assert problem.path == "$.log"
    assert "16,777,216 bytes (16 MiB)" in problem.message


def test_shared_containers_are_measured_once() -> None:
    shared: list[Any] = []
    for _ in range(60):  # 2**60 leaves when written out
        shared = [shared, shared]
    started = time.monotonic()
    problem = unstorable(shared)
    assert time.monotonic() - started < 5
    assert problem is not None
    assert problem.too_large
    small: Any = "leaf"
    for _ in range(10):
        small = {"l": small, "r": small}
    assert unstorable(small) is None
    assert unstorable(small, StorableLimits(max_bytes=json_size(small))) is None
    assert unstorable(small, StorableLimits(max_bytes=json_size(small) - 1)) is not None
    # a shared container deep enough to pass the depth limit where it is reached again
    deep = nested(150)
    problem = unstorable({"once": deep, "again": nested(60, deep)})
    assert problem is not None
    assert problem.message == "nesting is deeper than 200 levels; flatten the value"
    assert ".again.a.a" in problem.path


def test_limits_are_configurable() -> None:
    assert unstorable(nested(4), StorableLimits(max_depth=5)) is None  # 5 dicts
    assert unstorable(nested(5), StorableLimits(max_depth=5)) is not None
    assert unstorable(10**20, StorableLimits(max_int_digits=21)) is None
    assert unstorable(10**21, StorableLimits(max_int_digits=21)) is not None
    with pytest.raises(ValueError, match="max_int_digits"):
        StorableLimits(max_int_digits=5000)


def test_broken_containers_are_reported_not_raised() -> None:
    class Broken(dict[str, Any]):
        def items(self) -> Any:
            raise RuntimeError("no")

    problem = unstorable({"x": Broken(a=1)})
    assert problem is not None
    assert problem.path == "$.x"
    assert "reading it raised RuntimeError" in problem.message


def test_cut_text_notes_what_was_cut() -> None:
    assert cut_text("short", 10) == "short"
    assert cut_text("x" * 20_000_000, 8192) == "x" * 8192 + "… [cut 19,991,808 characters]"
    ends = cut_text("a" * 50 + "b" * 50, 10, keep_end=True)
    assert ends == "aaaaa… [cut 90 characters] …bbbbb"
    assert storable_text("a\x00b\ud800", 100) == "a\ufffdb\ufffd"
    assert unstorable(storable_text("\x00" * 100, 10)) is None


# -- properties -----------------------------------------------------------------------------

# Text with every code point: NUL, controls, surrogates, astral characters.
ANY_TEXT = st.text(st.characters(codec=None, categories=None), max_size=12)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**990, max_value=10**1010)
    | st.floats()
    | ANY_TEXT
)
POISON = (
    st.datetimes()
    | st.decimals(allow_nan=False)
    | st.binary(max_size=4)
    | st.sets(st.integers(), max_size=2)
    | st.complex_numbers()
)


def values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, max_size=4)
            | st.tuples(children, children)
            | st.dictionaries(ANY_TEXT, children, max_size=4)
            | st.dictionaries(st.integers() | st.none(), children, min_size=1, max_size=2)
        ),
        max_leaves=20,
    )


ANY_VALUE = values(SCALARS | POISON)


def check_verdict(value: Any, limits: StorableLimits) -> None:
    problem = unstorable(value, limits)
    if problem is None:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
        assert "\x00" not in text
        text.encode("utf-8")  # no surrogate
        assert json_size(value) <= limits.max_bytes
    else:
        assert problem.path.startswith("$")
        assert problem.message
        assert unstorable(str(problem)) is None  # the message itself can be stored


@settings(max_examples=400, deadline=None)
@given(ANY_VALUE)
def test_anything_accepted_serializes_and_anything_refused_says_where(value: Any) -> None:
    check_verdict(value, StorableLimits())


@settings(max_examples=200, deadline=None)
@given(ANY_VALUE, st.integers(min_value=2, max_value=200))
def test_the_size_limit_holds_for_any_value(value: Any, max_bytes: int) -> None:
    check_verdict(value, StorableLimits(max_bytes=max_bytes))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00")),
            children,
            max_size=4,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_plain_json_is_storable_exactly_up_to_its_size(value: Any) -> None:
    assert unstorable(value) is None
    size = json_size(value)
    assert unstorable(value, StorableLimits(max_bytes=max(size, 2))) is None
    if size > 2:
        refused = unstorable(value, StorableLimits(max_bytes=size - 1))
        assert refused is not None
        assert refused.too_large
