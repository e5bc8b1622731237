"""Composed YAML nodes to plain data (dicts, lists, scalars), recording where each value is.

Scalars follow the YAML 1.2 core schema as Tasker Core reads it; a number too long to convert
stops the reader (``LimitExceeded``). An alias is built as a copy of what it names: the
composer has already bounded how many nodes that makes and how deep they go, so this
recursion stays within ``limits.MAX_DEPTH`` levels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from tasker_ctl.errors import LimitExceeded
from tasker_ctl.template.composer import (
    MappingNode,
    Node,
    ScalarNode,
    SequenceNode,
)
from tasker_ctl.template.limits import MAX_NUMBER_DIGITS

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the breaks the YAML reader counts as new lines


class YamlFloat(float):
    """A float that remembers how it was written, because string fields take the literal text."""

    text: str

    def __new__(cls, value: float, text: str) -> YamlFloat:
        instance = super().__new__(cls, value)
        instance.text = text
        return instance

    def __reduce__(self) -> tuple[type[YamlFloat], tuple[float, str]]:
        return (YamlFloat, (float(self), self.text))


@dataclass(frozen=True)
class SourceProblem:
    """A problem with the file itself, found while reading it."""

    code: str
    message: str
    hint: str | None = None
    position: Position | None = None
    path: JsonPath = ()


def within(lines: list[str], position: Position) -> Position:
    """Clamp a position into the text: the YAML reader places the end of the stream (errors
    there, empty documents) one line past the last, which editors cannot show."""
    line = min(position[0], len(lines))
    width = len(lines[line - 1]) + 1
    column = width if line < position[0] else min(position[1], width)
    return (line, max(column, 1))


def _start(node: Node) -> Position:
    return (node.line + 1, node.column + 1)


class TreeBuilder:
    """Turns composed nodes into dicts, lists and scalars while recording positions."""

    def __init__(
        self,
        text: str,
        values: dict[JsonPath, Position],
        keys: dict[JsonPath, Position],
        problems: list[SourceProblem],
    ) -> None:
        self.problems = problems
        self._lines = LINE_BREAK.split(text)
        self._values = values
        self._keys = keys
        self._active: set[int] = set()

    def start(self, node: Node) -> Position:
        if node.line + 1 < len(self._lines):  # only the last line can hold a mark past its end
            return (node.line + 1, node.column + 1)
        return within(self._lines, _start(node))

    def build(self, node: Node, path: JsonPath) -> Any:
        position = self._values[path] = self.start(node)
        if isinstance(node, MappingNode):
            return self._guarded(node, path, self._mapping)
        if isinstance(node, SequenceNode):
            return self._guarded(node, path, self._sequence)
        return _scalar(node, position)

    def _guarded(self, node: Node, path: JsonPath, build: Any) -> Any:
        if id(node) in self._active:
            self.problems.append(
                SourceProblem(
                    "YAML_SYNTAX",
                    "recursive YAML alias: a node contains itself",
                    "replace the alias with a copy of the data",
                    position=self.start(node),
                    path=path,
                )
            )
            return None
        self._active.add(id(node))
        try:
            return build(node, path)
        finally:
            self._active.discard(id(node))

    def _mapping(self, node: MappingNode, path: JsonPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    SourceProblem(
                        "NON_SCALAR_KEY",
                        "a mapping key is itself a list or mapping",
                        "use plain text keys",
                        position=self.start(key_node),
                        path=path,
                    )
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first_line = self._keys[child][0]
                self.problems.append(
                    SourceProblem(
                        "DUPLICATE_KEY",
                        f"duplicate key '{key}' (first defined on line {first_line})",
                        "remove one of the two entries; Tasker Core rejects the file",
                        position=self.start(key_node),
                        path=child,
                    )
                )
                continue
            self._keys[child] = self.start(key_node)
            result[key] = self.build(value_node, child)
        return result

    def _sequence(self, node: SequenceNode, path: JsonPath) -> list[Any]:
        return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]


_BOOLEANS = {"true": True, "false": False}
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


def _scalar(node: ScalarNode, position: Position) -> Any:
    tag = node.tag.rsplit(":", 1)[-1] if node.tag else "str"
    text = node.value
    if tag == "null":
        return None
    if tag == "bool":
        return _BOOLEANS.get(text.lower(), text)
    if tag == "int":
        # the YAML reader also takes 1_000 and 0b101 as integers; the core schema (and so
        # Tasker Core) keeps them as text
        if not _CORE_INT.match(text):
            return text
        _check_digits(text, position)
        return int(text, 8) if text.startswith("0o") else int(text, 0 if "x" in text else 10)
    if tag == "float":
        lowered = text.lower()
        if lowered in (".inf", "+.inf"):
            return YamlFloat(float("inf"), text)
        if lowered == "-.inf":
            return YamlFloat(float("-inf"), text)
        if lowered == ".nan":
            return YamlFloat(float("nan"), text)
        if not _CORE_FLOAT.match(text):
            return text
        _check_digits(text, position)
        value = float(text)
        if math.isinf(value):
            raise LimitExceeded(
                "NUMBER_TOO_LARGE",
                f"the number {_abridged(text)} is too large for a float (it would be infinite)",
                "use a smaller number, or quote it if it is meant as text",
                position,
            )
        return YamlFloat(value, text)
    # str, timestamp (Tasker Core has no timestamp type: it keeps the text), binary, custom tags
    return text


def _check_digits(text: str, position: Position) -> None:
    """Python refuses to convert integers of more than 4,300 digits; no template needs 100."""
    # a literal has at most as many digits as characters: most are never counted
    if len(text) > MAX_NUMBER_DIGITS and _digits(text) > MAX_NUMBER_DIGITS:
        raise LimitExceeded(
            "NUMBER_TOO_LARGE",
            f"the number {_abridged(text)} has {_digits(text):,} digits; numbers may have at "
            f"most {MAX_NUMBER_DIGITS}",
            "quote it if it is an identifier, or use a smaller number",
            position,
        )


def _digits(text: str) -> int:
    body = text.lstrip("+-")
    if body[:2].lower() in ("0x", "0o"):
        return len(body) - 2
    return sum(character.isdigit() for character in body)


def _abridged(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:10]}...{text[-10:]}"
