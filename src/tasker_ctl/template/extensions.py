"""Extension keys: ``x-*`` keys at a template's top level and in its steps.

As in docker-compose files and OpenAPI documents, an ``x-`` key is a place to hold YAML
anchors (``x-defaults: &retry {...}``) that other keys alias (``retry: *retry``). The reader
expands the aliases, within its bounds, before anything else looks at the data; the checks,
the engine, codegen and the content hash then see the template without its extension keys,
so that such a block, like a comment, means nothing by itself: what an alias copies out of it
is part of the key that holds the alias. Tasker Core ignores every key it does not know, so
such a template loads there too.
"""

from __future__ import annotations

from typing import Any

EXTENSION_PREFIX = "x-"
EXTENSION_PLACES = "the template's top level and a step"


def is_extension_key(key: object) -> bool:
    """Whether ``key`` names an extension: a string that starts with ``x-`` (lower case)."""
    return isinstance(key, str) and key.startswith(EXTENSION_PREFIX)


def without_extensions(data: Any) -> Any:
    """``data`` without the extension keys of its top level and of its steps.

    Nothing is copied when there is nothing to leave out; otherwise the mappings that change
    are new and ``data`` itself is left as it was."""
    if not isinstance(data, dict):
        return data
    result = _without_keys(data)
    steps = result.get("steps")
    if isinstance(steps, list) and any(_has_extension(step) for step in steps):
        result = {**result, "steps": [_without_keys(step) for step in steps]}
    return result


def _has_extension(value: Any) -> bool:
    return isinstance(value, dict) and any(is_extension_key(key) for key in value)


def _without_keys(value: Any) -> Any:
    if not _has_extension(value):
        return value
    return {key: item for key, item in value.items() if not is_extension_key(key)}
