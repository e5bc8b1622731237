"""Python source for JSON values: valid, faithful, and laid out as ruff format would."""

from __future__ import annotations

import ast
import json
import math
import shutil
import subprocess
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.codegen.literal import flat_literal, python_literal, string_literal

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5)
    ),
    max_leaves=25,
)


def _same(left: Any, right: Any) -> bool:
    """Equal with types (1 vs 1.0 vs True) and key order, as JSON sees them."""
    return json.dumps(left) == json.dumps(right)


@given(value=_json_values, indent=st.integers(0, 4), prefix=st.integers(0, 40))
def test_source_evaluates_back_to_the_value(value: Any, indent: int, prefix: int) -> None:
    source = python_literal(value, indent, prefix=prefix)
    assert _same(ast.literal_eval(source), value)


@given(value=_json_values, indent=st.integers(0, 3))
def test_flat_containers_fit_the_line(value: Any, indent: int) -> None:
    text = "    " * indent + python_literal(value, indent)
    lines = text.split("\n")
    for node in ast.walk(ast.parse(text.strip(), mode="eval")):
        if not isinstance(node, ast.Dict | ast.List):
            continue
        flat = node.lineno == node.end_lineno
        # an empty container cannot be split: a long key before it may overflow the line
        empty = not (node.keys if isinstance(node, ast.Dict) else node.elts)
        if flat and not empty and len(lines) > 1:
            assert len(lines[node.lineno - 1]) <= 88, lines[node.lineno - 1]


@given(value=_json_values)
def test_source_is_one_line_of_plain_text_per_line(value: Any) -> None:
    source = python_literal(value)
    assert source.encode("utf-8")  # no lone surrogates
    assert all(line.isprintable() for line in source.split("\n"))


def test_short_values_stay_on_one_line() -> None:
    assert python_literal({"a": [1, 2.5, None, True], "b": "x"}) == (
        '{"a": [1, 2.5, None, True], "b": "x"}'
    )
    assert python_literal([]) == "[]"
    assert python_literal({}) == "{}"


def test_long_values_go_one_item_per_line_with_trailing_commas() -> None:
    value = {"customer": {"name": "x" * 60, "tier": "gold"}, "items": [1, 2]}
    assert python_literal(value, 1) == (
        "{\n"
        '        "customer": {\n'
        f'            "name": "{"x" * 60}",\n'
        '            "tier": "gold",\n'
        "        },\n"
        '        "items": [1, 2],\n'
        "    }"
    )


def test_prefix_and_suffix_count_towards_the_width() -> None:
    value = {"key": "v" * 30}
    assert "\n" not in python_literal(value, 0, prefix=40)
    assert "\n" in python_literal(value, 0, prefix=40, suffix=10)


@pytest.mark.parametrize(
    ("text", "source"),
    [
        ("plain", '"plain"'),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        ("a\"b'c", '"a\\"b\'c"'),
        ("back\\slash", '"back\\\\slash"'),
        ("tab\tnew\nline\r", '"tab\\tnew\\nline\\r"'),
        ("\x00\x1f\x7f", '"\\x00\\x1f\\x7f"'),
        ("\u2028", '"\\u2028"'),
        ("\ud800", '"\\ud800"'),
        ("café 数据 🎉", '"café 数据 🎉"'),
    ],
)
def test_strings(text: str, source: str) -> None:
    assert string_literal(text) == source
    assert ast.literal_eval(source) == text


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (1e16, "1e16"),
        (1.5e300, "1.5e300"),
        (1e-05, "1e-05"),
        (0.1, "0.1"),
        (-0.0, "-0.0"),
        (10**30, str(10**30)),
    ],
)
def test_numbers(value: float, source: str) -> None:
    assert flat_literal(value) == source


def test_non_finite_floats_are_expressions() -> None:
    assert eval(flat_literal(math.inf)) == math.inf
    assert eval(flat_literal(-math.inf)) == -math.inf
    assert math.isnan(eval(flat_literal(math.nan)))


def test_other_values_become_strings() -> None:
    assert flat_literal((1, 2)) == "[1, 2]"
    assert flat_literal({1: "a"}) == '{"1": "a"}'
    assert flat_literal(object) == "\"<class 'object'>\""


_SAMPLES = [
    {"a": 1},
    {"signals": [{"name": "example", "weight": 1.0, "observedAt": "2024-01-01T00:00:00Z"}]},
    ["e" * 100],
    {"k" * 50: {"nested": ["x" * 20, "y" * 20, {"deep": "z" * 40}]}},
    {"quote": 'say "hi"', "float": 1e16, "list": [[], {}, [[1]]]},
    [{"id": index, "label": f"item number {index}"} for index in range(6)],
]


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_layout_is_what_ruff_format_writes() -> None:
    assignments, functions = [], []
    for index, value in enumerate(_SAMPLES):
        head = f"VALUE_{index}: dict[str, Any] = "
        assignments.append(head + python_literal(value, prefix=len(head)))
        inner = python_literal(value, 2, prefix=len("dependency_results="), suffix=1)
        functions.append(
            f"def f_{index}() -> None:\n    g(\n        dependency_results={inner},\n    )"
        )
    source = "\n".join(assignments) + "\n\n\n" + "\n\n\n".join(functions) + "\n"
    result = subprocess.run(
        [shutil.which("ruff") or "ruff", "format", "--isolated", "-"],
        input=source,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == source
