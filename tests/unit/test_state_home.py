"""Where the embedded server's state folder is: an explicit folder, TASKER_HOME, else the
nearest .tasker or project root walking up from the working directory, else ./.tasker; and a
folder tasker-ctl creates keeps itself out of git."""

from __future__ import annotations

from pathlib import Path

import pytest

from tasker_ctl.db.home import HomeSource, locate_home, prepare_home


def test_the_nearest_tasker_folder_above_is_found(tmp_path: Path) -> None:
    (tmp_path / ".tasker").mkdir()
    deep = tmp_path / "src" / "pkg"
    deep.mkdir(parents=True)
    home = locate_home(start=deep)
    assert (home.path, home.source) == ((tmp_path / ".tasker").resolve(), HomeSource.FOUND)


def test_a_project_configuration_marks_the_root(tmp_path: Path) -> None:
    (tmp_path / ".tasker").mkdir()  # an outer project
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "tasker.toml").write_text("", encoding="utf-8")
    home = locate_home(start=project / "sub")
    assert home.path == project.resolve() / ".tasker"  # nearest root, even if not created yet
    (project / "tasker.toml").write_text('home = "var/state"\n', encoding="utf-8")
    home = locate_home(start=project / "sub")
    assert (home.path, home.source) == (project.resolve() / "var/state", HomeSource.PROJECT_CONFIG)


def test_tasker_home_beats_the_walk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".tasker").mkdir()
    monkeypatch.setenv("TASKER_HOME", str(tmp_path / "elsewhere"))
    home = locate_home(start=tmp_path)
    assert (home.path, home.source) == ((tmp_path / "elsewhere").resolve(), HomeSource.ENVIRONMENT)


def test_nothing_found_means_here_and_nothing_is_created(tmp_path: Path) -> None:
    home = locate_home(start=tmp_path)
    assert (home.path, home.source) == (tmp_path.resolve() / ".tasker", HomeSource.DEFAULT)
    assert not home.has_database
    assert list(tmp_path.iterdir()) == []


def test_a_created_state_folder_ignores_itself(tmp_path: Path) -> None:
    prepare_home(tmp_path / ".tasker")
    ignore = (tmp_path / ".tasker" / ".gitignore").read_text(encoding="utf-8")
    assert ignore.splitlines()[-1] == "*"
    # an existing folder named by TASKER_HOME is the user's: left as it is
    own = tmp_path / "mine"
    own.mkdir()
    prepare_home(own)
    assert not (own / ".gitignore").exists()


def test_with_neither_the_nearest_repository_or_python_project_is_the_root(
    tmp_path: Path,
) -> None:
    repository = tmp_path / "repo"
    (repository / ".git").mkdir(parents=True)
    deep = repository / "src" / "pkg"
    deep.mkdir(parents=True)
    home = locate_home(start=deep)
    # a first `run` in a subfolder makes the database where the root's commands find it
    assert (home.path, home.source) == (repository.resolve() / ".tasker", HomeSource.PROJECT_ROOT)
    (repository / "src" / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    assert locate_home(start=deep).path == repository.resolve() / "src" / ".tasker"
    assert not home.has_database
