"""Where handlers come from: ``--handlers`` files, directories and modules, and tasker_core.

Handler modules written for Tasker Core import ``tasker_core``; when that package is not
installed, ``alias_tasker_core()`` makes those imports resolve to ``tasker_ctl.sdk`` so the
modules run unchanged. Loaded modules are scanned for handler classes (by ``handler_name``)
and decorated handler functions (by their decorator name), as Tasker Core's worker does, and
become the only modules a dotted ``handler.callable`` may name (a file also under its file
name): templates choose among the handlers the operator loaded, never what gets imported.

Importing a handler module runs the operator's code; whatever it raises (``SystemExit`` and
``KeyboardInterrupt`` included) is the coded ``HANDLERS_NOT_LOADED``, never a traceback: its
hint names the file and line at fault (a syntax error's, or the handler code's that raised),
and ``TASKER_DEBUG=1`` prints the traceback too (``tasker_ctl.cli.report_error``).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

from tasker_ctl.engine.errors import HandlerLoadError
from tasker_ctl.sdk.registry import HandlerRegistry

# tasker_core module -> tasker_ctl.sdk module providing the same names
_ALIASES = {
    "tasker_core": "tasker_ctl.sdk",
    "tasker_core.types": "tasker_ctl.sdk.types",
    "tasker_core.domain_events": "tasker_ctl.sdk.domain_events",
    "tasker_core.errors": "tasker_ctl.sdk.errors",
    "tasker_core.models": "tasker_ctl.sdk.models",
    "tasker_core.registry": "tasker_ctl.sdk.registry",
    "tasker_core.step_handler": "tasker_ctl.sdk.step_handler",
    "tasker_core.step_handler.base": "tasker_ctl.sdk.step_handler.base",
    "tasker_core.step_handler.decision": "tasker_ctl.sdk.step_handler.decision",
    "tasker_core.step_handler.functional": "tasker_ctl.sdk.step_handler.functional",
    "tasker_core.step_handler.mixins": "tasker_ctl.sdk.step_handler.mixins",
    "tasker_core.step_handler.mixins.decision": "tasker_ctl.sdk.step_handler.mixins.decision",
    "tasker_core.batch_processing": "tasker_ctl.sdk.batch_processing",
    "tasker_core.batch_processing.batchable": "tasker_ctl.sdk.batch_processing.batchable",
}


_MAX_ERROR_TEXT = 500


def alias_tasker_core() -> bool:
    """Make ``import tasker_core...`` resolve to tasker_ctl.sdk unless the real one exists.

    Returns True when the aliases were installed.
    """
    if "tasker_core" in sys.modules and not getattr(
        sys.modules["tasker_core"], "__tasker_ctl__", False
    ):
        return False
    if "tasker_core" not in sys.modules and importlib.util.find_spec("tasker_core") is not None:
        return False
    for alias, target in _ALIASES.items():
        module = importlib.import_module(target)
        sys.modules.setdefault(alias, module)
    sys.modules["tasker_core"].__dict__.setdefault("__tasker_ctl__", True)
    return True


def load_handlers(
    specs: Iterable[str | ModuleType], registry: HandlerRegistry | None = None
) -> HandlerRegistry:
    """Import every ``--handlers`` entry and register the handlers found.

    An entry is a module object, a ``.py`` file, a directory (imported recursively as a
    package named after it, its parent put on ``sys.path``) or an importable module name.
    """
    alias_tasker_core()
    target = registry or HandlerRegistry()
    for spec in specs:
        target.add_location(spec.__name__ if isinstance(spec, ModuleType) else str(spec))
        for module, alias in _import(spec):
            target.register_module(module)
            target.add_handler_module(module, alias=alias)
    return target


def _import(spec: str | ModuleType) -> list[tuple[ModuleType, str | None]]:
    """The modules of one entry, each with the other name a dotted callable may use."""
    try:
        if isinstance(spec, ModuleType):
            return [(spec, None), *_plain(_submodules(spec))]
        path = Path(spec)
        if path.is_file() and path.suffix == ".py":
            return [(_import_file(path), path.stem)]
        if path.is_dir():
            return _plain(_import_directory(path))
        module = importlib.import_module(spec)
        return [(module, None), *_plain(_submodules(module))]
    except HandlerLoadError:
        raise
    except BaseException as error:  # an import runs arbitrary user code, sys.exit() included
        raise HandlerLoadError(
            f"cannot load handlers from '{spec}': {_described(error)}", hint=_import_hint(error)
        ) from error


def _import_hint(error: BaseException) -> str:
    """Where the import failed: the file and line of a syntax error, or the line of the
    handler code that raised; TASKER_DEBUG=1 shows the whole traceback."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        where = f"{_shown_path(error.filename)}:{error.lineno}"
        if error.offset:
            where += f":{error.offset}"
        code = f": {error.text.strip()}" if error.text and error.text.strip() else ""
        return f"fix the syntax at {where}{code[:_MAX_ERROR_TEXT]}"
    raised_at = _raising_frame(error)
    where = f" at {raised_at}" if raised_at else ""
    return (
        f"importing the handlers raised it{where}; make that import succeed "
        "(TASKER_DEBUG=1 shows the traceback)"
    )


def _raising_frame(error: BaseException) -> str | None:
    """``file:line`` of the last frame of the error's traceback that is not the import
    machinery or this module: the handler code that raised."""
    ours = {__file__, importlib.__file__}
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename not in ours and not frame.filename.startswith("<frozen ")
    ]
    if not frames:
        return None
    return f"{_shown_path(frames[-1].filename)}:{frames[-1].lineno}"


def _shown_path(filename: str) -> str:
    """A file as a person typed it: relative to the working directory when inside it."""
    path = Path(filename)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return filename


def _plain(modules: list[ModuleType]) -> list[tuple[ModuleType, str | None]]:
    return [(module, None) for module in modules]


def _described(error: BaseException) -> str:
    text = str(error).replace("\n", " ").strip()
    if len(text) > _MAX_ERROR_TEXT:
        text = text[: _MAX_ERROR_TEXT - 1] + "…"
    return f"{error.__class__.__name__}: {text}" if text else error.__class__.__name__


def _import_file(path: Path) -> ModuleType:
    """Import a file under a name of its own, so two files called handlers.py both load."""
    resolved = path.resolve()
    directory = str(resolved.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)  # the file's own imports of its neighbours
    digest = hashlib.sha256(str(resolved).encode()).hexdigest()[:12]
    name = f"tasker_handlers_{digest}_{resolved.stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise HandlerLoadError(f"cannot import '{path}' as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def _import_directory(path: Path) -> list[ModuleType]:
    root = path.resolve()
    parent = str(root.parent)
    if parent not in sys.path:
        sys.path.insert(0, parent)
    modules: list[ModuleType] = []
    for file in sorted(root.rglob("*.py")):
        relative = file.relative_to(root.parent).with_suffix("")
        parts = list(relative.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        elif parts[-1].startswith("_"):
            continue
        if any(part.startswith(".") or part == "__pycache__" for part in parts):
            continue
        modules.append(importlib.import_module(".".join(parts)))
    return modules


def _submodules(module: ModuleType) -> list[ModuleType]:
    import pkgutil

    found: list[ModuleType] = []
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), f"{module.__name__}."):
        if not info.name.rsplit(".", 1)[-1].startswith("_"):
            found.append(importlib.import_module(info.name))
    return found
