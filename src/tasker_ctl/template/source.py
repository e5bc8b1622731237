"""Reading template files: YAML text to plain data plus a map of source positions.

The YAML is composed into nodes (not constructed into objects) so that every key and value keeps
its line and column, duplicate keys can be reported instead of silently merged, and scalar types
follow the YAML 1.2 core schema that Tasker Core's loader uses. Problems with the file itself
(unreadable, binary, empty, syntax errors, several documents) become findings, never exceptions.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasker_ctl.errors import FileReadError

JsonPath = tuple[str | int, ...]
Position = tuple[int, int]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SNIFF_BYTES = 8192
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the breaks the YAML reader counts as new lines


def format_path(path: JsonPath) -> str:
    """Render a path as a JSON path: ``$.steps[2].handler.callable``."""
    parts = ["$"]
    for part in path:
        if isinstance(part, int):
            parts.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            parts.append(f".{part}")
        else:
            escaped = part.replace("\\", "\\\\").replace("'", "\\'")
            parts.append(f"['{escaped}']")
    return "".join(parts)


class YamlFloat(float):
    """A float that remembers how it was written, because string fields take the literal text."""

    text: str

    def __new__(cls, value: float, text: str) -> YamlFloat:
        instance = super().__new__(cls, value)
        instance.text = text
        return instance

    def __reduce__(self) -> tuple[type[YamlFloat], tuple[float, str]]:
        return (YamlFloat, (float(self), self.text))


@dataclass
class SourceMap:
    """Positions (1-based line, column) of the keys and values of a document, by JSON path."""

    values: dict[JsonPath, Position] = field(default_factory=dict)
    keys: dict[JsonPath, Position] = field(default_factory=dict)

    def locate(self, path: JsonPath, *, key: bool = False) -> Position | None:
        """The position of ``path`` (its key if asked and known), or of its nearest ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        probe = path
        while True:
            if probe in self.values:
                return self.values[probe]
            if probe in self.keys:
                return self.keys[probe]
            if not probe:
                return None
            probe = probe[:-1]

    def graft(self, source: JsonPath, target: JsonPath) -> None:
        """Make the positions under ``target`` those under ``source`` (used by overrides)."""
        for table in (self.values, self.keys):
            for existing in [p for p in table if p[: len(target)] == target and p != target]:
                del table[existing]
            for path, position in list(table.items()):
                if path[: len(source)] == source:
                    table[target + path[len(source) :]] = position


@dataclass(frozen=True)
class SourceProblem:
    """A problem with the file itself, found while reading it."""

    code: str
    message: str
    hint: str | None = None
    position: Position | None = None
    path: JsonPath = ()


@dataclass
class SourceDocument:
    """One template file as plain data with positions, plus any problems reading it."""

    path: Path
    display_path: str
    data: Any = None
    positions: SourceMap = field(default_factory=SourceMap)
    problems: list[SourceProblem] = field(default_factory=list)

    @property
    def usable(self) -> bool:
        """True when the file produced a mapping that the checks can look at."""
        return isinstance(self.data, dict)


def read_document(path: Path, display_path: str | None = None) -> SourceDocument:
    """Read and parse one file. Raises ``FileReadError`` only when the file cannot be read."""
    shown = display_path if display_path is not None else str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise FileReadError(f"cannot read '{shown}': {reason}") from exc
    return parse_document(raw, path=path, display_path=shown)


def parse_document(raw: bytes | str, *, path: Path, display_path: str) -> SourceDocument:
    """Parse YAML bytes or text into a ``SourceDocument`` (never raises for bad content)."""
    document = SourceDocument(path=path, display_path=display_path)
    text = _decode(raw, document)
    if text is None:
        return document
    if not text.strip():
        document.problems.append(
            SourceProblem(
                "EMPTY_FILE",
                "the file is empty",
                "a TaskTemplate needs at least 'name', 'namespace_name', 'version' and 'steps'",
            )
        )
        return document
    _compose(text, document)
    return document


def _decode(raw: bytes | str, document: SourceDocument) -> str | None:
    if isinstance(raw, str):
        return _encodable(raw, document)
    if b"\x00" in raw[:_SNIFF_BYTES]:
        document.problems.append(
            SourceProblem(
                "BINARY_FILE",
                "the file is binary, not YAML text",
                "point tasker-ctl at the template's .yaml file",
            )
        )
        return None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8-sig", errors="replace")
        document.problems.append(
            SourceProblem(
                "ENCODING_ERROR",
                f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x})",
                "save the file as UTF-8",
                position=_position_of(before, len(before)),
            )
        )
        return None


def _encodable(text: str, document: SourceDocument) -> str | None:
    """Text handed over as ``str`` may hold lone surrogates, which no UTF-8 file can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        document.problems.append(
            SourceProblem(
                "ENCODING_ERROR",
                f"the text holds U+{ord(text[exc.start]):04X}, which is not valid in UTF-8",
                "remove the character or save the file as UTF-8",
                position=_position_of(text, exc.start),
            )
        )
        return None
    return text


def _compose(text: str, document: SourceDocument) -> None:
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    yaml = YAML(typ="safe")
    try:
        nodes = yaml.compose_all(text)
        first = next(nodes, None)
        second = next(nodes, None)
    except ReaderError as exc:
        character = exc.character
        if isinstance(character, str) and len(character) == 1:
            character = ord(character)
        code = f"U+{character:04X}" if isinstance(character, int) else "a control character"
        document.problems.append(
            SourceProblem(
                "YAML_SYNTAX",
                f"invalid YAML: {exc.reason} ({code})",
                "remove the character; YAML allows no control characters except tab and "
                "line breaks",
                position=_position_of(text, exc.position),
            )
        )
        return
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context = exc.context
        started, stopped = exc.context_mark, exc.problem_mark
        if context and started is not None and stopped is not None and started.line != stopped.line:
            context = f"{context} (started on line {started.line + 1})"
        problem = "; ".join(part for part in (context, exc.problem) if part)
        position = (
            _within(_LINE_BREAK.split(text), (mark.line + 1, mark.column + 1))
            if mark is not None
            else None
        )
        at_tab = mark is not None and text[mark.index : mark.index + 1] == "\t"
        document.problems.append(
            SourceProblem(
                "YAML_SYNTAX",
                f"invalid YAML: {problem or exc}",
                _syntax_hint(problem, at_tab),
                position=position,
            )
        )
        return
    except YAMLError as exc:  # errors without a position, e.g. from the reader
        document.problems.append(SourceProblem("YAML_SYNTAX", f"invalid YAML: {exc}"))
        return
    if second is not None:
        line = _separator_line(text, second.start_mark.line + 1)
        document.problems.append(
            SourceProblem(
                "MULTIPLE_DOCUMENTS",
                "the file holds more than one YAML document; Tasker Core reads exactly one",
                "keep one template per file and remove the extra '---' separators",
                position=(line, 1),
            )
        )
        return
    if first is None:
        document.problems.append(
            SourceProblem(
                "EMPTY_FILE",
                "the file holds no YAML document (only comments or markers)",
                "a TaskTemplate needs at least 'name', 'namespace_name', 'version' and 'steps'",
            )
        )
        return
    builder = _TreeBuilder(document, text)
    document.data = builder.build(first, ())
    if document.data is None:
        document.problems.append(
            SourceProblem(
                "EMPTY_FILE",
                "the document is empty (null)",
                "a TaskTemplate needs at least 'name', 'namespace_name', 'version' and 'steps'",
                position=builder.start(first),
            )
        )
    elif not isinstance(document.data, dict):
        kind = _kind(document.data)
        document.problems.append(
            SourceProblem(
                "NOT_A_MAPPING",
                f"the document is {kind}, but a TaskTemplate is a mapping",
                "start the file with 'name:', 'namespace_name:', 'version:' and 'steps:'",
                position=builder.start(first),
            )
        )


def _position_of(text: str, index: int) -> Position:
    """1-based line and column of the character at ``index``, counting lines as YAML does."""
    lines = _LINE_BREAK.split(text[: min(max(index, 0), len(text))])
    return (len(lines), len(lines[-1]) + 1)


def _separator_line(text: str, content_line: int) -> int:
    """The line of the ``---`` that opens the document whose content starts at
    ``content_line``: that marker is what the user has to remove."""
    lines = _LINE_BREAK.split(text)
    for number in range(min(content_line, len(lines)), 0, -1):
        if lines[number - 1].startswith("---"):
            return number
    return content_line


def _syntax_hint(problem: str, at_tab: bool) -> str:
    if at_tab or "tab" in problem:
        return "indent with spaces; YAML does not allow tabs for indentation"
    if "mapping values are not allowed" in problem:
        return "quote values that contain ': ' or fix the indentation of this line"
    if "could not find expected ':'" in problem:
        return "each mapping entry needs 'key: value'; check the indentation"
    return "check the indentation and quoting around this position"


def _within(lines: list[str], position: Position) -> Position:
    """Clamp a position into the text: the YAML reader places the end of the stream (errors
    there, empty documents) one line past the last, which editors cannot show."""
    line = min(position[0], len(lines))
    width = len(lines[line - 1]) + 1
    column = width if line < position[0] else min(position[1], width)
    return (line, max(column, 1))


def _start(node: Any) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "a scalar"


class _TreeBuilder:
    """Turns composed nodes into dicts, lists and scalars while recording positions."""

    def __init__(self, document: SourceDocument, text: str) -> None:
        self._document = document
        self._lines = _LINE_BREAK.split(text)
        self._values = document.positions.values
        self._keys = document.positions.keys
        self._active: set[int] = set()

    def start(self, node: Any) -> Position:
        return _within(self._lines, _start(node))

    def build(self, node: Any, path: JsonPath) -> Any:
        from ruamel.yaml.nodes import MappingNode, SequenceNode

        self._values[path] = self.start(node)
        if isinstance(node, MappingNode):
            return self._guarded(node, path, self._mapping)
        if isinstance(node, SequenceNode):
            return self._guarded(node, path, self._sequence)
        return _scalar(node)

    def _guarded(self, node: Any, path: JsonPath, build: Any) -> Any:
        if id(node) in self._active:
            self._document.problems.append(
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

    def _mapping(self, node: Any, path: JsonPath) -> dict[str, Any]:
        from ruamel.yaml.nodes import ScalarNode

        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self._document.problems.append(
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
                self._document.problems.append(
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

    def _sequence(self, node: Any, path: JsonPath) -> list[Any]:
        return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]


_BOOLEANS = {"true": True, "false": False}
_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


def _scalar(node: Any) -> Any:
    tag = node.tag.rsplit(":", 1)[-1] if node.tag else "str"
    text: str = node.value
    if tag == "null":
        return None
    if tag == "bool":
        return _BOOLEANS.get(text.lower(), text)
    if tag == "int":
        # the YAML reader also takes 1_000 and 0b101 as integers; the core schema (and so
        # Tasker Core) keeps them as text
        if not _CORE_INT.match(text):
            return text
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
        return YamlFloat(float(text), text)
    # str, timestamp (Tasker Core has no timestamp type: it keeps the text), binary, custom tags
    return text


def iter_paths(data: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every (path, value) pair in a plain data tree, parents before children."""
    yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from iter_paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from iter_paths(value, (*path, index))


def content_hash(data: Any) -> str:
    """A hash of the template's content, independent of YAML formatting and comments."""
    canonical = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
