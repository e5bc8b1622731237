"""Options that take JSON (``JSON|@FILE``): inline text, ``@FILE`` or ``@-`` (standard input).

Every such option reads through ``bounded_json``: a file or standard input is read no further
than the size limit, and whatever the JSON holds that cannot be used (NaN, ``\\u0000``, a
5,000-digit integer, 5,000 levels of nesting) becomes the option's own coded error, exit 2,
before anything is written.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tasker_ctl.bounded_json import DEFAULT_LIMITS, JsonLimits, loads
from tasker_ctl.errors import FileReadError, JsonInputError, PathNotFoundError, TaskerError


def read_json_option(
    value: str, option: str, error: type[TaskerError], *, limits: JsonLimits = DEFAULT_LIMITS
) -> tuple[Any, str]:
    """The JSON value of ``option`` and where it came from (for messages).

    Raises ``error`` (the option's code) for JSON that cannot be used, ``PathNotFoundError``
    for a missing ``@FILE`` and ``FileReadError`` for one that cannot be read."""
    raw, source = _option_input(value, option, limits.max_bytes)
    try:
        return loads(raw, limits=limits), source
    except JsonInputError as problem:
        # "--context is not valid JSON: ...", "--context: $.a: NaN is not JSON; ..."
        joiner = " is " if problem.code == "JSON_SYNTAX" else ": "
        raise error(source + joiner + problem.message, hint=problem.hint) from None


YAML_SUFFIXES = (".yaml", ".yml")


def read_data_option(
    value: str, option: str, error: type[TaskerError], *, limits: JsonLimits = DEFAULT_LIMITS
) -> tuple[Any, str]:
    """``read_json_option``, and ``@FILE.yaml`` (or ``.yml``) read as YAML with the template
    reader's limits, its data then held to the same JSON limits (a fragment is written in
    YAML as often as in JSON)."""
    name = value[1:] if value.startswith("@") else ""
    if not name.endswith(YAML_SUFFIXES):
        return read_json_option(value, option, error, limits=limits)
    import json

    from tasker_ctl.template.source import read_document

    path = Path(name)
    if not path.is_file():
        raise PathNotFoundError(
            f"{option} file '{name}' does not exist",
            hint=f"write {option} @FILE with the path of a YAML or JSON file",
        )
    document = read_document(path, name)
    if document.problems:
        problem = document.problems[0]
        where = f":{problem.position[0]}:{problem.position[1]}" if problem.position else ""
        raise error(f"{option} {name}{where}: {problem.message}", hint="fix the file")
    source = f"{option} {name}"
    try:
        # through JSON text: what jsonb cannot store (.nan, .inf) is refused as it is in JSON
        return loads(json.dumps(document.data, allow_nan=True), limits=limits), source
    except JsonInputError as problem:
        raise error(source + ": " + problem.message, hint=problem.hint) from None


def _option_input(value: str, option: str, max_bytes: int) -> tuple[str | bytes, str]:
    """The option's text as given, or the bytes of its file or of standard input: one byte
    more than the limit at most, so that a larger input is refused without being read."""
    if not value.startswith("@"):
        return value, option
    name = value[1:]
    if name == "-":
        return sys.stdin.buffer.read(max_bytes + 1), f"{option} @- (standard input)"
    path = Path(name)
    if not path.is_file():
        raise PathNotFoundError(
            f"{option} file '{name}' does not exist",
            hint=f"write {option} @FILE with the path of a JSON file, or pass the JSON inline",
        )
    try:
        with path.open("rb") as file:
            return file.read(max_bytes + 1), f"{option} file '{name}'"
    except OSError as error:
        raise FileReadError(f"cannot read {option} file '{name}': {error}") from error
