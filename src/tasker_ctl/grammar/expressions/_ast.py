"""Syntax tree of a jq program, as far as path extraction needs it."""

from __future__ import annotations

from dataclasses import dataclass


class Node:
    __slots__ = ()


@dataclass(slots=True)
class Identity(Node):
    pass


@dataclass(slots=True)
class RecurseAll(Node):
    pass


@dataclass(slots=True)
class Literal(Node):
    value: str | int | float


@dataclass(slots=True)
class StringNode(Node):
    literal: str
    interpolations: list[Node]
    format: str | None = None


@dataclass(slots=True)
class FormatNode(Node):
    name: str


@dataclass(slots=True)
class Index(Node):
    target: Node
    key: str | Node


@dataclass(slots=True)
class Iterate(Node):
    target: Node


@dataclass(slots=True)
class Slice(Node):
    target: Node
    low: Node | None
    high: Node | None


@dataclass(slots=True)
class ArrayNode(Node):
    body: Node | None


@dataclass(slots=True)
class ObjectNode(Node):
    entries: list[tuple[str | Node, Node]]


@dataclass(slots=True)
class VarRef(Node):
    name: str


@dataclass(slots=True)
class Call(Node):
    name: str
    args: list[Node]


@dataclass(slots=True)
class Pipe(Node):
    left: Node
    right: Node


@dataclass(slots=True)
class Comma(Node):
    left: Node
    right: Node


@dataclass(slots=True)
class Alternative(Node):
    left: Node
    right: Node


@dataclass(slots=True)
class BinOp(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True)
class Assign(Node):
    op: str
    left: Node
    right: Node


@dataclass(slots=True)
class Negate(Node):
    operand: Node


class Pattern:
    __slots__ = ()


@dataclass(slots=True)
class PVar(Pattern):
    name: str


@dataclass(slots=True)
class PArray(Pattern):
    items: list[Pattern]


@dataclass(slots=True)
class PObjectEntry:
    key: str | Node
    var: str | None
    pattern: Pattern | None


@dataclass(slots=True)
class PObject(Pattern):
    entries: list[PObjectEntry]


@dataclass(slots=True)
class Bind(Node):
    source: Node
    patterns: list[Pattern]
    body: Node


@dataclass(slots=True)
class Reduce(Node):
    source: Node
    pattern: Pattern
    init: Node
    update: Node


@dataclass(slots=True)
class Foreach(Node):
    source: Node
    pattern: Pattern
    init: Node
    update: Node
    extract: Node | None


@dataclass(slots=True)
class If(Node):
    branches: list[tuple[Node, Node]]
    otherwise: Node | None


@dataclass(slots=True)
class Try(Node):
    body: Node
    handler: Node | None


@dataclass(slots=True)
class Label(Node):
    body: Node


@dataclass(slots=True)
class Break(Node):
    pass


@dataclass(slots=True)
class FuncDef(Node):
    name: str
    params: list[str]
    body: Node
    rest: Node
