"""``tasker-ctl validate`` as users run it: exit codes, messages, formats, options."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tasker_ctl.report.validation_json import ValidationOutput
from tests.e2e.conftest import RunCli, assert_no_traceback

CLEAN = """\
name: demo
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    result_schema:
      type: object
  - name: store
    handler:
      callable: shop.Store
    dependencies: [fetch]
    result_schema:
      type: object
"""

# line 8 holds the bad dependency
BROKEN_DEPENDENCY = """\
name: demo
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    dependencies: [fecth]
    result_schema:
      type: object
"""

WARNING_ONLY = """\
name: legacy
namespace_name: shop
version: 1.0.0
steps:
  - name: fetch
    handler:
      callable: shop.Fetch
    retry:
      limit: 3
    result_schema:
      type: object
"""

WITH_ENVIRONMENTS = (
    CLEAN
    + """\
environments:
  test:
    steps:
      - name: fetch
        retry:
          max_attempts: 0
  bad:
    steps:
      - name: store
        timeout_seconds: -1
"""
)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def json_report(invoke_cli: RunCli, *args: str) -> dict[str, object]:
    result = invoke_cli("validate", "--format", "json", *args)
    assert_no_traceback(result)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def step_findings(data: dict[str, object], code: str) -> list[dict[str, object]]:
    output = ValidationOutput.model_validate(data)
    return [
        finding.model_dump()
        for file in output.files
        for finding in file.findings
        if finding.code == code and finding.path.startswith("$.steps")
    ]


def test_clean_template_exits_0(run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", CLEAN)
    result = run_cli("validate", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 0
    assert "✓ 1 file valid, 0 errors, 0 warnings" in result.stdout


def test_error_exits_1_and_names_code_and_line(run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", BROKEN_DEPENDENCY)
    result = run_cli("validate", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "t.yaml:8:20" in result.stdout
    assert "MISSING_DEP_REF" in result.stdout
    assert "✗ 1 error" in result.stdout


def test_warnings_pass_unless_strict(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", WARNING_ONLY)
    relaxed = invoke_cli("validate", "t.yaml")
    assert relaxed.returncode == 0
    assert "LEGACY_KEY" in relaxed.stdout
    strict = invoke_cli("validate", "--strict", "t.yaml")
    assert_no_traceback(strict)
    assert strict.returncode == 1
    assert "LEGACY_KEY" in strict.stdout


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"steps: [a, b\n", "YAML_SYNTAX"),
        (b"name: a\x00\x01\x02\n", "BINARY_FILE"),
        (b"", "EMPTY_FILE"),
    ],
    ids=["broken-yaml", "binary", "empty"],
)
def test_bad_files_named_explicitly_exit_1(
    invoke_cli: RunCli, tmp_path: Path, content: bytes, code: str
) -> None:
    (tmp_path / "t.yaml").write_bytes(content)
    result = invoke_cli("validate", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert code in result.stdout
    assert "t.yaml" in result.stdout


def test_directory_without_templates_exits_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "repo/.pre-commit-config.yaml", "repos:\n  - repo: local\n    hooks: []\n")
    result = invoke_cli("validate", "repo")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "NO_TEMPLATES_FOUND" in result.stderr
    assert "hint:" in result.stderr


def test_empty_directory_exits_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = invoke_cli("validate", "empty")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "NO_TEMPLATES_FOUND" in result.stderr


def test_directory_reports_skipped_files(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "repo/.pre-commit-config.yaml", "repos: []\n")
    write(tmp_path, "repo/tasks/t.yaml", CLEAN)
    result = invoke_cli("validate", "repo")
    assert result.returncode == 0
    assert "1 YAML file skipped" in result.stdout


def test_only_templates_skips_named_files_that_are_not_templates(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    write(tmp_path, "ci.yml", "on: [push]\njobs: {}\n")
    write(tmp_path, "t.yaml", BROKEN_DEPENDENCY)
    result = invoke_cli("validate", "--only-templates", "ci.yml", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "MISSING_DEP_REF" in result.stdout
    assert not any(line.startswith("ci.yml") for line in result.stdout.splitlines())
    assert "1 YAML file skipped" in result.stdout
    alone = invoke_cli("validate", "--only-templates", "ci.yml")
    assert_no_traceback(alone)
    assert alone.returncode == 0
    plain = invoke_cli("validate", "ci.yml")
    assert plain.returncode == 1


def test_missing_path_exits_2(run_cli: RunCli) -> None:
    result = run_cli("validate", "does-not-exist.yaml")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "PATH_NOT_FOUND" in result.stderr
    assert "does-not-exist.yaml" in result.stderr


def test_unknown_format_is_a_usage_error(run_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", CLEAN)
    result = run_cli("validate", "--format", "xml", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "xml" in result.stderr
    assert "sarif" in result.stderr


def test_quiet_and_verbose_together_are_a_usage_error(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", CLEAN)
    result = invoke_cli("validate", "-q", "-v", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "--verbose" in result.stderr


def test_quiet_prints_nothing_for_clean_templates(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", WARNING_ONLY)
    result = invoke_cli("validate", "--quiet", "t.yaml")
    assert result.returncode == 0
    assert result.stdout == ""


def test_json_output_matches_the_documented_shape(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "ok.yaml", CLEAN)
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    result = invoke_cli("validate", "-f", "json", "ok.yaml", "bad.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert list(data) == ["version", "tool", "environment", "strict", "summary", "files", "skipped"]
    assert data["version"] == 1
    assert data["tool"]["name"] == "tasker-ctl"
    assert data["summary"] == {
        "files": 2,
        "errors": 1,
        "warnings": 0,
        "infos": 0,
        "skipped": 0,
        "valid": False,
    }
    assert [(item["file"], item["valid"]) for item in data["files"]] == [
        ("ok.yaml", True),
        ("bad.yaml", False),
    ]
    (finding,) = data["files"][1]["findings"]
    assert (finding["code"], finding["line"], finding["column"]) == ("MISSING_DEP_REF", 8, 20)
    ValidationOutput.model_validate(data)


def test_sarif_output_parses(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    result = invoke_cli("validate", "--format", "sarif", "bad.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    log = json.loads(result.stdout)
    assert log["version"] == "2.1.0"
    (result_entry,) = log["runs"][0]["results"]
    assert result_entry["ruleId"] == "MISSING_DEP_REF"
    assert result_entry["locations"][0]["physicalLocation"]["region"]["startLine"] == 8


def test_github_output_is_workflow_commands(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    write(tmp_path, "warn.yaml", WARNING_ONLY)
    result = invoke_cli("validate", "--format", "github", "bad.yaml", "warn.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    *commands, summary = result.stdout.splitlines()
    assert len(commands) == 2
    assert all(line.startswith("::") for line in commands)
    assert commands[0].startswith("::error file=bad.yaml,line=8,col=20,title=MISSING_DEP_REF::")
    assert commands[1].startswith("::warning file=warn.yaml,")
    assert not summary.startswith("::")


def test_environment_applies_overrides(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", WITH_ENVIRONMENTS)
    override_line = line_of(WITH_ENVIRONMENTS, "max_attempts: 0")

    assert step_findings(json_report(invoke_cli, "t.yaml"), "MAX_ATTEMPTS_ZERO") == []
    (resolved,) = step_findings(
        json_report(invoke_cli, "-e", "test", "t.yaml"), "MAX_ATTEMPTS_ZERO"
    )
    assert resolved["line"] == override_line
    assert resolved["step"] == "fetch"

    plain = invoke_cli("validate", "-e", "test", "t.yaml")
    verbose = invoke_cli("validate", "-e", "test", "-v", "t.yaml")
    assert "MAX_ATTEMPTS_ZERO" not in plain.stdout
    assert f"t.yaml:{override_line}:" in verbose.stdout
    assert "MAX_ATTEMPTS_ZERO" in verbose.stdout


def test_environment_out_of_range_override_is_located_at_the_override(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    write(tmp_path, "t.yaml", WITH_ENVIRONMENTS)
    data = json_report(invoke_cli, "--environment", "bad", "t.yaml")
    assert data["environment"] == "bad"
    (finding,) = step_findings(data, "VALUE_OUT_OF_RANGE")
    assert finding["line"] == line_of(WITH_ENVIRONMENTS, "timeout_seconds: -1")
    assert finding["path"] == "$.steps[1].timeout_seconds"
    assert step_findings(json_report(invoke_cli, "t.yaml"), "VALUE_OUT_OF_RANGE") == []


def test_unreadable_file_exits_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    path = write(tmp_path, "t.yaml", CLEAN)
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running with privileges that read any file")
        result = invoke_cli("validate", "t.yaml")
    finally:
        path.chmod(0o644)
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "FILE_UNREADABLE" in result.stdout


def test_output_writes_the_report_to_a_file(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    result = invoke_cli("validate", "-f", "sarif", "-o", "report.sarif", "bad.yaml")
    assert_no_traceback(result)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "report.sarif" in result.stderr
    log = json.loads((tmp_path / "report.sarif").read_text(encoding="utf-8"))
    assert log["runs"][0]["results"][0]["ruleId"] == "MISSING_DEP_REF"


def test_output_text_file_has_no_colour(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    result = invoke_cli("validate", "-o", "report.txt", "bad.yaml", env={"FORCE_COLOR": "1"})
    assert result.returncode == 1
    text = (tmp_path / "report.txt").read_text(encoding="utf-8")
    assert "bad.yaml:8:20  error  MISSING_DEP_REF" in text
    assert "\x1b[" not in text


def test_output_into_a_missing_directory_exits_2(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", CLEAN)
    result = invoke_cli("validate", "-o", "no/such/dir/report.json", "-f", "json", "t.yaml")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "cannot write the report" in result.stderr


def test_help_explains_every_option(invoke_cli: RunCli) -> None:
    result = invoke_cli("validate", "--help")
    assert result.returncode == 0
    for option in ("--format", "--strict", "--quiet", "--verbose", "--environment", "--output"):
        assert option in result.stdout


TWO_MUTATIONS = """\
name: t
namespace_name: n
version: "1.0.0"
steps:
  - name: s
    handler: {callable: "grammar:s"}
    composition:
      outcome: {description: d, output_schema: {type: object}}
      invocations:
        - capability: emit
          checkpoint: true
          config: {event_name: a.b, payload: {expression: "{}"}}
        - capability: emit
          checkpoint: true
          config: {event_name: a.c, payload: {expression: "{}"}}
"""


def test_the_strict_mutation_policy_refuses_a_second_mutation(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "two.yaml").write_text(TWO_MUTATIONS, encoding="utf-8")
    default = invoke_cli("validate", "two.yaml")
    assert default.returncode == 0, default.stdout
    assert "MULTIPLE_MUTATIONS" not in default.stdout
    strict = invoke_cli("validate", "two.yaml", "--mutation-policy", "strict")
    assert strict.returncode == 1
    assert "two.yaml:13:11  error  MULTIPLE_MUTATIONS" in strict.stdout
    wrong = invoke_cli("validate", "two.yaml", "--mutation-policy", "lenient")
    assert wrong.returncode == 2


def test_dash_reads_a_template_from_stdin(invoke_cli: RunCli) -> None:
    result = invoke_cli("validate", "-", input=BROKEN_DEPENDENCY)
    assert_no_traceback(result)
    assert result.returncode == 1
    assert "<stdin>:8:20  error  MISSING_DEP_REF" in result.stdout
    clean = invoke_cli("validate", "-", "--json", input=CLEAN)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert [file["file"] for file in json.loads(clean.stdout)["files"]] == ["<stdin>"]


def test_stdin_beside_files(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "t.yaml", CLEAN)
    result = invoke_cli("validate", "t.yaml", "-", "--json", input=BROKEN_DEPENDENCY)
    assert result.returncode == 1
    files = {file["file"]: file["valid"] for file in json.loads(result.stdout)["files"]}
    assert files == {"t.yaml": True, "<stdin>": False}
    twice = invoke_cli("validate", "-", "-", input=CLEAN)
    assert twice.returncode == 2
    assert "error[USAGE_ERROR]" in twice.stderr


def test_only_templates_skips_stdin_that_is_no_template(invoke_cli: RunCli) -> None:
    result = invoke_cli("validate", "--only-templates", "-", input="key: value\n")
    assert result.returncode == 0, result.stdout + result.stderr


def test_json_flag_is_format_json(invoke_cli: RunCli, tmp_path: Path) -> None:
    write(tmp_path, "bad.yaml", BROKEN_DEPENDENCY)
    flag = invoke_cli("validate", "bad.yaml", "--json")
    assert flag.returncode == 1
    assert flag.stdout == invoke_cli("validate", "bad.yaml", "--format", "json").stdout
    both = invoke_cli("validate", "bad.yaml", "--json", "-f", "sarif")
    assert both.returncode == 2
    assert "--json and --format sarif" in both.stderr
