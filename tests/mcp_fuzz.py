"""Argument sets for fuzzing the MCP tools: shaped by each tool's input schema, with values
chosen to hurt (paths out of the project, NUL, huge numbers, wrong types, unknown keys), and
the check every answer must pass: a document, or an error with a code, never a crash."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import strategies as st

from tasker_ctl.mcp.calls import CURSOR_ARGUMENT, Answer
from tasker_ctl.mcp.schemas import input_schema
from tasker_ctl.mcp.sizing import MAX_DOCUMENT_BYTES, size_of
from tasker_ctl.mcp.spec import ToolSpec

_CODE = re.compile(r"^[A-Z][A-Z0-9_]+$")

HURTFUL_TEXT = [
    "",
    " ",
    "latest",
    "../../etc/passwd",
    "/etc/passwd",
    "examples/linear/linear.yaml",
    "examples/approval/approval.yaml",
    "examples/planning/fragment.yaml",
    "examples",
    "tests/fixtures",
    "a\x00b",
    "x" * 5000,
    "' OR 1=1 --",
    "${context.amount}",
    "{{ 7 * 7 }}",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff",
    "é\u202e\ud7ff",
    "transform",
    "gate",
    "acquire",
    "pending",
    "1h",
    "-1",
    "NaN",
]
HURTFUL_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**63), 10**30]
_JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from(HURTFUL_NUMBERS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(HURTFUL_TEXT),
    st.lists(st.sampled_from(HURTFUL_TEXT), max_size=3),
    st.dictionaries(st.text(max_size=6), st.sampled_from(HURTFUL_TEXT), max_size=3),
)


def _resolve(schema: Any, defs: dict[str, Any]) -> dict[str, Any]:
    if isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        return dict(defs.get(schema["$ref"].rsplit("/", 1)[-1], {}))
    return schema if isinstance(schema, dict) else {}


def _rarely(common: st.SearchStrategy[Any], rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``common`` nine times in ten: most sets get past the schema and reach the tool."""
    return st.integers(0, 9).flatmap(lambda roll: rare if roll == 0 else common)


def value_for(
    schema: Any, defs: dict[str, Any], depth: int = 0, texts: tuple[str, ...] = ()
) -> st.SearchStrategy[Any]:
    """A value shaped like ``schema`` most of the time, anything hurtful otherwise."""
    return _rarely(_shaped(schema, defs, depth, texts), _JUNK)


def _shaped(
    schema: Any, defs: dict[str, Any], depth: int, texts: tuple[str, ...]
) -> st.SearchStrategy[Any]:
    schema = _resolve(schema, defs)
    if depth > 3:
        return _JUNK
    options: list[st.SearchStrategy[Any]] = []
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, []):
            options.append(_shaped(option, defs, depth + 1, texts))
    if "enum" in schema:
        options.append(st.sampled_from(schema["enum"]))
    if "const" in schema:
        options.append(st.just(schema["const"]))
    kind = schema.get("type")
    kinds = kind if isinstance(kind, list) else [kind]
    for each in kinds:
        if each == "string":
            longest = int(schema.get("maxLength", 60))
            options.append(
                st.one_of(
                    st.sampled_from([*HURTFUL_TEXT, *texts]),
                    st.text(max_size=min(longest, 30)),
                )
            )
        elif each in ("integer", "number"):
            low = int(schema.get("minimum", schema.get("exclusiveMinimum", -5)))
            high = int(schema.get("maximum", schema.get("exclusiveMaximum", 200)))
            options.append(
                _rarely(st.integers(low, max(low, high)), st.sampled_from(HURTFUL_NUMBERS))
            )
        elif each == "boolean":
            options.append(st.booleans())
        elif each == "null":
            options.append(st.none())
        elif each == "array":
            options.append(
                st.lists(value_for(schema.get("items", {}), defs, depth + 1, texts), max_size=4)
            )
        elif each == "object":
            options.append(arguments_for_schema(schema, defs, depth + 1, texts))
    return st.one_of(*options) if options else _JUNK


def arguments_for_schema(
    schema: dict[str, Any], defs: dict[str, Any], depth: int = 0, texts: tuple[str, ...] = ()
) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    if not properties:
        return st.dictionaries(st.text(max_size=8), _JUNK, max_size=3)
    required = set(schema.get("required", []))
    fields = {
        name: st.one_of(st.just(_ABSENT), value_for(sub, defs, depth, texts))
        if name not in required
        else value_for(sub, defs, depth, texts)
        for name, sub in properties.items()
    }
    extra = st.dictionaries(st.sampled_from(["bogus", "Path", "confirm "]), _JUNK, max_size=1)
    return st.builds(
        lambda chosen, more: {
            **{key: value for key, value in chosen.items() if value is not _ABSENT},
            **more,
        },
        st.fixed_dictionaries(fields),
        _rarely(st.just({}), extra),
    )


_ABSENT = object()


def arguments_for(spec: ToolSpec, texts: tuple[str, ...] = ()) -> st.SearchStrategy[dict[str, Any]]:
    """Argument sets for ``spec``; ``texts`` are strings worth trying besides the hurtful ones
    (the UUIDs of tasks that exist, their step names)."""
    schema = input_schema(spec, cursor=CURSOR_ARGUMENT)
    return arguments_for_schema(schema, schema.get("$defs", {}), 0, texts)


def check_answer(spec: ToolSpec, arguments: dict[str, Any], answer: Answer) -> None:
    """A document under the cap, or an error with a code: never a crash."""
    where = f"{spec.name}({json.dumps(arguments, default=str)[:300]})"
    document = answer.document
    json.dumps(document)
    if answer.is_error:
        error = document["error"]
        assert error["code"] != "INTERNAL_ERROR", where
        assert _CODE.match(error["code"]), where
        assert error["message"].strip(), where
    assert size_of(document) <= MAX_DOCUMENT_BYTES, where


def database_snapshot(url: str) -> dict[str, str]:
    """A digest of every row of every table of the ``tasker`` schema, to show that calls
    changed nothing."""
    import psycopg

    digests: dict[str, str] = {}
    with psycopg.connect(url, autocommit=True) as connection:
        tables = connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'tasker' ORDER BY tablename"
        ).fetchall()
        for (table,) in tables:
            row = connection.execute(
                psycopg.sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                    " FROM tasker.{} t"
                ).format(psycopg.sql.Identifier(table))
            ).fetchone()
            digests[str(table)] = f"{row[0]}:{row[1]}" if row else ""
    return digests
