"""``tasker-ctl run`` resolves a step's ``handler.callable`` only among the handlers loaded from
``--handlers``, as users run it: a template cannot make anything else import."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import RunCli, assert_no_traceback

pytestmark = pytest.mark.slow

TEMPLATE = """\
name: sources
namespace_name: tests
version: "1.0.0"
steps:
  - name: zen
    handler: {callable: this.Anything}
  - name: neighbour
    handler: {callable: neighbour.Handler}
"""
HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("tests.unused")
def unused():
    return {}
"""
NEIGHBOUR = """\
from pathlib import Path

Path(__file__).with_name("NEIGHBOUR_RAN").write_text("imported")

from tasker_ctl.sdk import StepHandler


class Handler(StepHandler):
    def call(self, context):
        return self.success({"neighbour": True})
"""

# Tasker Core's layout: a directory of handler packages, handlers keyed by their handler_name
# or decorator name, and callables that name a class by its module path in the directory
CORE_TEMPLATE = """\
name: core_layout
namespace_name: tests
version: "1.0.0"
input_schema: {type: object, required: [even_number], properties: {even_number: {type: integer}}}
steps:
  - name: square
    handler: {callable: linear_workflow.step_handlers.SquareHandler}
  - name: add
    dependencies: [square]
    handler: {callable: linear_workflow_dsl_py.step_handlers.add}
  - name: half
    dependencies: [add]
    handler: {callable: core_handlers.examples.linear.step_handlers.HalfHandler}
"""
CORE_CLASSES = """\
from tasker_core import StepHandler


class SquareHandler(StepHandler):
    handler_name = "linear_workflow.step_handlers.SquareHandler"

    def call(self, context):
        return self.success({"result": context.get_input("even_number") ** 2})


class HalfHandler(StepHandler):
    # no handler_name: reached by its module path only

    def call(self, context):
        return self.success({"result": context.get_dependency_field("add", "result") / 2})
"""
CORE_DSL = """\
from tasker_core.step_handler.functional import depends_on, step_handler


@step_handler("linear_workflow_dsl_py.step_handlers.add")
@depends_on(square="square")
def add(square, context):
    return {"result": square["result"] + 10}
"""


@pytest.fixture
def env(fresh_database_url: str) -> dict[str, str]:
    return {"TASKER_DATABASE_URL": fresh_database_url, "PYTHONDONTWRITEBYTECODE": "1"}


def test_a_template_cannot_make_a_module_import(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "sources.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "handlers.py").write_text(HANDLERS, encoding="utf-8")
    (tmp_path / "neighbour.py").write_text(NEIGHBOUR, encoding="utf-8")
    result = run_cli("run", "sources.yaml", "--handlers", "handlers.py", cwd=tmp_path, env=env)
    assert_no_traceback(result)
    assert "The Zen of Python" not in result.stdout + result.stderr
    assert not (tmp_path / "NEIGHBOUR_RAN").exists()
    # run checks every callable before it starts: neither resolves
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[HANDLER_NOT_FOUND]" in result.stderr
    assert "zen (this.Anything), neighbour (neighbour.Handler)" in result.stderr


def test_tasker_core_layout_resolves_keys_and_module_paths(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path
) -> None:
    root = tmp_path / "core_handlers"
    for package in ("", "examples", "examples/linear", "dsl_examples"):
        (root / package).mkdir(parents=True, exist_ok=True)
        (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / "examples" / "linear" / "step_handlers.py").write_text(CORE_CLASSES, encoding="utf-8")
    (root / "dsl_examples" / "linear_dsl.py").write_text(CORE_DSL, encoding="utf-8")
    (tmp_path / "core.yaml").write_text(CORE_TEMPLATE, encoding="utf-8")
    result = run_cli(
        "run",
        "core.yaml",
        "--context",
        '{"even_number": 6}',
        "--handlers",
        str(root),
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert_no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {step["name"]: step for step in json.loads(result.stdout)["steps"]}
    assert steps["half"]["result"]["result"] == 23


@pytest.mark.parametrize(
    "body", ["import sys\nsys.exit(3)\n", "raise KeyboardInterrupt\n", "raise ValueError('x')\n"]
)
def test_a_handler_module_that_fails_is_a_coded_error(
    run_cli: RunCli, env: dict[str, str], tmp_path: Path, body: str
) -> None:
    (tmp_path / "sources.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "failing.py").write_text(body, encoding="utf-8")
    result = run_cli("run", "sources.yaml", "--handlers", "failing.py", cwd=tmp_path, env=env)
    assert_no_traceback(result)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[HANDLERS_NOT_LOADED]" in result.stderr
    assert "failing.py" in result.stderr


BROKEN_SYNTAX = "import os\n\n\ndef broken(:\n    pass\n"
RAISING = "import os\n\nVALUE = 1\nraise RuntimeError('no config at import')\n"
# the handlers fail to load before any database is opened
NO_DATABASE = {"TASKER_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_syntax_error_names_its_file_and_line(
    invoke_cli: RunCli, tmp_path: Path, isolation: str
) -> None:
    (tmp_path / "sources.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "broken.py").write_text(BROKEN_SYNTAX, encoding="utf-8")
    result = invoke_cli(
        "run", "sources.yaml", "--handlers", "broken.py", "--isolation", isolation,
        cwd=tmp_path, env=NO_DATABASE,
    )  # fmt: skip
    assert_no_traceback(result)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error[HANDLERS_NOT_LOADED]" in result.stderr
    assert "hint: fix the syntax at broken.py:4:12: def broken(:" in result.stderr


@pytest.mark.parametrize("isolation", ["thread", "process"])
def test_a_module_raising_at_import_names_the_line_and_debug_shows_the_traceback(
    invoke_cli: RunCli, tmp_path: Path, isolation: str
) -> None:
    (tmp_path / "sources.yaml").write_text(TEMPLATE, encoding="utf-8")
    (tmp_path / "raising.py").write_text(RAISING, encoding="utf-8")
    args = ("run", "sources.yaml", "--handlers", "raising.py", "--isolation", isolation)
    quiet = invoke_cli(*args, cwd=tmp_path, env=NO_DATABASE)
    assert_no_traceback(quiet)
    assert quiet.returncode == 2
    assert "importing the handlers raised it at raising.py:4" in quiet.stderr
    debug = invoke_cli(*args, cwd=tmp_path, env={**NO_DATABASE, "TASKER_DEBUG": "1"})
    assert debug.returncode == 2
    assert "Traceback (most recent call last)" in debug.stderr
    assert f'File "{tmp_path / "raising.py"}", line 4, in <module>' in debug.stderr
    assert debug.stderr.rstrip().splitlines()[-2].startswith("error[HANDLERS_NOT_LOADED]")


def test_a_handler_process_that_cannot_load_says_where(tmp_path: Path) -> None:
    # the worker loads the handlers first; a handler process that then fails (a module that
    # changed in between, say) names the file and line too
    import multiprocessing
    import pickle

    from tasker_ctl.engine.worker.handler_child import ChildSetup, serve

    (tmp_path / "broken.py").write_text(BROKEN_SYNTAX, encoding="utf-8")
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe(duplex=True)
    process = context.Process(
        target=serve, args=(theirs, ChildSetup((str(tmp_path / "broken.py"),)))
    )
    process.start()
    try:
        assert ours.poll(60)
        kind, body = pickle.loads(ours.recv_bytes())
    finally:
        process.join(30)
    assert kind == "broken"
    assert "HandlerLoadError" in body
    assert "broken.py:4:12" in body
