"""docs/architecture.md names every module of the package, where it is.

The map's first code block is a tree: a folder is a name ending in ``/``, its contents are
indented below it, and a line may name several modules (``a.py, b.py``) before its
description. A module added without a line in the map, or a line naming a module that is
gone, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

import tasker_ctl

PACKAGE = Path(tasker_ctl.__file__).parent
MAP = Path(__file__).parents[2] / "docs" / "architecture.md"
_ENTRY = re.compile(r"^(?P<indent> *)(?P<names>[\w./]+(?:, [\w./]+)*)(?: |$)")


def named_in_map() -> set[str]:
    """The paths the map's tree names, relative to the package (``engine/store/clock.py``)."""
    text = MAP.read_text(encoding="utf-8")
    block = text.split("```", 2)[1]
    names: set[str] = set()
    folders: list[tuple[int, str]] = []  # (indent, path) of the enclosing folders
    for line in block.splitlines()[1:]:
        entry = _ENTRY.match(line)
        if entry is None or not line.strip():
            continue
        indent = len(entry["indent"])
        while folders and folders[-1][0] >= indent:
            folders.pop()
        prefix = folders[-1][1] if folders else ""
        for name in entry["names"].split(", "):
            if name.endswith("/"):
                folders.append((indent, prefix + name))
            elif name.endswith(".py"):
                names.add(prefix + name)
    return {name.removeprefix("src/tasker_ctl/") for name in names}


def modules() -> set[str]:
    return {
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py"
    }


def test_the_architecture_map_names_every_module() -> None:
    assert sorted(modules() - named_in_map()) == []


def test_the_architecture_map_names_no_module_that_is_gone() -> None:
    assert sorted(named_in_map() - modules()) == []
