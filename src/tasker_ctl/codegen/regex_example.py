"""A short string that matches a regular expression, built from the parsed pattern.

JSON Schema patterns are unanchored, so any match anywhere is enough. The builder walks the
parsed pattern once per policy: the fewest repetitions and the first character of every class
first, then classes cycled through (so lookaheads such as ``(?=.*[0-9])`` find their digit),
then more repetitions until ``min_length`` is reached. The first string that really matches
wins, so the result is always checked, never assumed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

# The parser moved to re._parser in Python 3.11 and the old module name warns since then.
sre_parse: ModuleType = importlib.import_module("re._parser")

FALLBACK = "example"
_CANDIDATES = "a0xZ_-. "
_MAX_EXTRA = 64
_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}
_CATEGORY_TESTS: dict[str, Callable[[str], bool]] = {
    "CATEGORY_DIGIT": str.isdigit,
    "CATEGORY_NOT_DIGIT": lambda c: not c.isdigit(),
    "CATEGORY_WORD": lambda c: c.isalnum() or c == "_",
    "CATEGORY_NOT_WORD": lambda c: not (c.isalnum() or c == "_"),
    "CATEGORY_SPACE": str.isspace,
    "CATEGORY_NOT_SPACE": lambda c: not c.isspace(),
}


def example_for_pattern(pattern: str, min_length: int = 0, max_length: int | None = None) -> str:
    """A string that ``re.search(pattern, ...)`` accepts, within the length bounds if it can.

    ``"example"`` when no string is found (the caller validates and looks further).
    """
    try:
        compiled = re.compile(pattern)
        parsed = list(sre_parse.parse(pattern))
    except (re.error, RecursionError, OverflowError):
        return FALLBACK

    def fits(text: str) -> bool:
        longest = max_length if max_length is not None else len(text)
        return min_length <= len(text) <= longest and compiled.search(text) is not None

    for text in _texts(parsed, min_length):
        if fits(text):
            return text
        padded = text + "x" * (min_length - len(text))
        if len(padded) != len(text) and fits(padded):
            return padded
    return FALLBACK


def _texts(parsed: list[Any], min_length: int) -> Iterator[str]:
    seen: set[str] = set()
    for extra in range(min(max(min_length, 1), _MAX_EXTRA) + 1):
        for members in ("first", "cycle", "last"):
            try:
                text = _Emitter(members, extra).emit(parsed)
            except (_Unsupported, RecursionError):
                continue
            if text not in seen:
                seen.add(text)
                yield text


# Beside its use, not in codegen.errors: raised and caught inside this module only, where it
# means "this pattern gets no example".
class _Unsupported(Exception):
    """A regex construct the example builder does not follow."""


@dataclass
class _Emitter:
    members: str  # which member of a class or alternation: first | cycle | last
    extra: int  # repetitions beyond each quantifier's minimum (up to its maximum)
    counter: int = 0
    groups: dict[int, str] = field(default_factory=dict)

    def emit(self, items: list[Any]) -> str:
        out: list[str] = []
        for op, argument in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(argument))
            elif name == "NOT_LITERAL":
                out.append(next(c for c in _CANDIDATES if ord(c) != argument))
            elif name == "ANY":
                out.append(self._pick(["a", "0", "A"]))
            elif name == "IN":
                out.append(self._from_class(argument))
            elif name == "BRANCH":
                out.append(self.emit(list(self._pick(list(argument[1])))))
            elif name == "SUBPATTERN":
                group, _, _, body = argument
                text = self.emit(list(body))
                if group is not None:
                    self.groups[group] = text
                out.append(text)
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                low, high, body = argument
                count = min(high, low + self.extra)
                out.append("".join(self.emit(list(body)) for _ in range(count)))
            elif name == "GROUPREF":
                out.append(self.groups.get(argument, ""))
            elif name in ("AT", "ASSERT", "ASSERT_NOT"):
                continue
            else:
                raise _Unsupported(name)
        return "".join(out)

    def _pick(self, options: list[Any]) -> Any:
        if self.members == "first":
            return options[0]
        if self.members == "last":
            return options[-1]
        self.counter += 1
        return options[(self.counter - 1) % len(options)]

    def _from_class(self, members: list[Any]) -> str:
        negate = bool(members) and str(members[0][0]) == "NEGATE"
        listed = members[1:] if negate else members
        if negate:
            for candidate in _CANDIDATES:
                if not any(_member_matches(op, arg, candidate) for op, arg in listed):
                    return candidate
            raise _Unsupported("negated class")
        allowed: list[str] = []
        for op, argument in listed:
            name = str(op)
            if name == "LITERAL":
                allowed.append(chr(argument))
            elif name == "RANGE":
                allowed.append(chr(argument[0]))
            elif name == "CATEGORY":
                allowed.append(_CATEGORY_SAMPLES.get(str(argument), "a"))
        if not allowed:
            raise _Unsupported("empty class")
        return str(self._pick(allowed))


def _member_matches(op: Any, argument: Any, candidate: str) -> bool:
    name, code = str(op), ord(candidate)
    if name == "LITERAL":
        return bool(argument == code)
    if name == "RANGE":
        return bool(argument[0] <= code <= argument[1])
    if name == "CATEGORY":
        test = _CATEGORY_TESTS.get(str(argument))
        return test is None or test(candidate)
    return True  # an unknown member: assume it matches, so the candidate is not used
