"""``tasker-ctl fragment validate|explain`` as a user runs them: every format, the exit codes,
standard input, bad files, and no model library loaded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "fragments"
TEMPLATE = str(FIXTURES / "frame.yaml")
TWENTY = str(FIXTURES / "twenty_steps.yaml")

BAD = """\
fragment_version: "1.0"
planning_context: {goal: g, reasoning: r, estimated_steps: 2, estimated_depth: 2}
steps:
  - name: probe
    handler: {callable: app.chekcs.disk}
    inputs: {total: "${steps.intake.result.totl}"}
  - name: loop
    handler: {callable: app.checks.loop}
    dependencies: [loop, report]
"""


NO_STEPS = json.dumps(
    {
        "fragment_version": "1.0",
        "planning_context": {
            "goal": "g",
            "reasoning": "r",
            "estimated_steps": 0,
            "estimated_depth": 0,
        },
        "steps": [],
    }
)
MODEL_LIBRARIES = "{'pydantic_ai', 'openai', 'anthropic', 'genai_prices'}"


def _args(command: str, fragment: str, *extra: str) -> list[str]:
    return ["fragment", command, fragment, "--template", TEMPLATE, "--step", "plan", *extra]


def test_validate_accepts_the_twenty_step_fixture(invoke_cli: RunCli) -> None:
    result = invoke_cli(*_args("validate", TWENTY))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "fragment accepted: 20 step(s), depth 8" in result.stdout


def test_validate_reports_findings_with_lines_and_exit_1(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    result = invoke_cli(*_args("validate", "bad.yaml"))
    assert result.returncode == 1
    assert "bad.yaml:5:25  error  FRAGMENT_CALLABLE_NOT_ALLOWED" in result.stdout
    assert "hint: did you mean 'app.checks.disk'?" in result.stdout
    assert "FRAGMENT_REFERENCE_UNKNOWN_FIELD" in result.stdout
    assert "FRAGMENT_CYCLE" in result.stdout
    assert "FRAGMENT_EDGE_PAST_CONVERGENCE" in result.stdout
    assert "fragment refused: 4 error(s); 2 step(s), depth -" in result.stdout


def test_validate_json_gives_each_finding_its_stage(invoke_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    for flags in (("--json",), ("--format", "json")):
        result = invoke_cli(*_args("validate", "bad.yaml", *flags))
        assert result.returncode == 1
        document = json.loads(result.stdout)
        assert document["accepted"] is False
        assert document["planning_step"] == "plan"
        stages = {(f["code"], f["stage"]) for f in document["findings"]}
        assert stages == {
            ("FRAGMENT_CALLABLE_NOT_ALLOWED", 2),
            ("FRAGMENT_CYCLE", 5),
            ("FRAGMENT_REFERENCE_UNKNOWN_FIELD", 6),
            ("FRAGMENT_EDGE_PAST_CONVERGENCE", 9),
        }
        assert all(f["line"] for f in document["findings"])


def test_validate_sarif(invoke_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    result = invoke_cli(*_args("validate", "bad.yaml", "--format", "sarif"))
    assert result.returncode == 1
    log = json.loads(result.stdout)
    rules = {r["ruleId"] for r in log["runs"][0]["results"]}
    assert "FRAGMENT_CYCLE" in rules
    assert (
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] == 5
    )


def test_validate_reads_standard_input_and_json(invoke_cli: RunCli) -> None:
    text = json.dumps(
        {
            "fragment_version": "1.0",
            "planning_context": {
                "goal": "g",
                "reasoning": "r",
                "estimated_steps": 0,
                "estimated_depth": 0,
            },
            "steps": [],
        }
    )
    result = invoke_cli(*_args("validate", "-", "--json"), input=text)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["accepted"], document["step_count"], document["fragment"]) == (
        True,
        0,
        "<stdin>",
    )


def test_context_and_budget_options(invoke_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "context.json").write_text('{"order_id": "o-1", "customer": {"id": "c"}}')
    twenty = invoke_cli(
        *_args("validate", TWENTY, "--context", "@context.json", "--remaining-steps", "5", "--json")
    )
    assert twenty.returncode == 1
    messages = {f["code"]: f["message"] for f in json.loads(twenty.stdout)["findings"]}
    assert messages["FRAGMENT_BUDGET_EXCEEDED"] == "20 steps, but the budget leaves 5"
    assert "FRAGMENT_CONTEXT_FIELD_MISSING" in messages  # region and tags are not in the context


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["missing.yaml"], "PATH_NOT_FOUND"),
        (["."], "USAGE_ERROR"),
        (["broken.yaml"], "FRAGMENT_FILE_INVALID"),
        (["empty.yaml"], "FRAGMENT_FILE_INVALID"),
        ([TWENTY, "--step", "intake"], "PLANNING_STEP_INVALID"),
        ([TWENTY, "--context", "{nope"], "INVALID_CONTEXT_JSON"),
        ([TWENTY, "--results", "[1]"], "INVALID_CONTEXT_JSON"),
        ([TWENTY, "--context", "@nowhere.json"], "PATH_NOT_FOUND"),
        ([TWENTY, "--json", "--format", "sarif"], "USAGE_ERROR"),
    ],
)
def test_bad_input_is_a_coded_error_with_exit_2(
    invoke_cli: RunCli, tmp_path: Path, args: list[str], code: str
) -> None:
    (tmp_path / "broken.yaml").write_text("steps: [\n", encoding="utf-8")
    (tmp_path / "empty.yaml").write_text("", encoding="utf-8")
    fragment, *rest = args
    base = ["fragment", "validate", fragment, "--template", TEMPLATE, "--step", "plan"]
    result = invoke_cli(*base, *rest)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error[{code}]" in result.stderr
    assert_no_traceback(result)


def test_a_template_with_errors_is_refused_with_its_findings(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    (tmp_path / "bad_template.yaml").write_text("name: x\nsteps: 3\n", encoding="utf-8")
    result = invoke_cli(
        "fragment", "validate", TWENTY, "--template", "bad_template.yaml", "--step", "plan"
    )
    assert result.returncode == 1
    assert "error[TEMPLATE_INVALID]" in result.stderr


def test_explain_shows_the_data_flow_and_the_edges(invoke_cli: RunCli) -> None:
    result = invoke_cli(*_args("explain", TWENTY))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert "total <- template step 'intake' field total (number)" in text
    assert "customer <- task context field customer (object)" in text
    assert "level <- planned step 'score' field level (string)" in text
    assert "plan -> lookup  (planning)" in text
    assert "summary -> report  (convergence)" in text
    assert text.rstrip().endswith("accepted: 20 step(s), depth 8")


def test_explain_json_and_its_findings(invoke_cli: RunCli, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    result = invoke_cli(*_args("explain", "bad.yaml", "--json"))
    assert result.returncode == 1
    document = json.loads(result.stdout)
    assert document["accepted"] is False
    probe = next(step for step in document["steps"] if step["name"] == "probe")
    assert probe["inputs"][0]["origin"] == "template_step"
    assert probe["inputs"][0]["type"] == "unresolved"
    assert {"source": "loop", "target": "loop", "kind": "dependency"} in document["edges"]
    assert {f["stage"] for f in document["findings"]} == {2, 5, 6, 9}


def test_explain_of_no_steps(invoke_cli: RunCli) -> None:
    text = NO_STEPS
    result = invoke_cli(*_args("explain", "-"), input=text)
    assert result.returncode == 0
    assert "no steps: the convergence runs next" in result.stdout
    assert "plan -> report  (convergence)" in result.stdout


def test_the_command_loads_no_model_library(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from tasker_ctl.cli import main\n"
        f"sys.argv = ['tasker-ctl', 'fragment', 'validate', {TWENTY!r},\n"
        f"    '--template', {TEMPLATE!r}, '--step', 'plan']\n"
        "try:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        f"loaded = sorted({{m.split('.')[0] for m in sys.modules}} & {MODEL_LIBRARIES})\n"
        "print('LOADED', code, loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert "LOADED 0 []" in result.stdout, result.stdout + result.stderr


def test_the_installed_command_runs(run_cli: RunCli) -> None:
    result = run_cli(*_args("validate", TWENTY, "--json"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["accepted"] is True
