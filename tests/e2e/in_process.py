"""Running ``tasker-ctl ARGS`` in the test's own process, answering as ``run_cli`` does.

A subprocess per command costs an interpreter start and the imports of every command; most
tests check what a command parses, does and prints, which the app built by
``tasker_ctl.cli.build_app`` shows as well when driven by typer's ``CliRunner``. The answer
has the shape of ``run_cli``'s (a ``CompletedProcess`` with ``returncode``, ``stdout`` and
``stderr`` kept apart), so a test changes only in the fixture it takes.

What a process has of its own is set for each call as ``run_cli`` sets it: the working
directory, ``sys.argv`` (a run's resume command is built from it), the environment (without
the developer's ``TASKER_*``, with ``NO_COLOR`` and ``COLUMNS``), standard input, and the
telemetry configuration read from the environment. An
exception that escapes the app is appended to stderr as the interpreter would print it, so
``assert_no_traceback`` fails here as it would on the real process.

Tests whose subject is the process itself stay on ``run_cli``: the console script and its
exit status, descriptor-level output (``run --json`` moves descriptor 1), signals, handler
processes, a reader that goes away, telemetry exported at exit, and the embedded server.
"""

from __future__ import annotations

import os
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tasker_ctl.cli import build_app
from tasker_ctl.telemetry import reset_telemetry

InvokeCli = Callable[..., subprocess.CompletedProcess[str]]


def in_process_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InvokeCli:
    """A ``run_cli`` that invokes the app in this process."""

    def invoke(
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment: dict[str, str | None] = {
            name: None for name in os.environ if name.startswith("TASKER_")
        }
        environment["NO_COLOR"] = "1"
        environment["COLUMNS"] = "120"
        environment.update(env or {})
        # a process reads its telemetry configuration once, from its own environment
        reset_telemetry()
        with monkeypatch.context() as patch:
            patch.chdir(cwd or tmp_path)
            patch.setattr(sys, "argv", ["tasker-ctl", *args])
            try:
                result = CliRunner().invoke(
                    build_app(), list(args), input=input, env=environment, prog_name="tasker-ctl"
                )
            finally:
                reset_telemetry()
        stderr = result.stderr
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            # what the interpreter prints for an exception nothing caught
            stderr += "".join(traceback.format_exception(result.exception))
        return subprocess.CompletedProcess(
            ["tasker-ctl", *args], result.exit_code, result.stdout, stderr
        )

    return invoke
