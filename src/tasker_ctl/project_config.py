"""The project configuration: ``tasker.toml``, or ``[tool.tasker-ctl]`` in ``pyproject.toml``.

It is found by walking up from the working directory, as git and pytest find their roots: the
nearest folder holding a ``tasker.toml``, or a ``pyproject.toml`` with a ``[tool.tasker-ctl]``
table, wins (``tasker.toml`` first when a folder has both). Relative paths in it are relative
to the file's folder. It gives defaults only: an option beats an environment variable, which
beats the configuration, which beats tasker-ctl's own defaults (docs/configuration.md).

Depends on nothing of ours but ``errors``, so that every layer may read it.
"""

from __future__ import annotations

import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from tasker_ctl.errors import ProjectConfigError

CONFIG_FILE = "tasker.toml"
PYPROJECT_FILE = "pyproject.toml"
TOOL_TABLE = "tasker-ctl"
_MAX_CONFIG_BYTES = 1024 * 1024
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h)?\s*$", re.IGNORECASE)
_UNITS = {None: 1.0, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_OFF = frozenset({"0", "off", "never", "false", "no"})
DURATION_HELP = "seconds, or a number with s, m or h (90s, 30m, 2h); 0 or 'off' never stops"


def parse_duration(value: object) -> float:
    """Seconds from ``30m``, ``90s``, ``2h``, ``120`` or a number; ``0``, ``off``, ``never``,
    ``false`` are 0 (off). ``ValueError`` names what is wrong."""
    if isinstance(value, bool):
        if value:
            raise ValueError(f"true is not a duration ({DURATION_HELP})")
        return 0.0
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        if value.strip().lower() in _OFF:
            return 0.0
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration ({DURATION_HELP})")
        seconds = float(match.group(1)) * _UNITS[(match.group(2) or "s").lower()]
    else:
        raise ValueError(f"{type(value).__name__} is not a duration ({DURATION_HELP})")
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration ({DURATION_HELP})")
    return seconds


class ProjectSettings(BaseModel):
    """What a project configuration may set (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    handlers: list[str] = []
    """Where the step handlers live (files, directories or modules), as ``--handlers``."""
    templates: list[str] = []
    """The folders (or files) holding the project's templates."""
    database_url: str | None = None
    """The PostgreSQL server to use instead of the embedded one."""
    environment: str | None = None
    """The template environment applied by default, as ``--environment``."""
    home: str | None = None
    """The state folder of the embedded server, as ``TASKER_HOME`` (default ``.tasker``)."""
    idle_stop: float | None = None
    """Seconds without a client connection after which a started embedded server stops."""

    @field_validator("idle_stop", mode="before")
    @classmethod
    def _duration(cls, value: object) -> float | None:
        return None if value is None else parse_duration(value)

    @field_validator("handlers", "templates", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class ProjectConfig:
    """The configuration in force: its file (None when there is none) and its settings, with
    relative paths resolved against the file's folder."""

    path: Path | None = None
    settings: ProjectSettings = field(default_factory=ProjectSettings)

    @property
    def root(self) -> Path | None:
        """The folder of the configuration file: the project's root."""
        return self.path.parent if self.path is not None else None

    @property
    def handlers(self) -> list[str]:
        """Handler locations: paths made absolute, module names as written."""
        return [self._location(entry, may_be_module=True) for entry in self.settings.handlers]

    @property
    def templates(self) -> list[str]:
        return [self._location(entry, may_be_module=False) for entry in self.settings.templates]

    @property
    def home(self) -> Path | None:
        home = self.settings.home
        if home is None or self.root is None:
            return None
        return (self.root / Path(home).expanduser()).resolve()

    def describe(self) -> str:
        """Where a setting came from, for messages: the file and its table."""
        if self.path is None:
            return "no project configuration"
        table = f" [tool.{TOOL_TABLE}]" if self.path.name == PYPROJECT_FILE else ""
        return f"{self.path}{table}"

    def _location(self, entry: str, *, may_be_module: bool) -> str:
        assert self.root is not None
        candidate = self.root / Path(entry).expanduser()
        looks_like_path = "/" in entry or "\\" in entry or entry.endswith(".py")
        if not may_be_module or looks_like_path or candidate.exists():
            return str(candidate.resolve())
        return entry  # an importable module, e.g. myapp.handlers


def find_project_config(start: Path | None = None) -> ProjectConfig:
    """The nearest configuration from ``start`` (default: the working directory) upwards, or
    an empty one when there is none."""
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        config = _config_in(directory)
        if config is not None:
            return config
    return ProjectConfig()


def config_file_in(directory: Path) -> Path | None:
    """The configuration file ``directory`` holds, if any (without reading its settings)."""
    candidate = directory / CONFIG_FILE
    if candidate.is_file():
        return candidate
    pyproject = directory / PYPROJECT_FILE
    if pyproject.is_file() and _declares_table(pyproject):
        return pyproject
    return None


def load_project_config(path: Path) -> ProjectConfig:
    """Read one configuration file (``ProjectConfigError`` naming the file, key and line)."""
    text = _read(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProjectConfigError(
            f"{path}: not valid TOML: {error}", hint="fix the TOML syntax at that line"
        ) from None
    if path.name == PYPROJECT_FILE:
        table = document.get("tool", {}).get(TOOL_TABLE, {})
        header = f"[tool.{TOOL_TABLE}]"
    else:
        table, header = document, None
    if not isinstance(table, dict):
        raise ProjectConfigError(f"{path}: tool.{TOOL_TABLE} must be a table", hint=_KEYS_HINT)
    try:
        settings = ProjectSettings.model_validate(table)
    except ValidationError as error:
        raise _invalid(path, text, header, error) from None
    return ProjectConfig(path=path.resolve(), settings=settings)


_KEYS_HINT = (
    "the keys are handlers, templates, database_url, environment, home and idle_stop "
    "(docs/configuration.md)"
)


def _config_in(directory: Path) -> ProjectConfig | None:
    path = config_file_in(directory)
    return load_project_config(path) if path is not None else None


def _declares_table(pyproject: Path) -> bool:
    """Whether a pyproject.toml has our table; a cheap look at the text before parsing it."""
    text = _read(pyproject)
    if TOOL_TABLE not in text:
        return False
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ProjectConfigError(
            f"{pyproject}: not valid TOML: {error}", hint="fix the TOML syntax at that line"
        ) from None
    tool = document.get("tool")
    return isinstance(tool, dict) and TOOL_TABLE in tool


def _read(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_CONFIG_BYTES + 1)
    except OSError as error:
        raise ProjectConfigError(
            f"{path}: cannot be read: {error.strerror or error}",
            hint="check the file's permissions",
        ) from None
    if len(data) > _MAX_CONFIG_BYTES:
        raise ProjectConfigError(
            f"{path}: larger than {_MAX_CONFIG_BYTES // 1024} KiB", hint="is it the right file?"
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectConfigError(f"{path}: not UTF-8 text", hint="save it as UTF-8") from None


def _invalid(
    path: Path, text: str, header: str | None, error: ValidationError
) -> ProjectConfigError:
    problems = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(table)"
        top = str(item["loc"][0]) if item["loc"] else ""
        line = _line_of(text, header, top)
        where = f"{path}:{line}" if line else str(path)
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(top, ProjectSettings.model_fields, n=1)
            guess = f"; did you mean '{close[0]}'?" if close else ""
            problems.append(f"{where}: unknown key '{key}'{guess}")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"{where}: '{key}': {message}")
    return ProjectConfigError("; ".join(problems), hint=_KEYS_HINT)


def _line_of(text: str, header: str | None, key: str) -> int | None:
    """The 1-based line where ``key`` is set in ``header``'s table (the top level without
    one), found by reading the text: tomllib keeps no positions."""
    name = re.escape(key)
    key_line = re.compile(rf"""^\s*(?:{name}|"{name}"|'{name}')\s*=""")
    table_line = re.compile(r"^\s*\[")
    inside = header is None
    for number, line in enumerate(text.splitlines(), start=1):
        if table_line.match(line):
            normalized = line.strip().replace('"', "").replace(" ", "")
            inside = header is not None and normalized.startswith(header)
            continue
        if inside and key_line.match(line):
            return number
    return None
