"""Named SQL queries: the file format, and that code and ``.sql`` files agree, both ways.

The cross-checks walk the AST of ``src/tasker_ctl`` for calls such as
``store.fetch_one("fetch_task", task_uuid=...)``: a constant first argument of ``execute``,
``execute_many``, ``fetch_one``, ``fetch_all``, ``fetch_value`` or ``get_query`` is a query
name. Every such name must be defined in ``engine/store/sql/queries/*.sql``, every defined query
must be used somewhere (no exceptions), and keyword arguments must match the placeholders.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tasker_ctl.engine.store.queries import (
    get_query,
    load_definitions,
    load_queries,
    parse_queries,
)
from tasker_ctl.errors import ExitCode, QueryFileError, UnknownQueryError

SOURCE_ROOT = Path(__file__).resolve().parents[2] / "src" / "tasker_ctl"
QUERY_METHODS = frozenset(
    {
        "execute",
        "execute_many",
        "execute_naming",
        "fetch_one",
        "fetch_all",
        "fetch_value",
        "fetch_all_composed",
        "get_query",
    }
)
_QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_PLACEHOLDER = re.compile(r"%\((\w+)\)[sb]")  # text or binary


@dataclass(frozen=True)
class CallSite:
    name: str
    location: str
    keywords: frozenset[str] | None  # None: parameters passed some other way


def _call_sites() -> list[CallSite]:
    sites: list[CallSite] = []
    for path in sorted(SOURCE_ROOT.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else None
            if isinstance(function, ast.Name):
                called = function.id
            first = node.args[0]
            if called not in QUERY_METHODS or not isinstance(first, ast.Constant):
                continue
            if not isinstance(first.value, str) or not _QUERY_NAME.match(first.value):
                continue
            names = [keyword.arg for keyword in node.keywords]
            plain = called in {"execute", "fetch_one", "fetch_all", "fetch_value"}
            keywords = (
                frozenset(n for n in names if n is not None)
                if plain and None not in names and len(node.args) == 1
                else None
            )
            where = f"{path.relative_to(SOURCE_ROOT.parent)}:{node.lineno}"
            sites.append(CallSite(first.value, where, keywords))
    return sites


def test_every_query_used_in_code_exists() -> None:
    defined = load_definitions()
    missing = [site for site in _call_sites() if site.name not in defined]
    report = "\n".join(f"  {site.name!r} used at {site.location}" for site in missing)
    if missing:
        pytest.fail(
            f"{len(missing)} query name(s) used in code but defined in no "
            f"src/tasker_ctl/engine/store/sql/queries/*.sql file:\n{report}",
            pytrace=False,
        )


def test_every_query_in_the_files_is_used() -> None:
    used = {site.name for site in _call_sites()}
    unused = [d for d in load_definitions().values() if d.name not in used]
    report = "\n".join(f"  {d.name!r} defined at {d.location}" for d in unused)
    if unused:
        pytest.fail(
            f"{len(unused)} query(ies) defined but never used in src/tasker_ctl "
            f"(remove them, or call them by a constant name):\n{report}",
            pytrace=False,
        )


def test_call_sites_pass_exactly_the_query_parameters() -> None:
    defined = load_definitions()
    wrong: list[str] = []
    for site in _call_sites():
        if site.keywords is None or site.name not in defined:
            continue
        expected = set(_PLACEHOLDER.findall(defined[site.name].sql))
        if site.keywords != expected:
            absent = sorted(expected - site.keywords)
            extra = sorted(site.keywords - expected)
            wrong.append(f"  {site.name!r} at {site.location}: missing {absent}, unknown {extra}")
    if wrong:
        pytest.fail(
            "call sites whose keywords differ from the query's placeholders:\n" + "\n".join(wrong),
            pytrace=False,
        )


def test_packaged_queries_use_named_placeholders_only() -> None:
    positional = []
    for definition in load_definitions().values():
        # with a parameter dict, a lone % is an error at run time; a literal one is %%
        leftover = _PLACEHOLDER.sub("", definition.sql).replace("%%", "")
        if "%" in leftover:
            positional.append(f"  {definition.name} at {definition.location}")
    if positional:
        pytest.fail(
            "queries with a '%' that is not %(name)s or %%:\n" + "\n".join(positional),
            pytrace=False,
        )


def test_loaded_once_as_strings() -> None:
    queries = load_queries()
    assert queries["fetch_server_version"].startswith("SELECT current_setting(")
    assert get_query("fetch_server_version") is queries["fetch_server_version"]


def test_block_format() -> None:
    text = (
        "-- The file's own header comment.\n"
        "\n"
        "-- name: fetch_task\n"
        "-- One task by id.\n"
        "-- Returns nothing for unknown ids.\n"
        "SELECT *\n"
        "-- an inline comment stays with the SQL\n"
        "FROM tasker.tasks WHERE id = %(id)s;\n"
        "\n"
        "--name:delete_task\n"
        "DELETE FROM tasker.tasks WHERE id = %(id)s;\n"
    )
    first, second = parse_queries(text, "tasks.sql")
    assert (first.name, first.line, first.location) == ("fetch_task", 3, "tasks.sql:3")
    assert first.description == "One task by id. Returns nothing for unknown ids."
    assert first.sql == (
        "SELECT *\n-- an inline comment stays with the SQL\nFROM tasker.tasks WHERE id = %(id)s;"
    )
    assert (second.name, second.description) == ("delete_task", "")
    assert second.sql == "DELETE FROM tasker.tasks WHERE id = %(id)s;"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("SELECT 1;\n-- name: fetch_one_row\nSELECT 1;\n", "SQL before the first"),
        ("-- name: fetch_nothing\n-- only a description\n\n", "has no SQL"),
        ("-- name: fetchTask\nSELECT 1;\n", "invalid query name 'fetchTask'"),
        ("-- name: fetch\nSELECT 1;\n", "invalid query name 'fetch'"),
        ("-- name: fetch-task\nSELECT 1;\n", "invalid query name"),
        ("-- name:\nSELECT 1;\n", "invalid query name ''"),
    ],
)
def test_malformed_files(text: str, message: str) -> None:
    with pytest.raises(QueryFileError, match=re.escape(message)) as caught:
        parse_queries(text, "bad.sql")
    assert caught.value.code == "QUERY_FILE_INVALID"
    assert caught.value.exit_code == ExitCode.INTERNAL


def test_duplicate_names_name_both_places(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text("-- name: fetch_task\nSELECT 1;\n", encoding="utf-8")
    (tmp_path / "b.sql").write_text(
        "-- header\n\n-- name: fetch_task\nSELECT 2;\n", encoding="utf-8"
    )
    with pytest.raises(QueryFileError) as caught:
        load_definitions(tmp_path)
    assert "'fetch_task' is defined twice: at a.sql:1 and at b.sql:3" in caught.value.message


def test_duplicate_within_one_file(tmp_path: Path) -> None:
    (tmp_path / "a.sql").write_text(
        "-- name: fetch_task\nSELECT 1;\n-- name: fetch_task\nSELECT 2;\n", encoding="utf-8"
    )
    with pytest.raises(QueryFileError, match=r"at a\.sql:1 and at a\.sql:3"):
        load_definitions(tmp_path)


def test_only_sql_files_are_read(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("-- name: not_a_query\n", encoding="utf-8")
    (tmp_path / "q.sql").write_text("-- name: fetch_task\nSELECT 1;\n", encoding="utf-8")
    assert list(load_definitions(tmp_path)) == ["fetch_task"]
    assert load_definitions(tmp_path / "absent") == {}


def test_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(UnknownQueryError) as caught:
        get_query("fetch_server_versoin")
    assert caught.value.code == "UNKNOWN_QUERY"
    assert caught.value.message == "no SQL query named 'fetch_server_versoin'"
    assert caught.value.hint is not None
    assert caught.value.hint.startswith("did you mean 'fetch_server_version'")


def test_unknown_name_without_close_match() -> None:
    with pytest.raises(UnknownQueryError) as caught:
        get_query("zzz_qqq")
    assert caught.value.hint is not None
    assert "engine/store/sql/queries" in caught.value.hint
