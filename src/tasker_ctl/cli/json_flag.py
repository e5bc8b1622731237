"""``--json`` on the commands whose ``--format`` already offers JSON: every command that prints
data takes ``--json`` (``tests/unit/test_cli_json.py``), whatever else it offers."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, TypeVar

import typer

from tasker_ctl.errors import UsageError

__all__ = ["JsonFlagOption", "chosen_format"]

Format = TypeVar("Format", bound=StrEnum)

JsonFlagOption = Annotated[
    bool, typer.Option("--json", help="Print JSON: the same as --format json.")
]


def chosen_format(chosen: Format, *, json_flag: bool, default: Format, json: Format) -> Format:
    """The format asked for: ``json`` with ``--json``, which another ``--format`` contradicts."""
    if not json_flag:
        return chosen
    if chosen not in (default, json):
        raise UsageError(
            f"--json and --format {chosen.value} ask for two formats",
            hint="give one of them",
        )
    return json
