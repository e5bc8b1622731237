"""The `tasker-validate` pre-commit hook, used as a user would: from a git repository's config.

pre-commit clones this project at its current commit and installs it into its own virtual
environment (from the package index), so these tests are slow the first time; the hook
environment is shared by the tests of one session.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tasker_ctl.codegen import generate_scaffold, write_scaffold
from tests.conftest import PROJECT_ROOT
from tests.environment import command_environment

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


GENERATE_CHECK = (
    "      - id: tasker-generate-check\n"
    "        args: [scaffold, templates/order.yaml, -o, orders, --check]\n"
)


def _user_repository(
    root: Path, revision: str, files: dict[str, str], hooks: str = "      - id: tasker-validate\n"
) -> Path:
    root.mkdir(exist_ok=True)
    _git("init", "-q", cwd=root)
    (root / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {PROJECT_ROOT.as_posix()}\n    rev: {revision}\n    hooks:\n" + hooks
    )
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    _git("add", "-A", cwd=root)
    return root


def _run_hooks(repository: Path, home: Path) -> subprocess.CompletedProcess[str]:
    environment = command_environment()
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


@pytest.mark.slow
def test_generate_check_hook_fails_on_drift_and_passes_in_sync(
    tmp_path: Path, project_revision: str, pre_commit_home: Path
) -> None:
    root = tmp_path / "repo"
    template = root / "templates" / "order.yaml"
    template.parent.mkdir(parents=True)
    template.write_text(GOOD_TEMPLATE)
    write_scaffold(generate_scaffold(template, root / "orders"), root / "orders")
    repository = _user_repository(root, project_revision, {}, GENERATE_CHECK)
    in_sync = _run_hooks(repository, pre_commit_home)
    assert in_sync.returncode == 0, in_sync.stdout + in_sync.stderr

    # a handler written by hand is the user's: the hook stays green
    handlers = root / "orders" / "handlers.py"
    handlers.write_text(
        handlers.read_text().replace("# TODO: implement the step.", "print('written')"),
    )
    _git("add", "-A", cwd=repository)
    written = _run_hooks(repository, pre_commit_home)
    assert written.returncode == 0, written.stdout + written.stderr

    template.write_text(GOOD_TEMPLATE.replace('version: "1.0.0"', 'version: "1.1.0"'))
    _git("add", "-A", cwd=repository)
    drifted = _run_hooks(repository, pre_commit_home)
    assert drifted.returncode == 1, drifted.stdout + drifted.stderr
    assert "differ from the template" in drifted.stdout + drifted.stderr
