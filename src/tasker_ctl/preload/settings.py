"""Preloading's settings, checked: ``TASKER_PRELOAD`` and ``TASKER_PRELOAD_IDLE``.

Read from the environment alone (they are decided before any project file is read). A value
tasker-ctl cannot use stops the command with ``SETTING_INVALID``, as ``TASKER_IDLE_STOP`` does:
checked by the console script before it runs a command itself, and by a preloader's child
before it runs one handed over. The console script's side of a handover only tells on from off
(``place.switched_on``), so as to import nothing more.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tasker_ctl.errors import SettingError
from tasker_ctl.preload.place import SWITCH_VARIABLE, switched_on
from tasker_ctl.project_config import DURATION_HELP, parse_duration

IDLE_VARIABLE = "TASKER_PRELOAD_IDLE"
DEFAULT_IDLE_SECONDS = 600.0


@dataclass(frozen=True)
class PreloadSettings:
    """Whether preloading is switched on, and how long a preloader waits after the last
    command before it stops (0: it never does), with where that came from."""

    enabled: bool
    idle_seconds: float
    idle_source: str


def preload_settings(environ: Mapping[str, str]) -> PreloadSettings:
    """The settings in ``environ``; ``SettingError`` names a value that cannot be used."""
    enabled = switched_on(environ)
    if enabled is None:
        text = environ.get(SWITCH_VARIABLE, "")
        raise SettingError(
            f"{SWITCH_VARIABLE}={text!r} is neither on nor off",
            hint=f"set {SWITCH_VARIABLE} to off (or 0, false, no) or on (or 1, true, yes)",
        )
    text = environ.get(IDLE_VARIABLE, "").strip()
    if not text:
        return PreloadSettings(enabled, DEFAULT_IDLE_SECONDS, "default")
    try:
        return PreloadSettings(enabled, parse_duration(text), IDLE_VARIABLE)
    except ValueError as error:
        raise SettingError(
            f"{IDLE_VARIABLE}={text!r}: {error}", hint=f"set it to {DURATION_HELP}"
        ) from None
