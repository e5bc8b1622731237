"""One exception tree: every exception class of tasker-ctl lives in an ``errors`` module, its
code is its own (or documented as shared), and the tree in ``tasker_ctl.errors`` draws it.

The modules are imported by walking the package, so a class added anywhere is seen.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import pkgutil
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import tasker_ctl
import tasker_ctl.errors
from tasker_ctl.errors import ExitCode, TaskerError

SOURCE = Path(tasker_ctl.__file__).parent
ERRORS_MODULES = (
    "tasker_ctl.errors",
    "tasker_ctl.engine.errors",
    "tasker_ctl.grammar.errors",
    "tasker_ctl.codegen.errors",
    "tasker_ctl.planning.errors",
    "tasker_ctl.mcp.errors",
    "tasker_ctl.telemetry.errors",
    "tasker_ctl.preload.errors",
    "tasker_ctl.sdk.errors",
)
# Raised and caught inside their module only (each says so beside its definition); a private
# name imported elsewhere would be a reason to move it.
PRIVATE_CONTROL_FLOW = {
    ("tasker_ctl.codegen.examples", "_Recursion"),
    ("tasker_ctl.codegen.regex_example", "_Unsupported"),
    ("tasker_ctl.grammar.http", "_Unreachable"),
    ("tasker_ctl.engine.worker.handler_process", "_StartFailed"),
    ("tasker_ctl.engine.worker.composition_step", "_TakenOver"),
    ("tasker_ctl.engine.worker.planning_step", "_RoundFailed"),
    ("tasker_ctl.documents.writes", "_Rehearsed"),
}
# what an errors module may import of the project at import time, besides tasker_ctl.errors:
# the handler SDK's hierarchy also turns exceptions into step results
ERRORS_MODULE_IMPORTS = {"tasker_ctl.sdk.errors": {"tasker_ctl.sdk.types"}}
# "<indent><name>", then for our classes "  <CODE or ->" and " (<note>; <note>)"
_LINE = re.compile(
    r"^(?P<indent> *)(?P<name>[\w.]+)(?: {2,}(?P<code>[A-Z_]+|-)(?: \((?P<notes>.+)\))?)?$"
)


def _all_modules() -> Iterator[str]:
    for info in pkgutil.walk_packages(tasker_ctl.__path__, "tasker_ctl."):
        if not info.name.endswith("__main__"):  # running one would start the command line
            yield info.name


def _import_all() -> list[str]:
    """Import every module of the package; an optional extra that is not installed is skipped
    (its module names a package outside tasker_ctl that cannot be found)."""
    skipped = []
    for name in _all_modules():
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            if (error.name or "").startswith("tasker_ctl"):
                raise
            skipped.append(name)
    return skipped


def _exception_classes() -> set[type[BaseException]]:
    _import_all()
    found: set[type[BaseException]] = set()
    for name in _all_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__.startswith("tasker_ctl")
            ):
                found.add(value)
    return found


CLASSES = _exception_classes()
DRAWN = {cls for cls in CLASSES if cls.__module__ in ERRORS_MODULES}


def _label(cls: type[BaseException]) -> str:
    """How the tree names a class: builtins plainly, ours by package (``engine.X``)."""
    if cls.__module__ == "builtins":
        return cls.__name__
    package = cls.__module__.removeprefix("tasker_ctl.").removesuffix("errors").rstrip(".")
    return f"{package}.{cls.__name__}" if package else cls.__name__


def _parameters(cls: type[BaseException]) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters)


def _code(cls: type[BaseException]) -> str | None:
    """The code a user sees by default: a ``code`` parameter's default, else the class's."""
    if not issubclass(cls, TaskerError):
        return None
    parameter = inspect.signature(cls.__init__).parameters.get("code")
    if parameter is not None and parameter.default is not inspect.Parameter.empty:
        return str(parameter.default)
    return cls.code


def _inherits_code(cls: type[BaseException]) -> bool:
    parent = cls.__bases__[0]
    return (
        issubclass(cls, TaskerError)
        and issubclass(parent, TaskerError)
        and "code" not in vars(cls)
        and "code" not in _parameters(cls)
        and _code(parent) == _code(cls)
    )


def _notes(cls: type[BaseException]) -> set[str]:
    notes = set()
    if issubclass(cls, TaskerError) and cls.exit_code != ExitCode.USAGE:
        notes.add(f"exit {int(cls.exit_code)}")
    per_raise = [what for what in ("code", "exit_code") if what in _parameters(cls)]
    if per_raise == ["code", "exit_code"]:
        notes.add("code and exit per raise")
    elif per_raise:
        notes.add(f"{per_raise[0].removesuffix('_code')} per raise")
    if _inherits_code(cls):
        notes.add("its parent's code")
    if cls.__module__ == "tasker_ctl.sdk.errors":
        notes.add("retryable" if getattr(cls, "retryable", False) else "permanent")
    notes |= {f"also {base.__name__}" for base in cls.__bases__[1:]}
    return notes


@dataclass(frozen=True)
class Drawn:
    parent: str | None
    code: str | None
    notes: frozenset[str]


def _tree() -> dict[str, Drawn]:
    """The tree in ``tasker_ctl.errors``'s docstring: each name with the name it is drawn
    under, its code and notes."""
    doc = tasker_ctl.errors.__doc__ or ""
    block = doc[doc.index("\n    Exception\n") + 1 :]
    drawn: dict[str, Drawn] = {}
    above: list[tuple[int, str]] = []  # (indent, name) of the lines this one may be under
    for line in block.splitlines():
        if not line.strip():
            continue
        match = _LINE.match(line)
        assert match, f"cannot read the tree line {line!r}"
        indent, name = len(match["indent"]), match["name"]
        while above and above[-1][0] >= indent:
            above.pop()
        assert name not in drawn, f"{name} is drawn twice"
        notes = frozenset(match["notes"].split("; ")) if match["notes"] else frozenset()
        code = match["code"]
        drawn[name] = Drawn(above[-1][1] if above else None, None if code == "-" else code, notes)
        above.append((indent, name))
    return drawn


def test_every_exception_class_lives_in_an_errors_module() -> None:
    elsewhere = {
        (cls.__module__, cls.__qualname__)
        for cls in CLASSES
        if cls.__module__ not in ERRORS_MODULES
    }
    assert elsewhere == PRIVATE_CONTROL_FLOW


@pytest.mark.parametrize(("module", "name"), sorted(PRIVATE_CONTROL_FLOW))
def test_a_private_exception_never_leaves_its_module(module: str, name: str) -> None:
    assert name.startswith("_")
    home = Path(importlib.import_module(module).__file__ or "")
    mentions = [
        str(path.relative_to(SOURCE))
        for path in SOURCE.rglob("*.py")
        if path != home and re.search(rf"\b{name}\b", path.read_text(encoding="utf-8"))
    ]
    assert mentions == []


def test_the_tree_draws_every_class_under_its_base_with_its_code() -> None:
    expected = {
        _label(cls): Drawn(_label(cls.__bases__[0]), _code(cls), frozenset(_notes(cls)))
        for cls in DRAWN
    }
    # the builtin exceptions the tree hangs from
    roots = {cls.__bases__[0] for cls in DRAWN if cls.__bases__[0].__module__ == "builtins"}
    expected |= {root.__name__: Drawn(None, None, frozenset()) for root in roots}
    assert _tree() == expected


def test_the_tree_draws_every_tasker_error() -> None:
    def subclasses(cls: type[TaskerError]) -> Iterator[type[TaskerError]]:
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    drawn = set(_tree())
    missing = sorted(
        _label(cls) for cls in {TaskerError, *subclasses(TaskerError)} if _label(cls) not in drawn
    )
    assert missing == []


def test_codes_are_unique_unless_shared_with_the_parent_on_purpose() -> None:
    by_code: dict[str, list[type[BaseException]]] = defaultdict(list)
    for cls in DRAWN:
        code = _code(cls)
        if code is not None and not _inherits_code(cls):
            by_code[code].append(cls)
    shared = {code: sorted(map(_label, found)) for code, found in by_code.items() if len(found) > 1}
    assert shared == {}


def test_an_errors_module_imports_nothing_of_the_project_but_the_root_errors() -> None:
    # errors modules are imported by every layer: importing more could close a cycle
    found = {}
    for module in ERRORS_MODULES:
        path = Path(importlib.import_module(module).__file__ or "")
        allowed = {"tasker_ctl.errors", *ERRORS_MODULE_IMPORTS.get(module, set())}
        imported = {
            node.module
            for node in ast.parse(path.read_text(encoding="utf-8")).body
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tasker_ctl")
        }
        if imported - allowed:
            found[module] = sorted(imported - allowed)
    assert found == {}
