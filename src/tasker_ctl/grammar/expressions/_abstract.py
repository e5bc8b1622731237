"""Abstract values for path extraction: what a jq value is known to be, and where from.

A set of abstract values over-approximates the outputs of an expression: the envelope
itself, a value found at an envelope path, a constant, an array or object the expression
built (with the abstract values of its members), or something unknown. Sets and nesting are
bounded; what no longer fits is counted as read (conservatively) and becomes unknown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

ROOTS = ("context", "deps", "prev", "step")
MAX_VALUES = 32
MAX_SEGMENTS = 24
MAX_NESTING = 5


class Value:
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Envelope(Value):
    pass


@dataclass(frozen=True, slots=True)
class Unknown(Value):
    pass


@dataclass(frozen=True, slots=True)
class Const(Value):
    # the type name keeps true and 1 apart (they hash alike)
    kind: str
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class PathVal(Value):
    root: str
    segments: tuple[str | None, ...]
    # False once a computed key or index was applied: the value lies somewhere below
    exact: bool = True


@dataclass(frozen=True, slots=True)
class Coll(Value):
    """An array (or object) the expression built; ``members`` are its elements."""

    members: frozenset[Value]
    depth: int


@dataclass(frozen=True, slots=True)
class Rec(Value):
    """An object the expression built; ``rest`` holds members under computed keys."""

    fields: tuple[tuple[str, frozenset[Value]], ...]
    rest: frozenset[Value]
    depth: int


Values = frozenset[Value]
ENVELOPE = Envelope()
UNKNOWN = Unknown()
NOTHING: Values = frozenset()
UNKNOWNS: Values = frozenset({UNKNOWN})
NULLS: Values = frozenset({Const("null", None)})


def const(value: str | int | float | bool | None) -> Const:
    return Const(type(value).__name__, value)


class Reads:
    """The envelope paths found read so far: (root, segments) -> exact."""

    def __init__(self) -> None:
        self.paths: dict[tuple[str, tuple[str | None, ...]], bool] = {}

    def record(self, root: str, segments: tuple[str | None, ...], exact: bool) -> None:
        key = (root, segments)
        # read both whole and beyond: the inexact reading subsumes the exact one
        self.paths[key] = self.paths.get(key, True) and exact

    def use(self, values: Iterable[Value], exact: bool = True) -> None:
        """Count ``values`` as read in full (``exact=False``: possibly below, too)."""
        for value in values:
            if isinstance(value, PathVal):
                self.record(value.root, value.segments, value.exact and exact)
            elif isinstance(value, Envelope):
                for root in ROOTS:
                    self.record(root, (), False)
            elif isinstance(value, Coll):
                self.use(value.members, exact)
            elif isinstance(value, Rec):
                for _, members in value.fields:
                    self.use(members, exact)
                self.use(value.rest, exact)

    def bound(self, values: Values) -> Values:
        if len(values) <= MAX_VALUES:
            return values
        self.use(values, exact=False)
        return UNKNOWNS

    def collection(self, members: Values) -> Values:
        depth = 1 + max((_depth(member) for member in members), default=0)
        if depth > MAX_NESTING:
            self.use(members, exact=False)
            return UNKNOWNS
        return frozenset({Coll(self.bound(members), depth)})

    def record_value(self, fields: dict[str, Values], rest: Values) -> Values:
        members = [value for values in fields.values() for value in values] + list(rest)
        depth = 1 + max((_depth(member) for member in members), default=0)
        if depth > MAX_NESTING or len(fields) > MAX_VALUES:
            self.use(members, exact=False)
            return UNKNOWNS
        items = tuple(sorted((key, self.bound(values)) for key, values in fields.items()))
        return frozenset({Rec(items, self.bound(rest), depth)})


def _depth(value: Value) -> int:
    return value.depth if isinstance(value, Coll | Rec) else 0


def _extend(value: PathVal, segment: str | None) -> PathVal:
    if not value.exact:
        return value
    if len(value.segments) >= MAX_SEGMENTS:
        return PathVal(value.root, value.segments, False)
    return PathVal(value.root, (*value.segments, segment), True)


def _members(value: Coll | Rec) -> Values:
    if isinstance(value, Coll):
        return value.members
    return frozenset().union(*(members for _, members in value.fields), value.rest)


def key(values: Values, name: str) -> Values:
    """``.name`` applied to each value."""
    out: set[Value] = set()
    for value in values:
        if isinstance(value, Envelope):
            out.update(frozenset({PathVal(name, ())}) if name in ROOTS else NULLS)
        elif isinstance(value, PathVal):
            out.add(_extend(value, name))
        elif isinstance(value, Rec):
            found = dict(value.fields).get(name)
            out.update(found if found is not None else NULLS if not value.rest else ())
            out.update(value.rest)
        elif isinstance(value, Coll):
            out.update(value.members)
        else:
            out.add(UNKNOWN)
    return frozenset(out)


def elements(values: Values, *, numeric: bool = False) -> Values:
    """``.[]`` (or, with ``numeric``, ``.[n]``) applied to each value."""
    out: set[Value] = set()
    for value in values:
        if isinstance(value, Envelope):
            if numeric:
                out.add(UNKNOWN)
            else:
                out.update(PathVal(root, ()) for root in ROOTS)
        elif isinstance(value, PathVal):
            out.add(_extend(value, None))
        elif isinstance(value, Coll | Rec):
            out.update(_members(value))
        else:
            out.add(UNKNOWN)
    return frozenset(out)


def dynamic(values: Values) -> Values:
    """``.[k]`` with a key not known before evaluation."""
    out: set[Value] = set()
    for value in values:
        if isinstance(value, Envelope):
            out.update(PathVal(root, ()) for root in ROOTS)
        elif isinstance(value, PathVal):
            out.add(PathVal(value.root, value.segments, False))
        elif isinstance(value, Coll | Rec):
            out.update(_members(value))
        else:
            out.add(UNKNOWN)
    return frozenset(out)
