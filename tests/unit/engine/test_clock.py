"""``--since`` as every command reads it (``stats``, ``events``): a duration back from the
engine's clock, or a moment (UTC unless it has an offset); ``all`` only where allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from tasker_ctl.engine.errors import InvalidSinceError
from tasker_ctl.engine.store.clock import parse_since


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", timedelta(minutes=90)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("1.5d", timedelta(days=1.5)),
        ("2w", timedelta(weeks=2)),
        ("1W", timedelta(weeks=1)),
        ("30s", timedelta(seconds=30)),
        (" 24H ", timedelta(hours=24)),
        (" 5 m ", timedelta(minutes=5)),
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T12:30:00", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01T12:30:00Z", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (
            "2026-03-01T12:30:00+02:00",
            datetime(2026, 3, 1, 12, 30, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_since_is_a_duration_or_a_moment(text: str, expected: timedelta | datetime) -> None:
    assert parse_since(text) == expected
    assert parse_since(text, allow_all=True) == expected


def test_all_means_no_start_only_where_allowed() -> None:
    assert parse_since("all", allow_all=True) is None
    assert parse_since("ALL", allow_all=True) is None
    with pytest.raises(InvalidSinceError):
        parse_since("all")


@pytest.mark.parametrize(
    "text",
    [
        *["yesterday", "24", "10", "h", "-5m", "5 days", "5y", "0h", "ten minutes", "2026-13-01"],
        # longer than the calendar (or than a timedelta) reaches back: refused, not a crash
        *["", "99999999999w", "9999999d", "36501d", "9" * 400 + "s"],
    ],
)
def test_bad_since_values_are_coded_errors_naming_the_value(text: str) -> None:
    with pytest.raises(InvalidSinceError) as raised:
        parse_since(text)
    assert raised.value.code == "INVALID_SINCE"
    assert f"'{text}'" in raised.value.message
    assert raised.value.hint
