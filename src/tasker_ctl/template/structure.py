"""Checking a template's shape against the Pydantic model and turning errors into issues.

Each Pydantic error type maps to one stable code; unknown keys get a did-you-mean hint from the
keys valid at that place, and keys Tasker Core used to read get a warning that names their
replacement instead of an error.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from tasker_ctl.template.issue import Issue, quote_list, suggestion_hint
from tasker_ctl.template.model import RetryPolicy, StepDefinition, TaskTemplate
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
        errors = exc.errors(include_url=False)
    issues = [issue for error in errors for issue in _issues_for(error, data)]
    if all(issue.code in ("LEGACY_KEY", "IGNORED_KEY") for issue in issues):
        stripped = without_paths(data, [issue.path for issue in issues])
        try:
            return TaskTemplate.model_validate(stripped), issues
        except ValidationError:  # pragma: no cover - the stripped keys were the only problem
            return None, issues
    return None, issues


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


def _issues_for(error: ErrorDetails, data: Any) -> Iterator[Issue]:
    path: JsonPath = tuple(error["loc"])
    kind = error["type"]
    value = error.get("input")
    where = _describe(path)
    if kind == "extra_forbidden":
        key = str(path[-1])
        owner = model_at(path[:-1])
        retired = retired_key(owner, key)
        if retired is not None:
            code, hint = retired
            verb = "is a legacy key" if code == "LEGACY_KEY" else "is not read"
            yield Issue(
                code,
                f"'{key}' {verb} and is ignored by Tasker Core (at {_describe(path[:-1])})",
                path,
                hint,
                at_key=True,
            )
            return
        known = field_names(owner) if owner is not None else []
        unknown_hint = suggestion_hint(key, known) or (
            f"valid keys here: {', '.join(known)}" if known else None
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
    elif kind == "enum" or kind == "literal_error":
        expected = _expected_values(path)
        shown = value if isinstance(value, str) else repr(value)
        close = suggestion_hint(str(value), expected) if isinstance(value, str) else None
        yield Issue(
            "UNKNOWN_ENUM_VALUE",
            f"{where} is '{shown}', which is not one of {quote_list(expected)}",
            path,
            close or f"allowed values: {', '.join(expected)}",
        )
    elif kind.endswith(("_type", "_parsing")):
        expected_name = _TYPE_NAMES.get(kind.rsplit("_", 1)[0], kind.rsplit("_", 1)[0])
        quoted_hint: str | None = None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            quoted_hint = f'remove the quotes: write {value.strip()} rather than "{value}"'
        yield Issue(
            "WRONG_TYPE",
            f"{where} must be {expected_name}, got {_show(value)}",
            path,
            quoted_hint,
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
        yield Issue("INVALID_VALUE", f"{where}: {error['msg']}", path)


def _missing_hint(key: str) -> str | None:
    examples = {
        "handler": "add 'handler: {callable: package.module.Handler}'",
        "callable": "name the handler, e.g. 'callable: orders.handlers.Validate'",
        "name": None,
        "namespace_name": "add 'namespace_name: my_namespace' (letters, digits, underscores)",
        "version": "add 'version: 1.0.0'",
        "schema": "events need a 'schema' (JSON Schema of the payload); use '{}' for any payload",
        "convergence": "name the deferred_convergence step that follows the planned steps",
    }
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
