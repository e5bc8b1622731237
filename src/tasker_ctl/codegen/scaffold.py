"""A scaffold applied to its package directory: generated files replaced, the user's kept.

A scaffold holds two kinds of files. Generated ones (models, tests, conftest, ``__init__``)
are written anew every run and are what ``--check`` compares. The user-owned one,
``handlers.py``, is written when it does not exist and then left to its owner: a later run
adds stubs for steps it does not handle yet (``handlers_file``) and touches nothing else;
``force`` replaces it with fresh stubs. ``--check`` never writes: a step without a handler is
a finding, like a generated file that differs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from tasker_ctl.codegen.generate import GeneratedFile, Generation, diff_files, write_files
from tasker_ctl.codegen.handlers_file import (
    StepHandlerName,
    add_stubs,
    missing_handlers,
    parse_handlers,
)


@dataclass
class ScaffoldWrite:
    """What ``write_scaffold`` did to each file."""

    written: list[Path] = field(default_factory=list)  # generated files, and new user files
    kept: list[Path] = field(default_factory=list)  # user files left exactly as they were
    replaced: list[Path] = field(default_factory=list)  # user files overwritten by force
    stubs_added: dict[Path, list[StepHandlerName]] = field(default_factory=dict)


@dataclass
class ScaffoldCheck:
    """What ``check_scaffold`` found: diffs of generated files, steps without a handler."""

    diffs: list[str] = field(default_factory=list)
    missing: dict[Path, list[StepHandlerName]] = field(default_factory=dict)

    @property
    def up_to_date(self) -> bool:
        return not self.diffs and not self.missing


def write_scaffold(generation: Generation, output: Path, *, force: bool = False) -> ScaffoldWrite:
    """Write the generated files; create, complete or (``force``) replace the user's."""
    changes = ScaffoldWrite()
    updates: list[GeneratedFile] = []
    for generated in generation.files:
        target = output / generated.path
        if not generated.user_owned or not target.exists():
            updates.append(generated)
            changes.written.append(target)
            continue
        if force:
            updates.append(generated)
            changes.replaced.append(target)
            continue
        source = _read(target)
        missing = missing_handlers(parse_handlers(source, target.as_posix()), generation.handlers)
        if missing:
            updates.append(
                GeneratedFile(generated.path, add_stubs(source, generated.content, missing), True)
            )
            changes.stubs_added[target] = missing
        else:
            changes.kept.append(target)
    write_files(updates, output)
    return changes


def check_scaffold(generation: Generation, output: Path) -> ScaffoldCheck:
    """Compare without writing: generated files byte for byte, the user's for missing steps."""
    check = ScaffoldCheck(
        diffs=diff_files([f for f in generation.files if not f.user_owned], output)
    )
    for generated in generation.files:
        if not generated.user_owned:
            continue
        target = output / generated.path
        if not target.exists():
            check.diffs.extend(diff_files([generated], output))
            continue
        module = parse_handlers(_read(target), target.as_posix())
        missing = missing_handlers(module, generation.handlers)
        if missing:
            check.missing[target] = missing
    return check


def _read(path: Path) -> str:
    from tasker_ctl.codegen.errors import CodegenError
    from tasker_ctl.errors import ExitCode

    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        raise CodegenError(
            f"cannot read '{path.as_posix()}': {reason or error}",
            code="HANDLERS_UNREADABLE",
            hint="make the file readable UTF-8 text, or replace it with fresh stubs (--force)",
            exit_code=ExitCode.FINDINGS,
        ) from error
