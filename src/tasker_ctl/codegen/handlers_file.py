"""The handlers module is the user's: which steps it handles, and stubs added for the others.

``generate scaffold`` writes ``handlers.py`` once; after that the file belongs to whoever
fills in the handlers. Running it again must not lose their work, yet a step added to the
template needs a handler. So the file is read, never re-rendered: a step counts as handled
when its ``handler.callable`` appears in the module as a string (the decorators' first
argument, a class's ``handler_name``), and for every other step the generated stub is
appended, with the names it needs added to the module's imports. Nothing else of the file
changes.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.literal import INDENT, LINE_LENGTH
from tasker_ctl.errors import ExitCode


@dataclass(frozen=True)
class StepHandlerName:
    """A step whose handler the module must define: its name and ``handler.callable``."""

    step: str
    callable: str


def parse_handlers(source: str, where: str) -> ast.Module:
    """The module's syntax tree; a coded error naming the line when it does not parse."""
    try:
        return ast.parse(source)
    except SyntaxError as error:
        raise CodegenError(
            f"cannot read the handlers in '{where}': line {error.lineno}: {error.msg}; "
            "nothing was written",
            code="HANDLERS_UNREADABLE",
            hint="fix the file so that Python can read it (its handlers are kept), or "
            "regenerate it from scratch with --force, which replaces them with stubs",
            exit_code=ExitCode.FINDINGS,
        ) from None


def missing_handlers(module: ast.Module, steps: Iterable[StepHandlerName]) -> list[StepHandlerName]:
    """The steps whose ``handler.callable`` the module never names."""
    named = {
        node.value
        for node in ast.walk(module)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }
    return [step for step in steps if step.callable not in named]


def add_stubs(source: str, generated: str, missing: list[StepHandlerName]) -> str:
    """``source`` with the stubs of ``missing`` (taken from the ``generated`` module) appended
    and the names they use imported; the rest of ``source`` as it was."""
    if not missing:
        return source
    user, rendered = ast.parse(source), ast.parse(generated)
    generated_lines = generated.splitlines()
    stubs = [_stub(rendered, generated_lines, step) for step in missing]
    needed = _names_used(stubs) & set(_imported(rendered))
    bound = _bound_names(user)
    wanted: dict[tuple[str, int], list[ast.alias]] = {}
    for name, (module, level, alias) in _imported(rendered).items():
        if name in needed and name not in bound:
            wanted.setdefault((module, level), []).append(alias)
    lines = source.rstrip("\n").split("\n")
    lines = _with_imports(user, lines, wanted)
    text = "\n".join(lines)
    return text + "\n\n\n" + "\n\n\n".join(stubs) + "\n"


def _stub(module: ast.Module, lines: list[str], step: StepHandlerName) -> str:
    for node in module.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
            _names_callable(decorator, step.callable) for decorator in node.decorator_list
        ):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            end = node.end_lineno or node.lineno
            return "\n".join(lines[start:end])
    raise CodegenError(  # pragma: no cover - the scaffold renders a function per step
        f"the scaffold has no handler for step '{step.step}' ({step.callable})",
        code="SCAFFOLD_ERROR",
        hint="check your --scaffolds overrides against the shipped ones",
        exit_code=ExitCode.USAGE,
    )


def _names_callable(decorator: ast.expr, callable_name: str) -> bool:
    return (
        isinstance(decorator, ast.Call)
        and bool(decorator.args)
        and isinstance(decorator.args[0], ast.Constant)
        and decorator.args[0].value == callable_name
    )


def _names_used(stubs: list[str]) -> set[str]:
    used: set[str] = set()
    for stub in stubs:
        used |= {node.id for node in ast.walk(ast.parse(stub)) if isinstance(node, ast.Name)}
    return used


def _imported(module: ast.Module) -> dict[str, tuple[str, int, ast.alias]]:
    """Name bound -> (module, level, alias) for every top-level ``from ... import``."""
    found: dict[str, tuple[str, int, ast.alias]] = {}
    for node in module.body:
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                found[alias.asname or alias.name] = (node.module or "", node.level, alias)
    return found


def _bound_names(module: ast.Module) -> set[str]:
    bound: set[str] = set()
    for node in module.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(alias.asname or alias.name).split(".")[0] for alias in node.names}
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound |= {target.id for target in targets if isinstance(target, ast.Name)}
    return bound


def _with_imports(
    module: ast.Module, lines: list[str], wanted: dict[tuple[str, int], list[ast.alias]]
) -> list[str]:
    """``lines`` with ``wanted`` imported: added to the module's own ``from M import ...`` of
    the same module (its names sorted as isort sorts them), else as a new statement where
    isort would put it (``_place``)."""
    imports = [node for node in module.body if isinstance(node, ast.Import | ast.ImportFrom)]
    edits: list[tuple[int, int, list[str]]] = []  # (start, end, replacement), 0-based lines
    for (name, level), aliases in sorted(wanted.items()):
        existing = next(
            (
                node
                for node in imports
                if isinstance(node, ast.ImportFrom)
                and node.module == (name or None)
                and node.level == level
            ),
            None,
        )
        if existing is None:
            at, before, after = _place(module, imports, name, level)
            statement = _import_lines(name, level, aliases, multiline=False)
            edits.append((at, at, [""] * before + statement + [""] * after))
            continue
        merged = [*existing.names, *aliases]
        multiline = (existing.end_lineno or existing.lineno) > existing.lineno
        edits.append(
            (
                existing.lineno - 1,
                existing.end_lineno or existing.lineno,
                _import_lines(name, level, merged, multiline=multiline),
            )
        )
    # from the bottom up, so that no edit moves the lines of those still to come
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        lines[start:end] = replacement
    return lines


_FUTURE, _STANDARD, _OTHER, _LOCAL = range(4)  # isort's sections, in their order


def _section(module: str, level: int) -> int:
    if level:
        return _LOCAL
    top = module.split(".")[0]
    if top == "__future__":
        return _FUTURE
    return _STANDARD if top in sys.stdlib_module_names else _OTHER


def _statement_section(node: ast.Import | ast.ImportFrom) -> int:
    if isinstance(node, ast.ImportFrom):
        return _section(node.module or "", node.level)
    return _section(node.names[0].name, 0)


def _place(
    module: ast.Module, imports: list[ast.Import | ast.ImportFrom], name: str, level: int
) -> tuple[int, int, int]:
    """Where isort would put a new ``from name import ...``: (0-based line, blank lines
    before, blank lines after). Among the statements of its section (for a third-party
    module, those of the same package, when there are some), in module order after the
    plain ``import`` statements; in a block of its own when its section has none."""
    section = _section(name, level)
    same = [node for node in imports if _statement_section(node) == section]
    if section == _OTHER:
        package = name.split(".")[0]
        related: list[ast.Import | ast.ImportFrom] = [
            node
            for node in same
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == package
        ]
        same = related or same
    if same:
        key = name.lower()
        for node in same:
            if isinstance(node, ast.ImportFrom) and (node.module or "").lower() > key:
                return node.lineno - 1, 0, 0
        last = same[-1]
        return last.end_lineno or last.lineno, 0, 0
    later = [node for node in imports if _statement_section(node) > section]
    if later:
        return later[0].lineno - 1, 0, 1
    if imports:
        last = imports[-1]
        return last.end_lineno or last.lineno, 1, 0
    return _after_docstring(module), 1, 0


def _import_lines(
    module: str, level: int, aliases: list[ast.alias], *, multiline: bool
) -> list[str]:
    names = sorted({_alias_text(alias) for alias in aliases}, key=_isort_key)
    head = f"from {'.' * level}{module} import "
    flat = head + ", ".join(names)
    if not multiline and len(flat) <= LINE_LENGTH:
        return [flat]
    return [f"{head}(", *(f"{INDENT}{name}," for name in names), ")"]


def _isort_key(text: str) -> tuple[int, str]:
    """isort's order by type: constants, then classes, then everything else."""
    name = text.split(" as ")[0]
    if len(name) > 1 and name.isupper():
        return 0, name
    return (1 if name[:1].isupper() else 2), name


def _alias_text(alias: ast.alias) -> str:
    return alias.name + (f" as {alias.asname}" if alias.asname else "")


def _after_docstring(module: ast.Module) -> int:
    first = module.body[0] if module.body else None
    if (
        isinstance(first, ast.Expr)
        and isinstance(first.value, ast.Constant)
        and isinstance(first.value.value, str)
    ):
        return first.end_lineno or first.lineno
    return 0
