"""Pydantic v2 models from a template's schemas, via datamodel-code-generator used in-process.

One generator call per template: the schemas are bundled first (``bundle.py``), so models shared
through ``$ref`` are generated once and names are decided in one place.
"""

from __future__ import annotations

import ast
import json
import tempfile
import warnings
from pathlib import Path
from typing import Any

from tasker_ctl.codegen.bundle import SchemaBundle
from tasker_ctl.codegen.errors import CodegenError

_BUNDLE_CLASS = "TaskerSchemaBundle"
_ENUM_BASES = frozenset({"Enum", "StrEnum", "IntEnum"})
_EMAIL_TYPES = frozenset({"EmailStr", "NameEmail"})
EMAIL_REQUIREMENT = (
    "# Requires email-validator (a schema uses format: email): pip install 'pydantic[email]'"
)

# Options are spelled out rather than left to the generator's defaults, which change between
# releases; output must stay identical for identical input.
_GENERATOR_OPTIONS: dict[str, Any] = {
    "snake_case_field": True,
    "use_schema_description": True,
    "use_field_description": True,
    "field_constraints": True,
    "use_annotated": True,
    "use_standard_collections": True,
    "use_union_operator": True,
    "use_double_quotes": True,
    "target_python_version": "3.11",
    "disable_timestamp": True,
    "naming_strategy": "parent-prefixed",
    "keep_model_order": True,
    # an enum field's default is written as the member (``Priority.STANDARD``), which
    # ``mypy --strict`` accepts, not as the plain value (``"standard"``), which it does not
    "set_default_enum_member": True,
    "capitalise_enum_members": True,
    "class_name": _BUNDLE_CLASS,
    "builtin_format_line_length": 88,
    # the bundle holds only local references; should one slip through, it is not fetched
    "allow_remote_refs": False,
}
# The generator's formatter reads line length, first-party modules and quote style from the
# nearest pyproject.toml above a settings directory (the working directory by default). It is
# pointed at a directory of its own holding this file, so output never depends on where
# tasker-ctl runs.
_NEUTRAL_PYPROJECT = "[tool.datamodel-codegen]\nbuiltin-format-line-length = 88\n"


def generate_models_source(bundle: SchemaBundle, header: str) -> str:
    """The source of a ``models`` module for ``bundle``, starting with ``header``."""
    if bundle.empty:
        return f"{header}\nfrom __future__ import annotations\n\n__all__: list[str] = []\n"
    from datamodel_code_generator import generate
    from datamodel_code_generator.enums import DataModelType, InputFileType
    from datamodel_code_generator.format import Formatter

    try:
        with warnings.catch_warnings(), tempfile.TemporaryDirectory() as settings:
            warnings.simplefilter("ignore")
            Path(settings, "pyproject.toml").write_text(_NEUTRAL_PYPROJECT, encoding="utf-8")
            source = generate(
                json.dumps(bundle.document()),
                input_file_type=InputFileType.JsonSchema,
                output_model_type=DataModelType.PydanticV2BaseModel,
                formatters=[Formatter.BUILTIN],
                custom_file_header=header.rstrip("\n"),
                settings_path=Path(settings),
                **_GENERATOR_OPTIONS,
            )
    except Exception as error:  # the generator signals schema problems with assorted types
        message = getattr(error, "message", None) or str(error)
        raise CodegenError(
            f"model generation failed: {message}",
            code="MODEL_GENERATION_FAILED",
            hint="check the schema at fault with 'tasker-ctl validate'; "
            "simplify constructs the generator cannot express",
        ) from error
    if not isinstance(source, str):  # pragma: no cover - a single module is always requested
        raise CodegenError(
            "model generation returned several modules", code="MODEL_GENERATION_FAILED"
        )
    source = _enums_first(_without_bundle_class(source))
    _check_model_names(bundle, source)
    return _with_requirements(source, header)


def _with_requirements(source: str, header: str) -> str:
    """The module with a note under its header naming the extra packages its types need.

    Pydantic's email types need email-validator, which pydantic installs only as its
    ``email`` extra (tasker-ctl does not depend on it). Without it, importing the module
    fails with pydantic's ImportError, which names the same command.
    """
    pydantic_names = {
        alias.name
        for node in ast.parse(source).body
        if isinstance(node, ast.ImportFrom) and node.module == "pydantic"
        for alias in node.names
    }
    if not pydantic_names & _EMAIL_TYPES:
        return source
    top = header.rstrip("\n")
    return source.replace(top, top + "\n" + EMAIL_REQUIREMENT, 1)


def _enums_first(source: str) -> str:
    """The module with its enums moved above its models.

    Models come in name order, and a default written as an enum member
    (``priority: Priority | None = Priority.STANDARD``) is evaluated when the model's class is
    created: the enum must exist by then. Enums refer to nothing else, so above every model is
    always a right place; their own order is kept.
    """
    tree = ast.parse(source)
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    if not classes:
        return source
    first = tree.body.index(classes[0])
    body = tree.body[first:]
    last_class = max(index for index, node in enumerate(body) if isinstance(node, ast.ClassDef))
    if not all(isinstance(node, ast.ClassDef) for node in body[: last_class + 1]):
        return source  # statements between the classes: leave the order to the generator
    enums = [node for node in classes if _is_enum(node)]
    ordered = enums + [node for node in classes if not _is_enum(node)]
    if ordered == classes:
        return source
    lines = source.splitlines(keepends=True)
    starts = [_first_line(node) for node in body]
    ends = [*starts[1:], len(lines)]
    blocks = {
        id(node): "".join(lines[start:end]).rstrip("\n")
        for node, start, end in zip(body, starts, ends, strict=True)
    }
    head = "".join(lines[: starts[0]]).rstrip("\n")
    tail = "".join(lines[ends[last_class] :]) if last_class + 1 < len(body) else ""
    ordered_text = "\n\n\n".join(blocks[id(node)] for node in ordered)
    if tail:
        return f"{head}\n\n\n{ordered_text}\n\n\n{tail.lstrip(chr(10))}"
    return f"{head}\n\n\n{ordered_text}\n"


def _is_enum(node: ast.ClassDef) -> bool:
    return any(isinstance(base, ast.Name) and base.id in _ENUM_BASES for base in node.bases)


def _first_line(node: ast.stmt) -> int:
    """The 0-based line where ``node`` starts, its decorators included."""
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)]) - 1


def _check_model_names(bundle: SchemaBundle, source: str) -> None:
    """Handlers import the root models by the names the bundle chose: they must exist."""
    classes = {node.name for node in ast.parse(source).body if isinstance(node, ast.ClassDef)}
    expected = [bundle.input_model, *bundle.result_models.values()]
    missing = sorted(name for name in expected if name is not None and name not in classes)
    if missing:
        raise CodegenError(
            f"model generation renamed {', '.join(missing)}",
            code="MODEL_GENERATION_FAILED",
            hint="rename the template or step so its model name is a plain identifier",
        )


def _without_bundle_class(source: str) -> str:
    tree = ast.parse(source)
    lines = source.splitlines(keepends=True)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == _BUNDLE_CLASS:
            start, end = node.lineno - 1, node.end_lineno or node.lineno
            while end < len(lines) and not lines[end].strip():
                end += 1
            del lines[start:end]
            break
    return _prune_imports("".join(lines).rstrip("\n") + "\n")


def _prune_imports(source: str) -> str:
    """Drop names from ``from x import ...`` lines that the module no longer uses."""
    tree = ast.parse(source)
    used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    used |= {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    lines = source.splitlines(keepends=True)
    for node in reversed(tree.body):
        if not isinstance(node, ast.ImportFrom) or node.module == "__future__":
            continue
        kept = [alias for alias in node.names if (alias.asname or alias.name) in used]
        if len(kept) == len(node.names):
            continue
        start, end = node.lineno - 1, node.end_lineno or node.lineno
        replacement = []
        if kept:
            names = ", ".join(
                alias.name + (f" as {alias.asname}" if alias.asname else "") for alias in kept
            )
            replacement = [f"from {node.module} import {names}\n"]
        lines[start:end] = replacement
        if (
            not replacement
            and 0 < start < len(lines)
            and not lines[start].strip()
            and not (lines[start - 1].strip())
        ):
            del lines[start]  # keep a single blank line where the import was
    return "".join(lines)
