"""Turning command-line paths (files, directories, globs) into the files to validate."""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

from tasker_ctl.errors import PathNotFoundError

YAML_SUFFIXES = (".yaml", ".yml")
_SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "venv", "site-packages"}
_GLOB_CHARACTERS = set("*?[")


@dataclass(frozen=True)
class Candidate:
    """A file to read; ``explicit`` files were named directly and are always validated."""

    path: Path
    display: str
    explicit: bool


@dataclass
class Discovery:
    candidates: list[Candidate] = field(default_factory=list)
    searched_directories: list[str] = field(default_factory=list)


def discover(arguments: list[str]) -> Discovery:
    """Expand arguments in order, without duplicates. Raises for paths that match nothing."""
    found = Discovery()
    missing: list[str] = []
    seen: set[Path] = set()

    def add(path: Path, display: str, explicit: bool) -> None:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            found.candidates.append(Candidate(path, display, explicit))

    for argument in arguments:
        path = Path(argument)
        if path.is_dir():
            found.searched_directories.append(argument)
            for file in _walk(path):
                add(file, file.as_posix(), explicit=False)
        elif path.exists():
            add(path, argument, explicit=True)
        elif _GLOB_CHARACTERS & set(argument):
            matches = sorted(glob.glob(argument, recursive=True))
            if not matches:
                missing.append(argument)
            for match in matches:
                matched = Path(match)
                if matched.is_dir():
                    found.searched_directories.append(match)
                    for file in _walk(matched):
                        add(file, file.as_posix(), explicit=False)
                else:
                    add(matched, matched.as_posix(), explicit=True)
        else:
            missing.append(argument)
    if missing:
        shown = ", ".join(f"'{item}'" for item in missing)
        noun = "path does" if len(missing) == 1 else "paths do"
        raise PathNotFoundError(
            f"the {noun} not exist or match no file: {shown}",
            hint="check the spelling; quote globs so that tasker-ctl expands them",
        )
    return found


def _walk(directory: Path) -> list[Path]:
    files: list[Path] = []
    for root, directories, names in os.walk(directory):
        directories[:] = sorted(
            d for d in directories if not d.startswith(".") and d not in _SKIPPED_DIRECTORIES
        )
        files.extend(Path(root) / name for name in sorted(names) if name.endswith(YAML_SUFFIXES))
    return files
