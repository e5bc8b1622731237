"""The human text renderer: grouping, severity filtering, summary, quiet/strict, colour."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from tasker_ctl.report.validation_text import render_text
from tasker_ctl.template import ValidationReport, validate_file
from tests.unit.render_samples import BROKEN_DEPENDENCY, CLEAN, LEGACY, make_report

COLOUR = re.compile(r"\x1b\[[0-9;]*m")
FOREGROUND = re.compile(r"\x1b\[(?:[0-9]+;)*3[0-7](?:;[0-9]+)*m")


def render(report: ValidationReport, **options: bool) -> str:
    buffer = io.StringIO()
    render_text(report, buffer, **options)
    return buffer.getvalue()


def colour_console(buffer: io.StringIO) -> Console:
    return Console(
        file=buffer, force_terminal=True, color_system="standard", no_color=False, width=200
    )


def test_default_shows_errors_and_warnings_but_only_counts_info() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    output = render(report)
    assert "err.yaml:8:20  error  MISSING_DEP_REF  Step 'fetch' depends on 'fecth'" in output
    assert "legacy.yaml:9:7  warning  LEGACY_KEY" in output
    assert "NO_RESULT_SCHEMA" not in output
    assert output.splitlines()[-1] == "✗ 1 error, 1 warning (1 info) in 2 files"


def test_findings_are_grouped_under_a_header_with_the_template_id() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    lines = render(report).splitlines()
    err_header = next(i for i, line in enumerate(lines) if line.startswith("err.yaml"))
    legacy_header = next(i for i, line in enumerate(lines) if line.startswith("legacy.yaml"))
    assert "shop/demo@1.0.0" in lines[err_header]
    assert "shop/legacy@2.0.0" in lines[legacy_header]
    assert err_header < legacy_header
    assert "MISSING_DEP_REF" in "\n".join(lines[err_header:legacy_header])
    assert "LEGACY_KEY" in "\n".join(lines[legacy_header:])


def test_hint_follows_its_finding_on_the_next_line() -> None:
    lines = render(make_report(("legacy.yaml", LEGACY))).splitlines()
    index = next(i for i, line in enumerate(lines) if "LEGACY_KEY" in line)
    assert lines[index + 1].strip().startswith("hint: ")
    assert "max_attempts" in lines[index + 1]


def test_verbose_shows_info_clean_files_and_skipped_files() -> None:
    report = make_report(
        ("err.yaml", BROKEN_DEPENDENCY), ("clean.yaml", CLEAN), skipped=["ci/.pre-commit.yaml"]
    )
    output = render(report, verbose=True)
    assert "err.yaml:5:5  info  NO_RESULT_SCHEMA" in output
    assert "clean.yaml" in output
    assert "no findings" in output
    assert "ci/.pre-commit.yaml" in output


def test_files_with_nothing_to_show_are_left_out_by_default() -> None:
    output = render(make_report(("err.yaml", BROKEN_DEPENDENCY), ("clean.yaml", CLEAN)))
    assert "clean.yaml" not in output


def test_clean_summary_counts_files_and_mentions_skipped() -> None:
    output = render(make_report(("clean.yaml", CLEAN), ("legacy.yaml", LEGACY), skipped=["x.yml"]))
    summary = output.splitlines()[-1]
    assert summary.startswith("✓ 2 files valid, 0 errors, 1 warning")
    assert "1 YAML file skipped" in summary


def test_clean_report_without_findings_prints_only_the_summary() -> None:
    assert render(make_report(("clean.yaml", CLEAN))) == "✓ 1 file valid, 0 errors, 0 warnings\n"


def test_quiet_prints_nothing_when_clean() -> None:
    assert render(make_report(("clean.yaml", CLEAN), ("legacy.yaml", LEGACY)), quiet=True) == ""


def test_quiet_prints_only_failing_findings() -> None:
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    lines = render(report, quiet=True).splitlines()
    assert len(lines) == 1
    assert "err.yaml:8:20  error  MISSING_DEP_REF" in lines[0]


def test_quiet_strict_includes_warnings() -> None:
    output = render(make_report(("legacy.yaml", LEGACY)), quiet=True, strict=True)
    assert "LEGACY_KEY" in output
    assert "✓" not in output
    assert "✗" not in output


def test_strict_fails_the_summary_on_warnings() -> None:
    summary = render(make_report(("legacy.yaml", LEGACY)), strict=True).splitlines()[-1]
    assert summary.startswith("✗ 0 errors, 1 warning in 1 file")
    assert "--strict" in summary


def test_severities_are_coloured_on_a_terminal() -> None:
    buffer = io.StringIO()
    report = make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY))
    render_text(report, colour_console(buffer), verbose=True)
    output = buffer.getvalue()
    assert "\x1b[1;31merror" in output
    assert "\x1b[33mwarning" in output
    assert "\x1b[34minfo" in output


def test_strict_colours_warnings_as_failing() -> None:
    buffer = io.StringIO()
    render_text(make_report(("legacy.yaml", LEGACY)), colour_console(buffer), strict=True)
    assert "\x1b[1;31mwarning" in buffer.getvalue()


def test_no_color_removes_colours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="standard")
    render_text(make_report(("err.yaml", BROKEN_DEPENDENCY)), console)
    output = buffer.getvalue()
    assert "MISSING_DEP_REF" in output
    assert not FOREGROUND.search(output)


def test_plain_file_gets_no_escape_codes() -> None:
    output = render(make_report(("err.yaml", BROKEN_DEPENDENCY), ("legacy.yaml", LEGACY)))
    assert not COLOUR.search(output)


def test_long_findings_are_not_wrapped() -> None:
    buffer = io.StringIO()
    render_text(make_report(("err.yaml", BROKEN_DEPENDENCY)), Console(file=buffer, width=30))
    line = next(line for line in buffer.getvalue().splitlines() if "MISSING_DEP_REF" in line)
    assert line.endswith("which does not exist")


def test_messages_are_not_read_as_markup() -> None:
    text = BROKEN_DEPENDENCY.replace("[fecth]", '["[bold]x"]')
    output = render(make_report(("err.yaml", text)))
    assert "'[bold]x'" in output


def test_unlocated_finding_shows_the_file_alone(tmp_path: Path) -> None:
    directory = str(tmp_path)
    report = ValidationReport(files=[validate_file(directory)])
    output = render(report)
    assert f"  {directory}  error  FILE_UNREADABLE" in output


def test_escape_sequences_and_line_breaks_from_a_template_reach_no_terminal(
    tmp_path: Path,
) -> None:
    hostile = "evil\x1b[2J\x1b]0;owned\x07\u202egnp.exe\nfake  error  LINE"
    path = tmp_path / "hostile.yaml"
    path.write_text(
        f"name: demo\nnamespace_name: {hostile!r}\n".replace("'", '"')
        + 'version: "1.0.0"\nsteps:\n  - name: a\n    handler: {callable: x.Y}\n',
        encoding="utf-8",
    )
    output = render(ValidationReport(files=[validate_file(path)]), verbose=True)
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\u202e" not in output
    assert "\\u001b[2J" in output
    assert not any(line.startswith("fake") for line in output.splitlines())
