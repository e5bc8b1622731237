"""Render JSON-like data as Python source, deterministically and readably."""

from __future__ import annotations

import json
from typing import Any

_INDENT = "    "


def python_literal(value: Any, indent: int = 0, width: int = 88) -> str:
    """Python source for ``value`` (dicts, lists, str, int, float, bool, None)."""
    flat = _flat(value)
    if (
        len(flat) + indent * len(_INDENT) <= width
        or not isinstance(value, dict | list)
        or not value
    ):
        return flat
    inner = _INDENT * (indent + 1)
    closing = _INDENT * indent
    if isinstance(value, dict):
        items = [
            f"{inner}{json.dumps(str(key), ensure_ascii=False)}: "
            f"{python_literal(item, indent + 1, width)},"
            for key, item in value.items()
        ]
        return "{\n" + "\n".join(items) + f"\n{closing}}}"
    items = [f"{inner}{python_literal(item, indent + 1, width)}," for item in value]
    return "[\n" + "\n".join(items) + f"\n{closing}]"


def _flat(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        inside = ", ".join(
            f"{json.dumps(str(key), ensure_ascii=False)}: {_flat(item)}"
            for key, item in value.items()
        )
        return "{" + inside + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flat(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)
