"""Named SQL queries, read once from the ``.sql`` files of ``tasker_ctl/engine/store/sql/queries/``.

Each query is a block that starts with a ``-- name: verb_object`` line, then optional ``--``
description lines, then the SQL with ``%(param)s`` placeholders (a literal ``%`` is ``%%``);
``%(param)b`` sends a value in binary, which the queries do for arrays of many elements
(psycopg writes an array as text by escaping each element in turn)::

    -- name: fetch_server_version
    -- The server's version string.
    SELECT current_setting('server_version') AS server_version;

Lines before the first block may only be comments. Names are unique across all files.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import LiteralString, cast

from tasker_ctl.errors import QueryFileError, UnknownQueryError

_NAME_LINE = re.compile(r"^--\s*name:\s*(?P<name>.*?)\s*$")
_VALID_NAME = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+$")


@dataclass(frozen=True)
class QueryDefinition:
    """One named query and where it is written."""

    name: str
    description: str
    sql: LiteralString
    source: str
    line: int

    @property
    def location(self) -> str:
        return f"{self.source}:{self.line}"


def vouch(text: str) -> LiteralString:
    """Treat SQL read from our own files as a literal: we answer for it as for code."""
    # mypy reads LiteralString as str and calls the cast redundant; other checkers need it
    return cast(LiteralString, text)  # type: ignore[redundant-cast]


def packaged_queries_dir() -> Traversable:
    """The ``queries/`` directory shipped inside the package."""
    return files("tasker_ctl.engine.store.sql").joinpath("queries")


def parse_queries(text: str, source: str) -> list[QueryDefinition]:
    """Split one file into its named queries; ``source`` names the file in error messages."""
    definitions: list[QueryDefinition] = []
    current: tuple[str, int] | None = None
    description: list[str] = []
    body: list[str] = []
    in_description = False

    def finish() -> None:
        if current is None:
            return
        name, line = current
        sql = "\n".join(body).strip()
        if not sql:
            raise QueryFileError(
                f"query '{name}' at {source}:{line} has no SQL",
                hint="write the statement after the '-- name:' line, or remove the block",
            )
        definitions.append(QueryDefinition(name, " ".join(description), vouch(sql), source, line))

    for number, line in enumerate(text.splitlines(), start=1):
        match = _NAME_LINE.match(line)
        if match:
            finish()
            current = (_checked_name(match["name"], source, number), number)
            description, body, in_description = [], [], True
            continue
        if current is None:
            if line.strip() and not line.lstrip().startswith("--"):
                raise QueryFileError(
                    f"{source}:{number}: SQL before the first '-- name:' line",
                    hint="start every query with a line '-- name: verb_object'",
                )
            continue
        if in_description and line.startswith("--"):
            description.append(line[2:].strip())
            continue
        in_description = False
        body.append(line)
    finish()
    return definitions


def load_definitions(directory: Traversable | None = None) -> dict[str, QueryDefinition]:
    """Every query of every ``*.sql`` file in ``directory`` (default: the packaged one)."""
    root = directory if directory is not None else packaged_queries_dir()
    found: dict[str, QueryDefinition] = {}
    if not root.is_dir():
        return found
    for entry in sorted(root.iterdir(), key=lambda item: item.name):
        if not entry.name.endswith(".sql") or not entry.is_file():
            continue
        for definition in parse_queries(entry.read_text(encoding="utf-8"), entry.name):
            earlier = found.get(definition.name)
            if earlier is not None:
                raise QueryFileError(
                    f"query '{definition.name}' is defined twice: at {earlier.location} "
                    f"and at {definition.location}",
                    hint="rename or remove one of them; query names are global",
                )
            found[definition.name] = definition
    return found


@functools.cache
def _packaged_definitions() -> dict[str, QueryDefinition]:
    return load_definitions()


def load_queries() -> dict[str, LiteralString]:
    """The packaged queries by name (read once per process)."""
    return {name: definition.sql for name, definition in _packaged_definitions().items()}


def get_query(name: str) -> LiteralString:
    """The SQL of the packaged query ``name``; an unknown name suggests the closest ones."""
    definitions = _packaged_definitions()
    definition = definitions.get(name)
    if definition is None:
        raise unknown_query(name, definitions)
    return definition.sql


def unknown_query(name: str, known: dict[str, QueryDefinition]) -> UnknownQueryError:
    """The error for a query name that no file defines, with a did-you-mean hint."""
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if close:
        hint = "did you mean " + " or ".join(f"'{candidate}'" for candidate in close) + "?"
    else:
        hint = "add a '-- name: ...' block to a file in tasker_ctl/engine/store/sql/queries/"
    return UnknownQueryError(f"no SQL query named '{name}'", hint=hint)


def _checked_name(name: str, source: str, line: int) -> str:
    if not _VALID_NAME.match(name):
        raise QueryFileError(
            f"{source}:{line}: invalid query name {name!r}",
            hint="name queries verb_object in snake_case, e.g. 'fetch_task'",
        )
    return name
