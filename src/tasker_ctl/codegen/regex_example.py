"""A short string that matches a regular expression, built from the parsed pattern.

JSON Schema patterns are unanchored, so any match anywhere is enough; the builder takes the
first alternative and the fewest repetitions at every choice.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

# The parser moved to re._parser in Python 3.11 and the old module name warns since then.
sre_parse: ModuleType = importlib.import_module("re._parser")

_CANDIDATES = "a0xZ_-. "
_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}


def example_for_pattern(pattern: str) -> str:
    """A string that ``re.search(pattern, ...)`` accepts, or ``"example"`` if none is found."""
    try:
        parsed = sre_parse.parse(pattern)
        text = _emit(list(parsed), {})
    except (re.error, RecursionError, _Unsupported):
        return "example"
    try:
        return text if re.search(pattern, text) else "example"
    except re.error:
        return "example"


class _Unsupported(Exception):
    pass


def _emit(items: list[Any], groups: dict[int, str]) -> str:
    out: list[str] = []
    for op, argument in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(argument))
        elif name == "NOT_LITERAL":
            out.append(next(c for c in _CANDIDATES if ord(c) != argument))
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_from_class(argument))
        elif name == "BRANCH":
            out.append(_emit(list(argument[1][0]), groups))
        elif name == "SUBPATTERN":
            group, _, _, body = argument
            text = _emit(list(body), groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _, body = argument
            out.append(_emit(list(body), groups) * low)
        elif name == "GROUPREF":
            out.append(groups.get(argument, ""))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        else:
            raise _Unsupported(name)
    return "".join(out)


def _from_class(members: list[Any]) -> str:
    negate = bool(members) and str(members[0][0]) == "NEGATE"
    allowed: list[str] = []
    for op, argument in members[1:] if negate else members:
        name = str(op)
        if name == "LITERAL":
            allowed.append(chr(argument))
        elif name == "RANGE":
            allowed.append(chr(argument[0]))
        elif name == "CATEGORY":
            allowed.append(_CATEGORY_SAMPLES.get(str(argument), "a"))
    if not negate:
        if not allowed:
            raise _Unsupported("empty class")
        return allowed[0]
    pattern = "[" + "".join(re.escape(c) for c in allowed) + "]" if allowed else None
    for candidate in _CANDIDATES:
        outside = pattern is None or not re.fullmatch(pattern, candidate)
        if outside and _negated_ok(members[1:], candidate):
            return candidate
    raise _Unsupported("negated class")


def _negated_ok(members: list[Any], candidate: str) -> bool:
    code = ord(candidate)
    for op, argument in members:
        name = str(op)
        if name == "LITERAL" and argument == code:
            return False
        if name == "RANGE" and argument[0] <= code <= argument[1]:
            return False
        if name == "CATEGORY":
            sample = {
                "CATEGORY_DIGIT": str.isdigit,
                "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
                "CATEGORY_SPACE": str.isspace,
            }.get(str(argument))
            if sample and sample(candidate):
                return False
    return True
