"""Every template with schemas, generated as a package, passes pytest, ruff and mypy --strict.

All packages are generated in-process into one directory, then each tool runs once over all of
them (one process each), which keeps this affordable for a hundred templates.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tasker_ctl.codegen import generate_scaffold, write_files
from tasker_ctl.codegen.naming import snake_case
from tasker_ctl.template import load_template
from tasker_ctl.template.source import read_document
from tasker_ctl.template.validator import looks_like_template
from tests.conftest import CORPUS_ROOT, PROJECT_ROOT


def _templates() -> list[Path]:
    # what `validate examples/` takes for templates (not fragments, not cassettes)
    found = [
        path
        for path in sorted((PROJECT_ROOT / "examples").rglob("*.yaml"))
        if looks_like_template(read_document(path))
    ]
    for folder in ("tests/fixtures/task_templates", "config/tasks"):
        found += sorted((CORPUS_ROOT / folder).rglob("*.yaml")) if CORPUS_ROOT.is_dir() else []
    return found


def _has_schemas(path: Path) -> bool:
    template = load_template(path)
    return template.input_schema is not None or any(
        step.result_schema is not None for step in template.steps
    )


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # not the PYTEST_* variables of this run (an xdist worker's): the run below is its own
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    return subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("generated")
    count = 0
    for index, template in enumerate(_templates()):
        if not _has_schemas(template):
            continue
        output = root / f"t{index:03d}_{snake_case(template.stem)}"
        write_files(generate_scaffold(template, output).files, output)
        count += 1
    assert count >= 5
    if CORPUS_ROOT.is_dir():
        assert count >= 90, "the corpus should contribute most packages"
    return root


RUN_TEST = "test_handlers.py::test_template_runs_on_the_local_orchestrator"
# Every package's handler tests run; the test that runs its template on the orchestrator runs
# for one package in this many (the first included). It costs most of a second each, and the
# engine's own corpus tests run every template already.
RUN_TEST_SAMPLE = 6


@pytest.mark.slow
def test_generated_packages_pass_their_own_tests(generated: Path) -> None:
    packages = sorted(path.name for path in generated.iterdir() if path.is_dir())
    skipped = [
        f"--deselect={name}/{RUN_TEST}"
        for index, name in enumerate(packages)
        if index % RUN_TEST_SAMPLE
    ]
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *skipped, "."]
    result = _run(command, generated)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout
    # the run tests ran on the pytest plugin's throwaway server, not in the folder's .tasker
    assert not (generated / ".tasker").exists()


@pytest.mark.slow
def test_generated_packages_pass_ruff(generated: Path) -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    result = _run([ruff, "check", "--isolated", "--no-cache", "."], generated)
    assert result.returncode == 0, result.stdout[-4000:]


@pytest.mark.slow
def test_generated_packages_pass_mypy_strict(generated: Path) -> None:
    result = _run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", "."], generated)
    assert result.returncode == 0, result.stdout[-4000:]
