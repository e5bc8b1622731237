"""Reading JSON that a user or a model wrote, within limits, into values PostgreSQL can store.

``json.loads`` accepts what no ``jsonb`` column stores (NaN, Infinity, ``\\u0000``, lone
surrogates), turns large numbers into infinities or fails on Python's integer limit, and
recurses until Python's recursion limit. ``loads`` refuses all of these with one exception
type, ``JsonInputError``, whose ``code`` names the problem and whose message says where it is
(a character offset with line and column, or a JSON path). Nesting is measured before
parsing, without recursion; the other checks cost next to nothing unless the text holds
something suspect.

Depends on nothing of tasker-ctl's but ``errors``, so that the CLI, the engine and the SDK can
all use it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

from tasker_ctl.errors import JsonInputError

MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_JSON_DEPTH = 64
MAX_JSON_NUMBER_DIGITS = 100

_SHOWN = 24  # characters of a long literal shown in a message


@dataclass(frozen=True)
class JsonLimits:
    """What ``loads`` accepts: bytes of UTF-8 text, levels of arrays and objects, and digits
    in one number."""

    max_bytes: int = MAX_JSON_BYTES
    max_depth: int = MAX_JSON_DEPTH
    max_number_digits: int = MAX_JSON_NUMBER_DIGITS


DEFAULT_LIMITS = JsonLimits()


# A JSON string without backtracking: runs of plain characters between escapes. An unclosed
# one runs to the end of the text, so that brackets inside it are never taken for structure.
_STRING_PATTERN = r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)'
_STRING = re.compile(_STRING_PATTERN, re.DOTALL)
_BRACKET_OR_STRING = re.compile(_STRING_PATTERN + r"|[\[\]{}]", re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
# an escape of NUL or of a surrogate half (after an even number of backslashes)
_SUSPECT_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def loads(text: str | bytes, *, limits: JsonLimits = DEFAULT_LIMITS) -> Any:
    """The value of a JSON text; raises ``JsonInputError`` for anything ``jsonb`` refuses or
    that passes ``limits``. Bytes are decoded as UTF-8; a leading byte order mark is skipped."""
    text = _text(text, limits)
    stripped = _STRING.sub('""', text)  # structure and numbers only: strings hold anything
    _check_depth(text, stripped, limits)
    refused: list[_Refused] = []
    parse_int: Callable[[str], Any] | None = None  # Python's own: no call per number
    if re.search(f"[0-9]{{{limits.max_number_digits + 1},}}", stripped):
        parse_int = lambda literal: _int(literal, limits, refused)  # noqa: E731
    try:
        value = json.loads(
            text,
            parse_int=parse_int,
            parse_float=lambda literal: _float(literal, limits, refused),
            parse_constant=lambda literal: _constant(literal, refused),
        )
    except json.JSONDecodeError as error:
        raise JsonInputError(
            "JSON_SYNTAX",
            f"not valid JSON: {error.msg} ({_where(text, error.pos)})",
            hint="JSON wants double quotes around keys and strings, and no trailing commas",
        ) from None
    if refused:
        first = refused[0]
        found = _find(value, lambda item: item is first)
        where = f"{found.path}: " if found is not None else ""
        raise JsonInputError(first.code, where + first.message, hint=first.hint)
    if _SUSPECT_ESCAPE.search(text):
        _check_strings(value)
    return value


def _text(raw: str | bytes, limits: JsonLimits) -> str:
    size = len(raw)
    if isinstance(raw, str) and size <= limits.max_bytes:
        # a character is at least one byte: only text that may fit is measured in bytes
        size = len(raw.encode("utf-8", "surrogatepass"))
    if size > limits.max_bytes:
        raise JsonInputError(
            "INPUT_TOO_LARGE",
            f"the JSON is larger than {_size(limits.max_bytes)}",
            hint="pass a smaller value; large data belongs in a file or table the task names",
        )
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise JsonInputError(
                "ENCODING_ERROR",
                f"the JSON is not valid UTF-8 (byte 0x{raw[error.start]:02x} at byte "
                f"{error.start + 1})",
                hint="save the JSON as UTF-8",
            ) from None
    surrogate = _SURROGATE.search(raw)
    if surrogate is not None:  # undecodable bytes of a command line arrive as these
        raise JsonInputError(
            "ENCODING_ERROR",
            f"the JSON holds U+{ord(surrogate.group()):04X}, which is not valid UTF-8 "
            f"({_where(raw, surrogate.start())})",
            hint="pass UTF-8 text",
        )
    return raw.removeprefix("\ufeff")


def _check_depth(text: str, stripped: str, limits: JsonLimits) -> None:
    brackets = _NOT_BRACKET.sub("", stripped)
    if not brackets or max(accumulate(_STEP[b] for b in brackets)) <= limits.max_depth:
        return
    depth = 0
    offset = 0
    for match in _BRACKET_OR_STRING.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > limits.max_depth:
                offset = match.start()
                break
        elif token in ("]", "}"):
            depth -= 1
    raise JsonInputError(
        "INPUT_TOO_DEEP",
        f"the JSON nests arrays and objects more than {limits.max_depth} levels deep "
        f"({_where(text, offset)})",
        hint="flatten the structure",
    )


@dataclass(frozen=True, eq=False)
class _Refused:
    """Put in place of a number that cannot be used, and found again by identity."""

    code: str
    message: str
    hint: str


def _int(literal: str, limits: JsonLimits, refused: list[_Refused]) -> Any:
    digits = len(literal) - literal.startswith("-")
    if digits > limits.max_number_digits:
        return _refuse(
            refused,
            "NUMBER_TOO_LARGE",
            f"the integer {_abridged(literal)} has {digits:,} digits (at most "
            f"{limits.max_number_digits})",
            "pass a large identifier as a string",
        )
    return int(literal)


def _float(literal: str, limits: JsonLimits, refused: list[_Refused]) -> Any:
    digits = sum(character.isdigit() for character in literal)
    if digits > limits.max_number_digits:
        return _refuse(
            refused,
            "NUMBER_TOO_LARGE",
            f"the number {_abridged(literal)} has {digits:,} digits (at most "
            f"{limits.max_number_digits})",
            "round the number",
        )
    value = float(literal)
    if math.isinf(value):
        return _refuse(
            refused,
            "NUMBER_TOO_LARGE",
            f"the number {_abridged(literal)} is too large: it would be infinite",
            "use a number within the range of a double (about 1.8e308)",
        )
    return value


def _constant(literal: str, refused: list[_Refused]) -> Any:
    return _refuse(
        refused,
        "NUMBER_NOT_FINITE",
        f"{literal} is not JSON: JSON has no NaN or infinities",
        "use null, or a finite number",
    )


def _refuse(refused: list[_Refused], code: str, message: str, hint: str) -> _Refused:
    marker = _Refused(code, message, hint)
    refused.append(marker)
    return marker


def _check_strings(value: Any) -> None:
    found = _find(
        value, lambda item: isinstance(item, str) and _UNSTORABLE.search(item) is not None
    )
    if found is None:  # the escapes were of backslashes ("\\u0000" is six characters)
        return
    character = _UNSTORABLE.search(found.item)
    assert character is not None
    what = (
        "\\u0000 (NUL)"
        if character.group() == "\x00"
        else f"\\u{ord(character.group()):04x}, half a surrogate pair without the other half"
    )
    raise JsonInputError(
        "TEXT_NOT_STORABLE",
        f"the {found.kind} at {found.path} holds {what}, which PostgreSQL cannot store",
        hint="remove the character",
    )


@dataclass(frozen=True)
class _Found:
    path: str
    kind: str  # "key" or "string"
    item: Any


def _find(value: Any, wanted: Callable[[Any], bool]) -> _Found | None:
    """The first item or key for which ``wanted`` holds, in document order, with its JSON
    path; no recursion, as ``value`` may be as deep as the limit allows."""
    stack: list[tuple[str, Any]] = [("$", value)]
    while stack:
        path, item = stack.pop()
        if wanted(item):
            return _Found(path, "string", item)
        if isinstance(item, dict):
            children = []
            for key, child in item.items():
                child_path = path + _key(key)
                if wanted(key):
                    return _Found(child_path, "key", key)
                children.append((child_path, child))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            indexed = [(f"{path}[{index}]", child) for index, child in enumerate(item)]
            stack.extend(reversed(indexed))
    return None


def _key(key: str) -> str:
    if _IDENTIFIER.match(key):
        return f".{key}"
    return "[" + json.dumps(key) + "]"  # escapes NUL, surrogates and control characters


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"character {offset + 1}, line {line}, column {column}"


def _abridged(literal: str) -> str:
    if len(literal) <= _SHOWN:
        return literal
    return f"{literal[: _SHOWN // 2]}...{literal[-_SHOWN // 2 :]}"


def _size(limit: int) -> str:
    mib = limit / (1024 * 1024)
    return f"{mib:g} MiB" if mib >= 1 else f"{limit:,} bytes"
