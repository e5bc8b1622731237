"""Collect a template's JSON Schemas into one document for a single model-generation call.

``input_schema`` becomes ``{Task}Input`` and each ``result_schema`` ``{Step}Result``. Each
schema's own ``$defs``/``definitions`` are hoisted next to them (keeping their names when they
are unique in the template, prefixed with their owner's name otherwise) and every local ``$ref``
is rewritten to point into the bundle, so ``$ref`` keeps working across the merge.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.naming import input_model_name, pascal_case, result_model_name
from tasker_ctl.schema_refs import shown_ref
from tasker_ctl.template.model import TaskTemplate

_DEFINITION_KEYS = ("$defs", "definitions")
_DROPPED_KEYS = ("$schema", "$id", "id")
_REFERENCE_KEYS = ("$ref", "$dynamicRef", "$recursiveRef")
_DATA_KEYS = frozenset({"enum", "const", "default", "examples", "example"})
# keywords mapping names (data) to schemas
_SCHEMA_MAPS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)


@dataclass
class SchemaBundle:
    """The bundled schema plus which model name serves which purpose."""

    definitions: dict[str, Any] = field(default_factory=dict)
    input_model: str | None = None
    result_models: dict[str, str] = field(default_factory=dict)  # step name -> model name
    sources: dict[str, Any] = field(default_factory=dict)  # model name -> original schema

    @property
    def empty(self) -> bool:
        return self.input_model is None and not self.result_models

    def document(self) -> dict[str, Any]:
        return {"$defs": self.definitions}


def bundle_template(template: TaskTemplate) -> SchemaBundle:
    """Gather every schema of ``template`` under ``$defs`` with rewritten references."""
    roots: list[tuple[str, Any, str | None]] = []
    if template.input_schema is not None:
        roots.append((input_model_name(template.name), template.input_schema, None))
    taken = {name for name, _, _ in roots}
    for definition in template.steps:
        if definition.result_schema is not None:
            # steps 'fetch-data' and 'fetch_data' both make FetchDataResult: number the second
            name, counter = result_model_name(definition.name), 2
            while name in taken:
                name, counter = f"{result_model_name(definition.name)}{counter}", counter + 1
            taken.add(name)
            roots.append((name, definition.result_schema, definition.name))
    bundle = SchemaBundle()
    root_names = [name for name, _, _ in roots]
    definition_counts = Counter(
        pascal_case(name) for _, schema, _ in roots for name in _definitions(schema)
    )
    for root_name, schema, step in roots:
        renames = {
            name: _definition_name(name, root_name, definition_counts, root_names)
            for name in _definitions(schema)
        }
        where = f"result_schema of step '{step}'" if step else "input_schema"
        rewritten = _rewrite(copy.deepcopy(schema), root_name, renames, where)
        if isinstance(rewritten, dict):
            for key in _DEFINITION_KEYS:
                for name, definition in (rewritten.pop(key, None) or {}).items():
                    bundle.definitions[renames[name]] = definition
            for key in _DROPPED_KEYS:
                rewritten.pop(key, None)
        bundle.definitions[root_name] = rewritten
        bundle.sources[root_name] = schema
        if step is None:
            bundle.input_model = root_name
        else:
            bundle.result_models[step] = root_name
    return bundle


def _definitions(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        return {}
    found: dict[str, Any] = {}
    for key in _DEFINITION_KEYS:
        value = schema.get(key)
        if isinstance(value, dict):
            found.update(value)
    return found


def _definition_name(name: str, root: str, counts: Counter[str], roots: list[str]) -> str:
    candidate = pascal_case(name)
    if counts[candidate] == 1 and candidate not in roots:
        return candidate
    return f"{root}{candidate}"


def _rewrite(value: Any, root: str, renames: dict[str, str], where: str, top: bool = True) -> Any:
    """A schema with its references pointed into the bundle. The walk follows the schema's
    structure, so that a property called ``default`` or ``enum`` is a schema like any other;
    identifiers below the root are dropped: once merged, no reference may resolve against a
    base URI of its own (the generator would fetch it)."""
    if isinstance(value, list):  # allOf, anyOf, oneOf, items in the tuple form
        return [_rewrite(item, root, renames, where, top=False) for item in value]
    if not isinstance(value, dict):
        return value
    result: dict[str, Any] = {}
    for key, item in value.items():
        if key in _REFERENCE_KEYS and isinstance(item, str):
            result[key] = _rewrite_ref(item, root, renames, where)
        elif key in _DATA_KEYS:
            result[key] = item  # data, not schema: never rewrite
        elif not top and key in _DROPPED_KEYS:
            continue
        elif key in _SCHEMA_MAPS and isinstance(item, dict):
            result[key] = {
                name: _rewrite(sub, root, renames, where, top=False) for name, sub in item.items()
            }
        else:
            result[key] = _rewrite(item, root, renames, where, top=False)
    return result


def _rewrite_ref(ref: str, root: str, renames: dict[str, str], where: str) -> str:
    if not ref.startswith("#"):
        raise CodegenError(
            f"$ref '{shown_ref(ref)}' in {where} points outside the template; schemas are "
            "never fetched",
            code="UNSUPPORTED_REF",
            hint="copy the schema under $defs and refer to it as #/$defs/NAME",
        )
    pointer = ref[1:]
    if pointer in ("", "/"):
        return f"#/$defs/{root}"
    if not pointer.startswith("/"):
        raise CodegenError(
            f"$ref '{shown_ref(ref)}' in {where} names an anchor, which generation does not follow",
            code="UNSUPPORTED_REF",
            hint="refer to the definition by its path, e.g. #/$defs/NAME",
        )
    for key in _DEFINITION_KEYS:
        prefix = f"/{key}/"
        if pointer.startswith(prefix):
            name, _, rest = pointer[len(prefix) :].partition("/")
            if name not in renames:
                raise CodegenError(
                    f"$ref '{ref}' in {where} names a definition that does not exist",
                    code="UNRESOLVED_REF",
                    hint=f"define '{name}' under the schema's {key}",
                )
            return f"#/$defs/{renames[name]}" + (f"/{rest}" if rest else "")
    return f"#/$defs/{root}{pointer}"
