"""Short strings that match a regular expression, built from the parsed pattern.

JSON Schema patterns are unanchored, so any match anywhere is enough. The builder walks the
parsed pattern once per policy: the fewest repetitions and the first character of every class
first, then classes cycled through, then more repetitions until ``min_length`` is reached.
Only then come two policies that change what those give: characters that positive lookaheads
ask for (``(?=.*[0-9])`` wants a digit, ``(?=.*[!@#])`` a ``!``) placed in the first positions
that allow them, and wider choices in classes (the other end of a range, more of a category),
which get past negative lookaheads such as ``(?!0)``. Every string is checked with the regular
expression, never assumed; the first that matches wins.
"""

from __future__ import annotations

import importlib
import re
import string
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from operator import ne
from types import ModuleType
from typing import Any

# The parser moved to re._parser in Python 3.11 and the old module name warns since then.
sre_parse: ModuleType = importlib.import_module("re._parser")

FALLBACK = "example"
_CANDIDATES = "a0xZ_-. "
_MEMBERS = ("first", "cycle", "last")
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")
# characters a lookahead's wanted class is met with, in the order they are tried
_SEED_POOL = string.digits + string.ascii_lowercase + string.ascii_uppercase + "!@#$%^&*-_.+=?"
_SEED_POOL += "".join(c for c in string.punctuation + " " if c not in _SEED_POOL)
_ANY_CHOICES = ["a", "0", "A"]
_WIDE_ANY_CHOICES = ["a", "0", "A", "z", "9", "Z", "-", "!", " "]
_MAX_EXTRA = 64
_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}
_WIDE_CATEGORY_SAMPLES = {
    "CATEGORY_DIGIT": "019",
    "CATEGORY_NOT_DIGIT": "azZ-",
    "CATEGORY_SPACE": " \t",
    "CATEGORY_NOT_SPACE": "a9Z-",
    "CATEGORY_WORD": "a9Z_",
    "CATEGORY_NOT_WORD": "-. !",
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
    return next(pattern_examples(pattern, min_length, max_length), FALLBACK)


def pattern_examples(
    pattern: str, min_length: int = 0, max_length: int | None = None
) -> Iterator[str]:
    """Different strings that ``re.search(pattern, ...)`` accepts within the length bounds,
    the likeliest first (``example_for_pattern`` is the first of them)."""
    try:
        compiled = re.compile(pattern)
        parsed = list(sre_parse.parse(pattern))
    except (re.error, RecursionError, OverflowError):
        return

    def fits(text: str) -> bool:
        longest = max_length if max_length is not None else len(text)
        return min_length <= len(text) <= longest and compiled.search(text) is not None

    found: set[str] = set()
    for text in _texts(parsed, min_length):
        padded = text + "x" * (min_length - len(text))
        for candidate in dict.fromkeys((text, padded)):
            if candidate not in found and fits(candidate):
                found.add(candidate)
                yield candidate
                break


def _texts(parsed: list[Any], min_length: int) -> Iterator[str]:
    extras = range(min(max(min_length, 1), _MAX_EXTRA) + 1)
    seeds = _lookahead_seeds(parsed)
    policies = [(members, extra, False, False) for extra in extras for members in _MEMBERS]
    # after every plain policy, so that what those find stays what it was
    if seeds:
        policies += [(members, extra, False, True) for extra in extras for members in _MEMBERS]
    policies += [(members, extra, True, True) for extra in extras for members in _MEMBERS]
    seen: set[str] = set()
    for members, extra, wide, seeded in policies:
        emitter = _Emitter(members, extra, wide=wide, seeds=list(seeds) if seeded else [])
        try:
            text = emitter.emit(parsed)
        except (_Unsupported, RecursionError):
            continue
        if text not in seen:
            seen.add(text)
            yield text


def _lookahead_seeds(parsed: list[Any]) -> list[str]:
    """What the pattern's positive lookaheads ask for, in order, each as the characters that
    would do: ``(?=.*[0-9])`` asks for one of ``0123456789``; a lookahead for longer text
    asks for each of its characters (its body emitted with the fewest repetitions)."""
    seeds: list[str] = []
    for op, argument in parsed:
        name = str(op)
        if name == "ASSERT" and argument[0] == 1:  # direction 1: a lookahead
            body = list(argument[1])
            while body and str(body[0][0]) in _REPEATS and body[0][1][0] == 0:
                body = body[1:]  # a leading ".*": the wanted text may come anywhere
            if len(body) == 1 and str(body[0][0]) in ("LITERAL", "NOT_LITERAL", "ANY", "IN"):
                op, atom = body[0]
                seeds.append("".join(c for c in _SEED_POOL if _atom_allows(op, atom, c)))
                continue
            try:
                seeds.extend(_Emitter("first", 0).emit(body))
            except (_Unsupported, RecursionError):
                continue
        elif name == "SUBPATTERN":
            seeds.extend(_lookahead_seeds(list(argument[3])))
    return [options for options in seeds if options]


def _atom_allows(op: Any, argument: Any, candidate: str) -> bool:
    """Whether one character matches a one-character item of a parsed pattern."""
    name = str(op)
    if name == "LITERAL":
        return bool(ord(candidate) == argument)
    if name == "NOT_LITERAL":
        return bool(ord(candidate) != argument)
    if name == "ANY":
        return candidate != "\n"
    negate = bool(argument) and str(argument[0][0]) == "NEGATE"
    listed = argument[1:] if negate else argument
    inside = any(_member_matches(member, value, candidate) for member, value in listed)
    return inside != negate


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
    wide: bool = False  # both ends of ranges and more of each category to choose from
    # what lookaheads want (each: the characters that would do), placed where allowed
    seeds: list[str] = field(default_factory=list)

    def emit(self, items: list[Any]) -> str:
        out: list[str] = []
        for op, argument in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(argument))
            elif name == "NOT_LITERAL":
                refused = chr(argument)
                out.append(
                    self._seeded(partial(ne, refused))
                    or next(c for c in _CANDIDATES if c != refused)
                )
            elif name == "ANY":
                choices = _WIDE_ANY_CHOICES if self.wide else _ANY_CHOICES
                out.append(self._seeded(lambda c: c != "\n") or self._pick(choices))
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
            elif name in _REPEATS:
                low, high, body = argument
                count = min(high, low + self.extra)
                out.append("".join(self.emit(list(body)) for _ in range(count)))
            elif name == "GROUPREF":
                out.append(self.groups.get(argument, ""))
            elif name == "ASSERT" and argument[0] == -1 and self.wide:
                # a lookbehind's text, written before what it looks behind from
                out.append(self.emit(list(argument[1])))
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

    def _seeded(self, allows: Callable[[str], bool]) -> str | None:
        """A character one of the ``seeds`` wants that this position allows (that seed is
        then met and dropped), the earliest seed first; None when none fits here."""
        for index, options in enumerate(self.seeds):
            for candidate in options:
                if allows(candidate):
                    del self.seeds[index]
                    return candidate
        return None

    def _from_class(self, members: list[Any]) -> str:
        negate = bool(members) and str(members[0][0]) == "NEGATE"
        listed = members[1:] if negate else members

        def in_class(candidate: str) -> bool:
            inside = any(_member_matches(op, arg, candidate) for op, arg in listed)
            return inside != negate

        seeded = self._seeded(in_class)
        if seeded is not None:
            return seeded
        if negate:
            for candidate in _CANDIDATES:
                if in_class(candidate):
                    return candidate
            raise _Unsupported("negated class")
        allowed: list[str] = []
        for op, argument in listed:
            name = str(op)
            if name == "LITERAL":
                allowed.append(chr(argument))
            elif name == "RANGE":
                low, high = argument
                # wide: the middle first (past a lookahead that refuses an end), then both ends
                allowed += (
                    [chr((low + high) // 2), chr(low), chr(high)] if self.wide else [chr(low)]
                )
            elif name == "CATEGORY":
                if self.wide:
                    allowed += list(_WIDE_CATEGORY_SAMPLES.get(str(argument), "a"))
                else:
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
