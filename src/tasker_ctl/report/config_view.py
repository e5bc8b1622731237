"""What ``tasker-ctl config show`` prints: each setting in force and where it came from, as
lines or as one JSON document (docs/configuration.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from tasker_ctl.report.json_output import StrictOutput, ToolOutput, this_tool

if TYPE_CHECKING:
    from tasker_ctl.db.effective import EffectiveConfiguration

__all__ = ["ConfigOutput", "config_json", "config_lines"]

FORMAT_VERSION = 1


class SettingOutput(StrictOutput):
    value: str | list[str] | float | None = Field(
        description="the value in force (idle_stop in seconds, 0 = off; URLs without "
        "passwords); null when unset"
    )
    source: str = Field(
        description="where it came from: an option, a variable, the configuration file, or "
        "'default'"
    )


class ConfigOutput(StrictOutput):
    version: int = Field(description=f"format version, {FORMAT_VERSION}")
    tool: ToolOutput
    config_file: str | None = Field(description="the project configuration in force, if any")
    settings: dict[str, SettingOutput]


def config_lines(configuration: EffectiveConfiguration) -> list[str]:
    lines = [f"config file: {configuration.config_file or 'none found'}"]
    width = max(len(setting.name) for setting in configuration.settings) + 1
    for setting in configuration.settings:
        lines.append(f"{setting.name + ':':<{width}} {setting.shown}  (from {setting.source})")
    return lines


def config_json(configuration: EffectiveConfiguration) -> str:
    return ConfigOutput(
        version=FORMAT_VERSION,
        tool=this_tool(),
        config_file=configuration.config_file,
        settings={
            setting.name: SettingOutput(value=setting.value, source=setting.source)
            for setting in configuration.settings
        },
    ).model_dump_json(indent=2)
