"""Compositions inside templates and in files of their own: the grammar's findings reach
``tasker-ctl validate`` through the rule plugin, placed at their line and column."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.errors import FileReadError
from tasker_ctl.grammar.errors import CompositionFileError
from tasker_ctl.grammar.files import load_composition_file, validate_composition_file
from tasker_ctl.template import validate_text
from tasker_ctl.template.diagnostics import Severity
from tasker_ctl.template.rules import load_plugins, plugin_entry_points
from tests.conftest import PROJECT_ROOT

TEMPLATE = """\
name: t
namespace_name: ns
version: 1.0.0
input_schema:
  type: object
  properties:
    order_id: {type: string}
steps:
  - name: load
    handler: {callable: x.Load}
    result_schema:
      type: object
      properties:
        count: {type: integer}
  - name: check
    dependencies: [load]
    handler: {callable: x.Check}
  - name: price
    dependencies: [check, load]
    handler: {callable: "grammar:price"}
    result_schema: {type: object}
    composition:
      outcome:
        description: priced
        output_schema: {type: object}
      invocations:
        - capability: transform
          config:
            filter: "{n: .deps.load.count, id: .context.order_id}"
            output: {type: object}
        - capability: transform
          config:
            filter: "{total: .prev.n, c: .deps.lod}"
            output: {type: object}
"""


def test_grammar_findings_reach_template_validation_with_positions() -> None:
    report = validate_text(TEMPLATE, name="t.yaml")
    [unknown] = [f for f in report.findings if f.code == "UNKNOWN_DEPENDENCY"]
    assert unknown.severity is Severity.ERROR
    assert (unknown.line, unknown.column) == (33, 21)
    assert unknown.path == "$.steps[2].composition.invocations[1].config.filter"
    assert unknown.step == "price"
    assert unknown.hint == "did you mean 'load'?"
    # a dependency's result_schema is used
    assert not [f for f in report.findings if ".deps.load.count" in f.message]


def test_deps_holds_direct_dependencies_only() -> None:
    text = TEMPLATE.replace("dependencies: [check, load]", "dependencies: [check]")
    report = validate_text(text, name="t.yaml")
    messages = [f.message for f in report.findings if f.code == "UNKNOWN_DEPENDENCY"]
    assert any("reads .deps.load.count" in message for message in messages)


def test_misspelt_config_key_is_placed_at_the_key() -> None:
    text = TEMPLATE.replace(
        "            output: {type: object}\n", "            outptu: {type: object}\n", 1
    )
    report = validate_text(text, name="t.yaml")
    violations = [f for f in report.findings if f.code == "CONFIG_SCHEMA_VIOLATION"]
    [misspelt] = [f for f in violations if "outptu" in f.message]
    assert (misspelt.line, misspelt.column) == (30, 13)
    assert misspelt.hint == "did you mean 'output'?"


def test_shape_errors_are_reported_once_by_the_template_checks() -> None:
    text = TEMPLATE.replace(
        '        - capability: transform\n          config:\n            filter: "{total',
        "        - capability: transform\n          filter: x\n          config:\n"
        '            filter: "{total',
    )
    codes = [f.code for f in validate_text(text).findings]
    assert "UNKNOWN_KEY" in codes
    assert "COMPOSITION_PARSE_ERROR" not in codes


def test_the_template_package_does_not_import_the_grammar() -> None:
    for path in (PROJECT_ROOT / "src" / "tasker_ctl" / "template").rglob("*.py"):
        assert "tasker_ctl.grammar" not in path.read_text(encoding="utf-8"), path


def test_the_grammar_rule_is_registered_as_an_entry_point() -> None:
    from importlib import metadata

    found = {e.name: e.value for e in metadata.entry_points(group="tasker_ctl.rules")}
    assert found.get("grammar") == "tasker_ctl.grammar.template_rules"


class _BrokenEntryPoint:
    name = "broken"
    value = "no_such_module_for_tasker_ctl"

    def load(self) -> Any:
        raise ImportError("No module named 'no_such_module_for_tasker_ctl'")


@pytest.fixture
def broken_plugin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from importlib import metadata

    original = metadata.entry_points

    def entry_points(**selection: Any) -> Any:
        if selection.get("group") == "tasker_ctl.rules":
            return [*original(**selection), _BrokenEntryPoint()]
        return original(**selection)

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    load_plugins.cache_clear()
    plugin_entry_points.cache_clear()
    yield
    load_plugins.cache_clear()
    plugin_entry_points.cache_clear()


@pytest.mark.usefixtures("broken_plugin")
def test_a_plugin_that_fails_to_load_is_a_finding_not_a_crash() -> None:
    report = validate_text(TEMPLATE, name="t.yaml")
    [failed] = [f for f in report.findings if f.code == "RULE_PLUGIN_FAILED"]
    assert failed.severity is Severity.ERROR
    assert "no_such_module_for_tasker_ctl" in failed.message
    # the plugins that did load still ran
    assert any(f.code == "UNKNOWN_DEPENDENCY" for f in report.findings)


def test_plugins_load_once() -> None:
    assert load_plugins() is load_plugins()


# -- composition files ----------------------------------------------------------------------------

COMPOSITION = """\
name: price
outcome:
  description: priced
  output_schema: {type: object, required: [total], properties: {total: {type: number}}}
invocations:
  - capability: transform
    config:
      filter: "{total: .prev.total}"
      output: {type: object, properties: {total: {type: number}}}
  - capability: persist
    config:
      resource: orders
      data: {expression: .prev}
"""


def test_composition_file_findings_carry_positions(tmp_path: Path) -> None:
    path = tmp_path / "price.yaml"
    path.write_text(COMPOSITION, encoding="utf-8")
    report = validate_composition_file(path)
    placed = {f.code: (f.line, f.column) for f in report.findings}
    assert placed["PREV_ON_FIRST_INVOCATION"] == (8, 15)
    assert placed["CHECKPOINT_REQUIRED"] == (10, 5)
    assert placed["UNVERIFIABLE_OUTCOME"] == (10, 5)
    assert report.fails()
    strict = validate_composition_file(path, policy="strict")
    assert "MULTIPLE_MUTATIONS" not in [f.code for f in strict.findings]


def test_json_composition_file(tmp_path: Path) -> None:
    spec = {
        "outcome": {"description": "d", "output_schema": {"type": "object"}},
        "invocations": [{"capability": "transfrom", "config": {}}],
    }
    path = tmp_path / "c.json"
    path.write_text(json.dumps(spec, indent="\t"), encoding="utf-8")
    report = validate_composition_file(path)
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == [
        "MISSING_CAPABILITY"
    ]


def test_template_file_selects_composition_steps(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE, encoding="utf-8")
    report = validate_composition_file(path)
    assert report.template == "ns/t@1.0.0"
    assert [f.code for f in report.findings] == ["UNKNOWN_DEPENDENCY"]
    assert report.findings[0].step == "price"
    assert validate_composition_file(path, step_name="price").findings == report.findings
    with pytest.raises(CompositionFileError, match="no step 'prise'") as raised:
        validate_composition_file(path, step_name="prise")
    assert raised.value.hint == "did you mean 'price'?"
    spec, contract = load_composition_file(path)
    assert spec["outcome"]["description"] == "priced"
    assert contract is not None
    assert contract.dependency_names == ("check", "load")
    assert contract.dependency_schemas["load"]["properties"]["count"] == {"type": "integer"}
    assert contract.input_schema["properties"]["order_id"] == {"type": "string"}


def test_template_without_compositions_is_a_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE.split("    composition:")[0], encoding="utf-8")
    with pytest.raises(CompositionFileError, match="without composition steps"):
        validate_composition_file(path)


def test_unreadable_and_broken_files(tmp_path: Path) -> None:
    report = validate_composition_file(tmp_path)
    assert [f.code for f in report.findings] == ["FILE_UNREADABLE"]
    broken = tmp_path / "broken.yaml"
    broken.write_text("outcome: [a\n", encoding="utf-8")
    assert [f.code for f in validate_composition_file(broken).findings] == ["YAML_SYNTAX"]
    with pytest.raises(CompositionFileError, match="YAML_SYNTAX"):
        load_composition_file(broken)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n", encoding="utf-8")
    [not_mapping] = validate_composition_file(listed).findings
    assert not_mapping.code == "NOT_A_MAPPING"
    assert "TaskTemplate" not in not_mapping.message
    with pytest.raises(FileReadError):
        load_composition_file(tmp_path / "missing.yaml")


def test_loading_a_plain_composition(tmp_path: Path) -> None:
    path = tmp_path / "price.yaml"
    path.write_text(COMPOSITION, encoding="utf-8")
    spec, contract = load_composition_file(path)
    assert contract is None
    assert spec["name"] == "price"
