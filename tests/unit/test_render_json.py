"""The JSON renderer: documented shape, key order, every finding, validity flags."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from tasker_ctl import __version__
from tasker_ctl.report.validation_json import ValidationOutput, render_json
from tasker_ctl.template import ValidationReport
from tests.unit.render_samples import BROKEN_DEPENDENCY, LEGACY, make_report

TOP_KEYS = ["version", "tool", "environment", "strict", "summary", "files", "skipped"]
SUMMARY_KEYS = ["files", "errors", "warnings", "infos", "skipped", "valid"]
FILE_KEYS = ["file", "template", "valid", "findings"]
FINDING_KEYS = ["code", "severity", "message", "hint", "line", "column", "path", "step"]


def parsed(report: ValidationReport, *, strict: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_json(report, strict=strict))
    return data


def test_keys_come_in_the_documented_order() -> None:
    data = parsed(make_report(("err.yaml", BROKEN_DEPENDENCY)))
    assert list(data) == TOP_KEYS
    assert list(data["tool"]) == ["name", "version"]
    assert list(data["summary"]) == SUMMARY_KEYS
    assert list(data["files"][0]) == FILE_KEYS
    assert all(list(finding) == FINDING_KEYS for finding in data["files"][0]["findings"])


def test_header_fields() -> None:
    data = parsed(make_report(("err.yaml", BROKEN_DEPENDENCY), environment="test"))
    assert data["version"] == 1
    assert data["tool"] == {"name": "tasker-ctl", "version": __version__}
    assert data["environment"] == "test"
    assert data["strict"] is False


def test_every_finding_is_included_with_its_location() -> None:
    data = parsed(make_report(("err.yaml", BROKEN_DEPENDENCY)))
    findings = {finding["code"]: finding for finding in data["files"][0]["findings"]}
    assert set(findings) == {"NO_RESULT_SCHEMA", "MISSING_DEP_REF"}
    missing = findings["MISSING_DEP_REF"]
    assert missing["severity"] == "error"
    assert (missing["line"], missing["column"]) == (8, 20)
    assert missing["path"].startswith("$.steps[0].dependencies")
    assert missing["step"] == "fetch"
    assert findings["NO_RESULT_SCHEMA"]["severity"] == "info"
    assert findings["NO_RESULT_SCHEMA"]["hint"]


def test_summary_and_file_validity() -> None:
    report = make_report(
        ("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY), skipped=["other.yaml"]
    )
    data = parsed(report)
    assert data["summary"] == {
        "files": 2,
        "errors": 1,
        "warnings": 1,
        "infos": 1,
        "skipped": 1,
        "valid": False,
    }
    assert [(item["file"], item["template"], item["valid"]) for item in data["files"]] == [
        ("err.yaml", "shop/demo@1.0.0", False),
        ("legacy.yaml", "shop/legacy@2.0.0", True),
    ]
    assert data["skipped"] == ["other.yaml"]


def test_strict_makes_warnings_invalid() -> None:
    report = make_report(("legacy.yaml", LEGACY))
    assert parsed(report)["summary"]["valid"] is True
    strict = parsed(report, strict=True)
    assert strict["strict"] is True
    assert strict["summary"]["valid"] is False
    assert strict["files"][0]["valid"] is False


def test_text_is_indented_utf8_with_a_trailing_newline() -> None:
    text = render_json(make_report(("größe.yaml", BROKEN_DEPENDENCY)))
    assert text.endswith("}\n")
    assert text.splitlines()[1] == '  "version": 1,'
    assert '"file": "größe.yaml"' in text


def test_output_validates_against_the_model() -> None:
    data = parsed(make_report(("err.yaml", BROKEN_DEPENDENCY)))
    model = ValidationOutput.model_validate(data)
    assert model.summary.errors == 1


def test_model_rejects_unknown_keys() -> None:
    data = parsed(make_report(("err.yaml", BROKEN_DEPENDENCY)))
    data["files"][0]["findings"][0]["extra"] = True
    with pytest.raises(ValidationError):
        ValidationOutput.model_validate(data)


def test_rendering_is_deterministic() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    assert render_json(report) == render_json(report)
