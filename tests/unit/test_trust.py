"""The operator's trust policy: what it grants, how it is read, what it never grants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.errors import PolicyError
from tasker_ctl.trust import TrustPolicy, is_identifier, is_reserved_schema


def test_nothing_is_granted_by_default() -> None:
    policy = TrustPolicy.from_environment({})
    assert policy.persist_tables == ()
    assert policy.persist_role is None
    assert policy.env_allow == frozenset()
    assert not policy.allow_private_network


def test_the_environment_sets_every_grant() -> None:
    policy = TrustPolicy.from_environment(
        {
            "TASKER_PERSIST_TABLES": "app.orders, app.lines  billing.*",
            "TASKER_PERSIST_ROLE": "tasker_persist",
            "TASKER_ACQUIRE_ENV": "PAYMENTS_TOKEN,CRM_TOKEN",
            "TASKER_ACQUIRE_PRIVATE_NETWORK": "1",
            "TASKER_ACQUIRE_MAX_BYTES": "1024",
        }
    )
    assert policy.persist_tables == ("app.orders", "app.lines", "billing.*")
    assert policy.persist_role == "tasker_persist"
    assert policy.env_allow == {"PAYMENTS_TOKEN", "CRM_TOKEN"}
    assert policy.allow_private_network
    assert policy.max_response_bytes == 1024


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("TASKER_PERSIST_TABLES", "orders"),
        ("TASKER_PERSIST_TABLES", "tasker.tasks"),
        ("TASKER_PERSIST_TABLES", "pg_catalog.*"),
        ("TASKER_PERSIST_ROLE", "bad role"),
        ("TASKER_ACQUIRE_ENV", "NOT-A-NAME"),
        ("TASKER_ACQUIRE_PRIVATE_NETWORK", "maybe"),
        ("TASKER_ACQUIRE_MAX_BYTES", "-5"),
    ],
)
def test_a_malformed_policy_is_a_coded_error(variable: str, value: str) -> None:
    with pytest.raises(PolicyError) as raised:
        TrustPolicy.from_environment({variable: value})
    assert raised.value.code == "POLICY_INVALID"


@pytest.mark.parametrize(
    "schema", ["tasker", "TASKER", "pg_catalog", "pg_toast", "pg_temp_3", "information_schema"]
)
def test_reserved_schemas_are_never_writable(schema: str) -> None:
    assert is_reserved_schema(schema)
    wide = TrustPolicy(persist_tables=("app.*",))
    assert TrustPolicy().table_refusal(schema, "anything") is not None
    assert wide.table_refusal(schema, "anything") is not None


def test_the_allow_list_narrows_what_a_template_declares() -> None:
    policy = TrustPolicy(persist_tables=("app.orders", "billing.*"))
    assert policy.table_refusal("app", "orders") is None
    assert policy.table_refusal("billing", "invoices") is None
    assert policy.table_refusal("app", "users") is not None
    assert TrustPolicy().table_refusal("app", "users") is None


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1",
     "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1", "fd00::1"],
)  # fmt: skip
def test_private_addresses_need_the_operators_opt_in(address: str) -> None:
    assert TrustPolicy().address_refusal(address) is not None
    assert TrustPolicy(allow_private_network=True).address_refusal(address) is None


def test_public_addresses_are_reachable() -> None:
    assert TrustPolicy().address_refusal("93.184.216.34") is None
    assert TrustPolicy().address_refusal("2606:4700::1111") is None


def test_options_widen_the_environment() -> None:
    environment = TrustPolicy(
        persist_tables=("app.a",), env_allow=frozenset({"X"}), max_response_bytes=1024
    )
    merged = environment.with_grants(persist_tables=("app.b", "app.a"), allow_private_network=True)
    assert merged.persist_tables == ("app.a", "app.b")
    assert merged.env_allow == {"X"}
    assert merged.allow_private_network
    assert merged.max_response_bytes == 1024  # no option sets a cap: the environment's stays


def test_a_malformed_option_is_a_coded_error() -> None:
    with pytest.raises(PolicyError) as raised:
        TrustPolicy().with_grants(persist_tables=("tasker.tasks",))
    assert raised.value.code == "POLICY_INVALID"


@given(st.text(max_size=80))
def test_identifiers_are_plain_and_single_line(name: str) -> None:
    if is_identifier(name):
        assert "\n" not in name
        assert 1 <= len(name) <= 63
        assert name.replace("_", "a").isascii()
        assert name.replace("_", "a").isalnum()


def test_a_trailing_newline_is_not_an_identifier() -> None:
    assert not is_identifier("orders\n")
    assert is_identifier("orders")
