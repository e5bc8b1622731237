"""Line layout for values printed into scaffolds, decided once the whole line is known.

The ``pyliteral``/``pyrepr`` filters cannot know where on a line their value lands, so they
print a placeholder and remember the value; after rendering, each line holding placeholders is
laid out the way ``ruff format`` would: kept whole when it fits, else split at the brackets
that close the line (the value itself, or the call around it), one item per line when the
items do not fit together. Lines without placeholders are left exactly as the scaffold wrote
them, so docstrings and comments are never touched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from tasker_ctl.codegen.literal import INDENT, LINE_LENGTH, flat_literal, python_literal

_START, _END = "\ue000", "\ue001"  # private-use characters: never in a scaffold's own text
_PLACEHOLDER = re.compile(f"{_START}(\\d+){_END}")
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_TRAILING = " ,:;"

_collected: ContextVar[list[Any] | None] = ContextVar("tasker_codegen_literals", default=None)


@dataclass(frozen=True)
class _Value:
    value: Any


_Unit = str | _Value  # one character of scaffold text, or a whole value


@contextmanager
def collecting() -> Iterator[list[Any]]:
    """Collect the values that ``placeholder`` stands in for while a scaffold renders."""
    values: list[Any] = []
    token = _collected.set(values)
    try:
        yield values
    finally:
        _collected.reset(token)


def placeholder(value: Any) -> str:
    """A stand-in for ``value`` that ``lay_out`` replaces (the flat source outside rendering)."""
    values = _collected.get()
    if values is None:
        return python_literal(value)
    values.append(value)
    return f"{_START}{len(values) - 1}{_END}"


def lay_out(text: str, values: list[Any]) -> str:
    """``text`` with every placeholder replaced by its value's source, lines fitted."""
    lines: list[str] = []
    for line in text.split("\n"):
        if _START not in line:
            lines.append(line)
            continue
        indentation = line[: len(line) - len(line.lstrip(" "))]
        level = len(indentation) // len(INDENT)
        fitted = _fit(indentation, level, _units(line[len(indentation) :], values))
        lines.extend(fitted)
    return "\n".join(lines)


def _units(text: str, values: list[Any]) -> list[_Unit]:
    units: list[_Unit] = []
    position = 0
    for match in _PLACEHOLDER.finditer(text):
        index = int(match.group(1))
        if index >= len(values):  # look-alike text from the template itself
            continue
        units.extend(text[position : match.start()])
        units.append(_Value(values[index]))
        position = match.end()
    units.extend(text[position:])
    return units


def _flat(units: list[_Unit]) -> str:
    return "".join(flat_literal(u.value) if isinstance(u, _Value) else u for u in units)


def _code_mask(units: list[_Unit]) -> list[bool]:
    """Which units are code, as opposed to inside a string literal or a comment."""
    mask: list[bool] = []
    quote: str | None = None
    escaped = comment = False
    for unit in units:
        if isinstance(unit, _Value) or comment:
            mask.append(not comment)
            continue
        if quote is not None:
            mask.append(False)
            if escaped:
                escaped = False
            elif unit == "\\":
                escaped = True
            elif unit == quote:
                quote = None
            continue
        if unit in "\"'":
            quote = unit
            mask.append(False)
        elif unit == "#":
            comment = True
            mask.append(False)
        else:
            mask.append(True)
    return mask


def _fit(indentation: str, level: int, units: list[_Unit]) -> list[str]:
    flat = indentation + _flat(units)
    if len(flat) <= LINE_LENGTH:
        return [flat]
    code = _code_mask(units)
    end = len(units) - 1
    while end >= 0 and code[end] and _is_text(units[end], _TRAILING):
        end -= 1
    if end < 0 or not code[end]:
        return [flat]
    last = units[end]
    if isinstance(last, _Value):
        if not isinstance(last.value, dict | list | tuple) or not last.value:
            return [flat]
        before, after = _flat(units[:end]), _flat(units[end + 1 :])
        source = python_literal(last.value, level, prefix=len(before), suffix=len(after))
        return f"{indentation}{before}{source}{after}".split("\n")
    opening = _opening(units, code, end)
    if opening is None or opening + 1 == end:
        return [flat]
    return _split(indentation, level, units, code, opening, end)


def _opening(units: list[_Unit], code: list[bool], end: int) -> int | None:
    closer = units[end]
    if not isinstance(closer, str) or closer not in _CLOSERS:
        return None
    depth = 0
    for index in range(end, -1, -1):
        unit = units[index]
        if not code[index] or not isinstance(unit, str):
            continue
        if unit in _CLOSERS:
            depth += 1
        elif unit in _CLOSERS.values():
            depth -= 1
            if depth == 0:
                return index if _CLOSERS[closer] == unit else None
    return None


def _split(
    indentation: str, level: int, units: list[_Unit], code: list[bool], opening: int, end: int
) -> list[str]:
    """Break after ``units[opening]`` and before ``units[end]``, as ruff does for a call."""
    inner = indentation + INDENT
    head = indentation + _flat(units[: opening + 1]).rstrip()
    tail = indentation + _flat(units[end:])
    body = units[opening + 1 : end]
    body_code = code[opening + 1 : end]
    while body and isinstance(body[0], str) and body[0] == " ":
        body, body_code = body[1:], body_code[1:]
    values = [unit for unit in body if isinstance(unit, _Value)]
    if len(body) == 1 and values:
        source = python_literal(values[0].value, level + 1)
        return [head, inner + source, tail]
    parts = _top_level_parts(body, body_code)
    before = units[opening - 1] if opening > 0 else " "
    is_call = units[opening] == "(" and (
        isinstance(before, _Value) or before.isalnum() or before in "_)]"
    )
    if len(parts) == 1 or is_call:
        joined = inner + _flat(body).strip()
        if len(parts) == 1 or len(joined) <= LINE_LENGTH:
            return [head, *_fit(inner, level + 1, _strip(body)), tail]
    lines = [head]
    for part in parts:
        lines.extend(_fit(inner, level + 1, [*_strip(part), ","]))
    lines.append(tail)
    return lines


def _top_level_parts(body: list[_Unit], code: list[bool]) -> list[list[_Unit]]:
    parts: list[list[_Unit]] = [[]]
    depth = 0
    for unit, is_code in zip(body, code, strict=True):
        if is_code and isinstance(unit, str):
            if unit in _CLOSERS.values():
                depth += 1
            elif unit in _CLOSERS:
                depth -= 1
            elif unit == "," and depth == 0:
                parts.append([])
                continue
        parts[-1].append(unit)
    return [part for part in parts if _flat(part).strip()]


def _is_text(unit: _Unit, characters: str) -> bool:
    return isinstance(unit, str) and unit in characters


def _strip(units: list[_Unit]) -> list[_Unit]:
    start, stop = 0, len(units)
    while start < stop and units[start] == " ":
        start += 1
    while stop > start and units[stop - 1] == " ":
        stop -= 1
    return units[start:stop]
