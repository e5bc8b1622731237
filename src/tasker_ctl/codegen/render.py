"""Jinja2 rendering of the scaffolds, with filters that print Python source."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.literal import python_literal

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


def _docstring(text: str) -> str:
    cleaned = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = cleaned.splitlines() or [""]
    if len(lines) == 1:
        return lines[0] + (" " if lines[0].endswith('"') else "")
    return "\n".join([lines[0], *[f"    {line}" if line else "" for line in lines[1:]], "    "])


def render(name: str, context: dict[str, Any], scaffolds: Path | None = None) -> str:
    """Render scaffold ``name``; files in ``scaffolds`` override the shipped ones."""
    import jinja2

    if scaffolds is not None and not scaffolds.is_dir():
        raise CodegenError(
            f"scaffold directory '{scaffolds}' does not exist",
            code="SCAFFOLDS_MISSING",
            hint=f"create it with your own copies of {', '.join(SCAFFOLD_NAMES)}",
        )
    environment = _environment(str(scaffolds) if scaffolds is not None else None)
    try:
        text = environment.get_template(name).render(**context)
    except jinja2.TemplateError as error:
        raise CodegenError(
            f"scaffold '{name}' failed to render: {error}",
            code="SCAFFOLD_ERROR",
            hint="check your --scaffolds overrides against the shipped ones",
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
    environment.filters["pyrepr"] = lambda value: python_literal(value)
    environment.filters["pyliteral"] = lambda value, indent=0: python_literal(value, indent)
    environment.filters["docstring"] = _docstring
    return environment
