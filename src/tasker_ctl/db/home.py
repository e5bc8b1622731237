"""Where the embedded server's state folder (``.tasker``) is: found, never guessed twice.

In order: an explicit folder (tests, the library's callers); ``TASKER_HOME``; else the walk
up from the working directory, as git finds ``.git``: the nearest folder that holds a
``.tasker/`` folder or a project configuration is the project's root, and the state folder is
the configuration's ``home`` or ``<root>/.tasker``. With neither anywhere above, it is
``.tasker`` in the nearest folder holding ``.git`` or a ``pyproject.toml``, else
``./.tasker``: created only by a command that may create a database (``run``, ``worker``,
``task submit``, ``db migrate``, ``db start``).
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from tasker_ctl.project_config import ProjectConfig, find_project_config

HOME_ENV = "TASKER_HOME"
DEFAULT_HOME = ".tasker"
DATA_DIR_NAME = "pgdata"
GITIGNORE = "*\n"
# what marks a project's root when it has neither a .tasker folder nor a configuration yet
ROOT_MARKERS = (".git", "pyproject.toml")
_GITIGNORE_NOTE = "# tasker-ctl's state (the embedded PostgreSQL server): never committed\n"


class HomeSource(StrEnum):
    """How the state folder was chosen."""

    ARGUMENT = "argument"
    ENVIRONMENT = "TASKER_HOME"
    PROJECT_CONFIG = "project config"
    FOUND = "found"
    PROJECT_ROOT = "project root"
    DEFAULT = "default"

    @property
    def searched(self) -> bool:
        """Chosen because the walk found no state folder and no configuration."""
        return self in (HomeSource.PROJECT_ROOT, HomeSource.DEFAULT)


@dataclass(frozen=True)
class Home:
    """The state folder, how it was chosen, and where the search started."""

    path: Path
    source: HomeSource
    searched_from: Path
    config: ProjectConfig

    @property
    def data_dir(self) -> Path:
        return self.path / DATA_DIR_NAME

    @property
    def has_database(self) -> bool:
        """Whether an embedded data directory was ever created here."""
        return (self.data_dir / "PG_VERSION").is_file() or self.data_dir.is_symlink()

    def describe(self) -> str:
        """How it was chosen, for messages."""
        if self.source is HomeSource.ENVIRONMENT:
            return f"{self.path} (from {HOME_ENV})"
        if self.source is HomeSource.PROJECT_CONFIG:
            return f"{self.path} (home in {self.config.describe()})"
        if self.source is HomeSource.FOUND:
            return f"{self.path} (the nearest to {self.searched_from})"
        if self.source.searched:
            return f"{self.path} (none found in {self.searched_from} or above)"
        return str(self.path)


def locate_home(home: Path | str | None = None, *, start: Path | None = None) -> Home:
    """The state folder to use; reads but never creates anything."""
    cwd = (start or Path.cwd()).resolve()
    if home is not None and str(home) != "":
        return Home(_absolute(home), HomeSource.ARGUMENT, cwd, ProjectConfig())
    config = find_project_config(cwd)
    from_environment = os.environ.get(HOME_ENV, "")
    if from_environment:
        return Home(_absolute(from_environment), HomeSource.ENVIRONMENT, cwd, config)
    project_root: Path | None = None
    for directory in (cwd, *cwd.parents):
        if (directory / DEFAULT_HOME).is_dir():
            return Home((directory / DEFAULT_HOME).resolve(), HomeSource.FOUND, cwd, config)
        if config.root == directory:
            if config.home is not None:
                return Home(config.home, HomeSource.PROJECT_CONFIG, cwd, config)
            return Home(directory / DEFAULT_HOME, HomeSource.FOUND, cwd, config)
        if project_root is None and any((directory / mark).exists() for mark in ROOT_MARKERS):
            project_root = directory
    if project_root is not None:
        # a first database made in a subfolder would be lost to commands run from the root
        return Home(project_root / DEFAULT_HOME, HomeSource.PROJECT_ROOT, cwd, config)
    return Home(cwd / DEFAULT_HOME, HomeSource.DEFAULT, cwd, config)


def resolve_home(home: Path | str | None = None) -> Path:
    """The state folder's path (``locate_home``)."""
    return locate_home(home).path


def prepare_home(path: Path) -> None:
    """Create the state folder if need be; a ``.tasker`` folder gets a ``.gitignore`` that
    keeps all of it out of git (a folder named by ``TASKER_HOME`` is the user's own)."""
    created = not path.exists()
    path.mkdir(parents=True, exist_ok=True)
    ignore = path / ".gitignore"
    if (created or path.name == DEFAULT_HOME) and not ignore.exists():
        # a folder we may not write to still holds a usable server; git just shows it
        with contextlib.suppress(OSError):
            ignore.write_text(_GITIGNORE_NOTE + GITIGNORE, encoding="utf-8")


def _absolute(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()
