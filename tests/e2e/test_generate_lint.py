"""Generated code passes ``ruff check`` and ``mypy --strict`` wherever it is written.

Inside this repository ruff reads the project's configuration, where ``tasker_ctl`` is a
first-party module; outside, with no configuration at all, it is a third-party one. Import
blocks must be sorted right under both (README: ``ruff check build/crm_profile``).
"""

from __future__ import annotations

import importlib.util
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tasker_ctl.codegen import generate_scaffold, write_scaffold
from tests.conftest import PROJECT_ROOT

EXAMPLES = PROJECT_ROOT / "examples" / "templates"
TEMPLATES = ["customer_profile", "expense_approval", "csv_import"]


@pytest.fixture
def inside_the_repository() -> Iterator[Path]:
    folder = PROJECT_ROOT / f"build-lint-{secrets.token_hex(4)}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _generate(root: Path) -> list[Path]:
    packages = []
    for name in TEMPLATES:
        package = root / name
        write_scaffold(generate_scaffold(EXAMPLES / f"{name}.yaml", package), package)
        packages.append(package)
    return packages


def _run(*command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("where", ["inside", "outside"])
def test_generated_packages_pass_ruff_and_mypy_where_they_are_written(
    where: str, inside_the_repository: Path, tmp_path: Path
) -> None:
    for tool in ("ruff", "mypy"):
        if importlib.util.find_spec(tool) is None:
            pytest.skip(f"{tool} is not installed")
    root = inside_the_repository if where == "inside" else tmp_path
    cwd = PROJECT_ROOT if where == "inside" else tmp_path
    packages = [str(path.relative_to(cwd)) for path in _generate(root)]
    # no --isolated: ruff and mypy read whatever configuration governs the folder
    lint = _run("ruff", "check", "--no-cache", *packages, cwd=cwd)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    typed = _run("mypy", "--strict", "--no-incremental", *packages, cwd=cwd)
    assert typed.returncode == 0, typed.stdout + typed.stderr
