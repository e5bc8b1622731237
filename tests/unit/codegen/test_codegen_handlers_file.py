"""The user's handlers.py: which steps it handles, and stubs added without touching the rest."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tasker_ctl.codegen import generate_scaffold
from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.handlers_file import (
    StepHandlerName,
    add_stubs,
    missing_handlers,
    parse_handlers,
)

BASE = """\
name: flow
namespace_name: tests
version: 1.0.0
steps:
  - name: fetch
    handler: {callable: tests.fetch}
"""
TYPED_STEP = """\
  - name: ship
    dependencies: [fetch]
    handler: {callable: tests.ship}
    result_schema: {type: object, required: [n], properties: {n: {type: integer}}}
"""

# a user's module: class-based handler for fetch, its own imports, no models import at all
USER = '''\
"""My handlers."""

from __future__ import annotations

import json
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult


class Fetch(StepHandler):
    handler_name = "tests.fetch"

    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success({"raw": json.dumps({})})


HELPER: dict[str, Any] = {}
'''


def _generated(tmp_path: Path, text: str) -> str:
    template = tmp_path / "flow.yaml"
    template.write_text(text, encoding="utf-8")
    generation = generate_scaffold(template, tmp_path / "flow")
    return next(f.content for f in generation.files if f.path == "handlers.py")


def test_a_step_is_handled_when_the_module_names_its_callable() -> None:
    module = parse_handlers(USER, "flow/handlers.py")
    steps = [StepHandlerName("fetch", "tests.fetch"), StepHandlerName("ship", "tests.ship")]
    assert missing_handlers(module, steps) == [StepHandlerName("ship", "tests.ship")]


def test_nothing_missing_leaves_the_text_alone(tmp_path: Path) -> None:
    assert add_stubs(USER, _generated(tmp_path, BASE), []) == USER


def test_stubs_and_their_imports_are_added_and_the_rest_kept(tmp_path: Path) -> None:
    generated = _generated(tmp_path, BASE + TYPED_STEP)
    result = add_stubs(USER, generated, [StepHandlerName("ship", "tests.ship")])
    assert result.startswith(USER.split("from tasker_ctl.sdk import")[0])
    assert USER[USER.index("class Fetch") :] in result
    assert '@step_handler("tests.ship")\n@depends_on(' in result
    # names merged into the user's own import of the module, sorted as isort sorts them
    assert "from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult\n" in result
    assert "from tasker_ctl.sdk.step_handler.functional import depends_on, step_handler\n" in (
        result
    )
    # a module the user never imported from: a block of its own after the others
    assert "\n\nfrom .models import ShipResult\n\n\nclass Fetch" in result


def test_names_join_an_existing_multiline_import(tmp_path: Path) -> None:
    typed_fetch = BASE.replace(
        "    handler: {callable: tests.fetch}\n",
        "    handler: {callable: tests.fetch}\n"
        "    result_schema: {type: object, properties: {a: {type: string}}}\n",
    )
    written = _generated(tmp_path, typed_fetch)
    assert "from .models import (\n    FetchResult,\n)\n" in written
    generated = _generated(tmp_path, typed_fetch + TYPED_STEP)
    result = add_stubs(written, generated, [StepHandlerName("ship", "tests.ship")])
    assert "from .models import (\n    FetchResult,\n    ShipResult,\n)\n" in result


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_the_completed_module_passes_ruff(tmp_path: Path) -> None:
    generated = _generated(tmp_path, BASE + TYPED_STEP)
    path = tmp_path / "handlers.py"
    path.write_text(add_stubs(USER, generated, [StepHandlerName("ship", "tests.ship")]))
    result = subprocess.run(
        ["ruff", "check", "--isolated", "--select", "E,F,I,W", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_module_that_does_not_parse_is_a_coded_error() -> None:
    with pytest.raises(CodegenError) as refused:
        parse_handlers("def broken(:\n", "pkg/handlers.py")
    assert refused.value.code == "HANDLERS_UNREADABLE"
    assert "'pkg/handlers.py': line 1:" in refused.value.message
