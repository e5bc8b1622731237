"""The README's pre-commit configuration, run by pre-commit on a repository of a user's own.

The README's hooks are ``local``: they run the installed ``tasker-ctl``, so the configuration
works as written, with no release tag to point at.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.test_precommit_hook import BAD_TEMPLATE, GOOD_TEMPLATE, _git
from tests.environment import command_environment

ROOT = Path(__file__).resolve().parents[2]


def _readme_config() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## pre-commit") :]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "the README's pre-commit section has no yaml block"
    return match.group(1)


def _pre_commit(repository: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = command_environment()
    env.update(PRE_COMMIT_HOME=str(home), NO_COLOR="1")
    return subprocess.run(
        ["pre-commit", "run", "--all-files"],
        cwd=repository,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_readme_configuration_points_at_no_missing_tag() -> None:
    config = _readme_config()
    assert "rev:" not in config, "a rev must name a tag or commit that exists"
    assert "repo: local" in config


def test_the_readme_hooks_pass_a_good_template_and_refuse_a_broken_one(tmp_path: Path) -> None:
    if shutil.which("pre-commit") is None:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    repository = tmp_path / "project"
    (repository / "templates").mkdir(parents=True)
    _git("init", "-q", cwd=repository)
    (repository / ".pre-commit-config.yaml").write_text(_readme_config(), encoding="utf-8")
    (repository / "templates" / "orders.yaml").write_text(GOOD_TEMPLATE, encoding="utf-8")
    generated = subprocess.run(
        ["tasker-ctl", "generate", "scaffold", "templates/orders.yaml", "-o", "src/orders"],
        cwd=repository,
        capture_output=True,
        text=True,
        check=False,
    )
    assert generated.returncode == 0, generated.stderr
    _git("add", "-A", cwd=repository)

    passed = _pre_commit(repository, tmp_path / "home")
    assert passed.returncode == 0, passed.stdout + passed.stderr

    (repository / "templates" / "broken.yaml").write_text(BAD_TEMPLATE, encoding="utf-8")
    _git("add", "-A", cwd=repository)
    refused = _pre_commit(repository, tmp_path / "home")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "MISSING_DEP_REF" in refused.stdout
