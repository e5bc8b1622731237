"""Reading what a command is given to run: the context JSON, the template's and the handlers'
paths. Shared by ``run``, ``task submit`` and ``worker``; checked before the database is
started, so that a mistake costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tasker_ctl.errors import ContextJsonError, PathNotFoundError, UsageError


def parse_context(value: str | None) -> dict[str, Any]:
    """``--context``: inline JSON, ``@FILE`` or ``@-`` (stdin); must be a JSON object."""
    if value is None:
        return {}
    from tasker_ctl.cli.json_options import read_json_option

    data, source = read_json_option(value, "--context", ContextJsonError)
    if not isinstance(data, dict):
        raise ContextJsonError(
            f"{source} must be a JSON object, not {type(data).__name__}",
            hint='wrap the values in an object: {"key": ...}',
        )
    return data


def check_template_path(template: str) -> None:
    path = Path(template)
    if not path.exists():
        raise PathNotFoundError(
            f"'{template}' does not exist", hint="name a TaskTemplate YAML file"
        )
    if path.is_dir():
        raise UsageError(
            f"'{template}' is a directory; name one TaskTemplate YAML file",
            hint="'tasker-ctl validate DIR' lists the templates in a directory",
        )


def check_handler_paths(specs: Iterable[str]) -> list[str]:
    """Catch misspelt paths early; module names are checked when they are imported."""
    checked = list(specs)
    for spec in checked:
        looks_like_path = "/" in spec or "\\" in spec or spec.endswith(".py")
        if looks_like_path and not Path(spec).exists():
            raise PathNotFoundError(
                f"handlers path '{spec}' does not exist",
                hint="--handlers takes a .py file, a directory or an importable module name",
            )
    return checked
