"""Hostile templates and JSON options, as a user runs the commands: a coded error, quickly.

Before the readers were bounded, each of these ended in exit 3 (RecursionError, ValueError,
DATABASE_QUERY_FAILED) or ran for minutes while its memory grew.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

# the command's start-up included; the reading itself takes a small part of it
SECONDS = 10

HEAD = "name: hostile\nnamespace_name: tests\nversion: 1.0.0\n"
STEP = "steps:\n  - name: a\n    handler: {callable: tests.a}\n"


def _laughs() -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"a{level}: &a{level} [" + ", ".join([f"*a{level - 1}"] * 8) + "]")
    return "metadata:\n" + "".join(f"  {line}\n" for line in lines)


HOSTILE_TEMPLATES = {
    "deep": (HEAD + "metadata: " + "[" * 300 + "]" * 300 + "\n" + STEP, "INPUT_TOO_DEEP"),
    "billion-laughs": (HEAD + _laughs() + STEP, "ALIAS_EXPANSION_LIMIT"),
    "huge-int": (HEAD + "metadata: {n: " + "9" * 4301 + "}\n" + STEP, "NUMBER_TOO_LARGE"),
    "long-step-name": (
        HEAD + "steps:\n  - name: " + "s" * 300 + "\n    handler: {callable: tests.a}\n",
        "NAME_TOO_LONG",
    ),
    "long-namespace": (
        "name: hostile\nnamespace_name: " + "n" * 100 + "\nversion: 1.0.0\n" + STEP,
        "NAME_TOO_LONG",
    ),
    "nul-in-name": (
        HEAD + 'steps:\n  - name: "a\\0b"\n    handler: {callable: tests.a}\n',
        "NAME_INVALID_CHARACTER",
    ),
    "infinite-number": (
        HEAD + "steps:\n  - name: a\n    handler: {callable: tests.a, initialization: {k: .inf}}\n",
        "NUMBER_NOT_FINITE",
    ),
}


def timed(invoke_cli: RunCli, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    started = time.perf_counter()
    result = invoke_cli(*args, **kwargs)  # type: ignore[arg-type]
    assert time.perf_counter() - started < SECONDS
    assert_no_traceback(result)
    return result


@pytest.mark.parametrize("case", sorted(HOSTILE_TEMPLATES))
def test_validate_reports_hostile_templates(invoke_cli: RunCli, tmp_path: Path, case: str) -> None:
    text, code = HOSTILE_TEMPLATES[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(text, encoding="utf-8")
    result = timed(invoke_cli, "validate", str(path))
    assert result.returncode == 1, result.stdout + result.stderr
    assert code in result.stdout
    assert f"{case}.yaml:" in result.stdout  # placed in the file


def test_validate_refuses_a_file_over_the_size_limit_unread(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as file:
        file.write(HEAD + STEP + "metadata: [")
        file.write("1," * 5_000_000)
        file.write("1]\n")
    result = timed(invoke_cli, "validate", str(path), "--format", "json")
    assert result.returncode == 1
    [finding] = json.loads(result.stdout)["files"][0]["findings"]
    assert finding["code"] == "INPUT_TOO_LARGE"
    assert "4 MiB" in finding["message"]


def test_hostile_templates_stop_every_command_that_reads_them(
    invoke_cli: RunCli, tmp_path: Path
) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text(HOSTILE_TEMPLATES["deep"][0], encoding="utf-8")
    visualized = timed(invoke_cli, "template", "visualize", str(path))
    assert visualized.returncode == 1
    assert "INPUT_TOO_DEEP" in visualized.stdout + visualized.stderr
    generated = timed(invoke_cli, "generate", "models", str(path), "-o", str(tmp_path / "out"))
    assert generated.returncode != 3
    assert "INPUT_TOO_DEEP" in generated.stdout + generated.stderr
    composition = timed(invoke_cli, "composition", "validate", str(path))
    assert composition.returncode == 1
    assert "INPUT_TOO_DEEP" in composition.stdout


def test_template_read_from_standard_input_is_bounded(run_cli: RunCli) -> None:
    huge = "x: [" + "1," * 3_000_000 + "1]\n"
    result = timed(run_cli, "template", "visualize", "-", input=huge)
    assert result.returncode == 1
    assert "INPUT_TOO_LARGE" in result.stdout + result.stderr


# -- JSON options ----------------------------------------------------------------------------------

LINEAR = "examples/linear/linear.yaml"
HANDLERS = "examples/linear/linear_handlers.py"

BAD_CONTEXTS = {
    "NaN": ('{"even_number": NaN}', "$.even_number"),
    "Infinity": ('{"even_number": Infinity}', "Infinity"),
    "-Infinity": ('{"even_number": -Infinity}', "-Infinity"),
    "1e999": ('{"even_number": 1e999}', "infinite"),
    "NUL": ('{"even_number": 6, "note": "\\u0000"}', "$.note"),
    "lone-surrogate": ('{"even_number": 6, "note": "\\ud800"}', "$.note"),
    "5000-digit-int": ('{"even_number": ' + "8" * 5000 + "}", "5,000 digits"),
    "5000-deep": ('{"even_number": 6, "x": ' + "[" * 5000 + "]" * 5000 + "}", "64 levels"),
}


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as connection:
        row = connection.execute(f"SELECT count(*) FROM tasker.{table}").fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.parametrize("case", sorted(BAD_CONTEXTS))
@pytest.mark.parametrize("given_as", ["inline", "file", "stdin"])
def test_run_refuses_unusable_context_json(
    invoke_cli: RunCli, env: dict[str, str], tmp_path: Path, case: str, given_as: str
) -> None:
    text, shown = BAD_CONTEXTS[case]
    stdin = None
    if given_as == "inline":
        context = text
    elif given_as == "file":
        (tmp_path / "context.json").write_text(text, encoding="utf-8")
        context = f"@{tmp_path / 'context.json'}"
    else:
        context, stdin = "@-", text
    args = ("run", LINEAR, "--handlers", HANDLERS, "--context", context)
    result = timed(invoke_cli, *args, cwd=PROJECT_ROOT, env=env, input=stdin)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[INVALID_CONTEXT_JSON]" in result.stderr
    assert shown in result.stderr
    assert count(env["TASKER_DATABASE_URL"], "tasks") == 0


def test_run_refuses_context_over_the_size_limit_unread(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "context.json"
    path.write_text('{"even_number": 6, "x": "' + "x" * 5_000_000 + '"}', encoding="utf-8")
    args = ("run", LINEAR, "--handlers", HANDLERS, "--context", f"@{path}")
    result = timed(run_cli, *args, cwd=PROJECT_ROOT, env=env)
    assert result.returncode == 2
    assert "error[INVALID_CONTEXT_JSON]" in result.stderr
    assert "larger than 4 MiB" in result.stderr
    assert count(env["TASKER_DATABASE_URL"], "tasks") == 0


def test_run_refuses_a_template_whose_names_do_not_fit(
    invoke_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "long.yaml"
    path.write_text(HOSTILE_TEMPLATES["long-step-name"][0], encoding="utf-8")
    result = timed(invoke_cli, "run", str(path), "--handlers", HANDLERS, cwd=PROJECT_ROOT, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "error[TEMPLATE_INVALID]" in result.stderr
    assert "NAME_TOO_LONG" in result.stdout + result.stderr
    assert count(env["TASKER_DATABASE_URL"], "named_tasks") == 0
    assert count(env["TASKER_DATABASE_URL"], "tasks") == 0


def test_task_submit_refuses_unusable_context_json(invoke_cli: RunCli, env: dict[str, str]) -> None:
    args = ("task", "submit", LINEAR, "--context", '{"even_number": NaN}')
    result = timed(invoke_cli, *args, cwd=PROJECT_ROOT, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[INVALID_CONTEXT_JSON]" in result.stderr
    assert count(env["TASKER_DATABASE_URL"], "tasks") == 0


@pytest.mark.parametrize("case", ["NaN", "NUL", "5000-deep"])
def test_complete_step_refuses_unusable_result_json(invoke_cli: RunCli, case: str) -> None:
    text, shown = BAD_CONTEXTS[case]
    args = ("task", "complete-step", str(uuid.uuid4()), "charge", "--reason", "by hand")
    # the result is read before the database is opened: none is needed to refuse it
    env = {"TASKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none"}
    result = timed(invoke_cli, *args, "--result", text, env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[INVALID_RESULT_JSON]" in result.stderr
    assert shown in result.stderr


@pytest.mark.parametrize(
    "option", ["--sample-context", "--sample-deps", "--sample-step", "--mock-outputs"]
)
@pytest.mark.parametrize("case", ["NaN", "lone-surrogate", "5000-digit-int"])
def test_composition_explain_refuses_unusable_sample_json(
    invoke_cli: RunCli, option: str, case: str
) -> None:
    text, shown = BAD_CONTEXTS[case]
    example = str(PROJECT_ROOT / "examples/grammar/orders.yaml")
    result = timed(invoke_cli, "composition", "explain", example, option, text)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[INVALID_SAMPLE_JSON]" in result.stderr
    assert option in result.stderr
    assert shown in result.stderr
