"""Render JSON-like data as Python source, deterministically and readably.

The layout is the one ``ruff format`` (and black) would choose at their default line length, so
users who format their code do not fight the generator: a value stays on one line when the line
fits, else its items go one per line with a trailing comma, recursively.
"""

from __future__ import annotations

import math
from typing import Any

LINE_LENGTH = 88
INDENT = "    "
_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def python_literal(
    value: Any, indent: int = 0, width: int = LINE_LENGTH, *, prefix: int = 0, suffix: int = 0
) -> str:
    """Python source for ``value`` (dicts, lists, str, int, float, bool, None).

    The source starts ``prefix`` characters after the indentation of level ``indent`` and is
    followed by ``suffix`` characters on its last line; both count towards ``width``.
    """
    flat = flat_literal(value)
    fits = len(INDENT) * indent + prefix + len(flat) + suffix <= width
    if fits or not isinstance(value, dict | list | tuple) or not value:
        return flat
    inner = INDENT * (indent + 1)
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            key_source = f"{string_literal(str(key))}: "
            rendered = python_literal(item, indent + 1, width, prefix=len(key_source), suffix=1)
            lines.append(f"{inner}{key_source}{rendered},")
        return "{\n" + "\n".join(lines) + f"\n{INDENT * indent}}}"
    lines = [f"{inner}{python_literal(item, indent + 1, width, suffix=1)}," for item in value]
    return "[\n" + "\n".join(lines) + f"\n{INDENT * indent}]"


def flat_literal(value: Any) -> str:
    """``value`` as Python source on one line."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, str):
        return string_literal(value)
    if isinstance(value, dict):
        inside = ", ".join(
            f"{string_literal(str(key))}: {flat_literal(item)}" for key, item in value.items()
        )
        return "{" + inside + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flat_literal(item) for item in value) + "]"
    return string_literal(str(value))


def string_literal(text: str) -> str:
    """A string literal with the quotes ruff format prefers and every unprintable escaped.

    Double quotes unless the text holds more double than single quotes. Line separators,
    control characters and lone surrogates are escaped so the source stays one line of UTF-8.
    """
    quote = "'" if text.count('"') > text.count("'") else '"'
    parts = [quote]
    for char in text:
        if char in _ESCAPES:
            parts.append(_ESCAPES[char])
        elif char == quote:
            parts.append("\\" + char)
        elif char.isprintable():
            parts.append(char)
        else:
            code = ord(char)
            parts.append(
                f"\\x{code:02x}"
                if code < 0x100
                else (f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
            )
    parts.append(quote)
    return "".join(parts)


def _float(value: float) -> str:
    if math.isnan(value):
        return 'float("nan")'
    if math.isinf(value):
        return 'float("inf")' if value > 0 else '-float("inf")'
    return repr(value).replace("e+", "e")  # ruff format writes exponents without '+'
