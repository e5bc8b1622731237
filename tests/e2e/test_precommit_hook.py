"""The `tasker-validate` pre-commit hook, used as a user would: from a git repository's config.

pre-commit clones this project at its current commit and installs it into its own virtual
environment (from the package index), so these tests are slow the first time; the hook
environment is shared by the tests of one session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

GOOD_TEMPLATE = """\
name: order_intake
namespace_name: ecommerce
version: "1.0.0"
steps:
  - name: validate
    handler: {callable: ecommerce.handlers.Validate}
  - name: price
    depends_on: [validate]
    handler: {callable: ecommerce.handlers.Price}
"""

BAD_TEMPLATE = GOOD_TEMPLATE.replace("depends_on: [validate]", "depends_on: [valdate]")

NOT_A_TEMPLATE = """\
on: [push]
jobs:
  test: {runs-on: ubuntu-latest}
"""


def _git(*args: str, cwd: Path) -> str:
    result = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


@pytest.fixture(scope="module")
def project_revision() -> str:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    if not (PROJECT_ROOT / ".git").exists():
        pytest.skip("the project is not a git checkout, so pre-commit cannot clone it")
    return _git("rev-parse", "HEAD", cwd=PROJECT_ROOT)


@pytest.fixture(scope="module")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def _user_repository(root: Path, revision: str, files: dict[str, str]) -> Path:
    root.mkdir()
    _git("init", "-q", cwd=root)
    (root / ".pre-commit-config.yaml").write_text(
        "repos:\n"
        f"  - repo: {PROJECT_ROOT.as_posix()}\n"
        f"    rev: {revision}\n"
        "    hooks:\n"
        "      - id: tasker-validate\n"
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git("add", "-A", cwd=root)
    return root


def _run_hooks(repository: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("TASKER_")}
    environment.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1", PRE_COMMIT_COLOR="never")
    return subprocess.run(
        ["pre-commit", "run", "--all-files"],
        cwd=repository,
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_hook_rejects_a_bad_template(
    tmp_path: Path, project_revision: str, pre_commit_home: Path
) -> None:
    repository = _user_repository(
        tmp_path / "repo", project_revision, {"templates/order.yaml": BAD_TEMPLATE}
    )
    result = _run_hooks(repository, pre_commit_home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "MISSING_DEP_REF" in output
    assert "templates/order.yaml:8:18" in output
    assert "did you mean 'validate'?" in output


@pytest.mark.slow
def test_hook_passes_a_good_template_and_skips_other_yaml(
    tmp_path: Path, project_revision: str, pre_commit_home: Path
) -> None:
    repository = _user_repository(
        tmp_path / "repo",
        project_revision,
        {"templates/order.yaml": GOOD_TEMPLATE, ".github/workflows/ci.yml": NOT_A_TEMPLATE},
    )
    result = _run_hooks(repository, pre_commit_home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
