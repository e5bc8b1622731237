"""What PostgreSQL's ``jsonb`` can store: the check a handler's result passes before it is kept.

Handler results, error metadata and checkpoints are untrusted input: a handler may return a
``datetime``, a set, a cycle, a string with ``\\u0000``, a 100,000-deep nesting or a
4,300-digit integer. ``json.dumps`` raises on some of these, PostgreSQL refuses others, and
some exhaust the stack or the memory of whoever serializes them. ``unstorable`` finds the
first such problem without raising, naming where it is (``$.items[3].when``) and what to do
instead. A value it accepts is serialized by ``json.dumps(value, allow_nan=False)`` and
accepted by PostgreSQL as ``jsonb``.

A value is storable when it is made of dicts with string keys, lists, tuples, strings, ints,
floats, booleans and None (subclasses of these are read as ``json`` reads them), and:

* no float is NaN or infinite, and no int has more than ``max_int_digits`` digits;
* no string or key holds the NUL character or a surrogate code point (PostgreSQL's text
  cannot hold NUL, and a surrogate is not Unicode text);
* no container is nested more than ``max_depth`` deep, and none contains itself;
* its JSON text (compact, UTF-8) is at most ``max_bytes`` long.

The walk uses an explicit stack, never recursion, and stops at the first problem, so a
pathological value costs no more than what it takes to find that problem. A container that is
reached twice (shared, not a cycle) is measured once.

``cut_text`` and ``storable_text`` bound the free text the engine stores with a failure (the
message, the traceback): they cut it with a note of what was cut, and replace characters
PostgreSQL cannot store.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

KIB: Final = 1024
MIB: Final = 1024 * KIB
DEFAULT_MAX_RESULT_BYTES: Final = 16 * MIB
DEFAULT_MAX_DEPTH: Final = 200
DEFAULT_MAX_INT_DIGITS: Final = 1000
# Python itself refuses str() of an int over 4,300 digits (sys.int_info.default_max_str_digits)
MAX_INT_DIGITS_CEILING: Final = 4300

_encode_string: Any = getattr(json.encoder, "c_encode_basestring", None) or (
    json.encoder.py_encode_basestring
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_KEY_SHOWN = 40  # characters of an odd key shown in a path
_NAME_SHOWN = 60  # characters of a type name shown in a message
_PATH_ENDS = 8  # members shown at each end of a deeper path
_LOG10_2 = math.log10(2)

_ADVICE = {
    "datetime": "return an ISO string (value.isoformat())",
    "date": "return an ISO string (value.isoformat())",
    "time": "return an ISO string (value.isoformat())",
    "timedelta": "return a number of seconds (value.total_seconds())",
    "Decimal": "return a string (str(value)) or a float",
    "Fraction": "return a string or a float",
    "complex": "return its parts as a list [real, imag]",
    "UUID": "return a string (str(value))",
    "bytes": "decode it to text, or return it as base64 text",
    "bytearray": "decode it to text, or return it as base64 text",
    "memoryview": "decode it to text, or return it as base64 text",
    "set": "return a list (sorted(value))",
    "frozenset": "return a list (sorted(value))",
    "PosixPath": "return a string (str(value))",
    "WindowsPath": "return a string (str(value))",
    "PurePosixPath": "return a string (str(value))",
    "PureWindowsPath": "return a string (str(value))",
}
_ANY_JSON = "return a dict, list, string, number, boolean or None"


@dataclass(frozen=True)
class Unstorable:
    """Why a value cannot be stored: where (a JSON path) and what, with what to do instead."""

    path: str
    message: str
    too_large: bool = False  # the only problem is the size limit

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class StorableLimits:
    """How large a stored value may be (``max_bytes`` of compact UTF-8 JSON text), how deep,
    and how many digits its integers may have."""

    max_bytes: int = DEFAULT_MAX_RESULT_BYTES
    max_depth: int = DEFAULT_MAX_DEPTH
    max_int_digits: int = DEFAULT_MAX_INT_DIGITS

    def __post_init__(self) -> None:
        if self.max_bytes < 2 or self.max_depth < 1:
            raise ValueError("max_bytes must be at least 2 and max_depth at least 1")
        if not 1 <= self.max_int_digits <= MAX_INT_DIGITS_CEILING:
            raise ValueError(f"max_int_digits must be between 1 and {MAX_INT_DIGITS_CEILING}")


DEFAULT_LIMITS: Final = StorableLimits()

# A path is built only when a problem is reported: "$" or (parent path, key or index).
_Path = Any
_CONTAINERS = (dict, list, tuple)
_EXACT = frozenset({str, dict, list, tuple, int, float, bool, type(None)})
_END = object()


class _Container:
    """A dict, list or tuple whose members are being walked."""

    __slots__ = ("count", "deepest", "depth", "ident", "is_dict", "members", "path", "started")

    def __init__(
        self, ident: int, path: _Path, depth: int, members: Iterator[Any], started: int
    ) -> None:
        self.ident = ident
        self.path = path
        self.depth = depth  # 1 for the outermost container
        self.members = members
        self.started = started  # bytes counted when it was entered
        self.deepest = depth  # the deepest container depth seen inside it
        self.count = 0  # members seen so far (each after the first adds a comma)
        self.is_dict = False


def unstorable(
    value: Any, limits: StorableLimits = DEFAULT_LIMITS, *, root: str = "$"
) -> Unstorable | None:
    """The first reason ``value`` cannot be stored as ``jsonb``, or None when it can.

    Never raises for any value (a container whose iteration raises is reported as such).
    """
    measured = stored_size(value, limits, root=root)
    return measured if isinstance(measured, Unstorable) else None


def stored_size(
    value: Any, limits: StorableLimits = DEFAULT_LIMITS, *, root: str = "$"
) -> int | Unstorable:
    """The size of ``value``'s JSON text (compact, UTF-8) when it can be stored, else the
    first reason it cannot (as ``unstorable``)."""
    where: list[_Path] = [root]
    try:
        return _walk(value, limits, root, where)
    except Exception as error:  # a container subclass whose items() or iteration broke
        return Unstorable(
            _render(where[0]),
            f"cannot be read: reading it raised {_type_name(error)}; {_ANY_JSON}",
        )


def _walk(value: Any, limits: StorableLimits, root: str, where: list[_Path]) -> int | Unstorable:
    """The walk: one loop over an explicit stack of open containers (this runs for every
    value of every result, so the common types are tested first, by exact type)."""
    max_bytes, max_depth = limits.max_bytes, limits.max_depth
    total = 0
    open_: list[_Container] = []
    open_ids: dict[int, _Container] = {}
    measured: dict[int, tuple[int, int]] = {}  # id -> (bytes, height): shared ones walked once
    node: Any = value
    path: _Path = root
    while True:
        # -- the node at path
        kind = type(node)
        if kind not in _EXACT and isinstance(node, _CONTAINERS):
            kind = dict if isinstance(node, dict) else list  # walked as json walks them
        if kind is str:
            size = _string_size(node, total, max_bytes)
            if type(size) is not int:
                return Unstorable(_render(path), str(size))
            total += size
        elif kind is dict or kind is list or kind is tuple:
            ident = id(node)
            depth = len(open_) + 1
            known = measured.get(ident)
            if ident in open_ids:
                return Unstorable(
                    _render(path),
                    f"contains itself (it is {_render(open_ids[ident].path)} again); a cycle "
                    "is not JSON",
                )
            if (
                known is not None
                and depth + known[1] - 1 <= max_depth
                and total + known[0] <= max_bytes
            ):
                total += known[0]  # shared, not a cycle: measured once
                if open_ and open_[-1].deepest < depth + known[1] - 1:
                    open_[-1].deepest = depth + known[1] - 1
            else:
                if depth > max_depth:
                    return Unstorable(
                        _render(path),
                        f"nesting is deeper than {max_depth} levels; flatten the value",
                    )
                is_dict = kind is dict
                container = _Container(
                    ident,
                    path,
                    depth,
                    iter(node.items()) if is_dict else enumerate(node),
                    total,
                )
                container.is_dict = is_dict
                open_.append(container)
                open_ids[ident] = container
                total += 2  # brackets or braces
        elif node is None or node is True:
            total += 4
        elif node is False:
            total += 5
        elif kind is int:
            size = _int_size(node, limits.max_int_digits)
            if type(size) is not int:
                return Unstorable(_render(path), str(size))
            total += size
        elif kind is float:
            if not math.isfinite(node):
                return Unstorable(_render(path), _not_finite(node))
            total += len(float.__repr__(node))
        else:
            # subclasses, read as json reads them (a bool is never one: bool is final)
            if isinstance(node, str):
                size = _string_size(node, total, max_bytes)
            elif isinstance(node, int):
                size = _int_size(node, limits.max_int_digits)
            elif isinstance(node, float):
                size = len(float.__repr__(node)) if math.isfinite(node) else _not_finite(node)
            else:
                size = _not_json(node)
            if type(size) is not int:
                return Unstorable(_render(path), str(size))
            total += size
        if total > max_bytes:
            return _too_large(path, max_bytes)
        # -- the next member of the innermost open container, leaving the finished ones
        while open_:
            container = open_[-1]
            member: Any = next(container.members, _END)
            if member is _END:
                open_.pop()
                del open_ids[container.ident]
                height = container.deepest - container.depth + 1
                measured[container.ident] = (total - container.started, height)
                if open_ and open_[-1].deepest < container.deepest:
                    open_[-1].deepest = container.deepest
                continue
            key, node = member
            path = (container.path, key)
            where[0] = path
            if container.count:
                total += 1  # the comma
            container.count += 1
            if container.is_dict:
                if type(key) is not str and not isinstance(key, str):
                    return Unstorable(
                        _render(container.path),
                        f"has a key of type {_type_name(key)} ({_short(key)}); JSON object "
                        "keys are strings: convert the key with str()",
                    )
                size = _measured(key, "the key")
                if type(size) is not int:
                    return Unstorable(_render(path), str(size))
                total += size + 1  # with its colon
                if total > max_bytes:
                    return _too_large(path, max_bytes)
            break
        else:
            return total


def _string_size(text: str, total: int, max_bytes: int) -> int | str:
    if total + len(text) + 2 > max_bytes:  # every character is at least a byte
        return len(text) + 2
    return _measured(text, "the string")


def _int_size(value: int, max_digits: int) -> int | str:
    # bit_length first: str() of a huge int is slow, and refused past 4,300 digits
    if value.bit_length() > max_digits / _LOG10_2 + 1:
        return _too_many_digits(max_digits)
    text = int.__repr__(value)
    if len(text) - (text[0] == "-") > max_digits:
        return _too_many_digits(max_digits)
    return len(text)


def _not_finite(value: float) -> str:
    shown = "NaN" if math.isnan(value) else "Infinity"
    return f"{shown} is not JSON; return None or a string instead"


def _too_large(path: _Path, max_bytes: int) -> Unstorable:
    human = human_size(max_bytes)
    shown = f"{max_bytes:,} bytes" + ("" if human.endswith(" bytes") else f" ({human})")
    return Unstorable(
        _render(path), f"the JSON text passes the limit of {shown} at this value", too_large=True
    )


def _measured(text: str, what: str) -> int | str:
    """The bytes ``text`` takes as a JSON string (quoted, escaped, UTF-8), or why it cannot
    be stored."""
    position = text.find("\x00")
    if position >= 0:
        return (
            f"{what} contains the NUL character (\\u0000) at index {position:,}, which "
            "PostgreSQL cannot store; remove it, or return the data as base64 text"
        )
    try:
        return len(_encode_string(text).encode("utf-8"))
    except UnicodeEncodeError:
        # escaping leaves surrogates as they are: find the first in the text itself
        start = next(i for i, char in enumerate(text) if "\ud800" <= char <= "\udfff")
        return (
            f"{what} contains the surrogate code point U+{ord(text[start]):04X} at index "
            f"{start:,}, which is not Unicode text; decode the data properly, or return it as "
            "base64 text"
        )


def _too_many_digits(limit: int) -> str:
    return f"an integer of more than {limit:,} digits; return it as a string"


def _not_json(value: Any) -> str:
    name = _type_name(value)
    advice = _ADVICE.get(type(value).__name__)
    if advice is None:
        if isinstance(value, enum.Enum):
            advice = "return its value (value.value)"
        elif callable(getattr(type(value), "model_dump", None)):
            advice = "return value.model_dump(mode='json')"
        elif dataclasses.is_dataclass(value):
            advice = "return dataclasses.asdict(value)"
        else:
            advice = _ANY_JSON
    return f"{name} is not JSON; {advice}"


def _type_name(value: Any) -> str:
    name = getattr(type(value), "__name__", "object")
    return cut_text(name if isinstance(name, str) else "object", _NAME_SHOWN)


def _short(key: Any) -> str:
    """A key shown in a message: only plain scalars are shown by value (a repr can be huge)."""
    if key is None or isinstance(key, bool | float):
        return repr(key)
    if isinstance(key, int) and key.bit_length() < 64:
        return repr(key)
    return "…"


def _render(path: _Path) -> str:
    """``$.items[3].when``: keys that are identifiers after a dot, others quoted in brackets."""
    parts: list[str] = []
    while isinstance(path, tuple):
        path, key = path
        if isinstance(key, int) and not isinstance(key, bool):
            parts.append(f"[{key}]")
        elif isinstance(key, str) and _IDENTIFIER.fullmatch(key) and len(key) <= _KEY_SHOWN:
            parts.append(f".{key}")
        elif isinstance(key, str):
            shown = key if len(key) <= _KEY_SHOWN else key[:_KEY_SHOWN] + "…"
            # ensure_ascii: a NUL or a surrogate in the key is shown escaped, never stored
            parts.append(f"[{json.dumps(shown)}]")
        else:
            parts.append(f"[<{_type_name(key)} key>]")
    parts.reverse()
    if len(parts) > 2 * _PATH_ENDS:  # a deep path shows its two ends
        skipped = len(parts) - 2 * _PATH_ENDS
        parts[_PATH_ENDS:-_PATH_ENDS] = [f"…({skipped} levels)…"]
    return str(path) + "".join(parts)


def human_size(size: int) -> str:
    """A byte count as people read a limit: whole MiB or KiB when it is one, else bytes."""
    for unit, scale in (("MiB", MIB), ("KiB", KIB)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size:,} bytes"


def cut_text(text: str, limit: int, *, keep_end: bool = False) -> str:
    """``text`` with at most ``limit`` characters kept and a note of how many were cut.

    With ``keep_end`` the start and the end are kept (a traceback's end names the error).
    """
    if len(text) <= limit:
        return text
    cut = len(text) - limit
    note = f"… [cut {cut:,} characters]"
    if keep_end:
        head = limit // 2
        return f"{text[:head]}{note} …{text[len(text) - (limit - head) :]}"
    return text[:limit] + note


def storable_text(text: str, limit: int, *, keep_end: bool = False) -> str:
    """``text`` cut to ``limit`` characters (``cut_text``), with the characters PostgreSQL
    cannot store (NUL, surrogates) replaced by U+FFFD: for messages, which are never refused."""
    return _UNSTORABLE_CHARACTERS.sub("\ufffd", cut_text(text, limit, keep_end=keep_end))
