"""The SARIF renderer: required structure, rules, levels, locations and URIs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl import __version__
from tasker_ctl.report.sarif import artifact_location, render_sarif, rule_name
from tasker_ctl.template import ValidationReport, validate_file
from tasker_ctl.template.codes import BY_CODE, CATALOGUE
from tests.unit.render_samples import BROKEN_DEPENDENCY, LEGACY, make_report

EXPECTED_LEVELS = {"MISSING_DEP_REF": "error", "LEGACY_KEY": "warning", "NO_RESULT_SCHEMA": "note"}


def sarif(report: ValidationReport, **options: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_sarif(report, **options))
    return data


def only_run(log: dict[str, Any]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = log["runs"]
    assert len(runs) == 1
    return runs[0]


@pytest.fixture
def report() -> ValidationReport:
    return make_report(("templates/err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))


def test_log_has_the_required_top_level_keys(report: ValidationReport) -> None:
    log = sarif(report)
    assert log["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert log["version"] == "2.1.0"
    driver = only_run(log)["tool"]["driver"]
    assert driver["name"] == "tasker-ctl"
    assert driver["version"] == __version__
    assert driver["informationUri"] == "https://pypi.org/project/tasker-ctl/"


def test_rules_cover_the_codes_found_in_catalogue_order(report: ValidationReport) -> None:
    run = only_run(sarif(report))
    rules = run["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert set(ids) == {"MISSING_DEP_REF", "NO_RESULT_SCHEMA", "LEGACY_KEY"}
    order = [info.code for info in CATALOGUE]
    assert ids == sorted(ids, key=order.index)
    for rule in rules:
        info = BY_CODE[rule["id"]]
        assert rule["name"] == rule_name(info.code)
        assert rule["shortDescription"] == {"text": info.meaning}
        assert info.meaning in rule["fullDescription"]["text"]
        assert rule["help"] == {"text": info.fix}
    levels = {rule["id"]: rule["defaultConfiguration"]["level"] for rule in rules}
    assert levels == EXPECTED_LEVELS


def test_rule_names_are_camel_case() -> None:
    assert rule_name("MISSING_DEP_REF") == "MissingDepRef"
    assert rule_name("YAML_SYNTAX") == "YamlSyntax"


def test_results_point_at_their_rules_with_levels(report: ValidationReport) -> None:
    run = only_run(sarif(report))
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {result["ruleId"]: result["level"] for result in results}
    assert levels == EXPECTED_LEVELS


def test_result_location_message_and_logical_location(report: ValidationReport) -> None:
    results = only_run(sarif(report))["results"]
    legacy = next(result for result in results if result["ruleId"] == "LEGACY_KEY")
    finding = next(finding for finding in report.findings if finding.code == "LEGACY_KEY")
    (location,) = legacy["locations"]
    physical = location["physicalLocation"]
    assert physical["artifactLocation"] == {"uri": "legacy.yaml", "uriBaseId": "%SRCROOT%"}
    assert physical["region"] == {"startLine": 9, "startColumn": 7}
    assert location["logicalLocations"] == [{"fullyQualifiedName": finding.path}]
    assert finding.message in legacy["message"]["text"]
    assert finding.hint is not None
    assert finding.hint in legacy["message"]["text"]
    missing = next(result for result in results if result["ruleId"] == "MISSING_DEP_REF")
    uri = missing["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "templates/err.yaml"


def test_region_is_omitted_when_the_line_is_unknown(tmp_path: Path) -> None:
    report = ValidationReport(files=[validate_file(tmp_path)])
    (result,) = only_run(sarif(report))["results"]
    assert result["ruleId"] == "FILE_UNREADABLE"
    assert "region" not in result["locations"][0]["physicalLocation"]


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("a.yaml", {"uri": "a.yaml", "uriBaseId": "%SRCROOT%"}),
        ("./dir/../a.yaml", {"uri": "a.yaml", "uriBaseId": "%SRCROOT%"}),
        ("dir\\sub\\a.yaml", {"uri": "dir/sub/a.yaml", "uriBaseId": "%SRCROOT%"}),
        ("my dir/100%.yaml", {"uri": "my%20dir/100%25.yaml", "uriBaseId": "%SRCROOT%"}),
        ("/abs/path/a.yaml", {"uri": "file:///abs/path/a.yaml"}),
    ],
)
def test_artifact_locations(file: str, expected: dict[str, str]) -> None:
    assert artifact_location(file) == expected


def test_source_root_sets_original_uri_base_ids(report: ValidationReport, tmp_path: Path) -> None:
    run = only_run(sarif(report, source_root=tmp_path))
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base.startswith("file://")
    assert base.endswith("/")
    assert "originalUriBaseIds" not in only_run(sarif(report))


def test_clean_report_has_no_rules_and_no_results() -> None:
    clean = LEGACY.replace("    retry:\n      limit: 3\n", "")
    run = only_run(sarif(make_report(("clean.yaml", clean))))
    assert run["results"] == []
    assert run["tool"]["driver"]["rules"] == []


def test_output_is_deterministic(report: ValidationReport) -> None:
    text = render_sarif(report)
    assert text == render_sarif(report)
    assert text.endswith("}\n")
