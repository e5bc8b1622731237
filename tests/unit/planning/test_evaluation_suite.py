"""A planner evaluation suite is read with the template reader's limits into closed models;
anything wrong is ``EVAL_SUITE_INVALID`` naming the file and line, never a traceback."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tasker_ctl.planning.errors import EvalSuiteError
from tasker_ctl.planning.eval_suite import (
    Expectations,
    Problem,
    load_suite,
    problem_callables,
)

TEMPLATES = Path(__file__).parents[3] / "evals" / "planner" / "templates"
DOC = (Path(__file__).parents[3] / "docs" / "planner-eval.md").read_text(encoding="utf-8")

PROBLEM = """\
format: tasker-planner-eval
version: 1
problems:
  - id: one
    template: templates/incident.yaml
    step: plan_investigation
    context: {incident_id: INC-1, service: checkout}
    callables: [incident.checks.query_logs, other.thing]
    expect: {min_steps: 1}
"""


def _write(folder: Path, text: str) -> Path:
    shutil.copytree(TEMPLATES, folder / "templates", dirs_exist_ok=True)
    path = folder / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _refused(folder: Path, text: str) -> EvalSuiteError:
    with pytest.raises(EvalSuiteError) as raised:
        load_suite(_write(folder, text))
    assert raised.value.code == "EVAL_SUITE_INVALID"
    return raised.value


def test_a_sound_suite_loads_with_its_frames(tmp_path: Path) -> None:
    suite = load_suite(_write(tmp_path, PROBLEM))
    (problem,) = suite.problems
    assert problem.frame.planning_step == "plan_investigation"
    assert problem.context == {"incident_id": "INC-1", "service": "checkout"}
    # the registered callables the allow-list allows, as a worker's prompt offers them
    assert problem_callables(problem) == ["incident.checks.query_logs"]


def test_a_context_file_is_read_relative_to_the_suite(tmp_path: Path) -> None:
    (tmp_path / "contexts").mkdir()
    (tmp_path / "contexts" / "c.json").write_text('{"incident_id": "I", "service": "s"}')
    text = PROBLEM.replace(
        "context: {incident_id: INC-1, service: checkout}", "context_file: contexts/c.json"
    )
    (problem,) = load_suite(_write(tmp_path, text)).problems
    assert problem.context == {"incident_id": "I", "service": "s"}


@pytest.mark.parametrize(
    ("change", "line", "says"),
    [
        (("expect: {min_steps: 1}", "expect: {min_step: 1}"), 9, "min_step"),
        (("expect: {min_steps: 1}", "expect: {min_steps: 3, max_steps: 1}"), 9, "above"),
        (("expect: {min_steps: 1}", "expect: {no_findings_of_stage: [10]}"), 9, "stages 1 to 9"),
        (("step: plan_investigation", "step: collect_signals"), 6, "not a 'type: planning'"),
        (("step: plan_investigation", "step: plan_investigatoin"), 6, "has no step"),
        (("templates/incident.yaml", "templates/missing.yaml"), 5, "missing.yaml"),
        (("id: one", "id: 'has space'"), 4, "id"),
        (("version: 1", "version: 2"), 2, "version"),
    ],
)
def test_a_bad_suite_is_refused_with_where(
    tmp_path: Path, change: tuple[str, str], line: int, says: str
) -> None:
    error = _refused(tmp_path, PROBLEM.replace(*change))
    assert f"suite.yaml:{line}:" in error.message
    assert says in error.message


def test_a_problem_id_twice_is_refused(tmp_path: Path) -> None:
    twice = PROBLEM + PROBLEM.split("problems:\n", 1)[1]
    error = _refused(tmp_path, twice)
    assert "suite.yaml:10:" in error.message
    assert "'one' is used twice" in error.message


def test_a_template_with_errors_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path, PROBLEM)
    (tmp_path / "templates" / "incident.yaml").write_text("name: x\nsteps: []\n")
    with pytest.raises(EvalSuiteError, match="has errors"):
        load_suite(path)


@pytest.mark.parametrize(
    "text",
    ["", "- a list\n", "format: other\nversion: 1\nproblems: []\n", "a: [unclosed\n"],
)
def test_what_is_not_a_suite_is_refused(tmp_path: Path, text: str) -> None:
    _refused(tmp_path, text)


def test_a_missing_suite_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EvalSuiteError, match="cannot read suite"):
        load_suite(tmp_path / "nothing.yaml")


def test_the_page_documents_every_key_of_a_problem_and_every_property() -> None:
    table = DOC.split("The properties (a closed vocabulary):", 1)[1]
    for key in Expectations.model_fields:
        assert f"`{key}`" in table, key
    for key in Problem.model_fields:
        assert re.search(rf"(?<![\w.]){key}:", DOC), key
