"""The GitHub Actions renderer: command lines, escaping, strict/quiet/verbose, summary."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.report.github import escape_data, escape_property, render_github
from tasker_ctl.template import ValidationReport, validate_file
from tests.unit.render_samples import BROKEN_DEPENDENCY, LEGACY, make_report


def lines_of(report: ValidationReport, **options: bool) -> list[str]:
    return render_github(report, **options).splitlines()


def test_one_command_per_finding_then_a_plain_summary() -> None:
    lines = lines_of(make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY)))
    assert lines[0] == (
        "::error file=err.yaml,line=8,col=20,title=MISSING_DEP_REF::"
        "Step 'fetch' depends on 'fecth' which does not exist"
    )
    assert lines[1].startswith("::warning file=legacy.yaml,line=9,col=7,title=LEGACY_KEY::")
    assert "(hint: use 'max_attempts')" in lines[1]
    assert len(lines) == 3
    assert not lines[-1].startswith("::")
    assert "1 error, 1 warning (1 info) in 2 files" in lines[-1]


def test_info_becomes_a_notice_only_when_verbose() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY))
    assert not any(line.startswith("::notice") for line in lines_of(report))
    notices = [line for line in lines_of(report, verbose=True) if line.startswith("::notice")]
    assert len(notices) == 1
    assert "title=NO_RESULT_SCHEMA" in notices[0]


def test_message_data_escapes_percent_and_newlines_but_not_colons() -> None:
    text = BROKEN_DEPENDENCY.replace("[fecth]", '["50%\\nx, y: z\\r"]')
    line = lines_of(make_report(("err.yaml", text)))[0]
    assert "'50%25%0Ax, y: z%0D'" in line
    assert "\r" not in line


def test_file_property_escapes_colons_commas_and_percent() -> None:
    line = lines_of(make_report(("dir:a,b/100%.yaml", BROKEN_DEPENDENCY)))[0]
    assert line.startswith("::error file=dir%3Aa%2Cb/100%25.yaml,line=8,col=20,")


def test_windows_separators_become_forward_slashes() -> None:
    line = lines_of(make_report(("dir\\err.yaml", BROKEN_DEPENDENCY)))[0]
    assert "file=dir/err.yaml," in line


@pytest.mark.parametrize(
    ("raw", "data", "prop"),
    [
        ("100%", "100%25", "100%25"),
        ("a\r\nb", "a%0D%0Ab", "a%0D%0Ab"),
        ("a:b,c", "a:b,c", "a%3Ab%2Cc"),
        ("%0A", "%250A", "%250A"),
    ],
)
def test_escaping_rules(raw: str, data: str, prop: str) -> None:
    assert escape_data(raw) == data
    assert escape_property(raw) == prop


def test_strict_reports_warnings_as_errors() -> None:
    lines = lines_of(make_report(("legacy.yaml", LEGACY)), strict=True)
    assert lines[0].startswith("::error file=legacy.yaml,line=9,col=7,title=LEGACY_KEY::")
    assert "failed" in lines[-1]


def test_quiet_keeps_failing_findings_only_and_no_summary() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    lines = lines_of(report, quiet=True)
    assert len(lines) == 1
    assert lines[0].startswith("::error file=err.yaml")
    assert render_github(make_report(("legacy.yaml", LEGACY)), quiet=True) == ""


def test_unlocated_finding_has_no_line_or_column(tmp_path: Path) -> None:
    report = ValidationReport(files=[validate_file(tmp_path)])
    line = lines_of(report)[0]
    assert line.startswith("::error file=")
    assert ",line=" not in line
    assert ",col=" not in line
    assert ",title=FILE_UNREADABLE::" in line


def test_clean_run_prints_only_a_passing_summary() -> None:
    clean = LEGACY.replace("    retry:\n      limit: 3\n", "")
    lines = lines_of(make_report(("legacy.yaml", clean)))
    assert len(lines) == 1
    assert "passed" in lines[0]
