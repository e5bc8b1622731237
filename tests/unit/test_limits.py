"""The YAML reader's limits: hostile files end in one coded finding, quickly and in little memory.

Every case here crashed (RecursionError, ValueError) or ran away (billion laughs: 20 s and
800 MB and climbing) before the reader was bounded.
"""

from __future__ import annotations

import io
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tasker_ctl.template import validate_file, validate_text
from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.composer import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
    compose_documents,
)
from tasker_ctl.template.limits import (
    MAX_DEPTH,
    MAX_EXPANDED_NODES,
    MAX_NODES,
    MAX_NUMBER_DIGITS,
    MAX_TEMPLATE_BYTES,
)
from tasker_ctl.template.source import SourceDocument, parse_document, read_document

HEAD = (
    "name: t\nnamespace_name: ns\nversion: 1.0.0\n"
    "steps:\n  - name: a\n    handler: {callable: x.A}\n"
)
T = TypeVar("T")
LIMIT_CODES = {"INPUT_TOO_LARGE", "INPUT_TOO_DEEP", "ALIAS_EXPANSION_LIMIT", "NUMBER_TOO_LARGE"}


def parse(text: str | bytes) -> SourceDocument:
    return parse_document(text, path=Path("t.yaml"), display_path="t.yaml")


def problems(text: str | bytes) -> list[tuple[str, tuple[int, int] | None]]:
    return [(p.code, p.position) for p in parse(text).problems]


def bounded(work: Callable[[], T], seconds: float = 1.0, megabytes: int = 100) -> T:
    """``work()``, which must take less than ``seconds`` of CPU time (the machine may be busy
    with other work: wall time would measure that) and allocate at most ``megabytes`` at its
    peak, measured in a second, traced run (tracing slows Python down)."""
    started = time.process_time()
    result = work()
    elapsed = time.process_time() - started
    assert elapsed < seconds, f"took {elapsed:.2f} s"
    tracemalloc.start()
    try:
        work()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < megabytes * 1024 * 1024, f"peak {peak / 1024 / 1024:.0f} MB"
    return result


def billion_laughs(levels: int = 10, width: int = 8) -> str:
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        aliases = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{aliases}]")
    return "\n".join(lines) + "\n"


# -- nesting ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a: " + "[" * 300 + "]" * 300 + "\n",
        "a: " + "{a: " * 300 + "1" + "}" * 300 + "\n",
        "".join("  " * level + "- \n" for level in range(300)),
        "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
    ],
    ids=["flow-lists", "flow-mappings", "block-lists", "100000-deep"],
)
def test_deep_nesting_is_one_finding(text: str) -> None:
    report = bounded(lambda: validate_text(text, name="deep.yaml"))
    assert [f.code for f in report.findings] == ["INPUT_TOO_DEEP"]
    finding = report.findings[0]
    assert finding.severity is BY_CODE["INPUT_TOO_DEEP"].severity
    assert f"more than {MAX_DEPTH} levels" in finding.message
    assert finding.line is not None


def test_the_finding_is_at_the_first_level_too_deep() -> None:
    # the document's mapping is level 1, so the 64th list is level 65
    text = "a: " + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "\n"
    assert problems(text) == [("INPUT_TOO_DEEP", (1, 3 + MAX_DEPTH))]


def test_nesting_at_the_limit_is_read() -> None:
    lists = MAX_DEPTH - 1
    document = parse("a: " + "[" * lists + "]" * lists + "\n")
    assert document.problems == []
    value = document.data["a"]
    for _ in range(lists - 1):
        value = value[0]
    assert value == []


def test_an_alias_counts_the_depth_it_brings() -> None:
    half = MAX_DEPTH // 2
    anchored = "[" * half + "]" * half
    text = f"a: &deep {anchored}\nb: " + "[" * half + "*deep" + "]" * half + "\n"
    [(code, position)] = problems(text)
    assert code == "INPUT_TOO_DEEP"
    assert position == (2, 4 + half)
    assert "once this alias is expanded" in parse(text).problems[0].message


# -- aliases ---------------------------------------------------------------------------------------


def test_billion_laughs_stops_at_the_expansion_limit() -> None:
    text = HEAD + "metadata:\n" + "".join(f"  {line}\n" for line in billion_laughs().splitlines())
    assert len(billion_laughs().encode()) < 600
    report = bounded(lambda: validate_text(text))
    assert [f.code for f in report.findings] == ["ALIAS_EXPANSION_LIMIT"]
    assert f"{MAX_EXPANDED_NODES:,}" in report.findings[0].message
    assert report.findings[0].line is not None


def test_aliases_within_the_limit_are_expanded() -> None:
    document = parse(billion_laughs(levels=4))
    assert document.problems == []
    assert document.data["a3"] == [[[["x"] * 8] * 8] * 8] * 8
    # each copy is placed where what the alias names is written: a0's list (at its anchor)
    values = document.positions.values
    assert values[("a3", 7, 7, 7)] == values[("a1", 7)] == values[("a0",)] == (1, 5)
    assert values[("a3", 7, 7, 7, 2)] == (1, 16)


def test_expansion_limit_counts_nodes_not_aliases() -> None:
    # one alias of a large node is as costly as the node written out twice
    items = ", ".join(["1"] * (MAX_EXPANDED_NODES // 2))
    assert [code for code, _ in problems(f"a: &a [{items}]\nb: *a\n")] == ["ALIAS_EXPANSION_LIMIT"]
    assert problems(f"a: &a [{items}]\n") == []


def test_undefined_and_recursive_aliases_are_syntax_findings() -> None:
    assert [code for code, _ in problems("a: *nowhere\n")] == ["YAML_SYNTAX"]
    assert "undefined alias 'nowhere'" in parse("a: *nowhere\n").problems[0].message
    assert [code for code, _ in problems("a: &x [*x]\n")] == ["YAML_SYNTAX"]
    assert [code for code, _ in problems("a: &x 1\nb: &x 2\n")] == ["YAML_SYNTAX"]


# -- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "digits"),
    [
        ("9" * 4301, 4301),
        ("-" + "7" * 5000, 5000),
        ("0x" + "f" * 200, 200),
        ("1." + "0" * 150, 151),
        ("!!int '" + "1" * 4400 + "'", 4400),
    ],
    ids=["4301-digit-int", "negative-5000", "hex-200", "float-151", "tagged-int"],
)
def test_long_numbers_are_refused(literal: str, digits: int) -> None:
    report = bounded(lambda: validate_text(HEAD + f"metadata: {{x: {literal}}}\n"))
    assert [f.code for f in report.findings] == ["NUMBER_TOO_LARGE"]
    finding = report.findings[0]
    assert f"{digits:,} digits" in finding.message
    assert f"at most {MAX_NUMBER_DIGITS}" in finding.message
    assert (finding.line, finding.column) == (7, 15)


@pytest.mark.parametrize("literal", ["1e999", "-1e999", "1.5e400"])
def test_floats_that_overflow_are_refused(literal: str) -> None:
    [(code, position)] = problems(f"x: {literal}\n")
    assert (code, position) == ("NUMBER_TOO_LARGE", (1, 4))
    assert "infinite" in parse(f"x: {literal}\n").problems[0].message


def test_numbers_at_the_limit_and_quoted_ones_are_read() -> None:
    longest = "9" * MAX_NUMBER_DIGITS
    document = parse(f"a: {longest}\nb: '{'9' * 5000}'\nc: 1e-999\nd: 1_{'0' * 5000}\n")
    assert document.problems == []
    assert document.data["a"] == int(longest)
    assert document.data["b"] == "9" * 5000
    assert document.data["c"] == 0.0
    assert document.data["d"].startswith("1_")  # not a core-schema integer: text


# -- size ------------------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as file:
        file.write("x: [")
        file.write("1," * 5_000_000)
        file.write("1]\n")
    report = bounded(lambda: validate_file(path))
    assert [f.code for f in report.findings] == ["INPUT_TOO_LARGE"]
    assert "4 MiB" in report.findings[0].message


def test_reading_stops_at_the_size_limit() -> None:
    # a device that never ends: only the limit and one byte more are read
    document = read_document(Path("/dev/zero"))
    assert [p.code for p in document.problems] == ["INPUT_TOO_LARGE"]


@pytest.mark.parametrize("unit", ["a", "é"])
def test_text_over_the_size_limit_is_not_parsed(unit: str) -> None:
    # "é" is two bytes in UTF-8: the limit is in bytes, also for text given as str
    size = MAX_TEMPLATE_BYTES // len(unit.encode()) + 1
    assert [code for code, _ in problems("x: " + unit * size)] == ["INPUT_TOO_LARGE"]


def test_node_count_limit() -> None:
    text = "x: [" + ",".join(["1"] * MAX_NODES) + "]\n"
    assert len(text.encode()) < MAX_TEMPLATE_BYTES
    [(code, position)] = bounded(lambda: problems(text))
    assert code == "INPUT_TOO_LARGE"
    # nodes: the mapping, its key, the list, then the items: the first one too many is item
    # MAX_NODES - 3 (from 0), written at column 5 + 2 * index
    assert position == (1, 5 + 2 * (MAX_NODES - 3))
    assert f"{MAX_NODES:,} nodes" in parse(text).problems[0].message


def test_a_limit_leaves_no_partial_document() -> None:
    document = parse("a: 1\nb: " + "[" * 100 + "]" * 100 + "\n")
    assert document.data is None
    assert document.positions.values == {}
    assert not document.usable


def test_limits_are_in_the_catalogue() -> None:
    for code in LIMIT_CODES:
        assert code in BY_CODE


# -- properties ------------------------------------------------------------------------------------

# pieces that make YAML interesting: nesting, anchors and aliases, numbers, tags, quotes, keys
_PIECES = st.sampled_from(
    [
        "[", "]", "{", "}", ", ", ": ", "- ", "\n", "  ", "&a ", "&b ", "*a", "*b", "? ",
        "x", "1", "9" * 120, "1e999", ".inf", ".nan", "0x1F", "!!int ", "!!str ", "'q'",
        '"\\0"', "~", "#c", "---\n", "name: t\n", "steps:\n", "|\n  ", "<<: ",
    ]
)  # fmt: skip
_REPEATED = st.tuples(_PIECES, st.integers(min_value=1, max_value=400)).map(lambda p: p[0] * p[1])
YAML_SOUP = st.lists(st.one_of(_PIECES, _REPEATED), max_size=60).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(YAML_SOUP)
def test_any_text_reads_to_a_document_or_findings(text: str) -> None:
    started = time.process_time()
    document = parse(text)
    assert time.process_time() - started < 2
    assert all(problem.code in BY_CODE for problem in document.problems)
    if {p.code for p in document.problems} & LIMIT_CODES:
        assert document.data is None


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(YAML_SOUP)
def test_any_text_validates_to_coded_findings(text: str) -> None:
    report = validate_text(HEAD + text)
    assert all(finding.code in BY_CODE for finding in report.findings)


# documents ruamel.yaml's own composer reads, built from data with shared (aliased) parts
_SCALARS = st.one_of(
    st.sampled_from(["yes", "1_000", "0o17", "0x1F", ".inf", "~", "", "2026-01-07", "1e5", "-3"]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.text(max_size=8),
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=30,
)


def _share(data: Any, draw: Any) -> Any:
    """Make some containers appear twice, so the dumper writes anchors and aliases."""
    if isinstance(data, dict) and data and draw(st.booleans()):
        keys = list(data)
        data[draw(st.sampled_from(keys))] = data[draw(st.sampled_from(keys))]
    return data


@st.composite
def yaml_documents(draw: Any) -> str:
    data = _share(draw(_DATA), draw)
    yaml = YAML(typ="safe")
    yaml.default_flow_style = draw(st.sampled_from([None, True, False]))
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def _shape(node: Node, seen: dict[int, int]) -> Any:
    """A comparable rendering of a node tree: aliases stay shared (by the order first seen)."""
    if id(node) in seen:
        return ("alias", seen[id(node)])
    seen[id(node)] = len(seen)
    if isinstance(node, ScalarNode):
        return ("scalar", str(node.tag), node.value, node.line, node.column)
    if isinstance(node, SequenceNode):
        return ("seq", node.line, node.column, [_shape(item, seen) for item in node.value])
    assert isinstance(node, MappingNode)
    pairs = [(_shape(k, seen), _shape(v, seen)) for k, v in node.value]
    return ("map", node.line, node.column, pairs)


def _ruamel_shape(node: Any, seen: dict[int, int]) -> Any:
    from ruamel.yaml.nodes import MappingNode as RMapping
    from ruamel.yaml.nodes import SequenceNode as RSequence

    if id(node) in seen:
        return ("alias", seen[id(node)])
    seen[id(node)] = len(seen)
    mark = node.start_mark
    if isinstance(node, RSequence):
        return ("seq", mark.line, mark.column, [_ruamel_shape(item, seen) for item in node.value])
    if isinstance(node, RMapping):
        pairs = [(_ruamel_shape(k, seen), _ruamel_shape(v, seen)) for k, v in node.value]
        return ("map", mark.line, mark.column, pairs)
    return ("scalar", str(node.tag), node.value, mark.line, mark.column)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(yaml_documents())
def test_the_bounded_composer_composes_what_ruamel_composes(text: str) -> None:
    expected = [_ruamel_shape(node, {}) for node in YAML(typ="safe").compose_all(text)]
    assert [_shape(node, {}) for node in compose_documents(text)] == expected


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3 * MAX_DEPTH), st.sampled_from(["[]", "{}"]))
def test_nesting_is_read_up_to_the_limit(levels: int, brackets: str) -> None:
    opening, closing = brackets
    inner = "{a: " if opening == "{" else "["
    after = "}" if opening == "{" else "]"
    # the document's mapping is the first level
    text = "x: " + inner * (levels - 2) + opening + closing + after * (levels - 2) + "\n"
    codes = [code for code, _ in problems(text)] if levels >= 2 else []
    assert codes == ([] if levels <= MAX_DEPTH else ["INPUT_TOO_DEEP"])


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["", "-", "+"]))
def test_integers_are_read_up_to_the_digit_limit(digits: int, sign: str) -> None:
    literal = sign + "1" * digits
    document = parse(f"x: {literal}\n")
    if digits <= MAX_NUMBER_DIGITS:
        assert document.data == {"x": int(literal)}
    else:
        assert [p.code for p in document.problems] == ["NUMBER_TOO_LARGE"]


def test_large_yaml_that_is_no_template_is_skipped_in_a_directory(tmp_path: Path) -> None:
    from tasker_ctl.template import validate_paths

    (tmp_path / "template.yaml").write_text(HEAD, encoding="utf-8")
    (tmp_path / "api.yaml").write_text("paths: [" + "1, " * MAX_NODES + "1]\n")
    (tmp_path / "huge.yaml").write_text("steps: [" + "1, " * MAX_NODES + "1]\n")
    report = validate_paths([str(tmp_path)])
    assert report.skipped == [str(tmp_path / "api.yaml")]
    found = {Path(f.file).name: [x.code for x in f.findings] for f in report.files}
    assert found["huge.yaml"] == ["INPUT_TOO_LARGE"]
    assert "template.yaml" in found
    # named on the command line, it is reported whatever it holds
    assert [f.code for f in validate_file(tmp_path / "api.yaml").findings] == ["INPUT_TOO_LARGE"]
