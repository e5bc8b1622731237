"""The project configuration as users meet it: `config show` (text and JSON), `run` and `worker`
taking the configured handlers when --handlers is not given, a configured database URL, and a
broken configuration as a coded error from any command."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.e2e.conftest import RunCli, assert_no_traceback

LINEAR = PROJECT_ROOT / "examples" / "linear"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project whose configuration names its handlers; commands run from a subfolder."""
    root = tmp_path / "project"
    (root / "workflows").mkdir(parents=True)
    (root / "deep" / "er").mkdir(parents=True)
    shutil.copy(LINEAR / "linear.yaml", root / "workflows")
    shutil.copy(LINEAR / "context.json", root / "workflows")
    shutil.copy(LINEAR / "linear_handlers.py", root / "workflows")
    (root / "pyproject.toml").write_text(
        '[project]\nname = "demo"\n\n[tool.tasker-ctl]\n'
        'handlers = ["workflows/linear_handlers.py"]\ntemplates = ["workflows"]\n'
        'idle_stop = "45m"\n',
        encoding="utf-8",
    )
    return root


def test_config_show_names_each_setting_and_its_source(invoke_cli: RunCli, project: Path) -> None:
    result = invoke_cli("config", "show", cwd=project / "deep" / "er")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    config = f"{(project / 'pyproject.toml').resolve()} [tool.tasker-ctl]"
    assert f"config file: {(project / 'pyproject.toml').resolve()}" in result.stdout
    handlers = (project / "workflows" / "linear_handlers.py").resolve()
    assert f"handlers:     {handlers}  (from {config})" in result.stdout
    assert f"idle_stop:    45m  (from {config})" in result.stdout
    assert f"home:         {(project / '.tasker').resolve()} (not created yet)" in result.stdout

    shown = invoke_cli("config", "show", "--json", cwd=project, env={"TASKER_IDLE_STOP": "off"})
    document = json.loads(shown.stdout)
    assert document["config_file"] == str((project / "pyproject.toml").resolve())
    assert document["settings"]["idle_stop"] == {"value": 0.0, "source": "TASKER_IDLE_STOP"}
    assert document["settings"]["handlers"]["value"] == [str(handlers)]
    assert document["settings"]["database_url"] == {"value": None, "source": "default"}
    assert document["tool"]["name"] == "tasker-ctl"
    assert not (project / ".tasker").exists()  # showing creates nothing


def test_run_takes_the_configured_handlers(
    invoke_cli: RunCli, project: Path, database_url: str
) -> None:
    result = invoke_cli(
        "run",
        "../../workflows/linear.yaml",
        "--context",
        "@../../workflows/context.json",
        "--json",
        cwd=project / "deep" / "er",
        env={"TASKER_DATABASE_URL": database_url},
    )
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["task"]["status"] == "complete"


def test_worker_takes_the_configured_handlers(invoke_cli: RunCli, project: Path) -> None:
    (project / "workflows" / "linear_handlers.py").unlink()
    result = invoke_cli("worker", cwd=project / "deep")
    assert_no_traceback(result)
    assert result.returncode == 2
    missing = (project / "workflows" / "linear_handlers.py").resolve()
    assert f"handlers path '{missing}' does not exist" in result.stderr


def test_the_configured_database_url_is_used_and_named_in_hints(
    invoke_cli: RunCli, project: Path
) -> None:
    config = project / "pyproject.toml"
    config.write_text(
        config.read_text(encoding="utf-8")
        + 'database_url = "postgresql://app:s3cret@127.0.0.1:1/tasks?connect_timeout=2"\n',
        encoding="utf-8",
    )
    result = invoke_cli("task", "list", cwd=project / "deep")
    assert_no_traceback(result)
    assert result.returncode == 2
    assert "error[DATABASE_UNAVAILABLE]" in result.stderr
    assert "s3cret" not in result.stdout + result.stderr
    assert f"it comes from database_url in {config.resolve()} [tool.tasker-ctl]" in result.stderr
    assert "db start" not in result.stderr
    assert not (project / ".tasker").exists()


def test_a_broken_configuration_is_a_coded_error_for_any_command(
    invoke_cli: RunCli, project: Path
) -> None:
    config = project / "pyproject.toml"
    config.write_text(config.read_text(encoding="utf-8") + "idle_stpo = 3\n", encoding="utf-8")
    for command in (["config", "show"], ["task", "list"], ["db", "start"]):
        result = invoke_cli(*command, cwd=project / "deep")
        assert_no_traceback(result)
        assert result.returncode == 2, command
        assert result.stderr.startswith(
            f"error[PROJECT_CONFIG_INVALID]: {config.resolve()}:8: unknown key 'idle_stpo'; "
            "did you mean 'idle_stop'?"
        ), result.stderr
    assert not (project / ".tasker").exists()


def test_validate_without_paths_checks_the_configured_templates(
    invoke_cli: RunCli, project: Path, tmp_path: Path
) -> None:
    result = invoke_cli("validate", "--json", cwd=project / "deep" / "er")
    assert_no_traceback(result)
    assert result.returncode == 0, result.stderr
    files = [entry["file"] for entry in json.loads(result.stdout)["files"]]
    assert [Path(path).name for path in files] == ["linear.yaml"]

    nowhere = tmp_path / "elsewhere"
    nowhere.mkdir()
    result = invoke_cli("validate", cwd=nowhere)
    assert result.returncode == 2
    assert "list them as 'templates' in the project configuration" in result.stderr
