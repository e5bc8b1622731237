"""Self-contained schemas: a ``$ref`` resolves inside its document or to a registered schema,
and nothing is ever fetched, from the network or from files.

Every place that applies a template's schema is covered: the contract checks of the engine and
the SDK (``sdk.contracts``), the grammar's schema checks (``capabilities._support``), the
example builder of code generation, and the static check ``validate`` runs
(``schema_refs.ref_problems``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.codegen.errors import CodegenError
from tasker_ctl.codegen.examples import ExampleBuilder
from tasker_ctl.grammar.capabilities._support import check_output, schema_problems
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.schema_refs import RefProblem, ref_problems
from tasker_ctl.sdk.contracts import (
    SchemaRefError,
    SchemaUnusableError,
    compile_schema,
    register_schema,
    unregister_schema,
    violations,
)
from tasker_ctl.template import validate_text
from tests.counting_server import CountingServer, counting_server

SECRET = "TOPSECRET-7f3a9c"


@pytest.fixture(scope="module")
def server() -> Iterator[CountingServer]:
    with counting_server() as running:
        yield running


@pytest.fixture
def secret_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A JSON schema, a JSON string and a non-JSON file holding the secret, in the working
    directory (relative references would be read from there)."""
    (tmp_path / "secret.json").write_text(json.dumps({"const": SECRET}), encoding="utf-8")
    (tmp_path / "string.json").write_text(json.dumps(SECRET), encoding="utf-8")
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _outside_refs(server: CountingServer, files: Path) -> list[str]:
    return [
        f"{server.url}/schema.json",
        f"{server.url}/schema.json#/properties",
        f"file://{files / 'secret.json'}",
        f"file://{files / 'string.json'}",
        f"file://{files / 'secret.txt'}",
        "secret.json",
        "./secret.txt#/x",
    ]


def _placements(ref: str) -> list[dict[str, Any]]:
    """The same reference at the root, under a property, in a combinator and in a definition
    reached through a local reference."""
    return [
        {"$ref": ref},
        {"type": "object", "properties": {"a": {"$ref": ref}}},
        {"allOf": [{"type": "object"}, {"$ref": ref}]},
        {"$defs": {"x": {"$ref": ref}}, "properties": {"a": {"$ref": "#/$defs/x"}}},
        # a subschema's $id makes a relative reference point elsewhere
        {"properties": {"a": {"$id": f"{ref}-base/", "$ref": "child.json"}}},
    ]


def test_contracts_never_fetch_and_name_the_reference(
    server: CountingServer, secret_files: Path
) -> None:
    for ref in _outside_refs(server, secret_files):
        for schema in _placements(ref):
            with pytest.raises(SchemaRefError) as caught:
                violations({"a": 1}, schema)
            error = caught.value
            assert error.code == "SCHEMA_REF_UNRESOLVABLE"
            assert error.hint is not None
            assert "#/$defs/NAME" in error.hint
            assert SECRET not in str(error)
            assert "$ref" in str(error)
    assert server.count == 0


def test_a_compiled_check_raises_the_coded_error_for_every_value(server: CountingServer) -> None:
    check = compile_schema({"type": "object", "properties": {"a": {"$ref": server.url}}})
    assert check is not None
    for value in ({}, {"a": 1}, [], None):
        with pytest.raises(SchemaRefError, match=r"127\.0\.0\.1"):
            check(value)
    assert server.count == 0


@pytest.mark.parametrize(
    "schema",
    [
        {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}},
        {
            "definitions": {"n": {"type": "integer"}},
            "properties": {"a": {"$ref": "#/definitions/n"}},
        },
        {"properties": {"a": {"type": "integer"}, "b": {"$ref": "#/properties/a"}}},
        {
            "$defs": {"n": {"$anchor": "num", "type": "integer"}},
            "properties": {"a": {"$ref": "#num"}},
        },
        {
            "$id": "https://schemas.example/order.json",
            "$defs": {"n": {"$id": "number.json", "type": "integer"}},
            "properties": {"a": {"$ref": "number.json"}},
        },
        {
            "$defs": {"n": {"$id": "https://schemas.example/n.json", "type": "integer"}},
            "properties": {"a": {"$ref": "https://schemas.example/n.json"}},
        },
        {"type": "object", "properties": {"a": {"type": "integer"}, "tree": {"$ref": "#"}}},
    ],
)
def test_references_inside_the_document_resolve(schema: dict[str, Any]) -> None:
    assert violations({"a": 1}, schema) == []
    assert violations({"a": "x"}, schema) != []
    assert ref_problems(schema) == []


def test_registered_schemas_resolve_until_unregistered() -> None:
    uri = "https://schemas.example/registered/amount.json"
    schema = {"type": "object", "properties": {"a": {"$ref": uri}}}
    assert [problem.kind for problem in ref_problems(schema)] == ["external"]
    register_schema(uri, {"type": "integer", "minimum": 0})
    try:
        assert violations({"a": 3}, schema) == []
        assert violations({"a": -1}, schema) == ["$.a: -1 is less than the minimum of 0"]
        assert ref_problems(schema) == []
    finally:
        assert unregister_schema(uri) is True
    with pytest.raises(SchemaRefError):
        violations({"a": 3}, schema)
    assert unregister_schema(uri) is False


@pytest.mark.parametrize("uri", ["", "   ", "https://schemas.example/x.json#frag"])
def test_register_schema_refuses_unusable_uris(uri: str) -> None:
    with pytest.raises(ValueError, match="URI"):
        register_schema(uri, {"type": "string"})


def test_ref_problems_name_the_place_and_the_kind(server: CountingServer) -> None:
    schema = {
        "type": "object",
        "properties": {
            # a property called like a data keyword holds a schema like any other
            "default": {"$ref": f"{server.url}/a.json"},
            "b": {"items": [{"$ref": "#/$defs/missing"}]},
            "c": {"enum": [{"$ref": "not-a-reference-here.json"}]},
        },
        "$defs": {"d": {"$ref": "file:///etc/passwd"}},
    }
    assert sorted(ref_problems(schema), key=lambda p: p.path) == sorted(
        [
            RefProblem(("properties", "default", "$ref"), f"{server.url}/a.json", "external"),
            RefProblem(("properties", "b", "items", 0, "$ref"), "#/$defs/missing", "unresolved"),
            RefProblem(("$defs", "d", "$ref"), "file:///etc/passwd", "external"),
        ],
        key=lambda p: p.path,
    )
    assert server.count == 0


@pytest.mark.parametrize(
    "schema",
    [
        {"$defs": 5, "$ref": "#/$defs/x"},
        {"$id": 7, "properties": {"a": {"$ref": "#"}}},
        {"$schema": ["not", "a", "uri"], "$ref": "#/nowhere"},
        {"properties": {"a": {"$ref": "#/%%%/~9"}}},
        {"$ref": 42},
        True,
        [],
    ],
)
def test_ref_problems_never_raise_on_malformed_schemas(schema: Any) -> None:
    ref_problems(schema)


def test_grammar_checks_never_fetch(server: CountingServer, secret_files: Path) -> None:
    for ref in _outside_refs(server, secret_files):
        schema = {"type": "object", "properties": {"a": {"$ref": ref}}}
        with pytest.raises(ValueError, match=r"\$ref") as caught:
            schema_problems({"a": 1}, schema)
        assert SECRET not in str(caught.value)
        with pytest.raises(InvocationError) as failed:
            check_output({"a": 1}, schema, "config.output")
        assert failed.value.kind is FailureKind.CONFIG_VALIDATION
        assert ref.split("#")[0] in str(failed.value)
        assert SECRET not in str(failed.value)
    assert server.count == 0


def test_the_example_builder_never_fetches(server: CountingServer) -> None:
    document = {
        "$defs": {
            "Root": {
                "type": "object",
                "required": ["a"],
                "properties": {"a": {"$id": f"{server.url}/base/", "$ref": "#/$defs/Leaf"}},
            },
            "Leaf": {"type": "integer"},
        }
    }
    with pytest.raises(CodegenError) as caught:
        ExampleBuilder(document).example("#/$defs/Root")
    assert caught.value.code == "UNSUPPORTED_REF"
    assert "#/$defs/Leaf" in caught.value.message
    assert server.count == 0


_SCHEMES = st.sampled_from(["http://127.0.0.1:9/", "https://127.0.0.1:9/", "file:///", "", "./"])
_SEGMENT = st.text(alphabet="abcdefghij-_.", min_size=1, max_size=8).filter(
    lambda s: s not in (".", "..")
)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    scheme=_SCHEMES,
    segments=st.lists(_SEGMENT, min_size=1, max_size=3),
    fragment=st.sampled_from(["", "#", "#/properties", "#anchor"]),
    placement=st.integers(min_value=0, max_value=4),
)
def test_any_outside_reference_is_flagged_and_refused(
    scheme: str, segments: list[str], fragment: str, placement: int
) -> None:
    ref = scheme + "/".join(segments) + fragment
    schema = _placements(ref)[placement]
    kinds = {problem.kind for problem in ref_problems(schema)}
    assert kinds == {"external"}, (ref, schema)
    with pytest.raises(SchemaRefError):
        violations({"a": 1}, schema)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    names=st.lists(st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,8}", fullmatch=True), min_size=1),
    pick=st.integers(min_value=0),
    container=st.sampled_from(["$defs", "definitions"]),
)
def test_pointers_into_existing_definitions_are_never_flagged(
    names: list[str], pick: int, container: str
) -> None:
    target = names[pick % len(names)]
    schema = {
        container: {name: {"type": "integer"} for name in names},
        "properties": {"a": {"$ref": f"#/{container}/{target}"}},
    }
    assert ref_problems(schema) == []
    assert violations({"a": 1}, schema) == []


def test_a_registration_replaced_changes_what_the_schema_means() -> None:
    uri = "https://schemas.example/registered/code.json"
    schema = {"$ref": uri}
    register_schema(uri, {"type": "string"})
    try:
        assert violations("a", schema) == []
        register_schema(uri, {"type": "integer"})
        assert violations("a", schema) == ["$: 'a' is not of type 'integer'"]
    finally:
        unregister_schema(uri)


def test_validate_flags_references_in_pattern_configs(server: CountingServer) -> None:
    text = f"""\
name: t
namespace_name: ns
version: 1.0.0
steps:
  - name: fetch
    handler: {{callable: "grammar:fetch"}}
    composition:
      pattern: fetch_and_validate
      config:
        resource: orders
        filter: .prev
        schema: {{type: object, properties: {{a: {{$ref: "{server.url}/a.json"}}}}}}
        output: {{type: object, properties: {{b: {{$ref: "file:///etc/passwd"}}}}}}
"""
    found = [f for f in validate_text(text).findings if f.code == "EXTERNAL_SCHEMA_REF"]
    assert sorted(f.path for f in found) == [
        "$.steps[0].composition.config.output.properties.b['$ref']",
        "$.steps[0].composition.config.schema.properties.a['$ref']",
    ]
    assert all(f.line in (12, 13) for f in found)
    assert server.count == 0


def test_a_schema_that_cannot_be_applied_is_a_coded_error() -> None:
    # a malformed pattern used to escape as re.error (a crashed worker at run time)
    with pytest.raises(SchemaUnusableError) as caught:
        violations("x", {"type": "string", "pattern": "("})
    assert caught.value.code == "SCHEMA_UNUSABLE"
    assert "error" in caught.value.message
