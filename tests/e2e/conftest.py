"""Helpers for running the installed ``tasker-ctl`` command as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.environment import command_environment

RunCli = Callable[..., subprocess.CompletedProcess[str]]


def _command() -> list[str]:
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


@pytest.fixture
def run_cli(tmp_path: Path) -> RunCli:
    """Run ``tasker-ctl ARGS`` and return the completed process (never raises on exit code)."""

    def run(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = command_environment()
        environment["NO_COLOR"] = "1"
        environment["COLUMNS"] = "120"
        environment.update(env or {})
        return subprocess.run(
            [*_command(), *args],
            cwd=cwd or tmp_path,
            input=input,
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def invoke_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RunCli:
    """Run ``tasker-ctl ARGS`` in this process (``tests/e2e/in_process.py``); answers as
    ``run_cli`` does."""
    from tests.e2e.in_process import in_process_runner

    return in_process_runner(tmp_path, monkeypatch)


def assert_no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout
