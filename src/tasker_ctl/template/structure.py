"""Checking a template's shape against the Pydantic model and turning errors into issues.

Each Pydantic error type maps to one stable code; unknown keys get a did-you-mean hint from the
keys valid at that place, and keys Tasker Core used to read get a warning that names their
replacement instead of an error.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasker_ctl.template.extensions import EXTENSION_PLACES, is_extension_key
from tasker_ctl.template.issue import Issue, quote_list, suggestion_hint
from tasker_ctl.template.model import (
    EventDeclaration,
    HandlerDefinition,
    RetryPolicy,
    StepDefinition,
    TaskTemplate,
    scalar_text,
)
from tasker_ctl.template.source import JsonPath

# (model, key) -> (code, hint). Keys Tasker Core once read, or writes itself, and now ignores.
_RETIRED_KEYS: dict[tuple[type[BaseModel], str], tuple[str, str]] = {
    (RetryPolicy, "limit"): ("LEGACY_KEY", "use 'max_attempts'"),
    (RetryPolicy, "initial_delay"): ("LEGACY_KEY", "use 'backoff_base_ms' (milliseconds)"),
    (RetryPolicy, "max_delay"): ("LEGACY_KEY", "use 'max_backoff_ms' (milliseconds)"),
    (StepDefinition, "lifecycle"): (
        "LEGACY_KEY",
        "step-level lifecycle is ignored; put staleness policy in the template's 'lifecycle'",
    ),
    (TaskTemplate, "task_handler"): (
        "LEGACY_KEY",
        "task handlers were removed; each step names its handler in 'handler.callable'",
    ),
    (TaskTemplate, "loaded_from"): (
        "IGNORED_KEY",
        "written by Tasker Core's registry; safe to remove",
    ),
}

_TYPE_NAMES = {
    "int": "an integer",
    "str": "a string",
    "string": "a string",
    "bool": "a boolean (true or false)",
    "float": "a number",
    "list": "a list",
    "dict": "a mapping",
    "model": "a mapping",
    "model_attributes": "a mapping",
}


def retired_key(model: type[BaseModel] | None, key: str) -> tuple[str, str] | None:
    if model is None:
        return None
    return _RETIRED_KEYS.get((model, key))


def check_structure(data: dict[str, Any]) -> tuple[TaskTemplate | None, list[Issue]]:
    """Validate ``data`` against ``TaskTemplate``; return the model (if valid) and the issues.

    Keys that are only retired or ignored do not stop the model from being built: they are
    reported and then left out.
    """
    try:
        return TaskTemplate.model_validate(data), []
    except ValidationError as exc:
        errors = _merge_union_errors(exc.errors(include_url=False))
    issues = [
        replace(issue, step=_step_name(data, issue.path))
        for error in errors
        for issue in _issues_for(error, data)
    ]
    if not issues:
        # only the second spelling of an aliased key was rejected; the CONFLICTING_ALIASES rule
        # reports it, and there is no single model to build
        return None, issues
    if all(issue.code in ("LEGACY_KEY", "IGNORED_KEY") for issue in issues):
        stripped = without_paths(data, [issue.path for issue in issues])
        try:
            return TaskTemplate.model_validate(stripped), issues
        except ValidationError:  # pragma: no cover - the stripped keys were the only problem
            return None, issues
    return None, issues


def _step_name(data: Any, path: JsonPath) -> str | None:
    """The step a path lies in, so that shape findings name their step like rule findings."""
    if len(path) < 2 or path[0] != "steps" or not isinstance(path[1], int):
        return None
    step = _mapping_at(data, path[:2])
    return scalar_text(step.get("name")) if step is not None else None


def without_paths(data: Any, paths: list[JsonPath]) -> Any:
    """A copy of ``data`` with the mapping entries at ``paths`` removed."""
    import copy

    result = copy.deepcopy(data)
    for path in paths:
        parent = result
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict):
            parent.pop(path[-1], None)
    return result


def _data_path(loc: tuple[str | int, ...]) -> JsonPath:
    """The error location without the member tags Pydantic adds inside unions (``.int``)."""
    path: list[str | int] = []
    for part in loc:
        members = [m for m in _unwrap(annotation_at(tuple(path))) if m is not type(None)]
        if len(members) > 1 and isinstance(part, str):
            continue
        path.append(part)
    return tuple(path)


def _merge_union_errors(errors: list[ErrorDetails]) -> list[ErrorDetails]:
    """One error per place inside a union: a value that fits no member of ``int | float`` fails
    once per member, and a float that is merely out of bounds also fails the ``int`` member."""
    ordered: list[ErrorDetails | JsonPath] = []
    unions: dict[JsonPath, list[ErrorDetails]] = {}
    for error in errors:
        loc = tuple(error["loc"])
        path = _data_path(loc)
        if path == loc:
            ordered.append(error)
            continue
        if path not in unions:
            unions[path] = []
            ordered.append(path)
        unions[path].append({**error, "loc": path})
    merged: list[ErrorDetails] = []
    for item in ordered:
        if not isinstance(item, tuple):
            merged.append(item)
            continue
        group = unions[item]
        specific = [error for error in group if not _is_type_error(error)]
        if specific:
            merged.extend(specific)
        else:
            merged.append({**group[0], "ctx": {"also": [error["type"] for error in group[1:]]}})
    return merged


def _is_type_error(error: ErrorDetails) -> bool:
    return error["type"].endswith(("_type", "_parsing"))


def _mapping_at(data: Any, path: JsonPath) -> dict[str, Any] | None:
    current = data
    for part in path:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return None
    return current if isinstance(current, dict) else None


def _conflicting_alias(path: JsonPath, owner: type[BaseModel] | None, data: Any) -> bool:
    """Whether the rejected key is a second spelling of a key the mapping already uses."""
    parent = _mapping_at(data, path[:-1])
    if owner is None or parent is None:
        return False
    for info in owner.model_fields.values():
        choices = [str(c) for c in getattr(info.validation_alias, "choices", None) or []]
        if path[-1] in choices and any(c in parent for c in choices if c != path[-1]):
            return True
    return False


def _issues_for(error: ErrorDetails, data: Any) -> Iterator[Issue]:
    path: JsonPath = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    where = _describe(path)
    if kind == "extra_forbidden":
        key = str(path[-1])
        owner = model_at(path[:-1])
        if _conflicting_alias(path, owner, data):
            return
        retired = retired_key(owner, key)
        if retired is not None:
            code, hint = retired
            verb = "is a legacy key" if code == "LEGACY_KEY" else "is not read"
            yield Issue(
                code,
                f"'{key}' {verb} and is ignored by Tasker Core (at {_describe(path[:-1])})",
                path,
                _retired_hint(key, hint, value, _mapping_at(data, path[:-1]) or {}),
                at_key=True,
            )
            return
        known = field_names(owner) if owner is not None else []
        unknown_hint = (
            f"extension keys (x-*) are read only at {EXTENSION_PLACES}; hold the anchor "
            "there and alias it here"
            if is_extension_key(key)
            else "YAML merge keys are not merged (nor by Tasker Core's loader); alias a whole "
            "value instead, e.g. 'retry: *retry'"
            if key == "<<"
            else suggestion_hint(key, known)
            or (f"valid keys here: {', '.join(known)}" if known else None)
        )
        yield Issue(
            "UNKNOWN_KEY",
            f"unknown key '{key}' in {_describe(path[:-1])}",
            path,
            unknown_hint,
            at_key=True,
        )
    elif kind == "missing":
        key = str(path[-1])
        yield Issue(
            "MISSING_REQUIRED_KEY",
            f"{_describe(path[:-1])} is missing required key '{key}'",
            path[:-1],
            _missing_hint(key),
        )
    elif kind in ("enum", "literal_error") and scalar_text(value) is None:
        # Tasker Core matches an enum by a scalar's text: null, a list or a mapping is a type error
        expected = _expected_values(path)
        yield Issue(
            "WRONG_TYPE",
            f"{where} must be one of {quote_list(expected)}, got {_show(value)}",
            path,
            f"allowed values: {', '.join(expected)}",
        )
    elif kind in ("enum", "literal_error"):
        expected = _expected_values(path)
        yield Issue(
            "UNKNOWN_ENUM_VALUE",
            f"{where} is '{scalar_text(value)}', which is not one of {quote_list(expected)}",
            path,
            suggestion_hint(scalar_text(value) or "", expected)
            or f"allowed values: {', '.join(expected)}",
        )
    elif _is_type_error(error):
        kinds = [kind, *(error.get("ctx") or {}).get("also", [])]
        yield Issue(
            "WRONG_TYPE",
            f"{where} must be {_expected_types(kinds)}, got {_show(value)}",
            path,
            _type_hint(kinds, value) or _shape_hint(path, kinds, value),
        )
    elif kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        context = error.get("ctx") or {}
        bound = next(iter(context.values()), "?")
        relation = {
            "greater_than_equal": ">=",
            "greater_than": ">",
            "less_than_equal": "<=",
            "less_than": "<",
        }[kind]
        yield Issue(
            "VALUE_OUT_OF_RANGE", f"{where} is {_show(value)}; it must be {relation} {bound}", path
        )
    else:
        message = error["msg"]
        yield Issue("INVALID_VALUE", f"{where}: {message[:1].lower()}{message[1:]}", path)


_DEFAULT_MAX_ATTEMPTS = RetryPolicy.model_fields["max_attempts"].default


def _retired_hint(key: str, hint: str, value: Any, siblings: dict[str, Any]) -> str:
    """The replacement key, with the value converted when the old key's value is known."""
    if not isinstance(value, int) or isinstance(value, bool):
        return hint
    if key == "limit":
        current = siblings.get("max_attempts")
        if current is not None:
            return f"remove it: Tasker Core uses 'max_attempts' ({current}) instead"
        if value == _DEFAULT_MAX_ATTEMPTS:
            return hint
        # the dangerous case: the author asked for a different limit and silently gets 3
        return (
            f"use 'max_attempts: {value}'; without it Tasker Core ignores 'limit' and allows "
            f"{_DEFAULT_MAX_ATTEMPTS} attempts"
        )
    if key in ("initial_delay", "max_delay"):
        target = "backoff_base_ms" if key == "initial_delay" else "max_backoff_ms"
        if target in siblings:
            return f"remove it: Tasker Core uses '{target}' ({siblings[target]}) instead"
        return f"use '{target}' in milliseconds: {value} seconds is '{target}: {value * 1000}'"
    return hint


def _expected_types(kinds: list[str]) -> str:
    names = list(
        dict.fromkeys(_TYPE_NAMES.get(k.rsplit("_", 1)[0], k.rsplit("_", 1)[0]) for k in kinds)
    )
    if "an integer" in names and "a number" in names:
        names.remove("an integer")
    return " or ".join(names)


def _type_hint(kinds: list[str], value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer() and any(k.startswith("int") for k in kinds):
        return f"write a whole number: {int(value)}"
    if not isinstance(value, str):
        return None
    text = value.strip()
    wants_bool = any(k.startswith("bool") for k in kinds)
    wants_number = any(k.startswith(("int", "float")) for k in kinds)
    if wants_bool and text.lower() in _YAML11_BOOLEANS:
        return f"'{text}' is text in YAML 1.2, which Tasker Core uses; write true or false"
    if wants_bool and text.lower() in ("true", "false"):
        return f'remove the quotes: write {text.lower()} rather than "{value}"'
    if wants_number and _is_number(text):
        return f'remove the quotes: write {text} rather than "{value}"'
    return None


_YAML11_BOOLEANS = ("yes", "no", "y", "n", "on", "off")


def _shape_hint(path: JsonPath, kinds: list[str], value: Any) -> str | None:
    """How to write a list or mapping that was given as something else."""
    key = next((part for part in reversed(path) if isinstance(part, str)), None)
    scalar = scalar_text(value)
    if any(k.startswith("list") for k in kinds):
        if key == "steps" and isinstance(value, dict):
            return "'steps' is a list: start each step with '- name: ...'"
        if scalar is not None:
            return f"write a list: '{key}: [{scalar}]'"
        return None
    if not any(k.startswith(("model", "dict")) for k in kinds):
        return None
    owner = model_at(path)
    if owner is HandlerDefinition and scalar is not None:
        return f"write 'handler: {{callable: {scalar}}}'"
    if owner is EventDeclaration and scalar is not None:
        return f"an event is a mapping: '{{name: {scalar}, description: ..., schema: {{...}}}}'"
    if owner is not None:
        return f"write a mapping with keys such as {', '.join(field_names(owner)[:4])}"
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.lower().lstrip("+-") not in ("inf", "infinity", "nan")


_BATCH_KEYS = ("batch_size", "parallelism", "cursor_field", "worker_template", "failure_strategy")


def _missing_hint(key: str) -> str | None:
    examples = {
        "handler": "add 'handler: {callable: package.module.Handler}'",
        "callable": "name the handler, e.g. 'callable: orders.handlers.Validate'",
        "name": None,
        "namespace_name": "add 'namespace_name: my_namespace' (letters, digits, underscores)",
        "version": "add 'version: 1.0.0'",
        "schema": "events need a 'schema' (JSON Schema of the payload); use '{}' for any payload",
        "convergence": "name the deferred_convergence step that follows the planned steps",
        "description": "events need a 'description' (free text)",
        "outcome": "add 'outcome: {description: ..., output_schema: {...}}'",
        "output_schema": "describe the composition's result with a JSON Schema",
        "invocations": "list the capability invocations, e.g. '- capability: transform'",
        "capability": "name a capability: transform, validate, assert, acquire, persist, emit",
    }
    if key in _BATCH_KEYS:
        return (
            "batch_config needs all of batch_size, parallelism, cursor_field, worker_template "
            "and failure_strategy"
        )
    return examples.get(key)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"string '{value}'" if len(value) < 60 else "a string"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _describe(path: JsonPath) -> str:
    if not path:
        return "the template"
    from tasker_ctl.template.source import format_path

    return format_path(path)


def _expected_values(path: JsonPath) -> list[str]:
    annotation = annotation_at(path)
    from enum import Enum

    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, Enum):
            return [member.value for member in candidate]
        if typing.get_origin(candidate) is typing.Literal:
            return [str(arg) for arg in typing.get_args(candidate)]
    return []


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional / Annotated / unions."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [t for arg in typing.get_args(annotation) for t in _unwrap(arg)]
    return [annotation]


def _field(model: type[BaseModel], key: str) -> Any:
    for name, info in model.model_fields.items():
        aliases = {name}
        if info.alias:
            aliases.add(info.alias)
        choices = getattr(info.validation_alias, "choices", None)
        if choices:
            aliases.update(str(choice) for choice in choices)
        if key in aliases:
            return info.annotation
    return None


def annotation_at(path: JsonPath) -> Any:
    """The type annotation that validates the value at ``path`` (``None`` if unknown)."""
    current: Any = TaskTemplate
    for part in path:
        candidates = _unwrap(current)
        nxt = None
        for candidate in candidates:
            origin = typing.get_origin(candidate)
            if (
                isinstance(candidate, type)
                and issubclass(candidate, BaseModel)
                and isinstance(part, str)
            ):
                nxt = _field(candidate, part)
            elif origin is list and isinstance(part, int):
                nxt = typing.get_args(candidate)[0]
            elif origin is dict and isinstance(part, str):
                nxt = typing.get_args(candidate)[1]
            if nxt is not None:
                break
        if nxt is None:
            return None
        current = nxt
    return current


def model_at(path: JsonPath) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``."""
    for candidate in _unwrap(annotation_at(path)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def field_names(model: type[BaseModel]) -> list[str]:
    names: list[str] = []
    for name, info in model.model_fields.items():
        choices = getattr(info.validation_alias, "choices", None)
        if choices:
            names.extend(str(choice) for choice in choices)
        else:
            names.append(info.alias or name)
    return names
