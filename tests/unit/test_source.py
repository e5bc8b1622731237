"""Reading YAML: positions, file-level problems and the YAML 1.2 scalar rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.template import validate_text
from tasker_ctl.template.source import YamlFloat, format_path, parse_document


def parse(raw: bytes | str) -> tuple[object, list[tuple[str, tuple[int, int] | None]]]:
    document = parse_document(raw, path=Path("t.yaml"), display_path="t.yaml")
    return document.data, [(p.code, p.position) for p in document.problems]


def test_positions_of_keys_and_values() -> None:
    document = parse_document(
        "name: t\nsteps:\n  - name: a\n    dependencies: [b, c]\n",
        path=Path("t.yaml"),
        display_path="t.yaml",
    )
    positions = document.positions
    assert positions.keys[("steps",)] == (2, 1)
    assert positions.values[("steps", 0, "name")] == (3, 11)
    assert positions.values[("steps", 0, "dependencies", 1)] == (4, 23)
    assert positions.locate(("steps", 0, "missing", "deeper")) == (3, 5)


def test_crlf_line_endings_count_once() -> None:
    report = validate_text("name: t\r\nnamespace_name: ns\r\nversion: 1.0\r\nsteps: []\r\n")
    [version] = [f for f in report.findings if f.code == "INVALID_VERSION"]
    assert (version.line, version.column) == (3, 10)


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("name: {a: b", (1, 12)),  # end of stream without a final newline
        ("name: [a\n", (2, 1)),
        ("name: 'open\n\n", (3, 1)),
    ],
)
def test_syntax_errors_at_the_end_stay_inside_the_text(
    text: str, position: tuple[int, int]
) -> None:
    _, problems = parse(text)
    assert problems == [("YAML_SYNTAX", position)]


def test_syntax_error_names_where_the_construct_started() -> None:
    [finding] = validate_text("a: 1\nb: [x,\n  y\nc: 2\n").findings
    assert finding.code == "YAML_SYNTAX"
    assert "started on line 2" in finding.message


def test_tab_indentation_hint() -> None:
    [finding] = validate_text("a:\n\t- b\n").findings
    assert finding.hint is not None
    assert "spaces" in finding.hint


@pytest.mark.parametrize("character", ["\x07", "\x00", "\x1b"])
def test_control_characters_are_located(character: str) -> None:
    [finding] = validate_text(f"name: t\nx: b{character}c\n").findings
    assert finding.code == "YAML_SYNTAX"
    assert (finding.line, finding.column) == (2, 5)
    assert f"U+{ord(character):04X}" in finding.message


def test_lone_surrogate_in_text_is_an_encoding_error() -> None:
    [finding] = validate_text("name: t\ndescription: \ud800\n").findings
    assert finding.code == "ENCODING_ERROR"
    assert (finding.line, finding.column) == (2, 14)


def test_invalid_utf8_bytes_are_located() -> None:
    _, problems = parse(b"name: t\ndescription: caf\xe9\n")
    assert problems == [("ENCODING_ERROR", (2, 17))]


def test_nul_byte_makes_a_binary_file() -> None:
    _, problems = parse(b"name: t\x00\n")
    assert problems == [("BINARY_FILE", None)]


def test_byte_order_mark_is_accepted() -> None:
    data, problems = parse(b"\xef\xbb\xbfname: t\n")
    assert problems == []
    assert data == {"name": "t"}


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n", "~\n"])
def test_empty_documents(text: str) -> None:
    _, problems = parse(text)
    assert [code for code, _ in problems] == ["EMPTY_FILE"]


def test_second_document_is_reported_at_its_separator() -> None:
    _, problems = parse("name: a\n--- # second\n\nname: b\n")
    assert problems == [("MULTIPLE_DOCUMENTS", (2, 1))]


def test_empty_first_document_still_counts() -> None:
    _, problems = parse("---\n---\nname: a\n")
    assert problems == [("MULTIPLE_DOCUMENTS", (2, 1))]


def test_duplicate_key_names_the_first_line() -> None:
    report = validate_text("name: a\nversion: 1.0.0\nname: b\n")
    [finding] = [f for f in report.findings if f.code == "DUPLICATE_KEY"]
    assert finding.message == "duplicate key 'name' (first defined on line 1)"
    assert (finding.line, finding.column) == (3, 1)


def test_recursive_alias_is_a_finding() -> None:
    _, problems = parse("a: &x [*x]\n")
    assert [code for code, _ in problems] == ["YAML_SYNTAX"]


def test_yaml_12_scalars() -> None:
    data, _ = parse(
        "a: yes\nb: on\nc: true\nd: 0o17\ne: 1_000\nf: 1.50\ng: 2026-01-07\nh: ~\ni: .inf\n"
    )
    assert isinstance(data, dict)
    assert data["a"] == "yes"
    assert data["b"] == "on"
    assert data["c"] is True
    assert data["d"] == 15
    assert data["e"] == "1_000"  # the core schema has no digit separators
    assert isinstance(data["f"], YamlFloat)
    assert data["f"].text == "1.50"
    assert data["g"] == "2026-01-07"
    assert data["h"] is None
    assert data["i"] == float("inf")


def test_quoted_or_separated_numbers_are_text_for_integer_fields() -> None:
    head = "name: t\nnamespace_name: ns\nversion: 1.0.0\nsteps:\n  - name: a\n"
    for value in ("1_000", "0b11", '"5"'):
        text = head + f"    handler: {{callable: x}}\n    timeout_seconds: {value}\n"
        assert "WRONG_TYPE" in {f.code for f in validate_text(text).findings}, value


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        ((), "$"),
        (("steps", 2, "handler", "callable"), "$.steps[2].handler.callable"),
        (("steps", 0, "depends-on"), "$.steps[0]['depends-on']"),
        (("x", "it's"), "$.x['it\\'s']"),
    ],
)
def test_format_path(path: tuple[str | int, ...], shown: str) -> None:
    assert format_path(path) == shown
