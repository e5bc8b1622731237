"""docs/cli/reference.md is what the app says of itself: regenerated from the app, it is the
same page; when it is not, the failure says how to regenerate it."""

from __future__ import annotations

from pathlib import Path

from tasker_ctl.cli import build_command
from tasker_ctl.cli.help_text import command_path, walk
from tasker_ctl.cli.reference import REGENERATE, render_reference

PAGE = Path(__file__).parents[2] / "docs" / "cli" / "reference.md"


def test_the_reference_is_up_to_date() -> None:
    assert PAGE.read_text(encoding="utf-8") == render_reference(), (
        f"docs/cli/reference.md is stale: regenerate it with `{REGENERATE}`"
    )


def test_the_reference_names_every_command_and_option() -> None:
    page = render_reference()
    for path, command in walk(build_command()):
        assert f"## {' '.join(['tasker-ctl', *path])}\n" in page, command_path(path)
        for param in command.params:
            for name in getattr(param, "opts", []):
                if name.startswith("-"):
                    assert f"`{name}`" in page, f"{command_path(path)} {name}"
