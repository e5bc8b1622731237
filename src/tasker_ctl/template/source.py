"""Reading template files: YAML text to plain data plus a map of source positions.

The YAML is composed into nodes (not constructed into objects) so that every key and value keeps
its line and column, duplicate keys can be reported instead of silently merged, and scalar types
follow the YAML 1.2 core schema that Tasker Core's loader uses. Problems with the file itself
(unreadable, binary, empty, syntax errors, several documents) become findings, never exceptions.

The reader is bounded (``limits``): it reads at most ``MAX_TEMPLATE_BYTES`` and composes through
``composer``, which stops at the first limit passed; that limit becomes the file's one finding.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tasker_ctl.errors import FileReadError, LimitExceeded
from tasker_ctl.template.composer import compose_documents
from tasker_ctl.template.extensions import without_extensions
from tasker_ctl.template.limits import MAX_TEMPLATE_BYTES
from tasker_ctl.template.tree import LINE_BREAK, TreeBuilder, within
from tasker_ctl.template.tree import JsonPath as JsonPath
from tasker_ctl.template.tree import Position as Position
from tasker_ctl.template.tree import SourceProblem as SourceProblem
from tasker_ctl.template.tree import YamlFloat as YamlFloat

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")  # \Z: "$" allows a final "\n"
_SNIFF_BYTES = 8192


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
            parts.append(f"['{escape_unsafe(escaped)}']")
    return "".join(parts)


UNSAFE_CHARACTER = re.compile(
    "[\x00-\x1f\x7f-\x9f\ud800-\udfff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
"""Control characters (C0, DEL, C1: NUL, tab, line breaks, escape), surrogates, line and
paragraph separators and bidirectional embeddings, overrides and isolates: none belongs in a
name, and text from a template shown in a terminal or an annotation must not carry them raw (an
escape sequence would act, a line break would split a finding, an override would make a name
read as another)."""


def escape_unsafe(text: str) -> str:
    """``text`` with every ``UNSAFE_CHARACTER`` written as a ``\\uXXXX`` escape."""
    return UNSAFE_CHARACTER.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


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


@dataclass
class SourceDocument:
    """One template file as plain data with positions, plus any problems reading it."""

    path: Path
    display_path: str
    data: Any = None
    positions: SourceMap = field(default_factory=SourceMap)
    problems: list[SourceProblem] = field(default_factory=list)
    # False when the reader stopped at a limit and the text it saw names neither 'steps' nor
    # 'namespace_name' at the start of a line: a large YAML file found in a directory (an API
    # description, data) is then skipped as it was before there were limits
    may_be_template: bool = True

    @property
    def usable(self) -> bool:
        """True when the file produced a mapping that the checks can look at."""
        return isinstance(self.data, dict)


def read_document(path: Path, display_path: str | None = None) -> SourceDocument:
    """Read and parse one file. Raises ``FileReadError`` only when the file cannot be read."""
    shown = display_path if display_path is not None else str(path)
    return parse_document(read_bytes(path, shown), path=path, display_path=shown)


def read_bytes(path: Path, display_path: str) -> bytes:
    """A template file's bytes, at most one more than ``MAX_TEMPLATE_BYTES`` (which tells a
    file at the limit from a longer one without reading the rest of a huge file, or of
    /dev/zero). Raises ``FileReadError`` when the file cannot be read."""
    try:
        with path.open("rb") as file:
            return file.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or exc.__class__.__name__
        raise FileReadError(f"cannot read '{display_path}': {reason}") from exc


def parse_document(raw: bytes | str, *, path: Path, display_path: str) -> SourceDocument:
    """Parse YAML bytes or text into a ``SourceDocument`` (never raises for bad content)."""
    document = SourceDocument(path=path, display_path=display_path)
    if _too_large(raw, document):
        return document
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


def _too_large(raw: bytes | str, document: SourceDocument) -> bool:
    # text has at most as many characters as its UTF-8 form has bytes: a str is measured by its
    # length first, and encoded only when that is within the limit
    if len(raw) <= MAX_TEMPLATE_BYTES and (
        isinstance(raw, bytes) or len(raw.encode("utf-8", "surrogatepass")) <= MAX_TEMPLATE_BYTES
    ):
        return False
    head = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
    document.may_be_template = _names_template_keys(head[:MAX_TEMPLATE_BYTES])
    document.problems.append(
        SourceProblem(
            "INPUT_TOO_LARGE",
            f"the file is larger than {MAX_TEMPLATE_BYTES // (1024 * 1024)} MiB "
            f"({MAX_TEMPLATE_BYTES:,} bytes); it was not read",
            "split the template; no workflow needs a file this large",
        )
    )
    return True


_TEMPLATE_KEY = re.compile(r"^(?:steps|namespace_name)[ \t]*:", re.MULTILINE)


def _names_template_keys(text: str) -> bool:
    return _TEMPLATE_KEY.search(text) is not None


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
    try:
        _compose_within_limits(text, document)
    except LimitExceeded as exc:
        document.data = None
        document.positions = SourceMap()
        document.may_be_template = _names_template_keys(text)
        lines = LINE_BREAK.split(text)
        position = within(lines, exc.position) if exc.position is not None else None
        document.problems.append(SourceProblem(exc.code, exc.message, exc.hint, position))


def _compose_within_limits(text: str, document: SourceDocument) -> None:
    from ruamel.yaml.error import MarkedYAMLError, YAMLError
    from ruamel.yaml.reader import ReaderError

    try:
        nodes = compose_documents(text)
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
            within(LINE_BREAK.split(text), (mark.line + 1, mark.column + 1))
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
        line = _separator_line(text, second.line + 1)
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
    positions = document.positions
    builder = TreeBuilder(text, positions.values, positions.keys, document.problems)
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
    lines = LINE_BREAK.split(text[: min(max(index, 0), len(text))])
    return (len(lines), len(lines[-1]) + 1)


def _separator_line(text: str, content_line: int) -> int:
    """The line of the ``---`` that opens the document whose content starts at
    ``content_line``: that marker is what the user has to remove."""
    lines = LINE_BREAK.split(text)
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
    """A hash of the template's content, independent of YAML formatting, comments and
    extension keys (``x-*``, see ``extensions``)."""
    canonical = json.dumps(
        without_extensions(data),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
