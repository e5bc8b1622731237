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
    source = _without_bundle_class(source)
    _check_model_names(bundle, source)
    return source


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
