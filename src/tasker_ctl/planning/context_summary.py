"""JSON values as a planner sees them, measured and reduced without rendering them whole.

``json_size`` counts the bytes of a value's compact JSON by walking it (no recursion, no text
of the whole built), so that a 10 MB result is measured in one pass and little memory.
``json_excerpt`` renders at most a given number of bytes of that JSON, lazily.

``structured_summary`` reduces a value to a bounded JSON text that keeps its shape: every key
of an object (up to ``MAX_KEYS``, and always every key its schema declares), an array's length
with its first items, a long string's length with its start, numbers, booleans and null as
they are. Whatever it leaves out it says, so that a planner knows that
``${steps.S.result.items}`` holds 5,000 items though it saw two. The detail shrinks until the
summary fits its bound; the walk itself is bounded by the room left, so a huge object costs
no more than a small one. Deterministic: keys are sorted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

VERBATIM_LIMIT = 1024
"""Bytes of canonical JSON up to which a value is shown whole (``verbatim_max_bytes``'s
default)."""
SUMMARY_LIMIT = 4096
"""Bytes a structured summary takes at most with the default policy: two fifths of
``summary_max_bytes``."""
MAX_KEYS = 40
"""Keys of one object shown, beyond those its schema declares."""
_MAX_DEPTH = 6  # levels described before "object with N keys"
# (samples per array, characters of a long string's start), from most to least detail
_DETAIL = ((2, 80), (1, 40), (1, 16), (0, 0))


def canonical(value: Any) -> str:
    """The one text of a JSON value: sorted keys, no spaces, UTF-8 as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def utf8_size(text: str) -> int:
    """Bytes of ``text`` in UTF-8 (a lone surrogate counted as its three bytes)."""
    return len(text.encode("utf-8", "surrogatepass"))


def storable(text: str) -> str:
    """``text`` with any lone surrogate replaced, so that it can be sent and hashed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "replace").decode("utf-8")
    return text


def cut_utf8(text: str, limit: int) -> str:
    """The longest start of ``text`` of at most ``limit`` UTF-8 bytes."""
    data = text.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return text
    return data[: max(0, limit)].decode("utf-8", "ignore")


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')
_CONSTANTS = {True: 4, False: 5}  # true, false
_BIG_INT = 10**4000  # str() of an integer this large passes Python's digit limit


def _string_size(text: str) -> int:
    if text.isascii() and not _NEEDS_ESCAPE.search(text):
        return len(text) + 2
    return utf8_size(json.dumps(text, ensure_ascii=False))


def _scalar_size(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return _string_size(value)
    if kind is bool:
        return _CONSTANTS[value]
    if value is None:
        return 4
    try:
        return utf8_size(json.dumps(value, ensure_ascii=False))
    except (TypeError, ValueError):
        # an integer past Python's digit limit, or a value JSON does not know: its repr's
        # length is as close as can be told without rendering it
        if isinstance(value, int):
            return max(1, value.bit_length() * 30103 // 100000 + 1)
        return utf8_size(repr(value))


def json_size(value: Any) -> int:
    """Bytes of ``canonical(value)``, counted by an iterative walk: no text of the whole is
    built and no depth overflows the stack."""
    total = 0
    stack: list[Any] = [value]
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            total += _string_size(item)
        elif kind is int:
            total += len(str(item)) if -_BIG_INT < item < _BIG_INT else _scalar_size(item)
        elif isinstance(item, Mapping):
            # braces, a colon per key, commas between entries
            total += 2 + len(item) + max(0, len(item) - 1)
            for key, inner in item.items():
                total += _string_size(key) if type(key) is str else _scalar_size(str(key))
                push(inner)
        elif isinstance(item, list | tuple):
            total += 2 + max(0, len(item) - 1)
            extend(item)
        else:
            total += _scalar_size(item)
    return total


def json_excerpt(value: Any, limit: int) -> tuple[str, bool]:
    """At most ``limit`` bytes of ``canonical(value)`` and whether it was cut, rendered chunk
    by chunk so that a large value is never rendered whole."""
    encoder = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    chunks: list[str] = []
    size = 0
    try:
        pieces: Iterator[str] = encoder.iterencode(value)
        for piece in pieces:
            chunks.append(piece)
            size += utf8_size(piece)
            if size > limit:
                return cut_utf8("".join(chunks), limit), True
    except (TypeError, ValueError, RecursionError):
        text = storable(repr(value)) if not isinstance(value, list | dict) else _kind(value)
        return cut_utf8(text, limit), utf8_size(text) > limit
    return "".join(chunks), False


@dataclass(frozen=True)
class Summary:
    """A structured summary's JSON text and what it says it left out."""

    text: str
    note: str


def structured_summary(value: Any, schema: Any, limit: int, *, size: int | None = None) -> Summary:
    """A summary of ``value`` of at most ``limit`` bytes that keeps its shape and every key
    ``schema`` (a JSON Schema, or None) declares, with a note of what was elided."""
    size = json_size(value) if size is None else size
    text = ""
    for samples, prefix in _DETAIL:
        text = canonical(_Shaper(samples, prefix, limit).shape(value, schema, 0))
        if utf8_size(text) <= limit:
            break
    else:
        text = canonical(_outline(value, schema))
        if utf8_size(text) > limit:
            text = canonical(_kind(value))
    note = (
        f"structured summary of a {size}-byte value: arrays show their length and first "
        f"items, long strings their length and start, objects every key (up to {MAX_KEYS} "
        "beyond those the schema declares); values not shown were elided"
    )
    return Summary(storable(text), note)


def sample(value: Any, limit: int) -> str:
    """A small sample of ``value``: its least detailed summary, within ``limit`` bytes."""
    text = canonical(_Shaper(1, 24, limit).shape(value, None, 0))
    if utf8_size(text) > limit:
        text = canonical(_kind(value))
    return storable(text)


def _declared(schema: Any) -> tuple[list[str], Mapping[str, Any]]:
    """The keys a schema's ``properties`` declare, and the schemas of them."""
    if not isinstance(schema, Mapping):
        return [], {}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return [], {}
    return sorted(str(key) for key in properties), properties


def _items_schema(schema: Any) -> Any:
    return schema.get("items") if isinstance(schema, Mapping) else None


class _Shaper:
    """One pass of the summary at one level of detail; ``room`` bounds the work: once spent,
    only declared keys are added (with their kind), so a huge value costs what a small does."""

    def __init__(self, samples: int, prefix: int, room: int) -> None:
        self.samples = samples
        self.prefix = prefix
        self.room = room

    def shape(self, value: Any, schema: Any, depth: int) -> Any:
        if isinstance(value, Mapping):
            return self._object(value, schema, depth)
        if isinstance(value, list | tuple):
            return self._array(value, schema, depth)
        if isinstance(value, str) and len(value) > max(self.prefix, 16):
            start = f", starts {value[: self.prefix]!r}" if self.prefix else ""
            shown: Any = f"<string of {len(value)} characters{start}>"
        else:
            shown = value
        self.room -= _scalar_size(shown) if not isinstance(shown, str) else len(shown) + 2
        return shown

    def _object(self, value: Mapping[Any, Any], schema: Any, depth: int) -> Any:
        if depth >= _MAX_DEPTH or (self.room <= 0 and not _declared(schema)[0]):
            self.room -= 24
            return _kind(value)
        declared, properties = _declared(schema)
        by_name = {key if isinstance(key, str) else str(key): key for key in value}
        present = [name for name in declared if name in by_name]
        others = sorted(name for name in by_name if name not in properties)
        shown: dict[str, Any] = {}
        for name in present:
            self.room -= len(name) + 4
            inner = value[by_name[name]]
            shown[name] = (
                self.shape(inner, properties.get(name), depth + 1)
                if self.room > 0
                else _kind(inner)
            )
        elided: list[str] = []
        for name in others:
            if len(shown) - len(present) >= MAX_KEYS or self.room <= 0:
                elided.append(name)
                continue
            self.room -= len(name) + 4
            shown[name] = self.shape(value[by_name[name]], None, depth + 1)
        if elided:
            names = ", ".join(elided[:MAX_KEYS])
            more = f" and {len(elided) - MAX_KEYS} more" if len(elided) > MAX_KEYS else ""
            shown["<elided>"] = f"{len(elided)} more keys: {names}{more}"
            self.room -= 40
        return shown

    def _array(self, value: list[Any] | tuple[Any, ...], schema: Any, depth: int) -> Any:
        if depth >= _MAX_DEPTH:
            self.room -= 24
            return _kind(value)
        items = _items_schema(schema)
        if len(value) <= self.samples:
            return [self.shape(item, items, depth + 1) for item in value]
        self.room -= 40
        first = [self.shape(item, items, depth + 1) for item in value[: self.samples]]
        return {"<array>": len(value), "<first items>": first}


def _outline(value: Any, schema: Any) -> Any:
    """The least detail: the top level's keys (every declared one) and their kinds."""
    if isinstance(value, Mapping):
        declared, _ = _declared(schema)
        by_name = {key if isinstance(key, str) else str(key): key for key in value}
        names = [name for name in declared if name in by_name]
        others = sorted(name for name in by_name if name not in set(names))
        outline: dict[str, Any] = {name: _kind(value[by_name[name]]) for name in names}
        outline |= {name: _kind(value[by_name[name]]) for name in others[:MAX_KEYS]}
        if len(others) > MAX_KEYS:
            outline["<elided>"] = f"{len(others) - MAX_KEYS} more keys"
        return outline
    return _kind(value)


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return f"<object with {len(value)} keys>"
    if isinstance(value, list | tuple):
        return f"<array of {len(value)} items>"
    if isinstance(value, str):
        return f"<string of {len(value)} characters>"
    return f"<{type(value).__name__}>"
