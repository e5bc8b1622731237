"""YAML parse events to nodes, within the reader's limits.

ruamel.yaml's own composers are recursive (one Python or C frame per level) and hand back an
alias as the node it names, so that a few hundred bytes of anchors and aliases ("billion
laughs") become billions of nodes once the tree is built. This composer keeps its open
collections on an explicit stack and counts, while it reads, the depth, the nodes as written
and the nodes the tree will hold once every alias is expanded (an anchored node's weight is
known when it closes, so an alias adds that weight at once). Passing a limit raises
``LimitExceeded`` at the event that passed it; nothing larger is ever built.

Scalar tags are resolved with the YAML 1.2 core schema, as ruamel.yaml's composer resolves
them for Tasker Core's loader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from tasker_ctl.errors import LimitExceeded
from tasker_ctl.template.limits import MAX_DEPTH, MAX_EXPANDED_NODES, MAX_NODES

Position = tuple[int, int]

_STR = "tag:yaml.org,2002:str"


@dataclass(slots=True, eq=False)
class ScalarNode:
    tag: str
    value: str
    line: int  # 0-based, as the parser's marks
    column: int


@dataclass(slots=True, eq=False)
class SequenceNode:
    line: int
    column: int
    value: list[Node] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class MappingNode:
    line: int
    column: int
    value: list[tuple[Node, Node]] = field(default_factory=list)


Node = ScalarNode | SequenceNode | MappingNode


@dataclass(slots=True)
class _Open:
    """A collection whose end event has not come yet."""

    node: SequenceNode | MappingNode
    anchor: str | None
    expanded_before: int  # the expanded count before this node was counted
    deepest: int  # the deepest level reached inside it so far
    key: Node | None = None  # a mapping's key waiting for its value


def compose_documents(text: str) -> Iterator[Node]:
    """The root node of each document in ``text``.

    Raises ruamel.yaml's errors for malformed YAML and ``LimitExceeded`` past a limit."""
    from ruamel.yaml import YAML

    events = YAML(typ="safe").parse(text)
    try:
        yield from _Composer(events).documents()
    finally:
        events.close()


class _Composer:
    def __init__(self, events: Iterator[Any]) -> None:
        self._events = events
        self._composed = 0
        self._expanded = 0
        self._plain_tags: dict[str, str] = {}  # a plain scalar's tag depends on its text only

    def documents(self) -> Iterator[Node]:
        from ruamel.yaml.events import DocumentStartEvent

        for event in self._events:
            if isinstance(event, DocumentStartEvent):
                yield self._document()

    def _document(self) -> Node:
        from ruamel.yaml.events import (
            AliasEvent,
            DocumentEndEvent,
            MappingStartEvent,
            ScalarEvent,
            SequenceStartEvent,
        )

        anchors: dict[str, Node] = {}
        weights: dict[int, tuple[int, int]] = {}  # anchored node -> (expanded size, height)
        stack: list[_Open] = []
        root: Node | None = None
        for event in self._events:
            if isinstance(event, DocumentEndEvent):
                break
            if isinstance(event, AliasEvent):
                node, height = self._alias(event, anchors, weights, len(stack))
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, len(stack) + height)
            elif isinstance(event, ScalarEvent):
                self._count(event)
                node = ScalarNode(
                    self._tag(event), event.value, event.start_mark.line, event.start_mark.column
                )
                if event.anchor is not None:
                    _anchor(anchors, event, node)
                    weights[id(node)] = (1, 0)
            elif isinstance(event, SequenceStartEvent | MappingStartEvent):
                self._count(event)
                if len(stack) >= MAX_DEPTH:
                    raise _too_deep(event.start_mark)
                mark = event.start_mark
                opened = (
                    SequenceNode(mark.line, mark.column)
                    if isinstance(event, SequenceStartEvent)
                    else MappingNode(mark.line, mark.column)
                )
                if event.anchor is not None:
                    _anchor(anchors, event, opened)
                stack.append(_Open(opened, event.anchor, self._expanded - 1, len(stack) + 1))
                continue
            else:  # the end of the innermost open collection
                closed = stack.pop()
                node = closed.node
                if closed.anchor is not None:
                    height = closed.deepest - len(stack)
                    weights[id(node)] = (self._expanded - closed.expanded_before, height)
                if stack:
                    stack[-1].deepest = max(stack[-1].deepest, closed.deepest)
            if stack:
                _add(stack[-1], node)
            else:
                root = node
        if root is None:  # pragma: no cover - the parser gives every document a node
            raise ValueError("a YAML document without a node")
        return root

    def _tag(self, event: Any) -> str:
        if event.tag is None and event.implicit[0]:
            value: str = event.value
            tag = self._plain_tags.get(value)
            if tag is None:
                tag = self._plain_tags[value] = _tag(event)
            return tag
        return _tag(event)

    def _count(self, event: Any) -> None:
        self._composed += 1
        self._expanded += 1
        if self._composed > MAX_NODES:
            raise LimitExceeded(
                "INPUT_TOO_LARGE",
                f"the document has more than {MAX_NODES:,} nodes (mappings, lists and "
                "scalars); the reader stopped here",
                "split the template; no workflow needs this many values",
                _position(event.start_mark),
            )
        self._check_expansion(event)

    def _check_expansion(self, event: Any) -> None:
        if self._expanded > MAX_EXPANDED_NODES:
            raise LimitExceeded(
                "ALIAS_EXPANSION_LIMIT",
                f"with its aliases expanded the document would have more than "
                f"{MAX_EXPANDED_NODES:,} nodes; the reader stopped here",
                "write the values out, or use fewer aliases of large anchored nodes",
                _position(event.start_mark),
            )

    def _alias(
        self,
        event: Any,
        anchors: dict[str, Node],
        weights: dict[int, tuple[int, int]],
        depth: int,
    ) -> tuple[Node, int]:
        """The node an alias names, and its height (the levels it adds below the alias)."""
        from ruamel.yaml.composer import ComposerError

        target = anchors.get(event.anchor)
        if target is None:
            raise ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        # a node still open is an alias into itself; the tree builder reports it
        weight, height = weights.get(id(target), (1, 0))
        self._expanded += weight
        self._check_expansion(event)
        if depth + height > MAX_DEPTH:
            raise _too_deep(event.start_mark, through_alias=True)
        return target, height


def _add(parent: _Open, node: Node) -> None:
    if isinstance(parent.node, SequenceNode):
        parent.node.value.append(node)
    elif parent.key is None:
        parent.key = node
    else:
        parent.node.value.append((parent.key, node))
        parent.key = None


def _anchor(anchors: dict[str, Node], event: Any, node: Node) -> None:
    from ruamel.yaml.composer import ComposerError

    first = anchors.get(event.anchor)
    if first is not None:  # as ruamel.yaml's C composer, which Tasker Core's files pass
        raise ComposerError(
            "found duplicate anchor; first occurrence",
            _Mark(first.line, first.column),
            "second occurrence",
            event.start_mark,
        )
    anchors[event.anchor] = node


@dataclass(frozen=True)
class _Mark:
    """Enough of a parser mark for ``MarkedYAMLError``, for a node that keeps no mark."""

    line: int
    column: int
    name: str = "<unicode string>"
    index: int = 0

    def __str__(self) -> str:
        return f'  in "{self.name}", line {self.line + 1}, column {self.column + 1}'


def _too_deep(mark: Any, *, through_alias: bool = False) -> LimitExceeded:
    how = " once this alias is expanded" if through_alias else ""
    return LimitExceeded(
        "INPUT_TOO_DEEP",
        f"the document nests more than {MAX_DEPTH} levels of mappings and lists{how}",
        "flatten the structure; no template needs this depth",
        _position(mark),
    )


def _position(mark: Any) -> Position:
    return (mark.line + 1, mark.column + 1)


def _tag(event: Any) -> str:
    tag = event.tag
    if tag is not None and tag != "!":
        return str(tag)
    if not event.implicit[0]:
        return _STR
    value: str = event.value
    resolvers = _core_resolvers()
    for resolved, pattern in resolvers.get(value[:1], resolvers[None]):
        if pattern.match(value):
            return resolved
    return _STR


@cache
def _core_resolvers() -> dict[str | None, tuple[tuple[str, re.Pattern[str]], ...]]:
    """ruamel.yaml's implicit resolvers of YAML 1.2 by first character (``None``: the ones for
    any character, which every entry ends with), with their patterns compiled."""
    from ruamel.yaml.resolver import VersionedResolver

    table = VersionedResolver(version=(1, 2)).versioned_resolver

    def compiled(entries: Any) -> tuple[tuple[str, re.Pattern[str]], ...]:
        # ruamel.yaml compiles its patterns lazily, behind a wrapper that costs a call a match
        return tuple(
            (str(tag), re.compile(pattern.pattern, pattern.flags)) for tag, pattern in entries
        )

    anywhere = compiled(table.get(None, ()))
    merged = {
        key: compiled(entries) + anywhere for key, entries in table.items() if key is not None
    }
    return {**merged, None: anywhere}
