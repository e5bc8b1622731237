"""What a template's resources may reach: ``validate`` reports it, the engine refuses it again.

No database here: every refusal happens before the engine opens a connection (an operations
object without a database would fail with "no database to write to" if it got that far).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tasker_ctl.engine.worker.composition_operations import EngineOperations
from tasker_ctl.grammar.errors import FailureKind, InvocationError
from tasker_ctl.grammar.reach import parse_base_url
from tasker_ctl.grammar.reach_rules import resource_reach
from tasker_ctl.template import validate_text
from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.diagnostics import Finding, Severity
from tasker_ctl.template.model import TaskTemplate
from tasker_ctl.trust import TrustPolicy

HEAD = "name: t\nnamespace_name: ns\nversion: 1.0.0\n"


def template(resources: str, *invocations: str) -> str:
    """A template with ``resources`` (YAML flow mappings, one per line) and one composition."""
    lines = [HEAD, "resources:\n"]
    lines += [f"  {line}\n" for line in resources.strip().splitlines()]
    lines += [
        "steps:\n",
        "  - name: a\n",
        '    handler: {callable: "grammar:a"}\n',
        "    composition:\n",
        "      outcome: {description: d, output_schema: {type: object}}\n",
        "      invocations:\n",
    ]
    lines += [f"        - {invocation}\n" for invocation in invocations]
    return "".join(lines)


def persist(resource: str) -> str:
    return (
        f"{{capability: persist, checkpoint: true, config: {{resource: {resource}, "
        "data: {expression: .context}, output: {type: object}}}"
    )


def found(text: str, code: str) -> list[Finding]:
    return [f for f in validate_text(text).findings if f.code == code]


def errors(text: str) -> list[str]:
    return [f.code for f in validate_text(text).findings if f.severity is Severity.ERROR]


def operations(resources: dict[str, Any], trust: TrustPolicy | None = None) -> EngineOperations:
    declared = TaskTemplate.model_validate(
        {"name": "t", "namespace_name": "n", "version": "1.0.0", "resources": resources}
    ).resources
    return EngineOperations(
        resources=declared, database_url=None, task_uuid=None, step_uuid=None, trust=trust
    )


def refused_persist(
    ops: EngineOperations, resource: str, entity: str, data: Any = None, **constraints: Any
) -> InvocationError:
    with pytest.raises(InvocationError) as raised:
        ops.persist(resource, entity, data or {"a": 1}, constraints, "k", invocation_index=0)
    assert not raised.value.retryable
    assert "no database" not in raised.value.message  # refused before reaching for one
    return raised.value


# -- persist: only declared tables, never a reserved schema ----------------------------------------


@pytest.mark.parametrize(
    ("schema", "table"),
    [
        ("tasker", "tasks"),
        ("tasker", "workflow_step_transitions"),
        ("tasker", "schema_migrations"),
        ("pg_catalog", "pg_authid"),
        ("information_schema", "tables"),
        ("pg_toast", "anything"),
        ("TASKER", "tasks"),
    ],
)
def test_a_reserved_schema_is_an_error_and_refused_at_run_time(schema: str, table: str) -> None:
    text = template(
        f"db: {{kind: postgres, schema: {schema}, tables: [{table}]}}",
        persist(f"{{ref: db, entity: {table}}}"),
    )
    [finding] = found(text, "PERSIST_RESERVED_SCHEMA")
    assert finding.severity is Severity.ERROR
    assert f"schema '{schema}'" in finding.message
    assert (finding.line, finding.column) == (5, 32)  # at the resource's schema
    assert errors(text) == ["PERSIST_RESERVED_SCHEMA"]
    ops = operations({"db": {"kind": "postgres", "schema": schema, "tables": [table]}})
    error = refused_persist(ops, "db", table, mode="delete", identity_keys=["a"])
    assert error.kind is FailureKind.CONFIG_VALIDATION
    assert "belongs to the engine or to PostgreSQL" in error.message
    assert error.details["refusal"] == "PERSIST_RESERVED_SCHEMA"


def test_an_undeclared_entity_is_an_error_and_refused_at_run_time() -> None:
    text = template(
        "db: {kind: postgres, schema: app, tables: [orders]}",
        persist("{ref: db, entity: users}"),
        persist("db"),
    )
    findings = found(text, "PERSIST_UNDECLARED_TABLE")
    assert [(f.line, f.column) for f in findings] == [(12, 88), (13, 70)]
    assert "resource 'db' does not declare entity 'users' (declared: 'orders')" in (
        findings[0].message
    )
    assert findings[0].hint is not None
    assert "resources.db.tables" in findings[0].hint
    ops = operations({"db": {"kind": "postgres", "schema": "app", "tables": ["orders"]}})
    error = refused_persist(ops, "db", "users")
    assert "does not declare entity 'users'" in error.message
    # before this change an undeclared entity was written as a table of the same name
    assert refused_persist(ops, "db", "db").details["refusal"] == "PERSIST_UNDECLARED_TABLE"


def test_a_resource_without_tables_declares_nothing() -> None:
    ops = operations({"db": {"kind": "postgres", "schema": "app"}})
    assert "(declared: none)" in refused_persist(ops, "db", "orders").message


@pytest.mark.parametrize("tables", ["[orders, lines]", "{orders: orders, order-lines: lines}"])
def test_declared_tables_in_either_form_are_clean(tables: str) -> None:
    entity = "lines" if tables.startswith("[") else "order-lines"
    text = template(
        f"db: {{kind: postgres, schema: app, tables: {tables}}}",
        persist("{ref: db, entity: orders}"),
        persist(f"{{ref: db, entity: {entity}}}"),
    )
    assert errors(text) == []
    assert not found(text, "RESOURCE_NOT_DECLARED")


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        ({"schema": "app", "tables": {"orders": "tasker.tasks"}}, "table name 'tasker.tasks'"),
        ({"schema": "app", "tables": ["orders\n"]}, "table name 'orders\n'"),
        ({"schema": "app\n", "tables": ["orders"]}, "schema name 'app\n'"),
        ({"schema": "app", "tables": {"orders": "x" * 64}}, "is not a plain SQL identifier"),
    ],
)
def test_names_that_are_not_plain_identifiers_are_refused(
    resource: dict[str, Any], words: str
) -> None:
    ops = operations({"db": {"kind": "postgres", **resource}})
    entity = next(iter(resource["tables"]))
    error = refused_persist(ops, "db", entity.strip())
    assert words in error.message
    assert error.details["refusal"] == "RESOURCE_INVALID"


def test_a_table_name_with_a_trailing_newline_is_a_finding() -> None:
    text = template(
        'db: {kind: postgres, schema: app, tables: ["orders\\n"]}',
        persist("{ref: db, entity: orders}"),
    )
    [finding] = found(text, "RESOURCE_INVALID")
    assert "not a plain SQL identifier" in finding.message


def test_the_operators_allow_list_narrows_what_the_template_declares() -> None:
    resources = {"db": {"kind": "postgres", "schema": "app", "tables": ["orders", "users"]}}
    ops = operations(resources, TrustPolicy(persist_tables=("app.orders",)))
    error = refused_persist(ops, "db", "users")
    assert "app.users is not in the operator's allow-list" in error.message
    assert error.hint is not None
    assert "--allow-table" in error.hint
    assert error.details["refusal"] == "PERSIST_TABLE_NOT_ALLOWED"
    # the allowed table gets as far as the database
    with pytest.raises(InvocationError, match="no database"):
        ops.persist("db", "orders", {"a": 1}, {}, "k", invocation_index=0)


@settings(max_examples=60, deadline=None)
@given(
    schema=st.sampled_from(["tasker", "information_schema", "pg_catalog"])
    | st.from_regex(r"pg_[a-z0-9_]{0,10}", fullmatch=True),
    upper=st.booleans(),
    table=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
    wide=st.booleans(),
)
def test_no_policy_makes_a_reserved_schema_writable(
    schema: str, upper: bool, table: str, wide: bool
) -> None:
    schema = schema.upper() if upper else schema
    trust = TrustPolicy(persist_tables=("app.*",), allow_private_network=True) if wide else None
    ops = operations({"db": {"kind": "postgres", "schema": schema, "tables": [table]}}, trust)
    error = refused_persist(ops, "db", table)
    assert error.details["refusal"] == "PERSIST_RESERVED_SCHEMA"


@settings(max_examples=60, deadline=None)
@given(
    declared=st.lists(st.from_regex(r"[a-z][a-z0-9_]{0,12}", fullmatch=True), max_size=4),
    entity=st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.\-/]{0,30}", fullmatch=True),
)
def test_only_declared_entities_reach_the_database(declared: list[str], entity: str) -> None:
    ops = operations({"db": {"kind": "postgres", "schema": "app", "tables": declared}})
    with pytest.raises(InvocationError) as raised:
        ops.persist("db", entity, {"a": 1}, {}, "k", invocation_index=0)
    reached_database = "no database" in raised.value.message
    assert reached_database is (entity in declared)


# -- resources of the wrong kind, undeclared resources ---------------------------------------------


def test_a_capability_addressing_another_kind_of_resource_is_refused() -> None:
    resources = (
        "api: {kind: http, base_url: 'https://api.example.com', allowed_hosts: [api.example.com]}"
    )
    text = template(resources, persist("api"))
    [finding] = found(text, "RESOURCE_KIND_MISMATCH")
    assert finding.message == "resource 'api' is an http resource; persist writes to postgres ones"
    ops = operations(
        {
            "api": {
                "kind": "http",
                "base_url": "https://api.example.com",
                "allowed_hosts": ["api.example.com"],
            },
            "db": {"kind": "postgres", "schema": "app", "tables": ["orders"]},
        }
    )
    assert "persist writes to postgres ones" in refused_persist(ops, "api", "api").message
    with pytest.raises(InvocationError, match="emit writes to outbox ones"):
        ops.emit("db", "order.placed", {}, {}, "k", invocation_index=0)
    with pytest.raises(InvocationError, match="acquire reads http ones"):
        ops.acquire("db", "orders", {}, {}, invocation_index=0)


def test_an_undeclared_resource_is_a_warning_and_events_needs_no_declaration() -> None:
    text = template(
        "db: {kind: postgres, schema: app, tables: [orders]}",
        persist("orders"),
        "{capability: emit, checkpoint: true, config: {event_name: a.b, payload: "
        "{expression: .prev}}}",
    )
    [warning] = found(text, "RESOURCE_NOT_DECLARED")
    assert warning.severity is Severity.WARNING
    assert "resource 'orders'" in warning.message
    assert warning.line == 12


def test_a_pattern_is_checked_through_its_expansion() -> None:
    text = (
        HEAD
        + "resources:\n  db: {kind: postgres, schema: app, tables: [orders]}\n"
        + "steps:\n  - name: a\n    handler: {callable: 'grammar:a'}\n    composition:\n"
        + "      pattern: transform_and_persist\n"
        + "      config:\n"
        + "        filter: '{id: .context.id}'\n"
        + "        output: {type: object, properties: {id: {type: string}}}\n"
        + "        resource: {ref: db, entity: users}\n"
    )
    [finding] = found(text, "PERSIST_UNDECLARED_TABLE")
    assert finding.line == 10  # the pattern's name


# -- http resources: the base URL's host must be allowed -------------------------------------------


def test_a_base_url_host_outside_allowed_hosts_is_an_error() -> None:
    text = template(
        "api: {kind: http, base_url: 'https://API.example.com/v1'}",
        "{capability: acquire, config: {resource: {ref: api, entity: orders}}}",
    )
    [finding] = found(text, "ACQUIRE_HOST_NOT_ALLOWED")
    assert finding.message == (
        "resource 'api': acquire reaches only allowed_hosts; add 'api.example.com'"
    )
    assert (finding.line, finding.column) == (5, 31)
    allowed = text.replace("/v1'}", "/v1', allowed_hosts: [api.example.COM.]}")
    assert found(allowed, "ACQUIRE_HOST_NOT_ALLOWED") == []


@pytest.mark.parametrize(
    ("resource", "words"),
    [
        ({"base_url": "ftp://files.example.com"}, "must start with http:// or https://"),
        ({"base_url": "https://"}, "has no host"),
        ({"base_url": "https://user:pw@api.example.com"}, "carries credentials"),
        ({"base_url": "https://api.example.com/?key=1"}, "has a query or fragment"),
        ({"base_url": "http://127.0.0.1:99999"}, "is not a URL"),
        ({"base_url": "http://exa mple.com"}, "whitespace"),
        ({"base_url": "http://[::1"}, "is not a URL"),
        ({"base_url": "http://" + "a" * 70 + ".com"}, "not valid"),
        ({"headers": {"Host": "internal.example"}}, "set by the engine itself"),
        ({"headers": {"X-Trace": "a\r\nX-Injected: 1"}}, "line breaks"),
        ({"headers": {"Bad Header": "x"}}, "not a valid header name"),
        ({"headers_from_env": {"Authorization": "NOT-A-NAME"}}, "not a variable name"),
    ],
)
def test_an_http_resource_the_engine_cannot_use_is_refused(
    resource: dict[str, Any], words: str
) -> None:
    declared = {
        "kind": "http",
        "base_url": "https://api.example.com",
        "allowed_hosts": ["api.example.com"],
        **resource,
    }
    ops = operations({"api": declared})
    with pytest.raises(InvocationError) as raised:
        ops.acquire("api", "orders", {}, {}, invocation_index=0)
    assert words in raised.value.message
    assert not raised.value.retryable
    assert raised.value.details["refusal"] in ("RESOURCE_INVALID", "ACQUIRE_HOST_NOT_ALLOWED")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60) | st.from_regex(r"https?://[^/]{0,20}(/.{0,10})?", fullmatch=True))
def test_any_base_url_parses_or_says_why(url: str) -> None:
    parsed = parse_base_url(url)
    if isinstance(parsed, str):
        assert parsed
    else:
        assert parsed.scheme in ("http", "https")
        assert parsed.host
        assert 0 <= parsed.port <= 65535


_SCALARS = st.none() | st.booleans() | st.integers() | st.text(max_size=12)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3)
    ),
    max_leaves=12,
)
_RESOURCE = st.fixed_dictionaries(
    {"kind": st.sampled_from(["http", "postgres", "outbox", "other"])},
    optional={
        "schema": _SCALARS,
        "tables": _JSON,
        "base_url": _SCALARS,
        "allowed_hosts": _JSON,
        "headers": _JSON,
        "headers_from_env": _JSON,
    },
)
_USE = st.fixed_dictionaries(
    {"capability": st.sampled_from(["acquire", "persist", "emit", "transform"])},
    optional={"config": st.fixed_dictionaries({}, optional={"resource": _JSON | st.text()})},
)


@settings(max_examples=150, deadline=None)
@given(
    resources=st.dictionaries(st.text(max_size=6) | st.integers(), _RESOURCE | _JSON, max_size=3),
    invocations=st.lists(_USE | _JSON, max_size=4),
)
def test_any_resources_and_uses_give_findings_not_errors(
    resources: dict[Any, Any], invocations: list[Any]
) -> None:
    step = {"name": "a", "composition": {"invocations": invocations}}
    for issue in resource_reach(RuleContext({"resources": resources, "steps": [step]})):
        assert issue.code in BY_CODE
        assert issue.message
