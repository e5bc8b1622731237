"""Jinja2 rendering of the scaffolds, with filters that print Python source."""

from __future__ import annotations

import functools
import textwrap
from importlib import resources
from pathlib import Path
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.layout import collecting, lay_out, placeholder
from tasker_ctl.codegen.literal import INDENT, LINE_LENGTH
from tasker_ctl.errors import ExitCode

SCAFFOLD_NAMES = ("handlers.py.j2", "test_handlers.py.j2", "conftest.py.j2", "__init__.py.j2")


def default_scaffold_directory() -> Path:
    """The scaffolds shipped with tasker-ctl (inside the wheel, or the source checkout's)."""
    packaged = resources.files("tasker_ctl") / "scaffolds"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "scaffolds"
    if checkout.is_dir():
        return checkout
    raise CodegenError(  # pragma: no cover - a broken installation
        "the scaffolds shipped with tasker-ctl are missing",
        code="SCAFFOLDS_MISSING",
        hint="reinstall tasker-ctl, or pass --scaffolds DIR",
    )


def _docstring(text: str, indent: int = 1) -> str:
    """The inside of a triple-quoted docstring at level ``indent``, long lines wrapped."""
    cleaned = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    margin = INDENT * indent
    lines: list[str] = []
    for number, line in enumerate(cleaned.splitlines() or [""]):
        # the opening quotes share the first line
        available = LINE_LENGTH - len(margin) - (3 if number == 0 else 0)
        if not line.strip() or len(line) <= available:
            lines.append(line.rstrip())
            continue
        lines.extend(
            textwrap.wrap(line, width=available, break_long_words=False, break_on_hyphens=False)
            or [line]
        )
    if len(lines) == 1 and len(margin) + len(lines[0]) + 6 > LINE_LENGTH:
        # ruff format puts one line of text on the quotes' line: leave room for both
        lines = (
            textwrap.wrap(
                lines[0],
                width=LINE_LENGTH - len(margin) - 6,
                break_long_words=False,
                break_on_hyphens=False,
            )
            or lines
        )
    if len(lines) == 1:
        return lines[0] + (" " if lines[0].endswith('"') else "")
    body = [lines[0], *[f"{margin}{line}" if line else "" for line in lines[1:]]]
    return "\n".join([*body, margin])


def render(name: str, context: dict[str, Any], scaffolds: Path | None = None) -> str:
    """Render scaffold ``name``; files in ``scaffolds`` override the shipped ones."""
    import jinja2

    if scaffolds is not None and not scaffolds.is_dir():
        raise CodegenError(
            f"scaffold directory '{scaffolds}' does not exist",
            code="SCAFFOLDS_MISSING",
            hint=f"create it with your own copies of {', '.join(SCAFFOLD_NAMES)}",
            exit_code=ExitCode.USAGE,
        )
    environment = _environment(str(scaffolds) if scaffolds is not None else None)
    try:
        with collecting() as values:
            text = lay_out(str(environment.get_template(name).render(**context)), values)
    except jinja2.TemplateError as error:
        raise CodegenError(
            f"scaffold '{name}' failed to render: {error}",
            code="SCAFFOLD_ERROR",
            hint="check your --scaffolds overrides against the shipped ones",
            exit_code=ExitCode.USAGE,
        ) from error
    return str(text).rstrip("\n") + "\n"


@functools.cache
def _environment(scaffolds: str | None) -> Any:
    """One environment per scaffold directory, so each scaffold is compiled once per process."""
    import jinja2

    directories = [str(default_scaffold_directory())]
    if scaffolds is not None:
        directories.insert(0, scaffolds)
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directories),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    # Both print a value whose layout is decided once its line is known (see layout.py);
    # ``indent`` is accepted for scaffolds written against earlier releases.
    environment.filters["pyrepr"] = placeholder
    environment.filters["pyliteral"] = lambda value, indent=0: placeholder(value)
    environment.filters["docstring"] = _docstring
    return environment
