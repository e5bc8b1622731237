"""What ``unstorable`` accepts, PostgreSQL stores as jsonb: accepted samples round-trip.

Samples come from the same strategy as the unit properties (NUL, surrogates, NaN, huge ints,
non-JSON types included): every value accepted goes through the real server as a jsonb
parameter, the way the engine stores results, and comes back equal to its JSON reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from psycopg.types.json import Jsonb

from tasker_ctl.storable import unstorable
from tests.unit.test_storable import ANY_VALUE, JSON_VALUES

pytestmark = pytest.mark.slow


@pytest.fixture
def connection(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as opened:
        yield opened


def stored(connection: psycopg.Connection[Any], value: Any) -> Any:
    """``value`` sent as the engine sends results (psycopg's Jsonb) and read back."""
    row = connection.execute("SELECT %s::jsonb", [Jsonb(value)]).fetchone()
    assert row is not None
    return row[0]


def same(back: Any, sent: Any) -> bool:
    """Equal as JSON: jsonb keeps numbers as decimals (1e16 comes back as an int)."""
    if isinstance(sent, dict):
        return (
            isinstance(back, dict)
            and back.keys() == sent.keys()
            and all(same(back[key], sent[key]) for key in sent)
        )
    if isinstance(sent, list):
        return (
            isinstance(back, list)
            and len(back) == len(sent)
            and all(same(b, s) for b, s in zip(back, sent, strict=True))
        )
    if isinstance(sent, float) and isinstance(back, int | float):
        return float(back) == sent
    return bool(back == sent) and type(back) is type(sent)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ANY_VALUE | JSON_VALUES)
def test_accepted_values_round_trip_through_jsonb(
    connection: psycopg.Connection[Any], value: Any
) -> None:
    if unstorable(value) is not None:
        return
    assert same(stored(connection, value), json.loads(json.dumps(value, allow_nan=False)))


@pytest.mark.parametrize(
    "value",
    [{"text": "a\x00b"}, {"text": "\ud800"}, {"ratio": float("nan")}],
    ids=["nul", "surrogate", "nan"],
)
def test_what_it_refuses_postgresql_refuses_too(
    connection: psycopg.Connection[Any], value: Any
) -> None:
    assert unstorable(value) is not None
    with pytest.raises(psycopg.DataError):
        stored(connection, value)
