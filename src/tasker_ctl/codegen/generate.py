"""Code generation entry points: models, handlers, tests and whole scaffold packages.

Every function returns ``GeneratedFile`` objects and writes nothing; ``write_files`` and
``diff_files`` apply or compare them. Generation is deterministic: the same template gives the
same bytes on every run and machine.
"""

from __future__ import annotations

import contextlib
import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasker_ctl.codegen.bundle import bundle_template
from tasker_ctl.codegen.errors import CodegenError, TemplateInvalidError
from tasker_ctl.codegen.handlers_file import StepHandlerName
from tasker_ctl.codegen.header import file_header
from tasker_ctl.codegen.models import generate_models_source
from tasker_ctl.codegen.plan import TemplatePlan, plan_template
from tasker_ctl.codegen.render import render
from tasker_ctl.errors import ExitCode, TemplateLoadError
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.template.source import content_hash, read_document
from tasker_ctl.template.validator import load_checked

NO_SCHEMA_WARNING = (
    "template '{path}' has no input_schema and no result_schema: inputs and results are "
    "typed as dict[str, Any]; add schemas to get typed models"
)


@dataclass(frozen=True)
class GeneratedFile:
    path: str  # relative to the output directory
    content: str
    # a file the user fills in (a scaffold's handlers.py): written when missing, then kept;
    # see codegen/scaffold.py
    user_owned: bool = False


@dataclass
class Generation:
    """What one template produced."""

    template: TaskTemplate
    files: list[GeneratedFile]
    warnings: list[str] = field(default_factory=list)
    # the steps a user-owned handlers module must handle (scaffolds only)
    handlers: list[StepHandlerName] = field(default_factory=list)


@dataclass
class _Loaded:
    path: Path
    template: TaskTemplate
    digest: str
    plan: TemplatePlan


def template_digest(path: str | Path) -> str:
    """The content hash recorded in generated headers for the template at ``path``."""
    document = read_document(Path(path))
    return content_hash(document.data)


def _load(path: str | Path) -> _Loaded:
    try:
        loaded = load_checked(path)
    except TemplateLoadError as error:
        raise TemplateInvalidError(error.report) from error  # type: ignore[attr-defined]
    template = loaded.template
    return _Loaded(
        Path(path),
        template,
        loaded.content_hash,
        plan_template(template, bundle_template(template)),
    )


def _header(loaded: _Loaded, kind: str) -> str:
    return file_header(
        identifier=loaded.template.identifier,
        digest=loaded.digest,
        kind=kind,
        command="tasker-ctl generate",
    )


def _warnings(loaded: _Loaded) -> list[str]:
    return [NO_SCHEMA_WARNING.format(path=loaded.path)] if loaded.plan.bundle.empty else []


def _relative(target: Path, start: Path) -> str:
    # abspath, not resolve: a path reached through a symlink keeps the layout the user sees
    try:
        return Path(os.path.relpath(os.path.abspath(target), os.path.abspath(start))).as_posix()
    except ValueError:  # different drives on Windows
        return Path(os.path.abspath(target)).as_posix()


def _sdk_imports(plan: TemplatePlan) -> list[str]:
    names = set()
    for step in plan.steps:
        names.add(
            {
                "decision": "decision_handler",
                "batchable": "batch_analyzer",
                "batch_worker": "batch_worker",
            }.get(step.kind, "step_handler")
        )
        if step.kind == "decision":
            names.add("Decision")
        if step.kind == "batchable":
            names.add("BatchConfig")
        if step.dependencies:
            names.add("depends_on")
    if plan.input_model:
        names.add("inputs")
    return sorted(names, key=lambda name: (name[0].islower(), name))


def _context(loaded: _Loaded, kind: str, base: Path) -> dict[str, Any]:
    plan = loaded.plan
    return {
        "header": _header(loaded, kind),
        "plan": plan,
        "digest": loaded.digest,
        "models_module": ".models",
        "handlers_module": "handlers",
        "model_imports": plan.model_names,
        "sdk_imports": _sdk_imports(plan),
        "needs_batch_context": any(step.kind == "batch_worker" for step in plan.steps),
        "template_path": _relative(loaded.path, base),
        "result_schemas": {
            s.name: s.result_schema for s in plan.steps if s.result_schema is not None
        },
    }


def _handlers_source(loaded: _Loaded, base: Path, scaffolds: Path | None) -> str:
    return render("handlers.py.j2", _context(loaded, "handlers", base), scaffolds)


def generate_models(path: str | Path) -> Generation:
    loaded = _load(path)
    content = generate_models_source(loaded.plan.bundle, _header(loaded, "models"))
    return Generation(loaded.template, [GeneratedFile("models.py", content)], _warnings(loaded))


def generate_handlers(
    path: str | Path, *, base: Path | None = None, scaffolds: Path | None = None
) -> Generation:
    loaded = _load(path)
    content = _handlers_source(loaded, base or Path.cwd(), scaffolds)
    return Generation(loaded.template, [GeneratedFile("handlers.py", content)], _warnings(loaded))


def generate_tests(
    path: str | Path, *, base: Path | None = None, scaffolds: Path | None = None
) -> Generation:
    loaded = _load(path)
    content = render(
        "test_handlers.py.j2", _context(loaded, "tests", base or Path.cwd()), scaffolds
    )
    return Generation(
        loaded.template, [GeneratedFile("test_handlers.py", content)], _warnings(loaded)
    )


def generate_scaffold(
    path: str | Path, output: Path, *, scaffolds: Path | None = None
) -> Generation:
    """A complete package in ``output``: models, handlers, tests, ``__init__`` and conftest.

    ``handlers.py`` is the user's once written (``user_owned``): ``write_scaffold`` and
    ``check_scaffold`` apply the generation without overwriting it."""
    if not output.name.isidentifier():
        raise CodegenError(
            f"'{output.name}' is not a valid Python package name",
            code="INVALID_PACKAGE_NAME",
            hint="name the output directory with letters, digits and underscores",
            exit_code=ExitCode.USAGE,
        )
    loaded = _load(path)
    files = [
        GeneratedFile(
            "__init__.py", render("__init__.py.j2", _context(loaded, "package", output), scaffolds)
        ),
        GeneratedFile(
            "models.py", generate_models_source(loaded.plan.bundle, _header(loaded, "models"))
        ),
        GeneratedFile("handlers.py", _handlers_source(loaded, output, scaffolds), user_owned=True),
        GeneratedFile(
            "test_handlers.py",
            render("test_handlers.py.j2", _context(loaded, "tests", output), scaffolds),
        ),
        GeneratedFile(
            "conftest.py", render("conftest.py.j2", _context(loaded, "conftest", output), scaffolds)
        ),
    ]
    handlers = [StepHandlerName(step.name, step.callable) for step in loaded.plan.steps]
    return Generation(loaded.template, files, _warnings(loaded), handlers)


def write_files(files: list[GeneratedFile], output: Path) -> list[Path]:
    """Write every file under ``output`` (each replaced atomically); return the paths."""
    written: list[Path] = []
    for generated in files:
        target = output / generated.path
        temporary = target.with_name(f".{target.name}.tmp")
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(generated.content, encoding="utf-8", newline="\n")
            temporary.replace(target)
        except OSError as error:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)
            raise CodegenError(
                f"cannot write '{target.as_posix()}': {error.strerror or error}",
                code="WRITE_FAILED",
                hint="choose an output path in a writable directory",
                exit_code=ExitCode.USAGE,
            ) from error
        written.append(target)
    return written


def diff_files(files: list[GeneratedFile], output: Path) -> list[str]:
    """Unified diffs between the files on disk and what would be generated (empty: in sync)."""
    diffs: list[str] = []
    for generated in files:
        target = output / generated.path
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current == generated.content:
            continue
        label = target.as_posix()
        diffs.append(
            "".join(
                difflib.unified_diff(
                    current.splitlines(keepends=True),
                    generated.content.splitlines(keepends=True),
                    fromfile=f"{label} (on disk)" if target.is_file() else f"{label} (missing)",
                    tofile=f"{label} (generated)",
                )
            )
        )
    return diffs
