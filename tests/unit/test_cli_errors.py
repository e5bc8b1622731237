"""The app's root group reports errors the same way from the console script and in-process:
a ``TaskerError`` as its coded message and exit code, anything unexpected as
``INTERNAL_ERROR`` (exit 3) without a traceback, Typer's own exits untouched."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from tasker_ctl.cli import build_app
from tasker_ctl.errors import ExitCode, PathNotFoundError


def _app_raising(error: BaseException) -> typer.Typer:
    app = build_app()

    @app.command("fail")
    def fail() -> None:
        raise error

    return app


def test_a_tasker_error_is_its_coded_message_and_exit_code() -> None:
    app = _app_raising(PathNotFoundError("'x.yaml' does not exist", hint="name a file"))
    result = CliRunner().invoke(app, ["fail"])
    assert result.exit_code == int(ExitCode.USAGE)
    assert result.stderr == "error[PATH_NOT_FOUND]: 'x.yaml' does not exist\n  hint: name a file\n"
    assert result.stdout == ""


def test_an_unexpected_error_is_internal_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TASKER_DEBUG", raising=False)
    result = CliRunner().invoke(_app_raising(RuntimeError("boom")), ["fail"])
    assert result.exit_code == int(ExitCode.INTERNAL)
    assert result.stderr.startswith("error[INTERNAL_ERROR]: RuntimeError: boom\n")
    assert "TASKER_DEBUG=1" in result.stderr
    assert "Traceback" not in result.stderr


def test_tasker_debug_lets_the_exception_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TASKER_DEBUG", "1")
    result = CliRunner().invoke(_app_raising(RuntimeError("boom")), ["fail"])
    assert isinstance(result.exception, RuntimeError)
    assert "INTERNAL_ERROR" not in result.stderr


def test_typer_exits_and_usage_errors_are_typer_s_own() -> None:
    assert CliRunner().invoke(_app_raising(typer.Exit(130)), ["fail"]).exit_code == 130
    usage = CliRunner().invoke(_app_raising(typer.BadParameter("bad")), ["fail"])
    assert usage.exit_code == 2
    assert "INTERNAL_ERROR" not in usage.stderr
