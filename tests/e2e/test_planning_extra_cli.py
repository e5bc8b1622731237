"""The ``[planning]`` extra stays out of commands that do not plan, and a planning run without
it is told how to install it.

Each command runs in a subprocess of its own, through the command line's entry point, so the
modules it loaded are exactly those the command needed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.entry_point import blocking, clean_environment, run_entry_point

EXTRA_MODULES = ("pydantic_ai", "openai", "anthropic", "genai_prices")

TEMPLATE = """\
name: greet
namespace_name: demo
version: 1.0.0
steps:
  - name: shape
    handler: {callable: demo.Shape}
    composition:
      outcome:
        description: The greeting
        output_schema: {type: object}
      invocations:
        - capability: transform
          config: {output: {type: object}, filter: "{greeting: \\"hello\\"}"}
"""

# the extra's packages cannot be imported, as when it is not installed
BLOCK_EXTRA = "import sys\n" + blocking(*EXTRA_MODULES, "httpx2")


def _run(script: str, *args: str, cwd: Path) -> tuple[dict[str, object], str]:
    result = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=clean_environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    marker = [line for line in result.stdout.splitlines() if line.startswith("EXTRA-MODULES ")]
    assert marker, result.stdout + result.stderr
    return json.loads(marker[-1].removeprefix("EXTRA-MODULES ")), result.stdout + result.stderr


def test_validate_imports_nothing_of_the_planning_extra(tmp_path: Path) -> None:
    (tmp_path / "greet.yaml").write_text(TEMPLATE, encoding="utf-8")
    ran = run_entry_point("validate", "greet.yaml", cwd=tmp_path)
    assert (ran.code, ran.loaded(EXTRA_MODULES)) == (0, []), ran.output


def test_fragment_validate_imports_nothing_of_the_planning_extra(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parents[2] / "examples" / "planning"
    ran = run_entry_point(
        "fragment",
        "validate",
        str(examples / "fragment.yaml"),
        "--template",
        str(examples / "incident.yaml"),
        "--step",
        "plan_investigation",
        cwd=tmp_path,
    )
    assert (ran.code, ran.loaded(EXTRA_MODULES)) == (0, []), ran.output


@pytest.mark.slow
def test_run_without_planning_steps_imports_nothing_of_the_planning_extra(
    tmp_path: Path, fresh_database_url: str
) -> None:
    (tmp_path / "greet.yaml").write_text(TEMPLATE, encoding="utf-8")
    ran = run_entry_point("run", "greet.yaml", "--database-url", fresh_database_url, cwd=tmp_path)
    assert (ran.code, ran.loaded(EXTRA_MODULES)) == (0, []), ran.output


def test_a_model_planner_without_the_extra_names_the_install_command(tmp_path: Path) -> None:
    script = BLOCK_EXTRA + (
        "from tasker_ctl.planning.planner import open_planner\n"
        "from tasker_ctl.planning.errors import PlannerExtraMissing\n"
        "try:\n"
        "    open_planner('openai:gpt-4.1-mini')\n"
        "except PlannerExtraMissing as error:\n"
        "    print('EXTRA-MODULES ' + __import__('json').dumps("
        "{'code': error.code, 'loaded': [error.message, error.hint]}))\n"
    )
    found, output = _run(script, cwd=tmp_path)
    assert found["code"] == "PLANNING_EXTRA_MISSING", output
    message, hint = found["loaded"]  # type: ignore[misc]
    assert "pip install 'tasker-ctl[planning]'" in hint
    assert "cannot be imported" in message


def test_a_replay_planner_needs_no_extra(tmp_path: Path) -> None:
    (tmp_path / "answers.yaml").write_text(
        "format: tasker-planner-cassette\nversion: 1\ninteractions: []\n", encoding="utf-8"
    )
    script = BLOCK_EXTRA + (
        "from tasker_ctl.planning.planner import open_planner\n"
        "planner = open_planner('replay:answers.yaml')\n"
        "print('EXTRA-MODULES ' + __import__('json').dumps("
        "{'code': planner.provider, 'loaded': []}))\n"
    )
    found, output = _run(script, cwd=tmp_path)
    assert found == {"code": "replay", "loaded": []}, output
