"""The project configuration: found by walking up, nearest first; tasker.toml before a
pyproject.toml with [tool.tasker-ctl]; relative paths against the file; typos and wrong values
are PROJECT_CONFIG_INVALID naming the file, the key and its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.errors import ProjectConfigError
from tasker_ctl.project_config import find_project_config, parse_duration


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_found_from_a_subfolder_with_paths_relative_to_the_file(tmp_path: Path) -> None:
    (tmp_path / "handlers").mkdir()
    config = _write(
        tmp_path / "tasker.toml",
        'handlers = ["handlers", "pkg.module", "extra/more.py"]\n'
        'templates = "templates"\n'
        'home = "state"\n'
        'environment = "test"\n'
        'idle_stop = "10m"\n',
    )
    found = find_project_config(tmp_path / "a" / "b")
    assert found.path == config.resolve()
    assert found.handlers == [
        str(tmp_path.resolve() / "handlers"),
        "pkg.module",  # no such path: an importable module, as written
        str(tmp_path.resolve() / "extra" / "more.py"),
    ]
    assert found.templates == [str(tmp_path.resolve() / "templates")]
    assert found.home == tmp_path.resolve() / "state"
    assert found.settings.environment == "test"
    assert found.settings.idle_stop == 600.0


def test_the_nearest_wins_and_tasker_toml_before_pyproject(tmp_path: Path) -> None:
    _write(tmp_path / "tasker.toml", 'environment = "outer"\n')
    inner = tmp_path / "inner"
    _write(inner / "pyproject.toml", '[tool.tasker-ctl]\nenvironment = "pyproject"\n')
    assert find_project_config(inner / "deeper").settings.environment == "pyproject"
    _write(inner / "tasker.toml", 'environment = "tasker.toml"\n')
    assert find_project_config(inner).settings.environment == "tasker.toml"


def test_a_pyproject_without_the_table_is_not_a_configuration(tmp_path: Path) -> None:
    _write(tmp_path / "tasker.toml", 'environment = "outer"\n')
    _write(tmp_path / "inner" / "pyproject.toml", '[project]\nname = "tasker-ctl-user"\n')
    found = find_project_config(tmp_path / "inner")
    assert found.path == (tmp_path / "tasker.toml").resolve()


def test_none_found_is_an_empty_configuration(tmp_path: Path) -> None:
    found = find_project_config(tmp_path)
    assert found.path is None
    assert found.handlers == []
    assert found.describe() == "no project configuration"


def test_a_typo_names_the_file_the_key_its_line_and_a_guess(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.tasker-ctl]\nhandlers = ["h"]\nenviroment = "test"\n',
    )
    with pytest.raises(ProjectConfigError) as raised:
        find_project_config(tmp_path)
    assert raised.value.code == "PROJECT_CONFIG_INVALID"
    expected = f"{path.resolve()}:6: unknown key 'enviroment'; did you mean 'environment'?"
    assert expected in raised.value.message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("handlers = 3\n", "tasker.toml:1: 'handlers'"),
        ('idle_stop = "soon"\n', "tasker.toml:1: 'idle_stop': 'soon' is not a duration"),
        ('database_url = ["a"]\n', "tasker.toml:1: 'database_url'"),
    ],
)
def test_a_wrong_value_is_coded(tmp_path: Path, text: str, expected: str) -> None:
    _write(tmp_path / "tasker.toml", text)
    with pytest.raises(ProjectConfigError) as raised:
        find_project_config(tmp_path)
    assert expected in raised.value.message


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path / "tasker.toml", "handlers = [\n")
    with pytest.raises(ProjectConfigError) as raised:
        find_project_config(tmp_path)
    assert raised.value.message.startswith(f"{path.resolve()}: not valid TOML")


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30m", 1800.0), ("90s", 90.0), ("2h", 7200.0), ("120", 120.0), (45, 45.0), (1.5, 1.5)]
    + [(off, 0.0) for off in ("0", "off", "never", "false", "OFF", False, 0)],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["-1", "soon", "5 days", True, -3, float("inf"), None])
def test_not_durations(value: object) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration(value)
