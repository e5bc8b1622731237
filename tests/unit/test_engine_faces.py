"""The engine's faces and layers, read from the source.

``cli`` and ``report`` reach the engine only through ``tasker_ctl.engine`` and its public
sub-packages; inside the engine each sub-package imports only those below it; every face
serves exactly the names it declares, lazily.
"""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import tasker_ctl

SOURCE = Path(tasker_ctl.__file__).parent
ENGINE = "tasker_ctl.engine"
FACES = (ENGINE, f"{ENGINE}.store", f"{ENGINE}.views", f"{ENGINE}.operator", f"{ENGINE}.stats")
PUBLIC = {*FACES, f"{ENGINE}.errors"}

# what each part of the engine may import of the engine, lowest first
MAY_IMPORT: dict[str, set[str]] = {
    "store": set(),
    "rules": set(),
    "graph": {"store", "rules"},
    "views": {"store", "rules"},
    "operator": {"store", "rules", "graph", "views"},
    "stats": {"store", "rules", "views"},
    "worker": {"store", "rules", "graph", "views"},
    "running": {"store", "rules", "graph", "views", "operator", "stats", "worker"},
}
ALWAYS = {"errors"}


def _imports(path: Path) -> Iterator[tuple[int, str, list[str]]]:
    """(line, module, names) of every ``from ... import`` and ``import`` in ``path``, at any
    depth (commands import lazily inside functions)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []


def _modules(package: str) -> Iterator[tuple[str, Path]]:
    root = SOURCE / package.removeprefix("tasker_ctl.").replace(".", "/")
    for path in sorted(root.rglob("*.py")):
        yield (
            ".".join(path.relative_to(SOURCE.parent).with_suffix("").parts).removesuffix(
                ".__init__"
            ),
            path,
        )


def _part(module: str) -> str | None:
    """The engine part a ``tasker_ctl.engine...`` module belongs to (None: the face)."""
    rest = module.removeprefix(ENGINE).lstrip(".")
    return rest.split(".")[0] or None


@pytest.mark.parametrize("package", ["tasker_ctl.cli", "tasker_ctl.report"])
def test_cli_and_report_reach_the_engine_only_through_its_faces(package: str) -> None:
    crossings = []
    for _, path in _modules(package):
        for line, module, names in _imports(path):
            if not (module == ENGINE or module.startswith(f"{ENGINE}.")):
                continue
            if module not in PUBLIC:
                crossings.append(f"{path.relative_to(SOURCE)}:{line} imports {module}")
            elif module in FACES:
                served = set(importlib.import_module(module).__all__)
                crossings += [
                    f"{path.relative_to(SOURCE)}:{line} imports {name} that {module} does not serve"
                    for name in names
                    if name not in served
                ]
    assert crossings == []


def test_each_engine_part_imports_only_the_parts_below_it() -> None:
    upward = []
    for module, path in _modules(ENGINE):
        part = _part(module)
        if part is None or part in ALWAYS:
            continue
        allowed = MAY_IMPORT[part] | ALWAYS | {part}
        for line, imported, _ in _imports(path):
            if imported.startswith(("tasker_ctl.cli", "tasker_ctl.report")):
                upward.append(f"{module}:{line} imports {imported}")
            if not imported.startswith(f"{ENGINE}."):
                continue
            target = _part(imported)
            if target not in allowed:
                upward.append(f"{module}:{line} ({part}) imports {imported} ({target})")
    assert upward == []


def test_every_engine_module_belongs_to_a_known_part() -> None:
    parts = {_part(module) for module, _ in _modules(ENGINE)} - {None}
    assert parts <= set(MAY_IMPORT) | ALWAYS


@pytest.mark.parametrize("face", FACES)
def test_a_face_serves_exactly_the_names_it_declares(face: str) -> None:
    package = importlib.import_module(face)
    exports: dict[str, str] = package._EXPORTS
    assert sorted(package.__all__) == sorted(exports)
    for name, module in exports.items():
        defining = importlib.import_module(f"{face}.{module}")
        assert getattr(package, name) is getattr(defining, name), name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        _ = package.not_a_name


def test_importing_the_faces_loads_no_engine_module_and_no_psycopg() -> None:
    script = textwrap.dedent(
        f"""
        import sys
        for face in {list(FACES)!r}:
            __import__(face)
        loaded = sorted(
            name for name in sys.modules
            if name == "psycopg" or (
                name.startswith("tasker_ctl.engine.")
                and name not in {list(FACES)!r}
            )
        )
        print(loaded)
        sys.exit(1 if loaded else 0)
        """
    )
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
