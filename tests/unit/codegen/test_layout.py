"""Lines holding printed values are laid out as ruff format would; other lines are untouched."""

from __future__ import annotations

from typing import Any

from tasker_ctl.codegen.layout import collecting, lay_out, placeholder
from tasker_ctl.codegen.literal import python_literal


def _render(template: str, *values: Any) -> str:
    with collecting() as collected:
        text = template.format(*(placeholder(value) for value in values))
    return lay_out(text, collected)


def test_a_line_that_fits_is_kept() -> None:
    assert _render("x = f({})", {"a": 1}) == 'x = f({"a": 1})'


def test_a_value_ending_the_line_is_split_one_item_per_line() -> None:
    value = {"first": "a" * 40, "second": "b" * 40}
    assert _render("    VALUE = {}", value) == (
        f'    VALUE = {{\n        "first": "{"a" * 40}",\n        "second": "{"b" * 40}",\n    }}'
    )


def test_the_call_around_a_single_value_is_broken_first() -> None:
    value = {"valid": False, "item_count": 0, "note": "x" * 30}
    assert _render("    return Result.model_validate({})", value) == (
        f"    return Result.model_validate(\n        {python_literal(value)}\n    )"
    )


def test_a_value_too_long_for_its_own_line_is_split_inside_the_call() -> None:
    value = {f"key_{index}": "v" * 10 for index in range(6)}
    lines = _render("    return Result.model_validate({})", value).split("\n")
    assert lines[0] == "    return Result.model_validate("
    assert lines[1] == "        {"
    assert lines[2] == '            "key_0": "vvvvvvvvvv",'
    assert lines[-2:] == ["        }", "    )"]


def test_several_arguments_go_one_per_line_when_they_do_not_fit_together() -> None:
    callable_name = "examples.module." + "handler_" * 6
    assert _render("@batch_analyzer({}, worker_template={})", callable_name, "w" * 30) == (
        f'@batch_analyzer(\n    "{callable_name}",\n    worker_template="{"w" * 30}",\n)'
    )


def test_arguments_that_fit_together_share_a_line() -> None:
    name = "s" * 50
    assert _render("    assert_matches_schema(result.result, SCHEMAS[{}])", name) == (
        f'    assert_matches_schema(\n        result.result, SCHEMAS["{name}"]\n    )'
    )


def test_brackets_inside_strings_and_comments_are_ignored() -> None:
    text = _render('    note = "(not a call"  # ) {}', "x" * 90)
    assert text.count("\n") == 0


def test_lines_without_values_are_left_exactly_as_written() -> None:
    docstring = '    """A long docstring line (with brackets) ' + "word " * 20 + '"""'
    assert _render(docstring + "\n    x = {}", 1) == docstring + "\n    x = 1"


def test_outside_rendering_the_value_is_printed_directly() -> None:
    assert placeholder({"a": None}) == '{"a": None}'
