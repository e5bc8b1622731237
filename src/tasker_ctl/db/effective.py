"""The configuration in force, each setting with where it came from (``tasker-ctl config
show``): options beat environment variables, which beat the project configuration, which
beats the defaults."""

from __future__ import annotations

from dataclasses import dataclass

from tasker_ctl.db.home import HOME_ENV, HomeSource, locate_home
from tasker_ctl.db.idle_stop import describe_seconds, idle_stop_setting
from tasker_ctl.db.settings import configured_database_url

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class Setting:
    """One setting: its name, its value (None: unset) and where the value came from."""

    name: str
    value: str | list[str] | float | None
    source: str
    shown: str


@dataclass(frozen=True)
class EffectiveConfiguration:
    config_file: str | None
    settings: tuple[Setting, ...]


def effective_configuration(database_url: str | None = None) -> EffectiveConfiguration:
    """What a command run here would use, read without starting or creating anything."""
    home = locate_home()
    config = home.config
    config_source = config.describe()
    target = configured_database_url(database_url)
    settings = []
    if target is not None:
        settings.append(
            Setting("database_url", target.redacted_url, target.origin, target.redacted_url)
        )
    else:
        settings.append(Setting("database_url", None, DEFAULT_SOURCE, "the embedded server"))
    home_source = {
        HomeSource.ENVIRONMENT: HOME_ENV,
        HomeSource.PROJECT_CONFIG: config_source,
        HomeSource.FOUND: "the nearest .tasker folder or project root",
        HomeSource.PROJECT_ROOT: "the nearest folder with .git or pyproject.toml",
        HomeSource.DEFAULT: DEFAULT_SOURCE,
        HomeSource.ARGUMENT: "argument",
    }[home.source]
    exists = "" if home.path.is_dir() else " (not created yet)"
    settings.append(Setting("home", str(home.path), home_source, f"{home.path}{exists}"))
    idle = idle_stop_setting()
    settings.append(Setting("idle_stop", idle.seconds, idle.source, describe_seconds(idle.seconds)))
    for name, values in (("handlers", config.handlers), ("templates", config.templates)):
        source = config_source if values else DEFAULT_SOURCE
        settings.append(Setting(name, values, source, ", ".join(values) or "(none)"))
    environment = config.settings.environment
    settings.append(
        Setting(
            "environment",
            environment,
            config_source if environment else DEFAULT_SOURCE,
            environment or "(none)",
        )
    )
    path = str(config.path) if config.path is not None else None
    return EffectiveConfiguration(path, tuple(settings))
