"""Deterministic Python names for templates, steps and their contracts."""

from __future__ import annotations

import keyword
import re

_WORD = re.compile(r"[A-Za-z0-9]+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(name: str) -> list[str]:
    """Split ``name`` into words on separators and camelCase boundaries."""
    return [word for part in _WORD.findall(name) for word in _CAMEL_BOUNDARY.split(part) if word]


def pascal_case(name: str) -> str:
    result = "".join(word[:1].upper() + word[1:] for word in words(name))
    if not result:
        return "Unnamed"
    return f"N{result}" if result[0].isdigit() else result


def snake_case(name: str) -> str:
    result = "_".join(word.lower() for word in words(name))
    if not result:
        return "unnamed"
    if result[0].isdigit():
        result = f"n_{result}"
    if keyword.iskeyword(result) or keyword.issoftkeyword(result):
        result = f"{result}_"
    return result


def input_model_name(template_name: str) -> str:
    return f"{pascal_case(template_name)}Input"


def result_model_name(step_name: str) -> str:
    return f"{pascal_case(step_name)}Result"


def unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name_2``, ``name_3``... so that it is not in ``taken``; records the result."""
    candidate, counter = name, 2
    while candidate in taken:
        candidate = f"{name}_{counter}"
        counter += 1
    taken.add(candidate)
    return candidate
