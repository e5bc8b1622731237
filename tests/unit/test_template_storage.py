"""Names that fit their database columns, text without NUL, finite numbers: checked by validate.

Before these checks a 300-character step name, a 100-character namespace, a NUL in a name
or an ``.inf`` in a handler's configuration validated clean and then failed registration
(DATABASE_QUERY_FAILED, "value too long for type character varying", "invalid input syntax
for type json").
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.template import validate_text
from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.diagnostics import Finding, Severity
from tasker_ctl.template.limits import (
    MAX_ENVIRONMENT_NAME,
    MAX_NAMESPACE_NAME,
    MAX_STEP_NAME,
    MAX_TEMPLATE_NAME,
    MAX_VERSION,
)
from tasker_ctl.template.rules.storage import MAX_REPORTED


def quoted(text: str) -> str:
    """``text`` as a YAML double-quoted scalar: anything but printable ASCII escaped."""
    escaped = []
    for character in text:
        code = ord(character)
        if character in '"\\':
            escaped.append("\\" + character)
        elif 0x20 <= code < 0x7F:
            escaped.append(character)
        else:
            escaped.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(escaped) + '"'


def template(
    *,
    name: str = "t",
    namespace: str = "ns",
    version: str = "1.0.0",
    step: str = "a",
    extra: str = "",
) -> str:
    """A template with the given names, each written as a double-quoted scalar."""
    return (
        f"name: {quoted(name)}\n"
        f"namespace_name: {quoted(namespace)}\n"
        f"version: {quoted(version)}\n"
        f"steps:\n  - name: {quoted(step)}\n    handler: {{callable: x.A}}\n"
        f"{extra}"
    )


def findings(text: str, *codes: str) -> list[Finding]:
    return [f for f in validate_text(text).findings if f.code in codes]


@pytest.mark.parametrize(
    ("field", "limit", "path", "line"),
    [
        ("name", MAX_TEMPLATE_NAME, "$.name", 1),
        ("namespace", MAX_NAMESPACE_NAME, "$.namespace_name", 2),
        ("step", MAX_STEP_NAME, "$.steps[0].name", 5),
    ],
)
def test_names_longer_than_their_column(field: str, limit: int, path: str, line: int) -> None:
    assert not findings(template(**{field: "n" * limit}), "NAME_TOO_LONG")
    [too_long] = findings(template(**{field: "n" * (limit + 1)}), "NAME_TOO_LONG")
    assert too_long.severity is Severity.ERROR
    assert (too_long.path, too_long.line) == (path, line)
    assert f"{limit + 1} characters long" in too_long.message
    assert f"at most {limit}" in too_long.message
    assert too_long.hint == "shorten it by 1 characters"


def test_a_long_version_is_too_long_as_well_as_not_semantic() -> None:
    text = template(version="1.0.0-" + "r" * MAX_VERSION)
    [too_long] = findings(text, "NAME_TOO_LONG")
    assert too_long.path == "$.version"


def test_characters_not_bytes_are_counted() -> None:
    # varchar(n) counts characters: 255 two-byte characters fit a step name
    assert not findings(template(step="é" * MAX_STEP_NAME), "NAME_TOO_LONG")


def test_an_environment_name_longer_than_its_column_is_reported_at_its_key() -> None:
    name = "e" * (MAX_ENVIRONMENT_NAME + 1)
    text = template(extra=f"environments:\n  {name}:\n    steps: []\n")
    [too_long] = findings(text, "NAME_TOO_LONG")
    assert (too_long.line, too_long.column) == (8, 3)


@pytest.mark.parametrize(
    ("character", "described"),
    [
        ("\x00", "U+0000 (NUL)"),
        ("\t", "U+0009"),
        ("\n", "U+000A"),
        ("\x1b", "U+001B"),
        ("\x7f", "U+007F"),
        ("\x85", "U+0085"),
        ("\u2028", "U+2028 (LINE SEPARATOR)"),
        ("\u202e", "U+202E (RIGHT-TO-LEFT OVERRIDE)"),
    ],
)
def test_control_characters_in_names(character: str, described: str) -> None:
    [invalid] = findings(template(step=f"charge{character}card"), "NAME_INVALID_CHARACTER")
    assert invalid.path == "$.steps[0].name"
    assert described in invalid.message
    # the name is shown with the character escaped, never raw
    assert character not in invalid.message
    assert f"charge\\u{ord(character):04x}card" in invalid.message
    assert invalid.step == f"charge{character}card"


def test_every_name_is_checked() -> None:
    text = template(name="t\x00", namespace="n\x00", version="1.0.0\x00", step="a\x00")
    paths = {f.path for f in findings(text, "NAME_INVALID_CHARACTER")}
    assert paths == {"$.name", "$.namespace_name", "$.version", "$.steps[0].name"}
    # the names' NULs are not reported twice
    assert not findings(text, "NUL_IN_TEXT")


def test_printable_unicode_names_are_accepted() -> None:
    text = template(name="Bestellung_ü", step="étape-1 (ça va) 👍")
    assert not findings(text, "NAME_INVALID_CHARACTER", "NAME_TOO_LONG")


_NAME = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)
# bidirectional embeddings, overrides and isolates
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_character(character: str) -> bool:
    """What no name may hold, by Unicode category: controls (C0, DEL, C1), surrogates, line
    and paragraph separators, and the bidirectional controls."""
    category = unicodedata.category(character)
    return category in {"Cc", "Cs", "Zl", "Zp"} or character in _BIDI_CONTROLS


def test_the_unsafe_characters_are_exactly_those_of_their_categories() -> None:
    from tasker_ctl.template.source import UNSAFE_CHARACTER

    everything = "".join(map(chr, range(0x110000)))
    expected = [c for c in everything if unsafe_character(c)]
    assert UNSAFE_CHARACTER.findall(everything) == expected


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(_NAME)
def test_a_step_name_is_refused_exactly_when_the_database_could_not_hold_it(name: str) -> None:
    codes = {f.code for f in validate_text(template(step=name)).findings}
    assert ("NAME_TOO_LONG" in codes) == (len(name) > MAX_STEP_NAME)
    assert ("NAME_INVALID_CHARACTER" in codes) == any(unsafe_character(c) for c in name)


# -- text and numbers anywhere ---------------------------------------------------------------------


def test_nul_in_any_text_or_key() -> None:
    extra = (
        'description: "orders\\0"\n'
        'metadata: {"owner\\0": x}\n'
        'input_schema: {type: object, properties: {a: {enum: ["x\\0"]}}}\n'
    )
    found = findings(template(extra=extra), "NUL_IN_TEXT")
    assert [(f.path, f.line, f.column) for f in found] == [
        ("$.description", 7, 14),
        ("$.metadata['owner\\u0000']", 8, 12),
        ("$.input_schema.properties.a.enum[0]", 9, 54),
    ]
    assert all(f.severity is BY_CODE["NUL_IN_TEXT"].severity for f in found)


def test_many_nuls_are_counted_not_listed() -> None:
    items = ", ".join(['"x\\0"'] * (MAX_REPORTED + 30))
    found = findings(template(extra=f"metadata: {{tags: [{items}]}}\n"), "NUL_IN_TEXT")
    assert len(found) == MAX_REPORTED
    assert "and 30 more" in found[-1].message


@pytest.mark.parametrize("literal", [".inf", "-.inf", ".nan", ".NaN", "+.INF"])
def test_numbers_json_cannot_hold(literal: str) -> None:
    extra = f"    retry: {{max_attempts: 3}}\nmetadata: {{weight: {literal}}}\n"
    [found] = findings(template(extra=extra), "NUMBER_NOT_FINITE")
    assert found.path == "$.metadata.weight"
    assert (found.line, found.column) == (8, 20)


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    st.recursive(
        st.none() | st.booleans() | st.floats() | st.text(st.characters(exclude_categories=["Cs"])),
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.text(st.characters(exclude_categories=["Cs"]), max_size=4), inner)
        ),
        max_leaves=20,
    )
)
def test_a_template_without_errors_can_be_stored_as_json(value: Any) -> None:
    """What validates without errors serializes as jsonb takes it: finite, no NUL."""
    metadata = json.dumps({"extra": value}, allow_nan=True)
    metadata = metadata.replace("NaN", ".nan").replace("-Infinity", "-.inf")
    metadata = metadata.replace("Infinity", ".inf")
    text = template(extra=f"metadata: {metadata}\n")
    report = validate_text(text)
    if any(f.severity is Severity.ERROR for f in report.findings):
        return
    from tasker_ctl.template.source import parse_document

    data = parse_document(text, path=__import__("pathlib").Path("t"), display_path="t").data
    serialized = json.dumps(data, allow_nan=False)
    assert "\\u0000" not in serialized


@pytest.mark.parametrize(
    ("path", "shown"),
    [
        (("metadata", "a\x00b"), "$.metadata['a\\u0000b']"),
        (("metadata", "abc\n"), "$.metadata['abc\\u000a']"),
        (("x", "\u202eevil"), "$.x['\\u202eevil']"),
        (("x", "é ok"), "$.x['é ok']"),
    ],
)
def test_paths_never_show_control_characters_raw(path: tuple[str, ...], shown: str) -> None:
    from tasker_ctl.template.source import format_path

    assert format_path(path) == shown
