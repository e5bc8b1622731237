"""CI checks what developers check: ``.ci/run`` runs the README's test command word for word,
and ``.ci/check`` runs every checker, stopping at the first finding."""

from __future__ import annotations

import re

from tests.conftest import PROJECT_ROOT

CI = PROJECT_ROOT / ".ci"
CHECKERS = ["ruff check", "ruff format --check", "mypy", "pytest"]


def _readme_test_command() -> str:
    readme = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)
    commands = [block.strip() for block in blocks if "'.[test]'" in block]
    assert len(commands) == 1, commands
    assert "\n" not in commands[0]  # one line to copy
    return commands[0]


def _script_commands(name: str) -> list[str]:
    lines = (CI / name).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -euo pipefail" in lines  # any failing command fails the script
    ignored = ("#", "set ", 'cd "$(dirname "$0")/.."')
    return [line for line in lines if line.strip() and not line.startswith(ignored)]


def test_ci_runs_the_readme_test_command() -> None:
    assert _script_commands("run") == [_readme_test_command()]


def test_the_command_installs_then_checks() -> None:
    install, check = _readme_test_command().split(" && ")
    assert install == "pip install -e '.[test]'"
    assert check == ".ci/check"


def test_check_runs_every_checker_in_order() -> None:
    commands = _script_commands("check")
    # pytest may be given how to run (workers, plugins), not what to run
    assert [re.sub(r"^pytest .*", "pytest", command) for command in commands] == CHECKERS
    # the checkers run over the whole project: no path narrows one of them
    assert all("tests/" not in command and "src/" not in command for command in commands)
