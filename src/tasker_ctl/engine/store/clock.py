"""The engine's clock and the time windows commands take (``--since``).

Every time the engine compares against is ``tasker.now()``, which tests set through the
``tasker.fake_now`` setting: ``database_now`` reads it, and a relative window (``24h``) is
counted back from it rather than from this machine's clock.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from tasker_ctl.engine.errors import InvalidSinceError
from tasker_ctl.engine.store.connection import Store

__all__ = ["database_now", "parse_since", "window_start"]

_DURATION = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# a window counted back further than this would leave the calendar (before year 1)
_LONGEST_DURATION = timedelta(days=36500)


def database_now(store: Store) -> datetime:
    """The engine's time (``tasker.now()``)."""
    now = store.fetch_value("engine_now")
    if not isinstance(now, datetime):
        raise TypeError(f"tasker.now() returned {now!r}")
    return now


def parse_since(text: str, *, allow_all: bool = False) -> timedelta | datetime | None:
    """A window start as typed: a duration back from now (``30s``, ``90m``, ``24h``,
    ``1.5d``, ``2w``), an ISO-8601 date or time (UTC unless it has an offset), or, where
    ``allow_all``, ``all`` (None: no start)."""
    value = text.strip()
    if allow_all and value.lower() == "all":
        return None
    duration = _DURATION.match(value.lower())
    if duration is not None:
        seconds = float(duration["amount"]) * _UNIT_SECONDS[duration["unit"]]
        if seconds <= 0:
            raise InvalidSinceError(
                f"--since '{text}' is an empty window",
                hint="give a positive duration such as 90m, 24h or 7d",
            )
        if seconds > _LONGEST_DURATION.total_seconds():
            raise InvalidSinceError(
                f"--since '{text}' reaches back more than 100 years",
                hint="give a shorter duration, or a time such as 2026-03-01"
                + (", or 'all'" if allow_all else ""),
            )
        return timedelta(seconds=seconds)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidSinceError(
            f"--since '{text}' is neither a duration nor an ISO-8601 time",
            hint="write a duration (30s, 90m, 24h, 7d, 2w), a time such as "
            "2026-03-01T12:00:00Z or 2026-03-01" + (", or 'all'" if allow_all else ""),
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def window_start(store: Store, since: timedelta | datetime | None) -> datetime | None:
    """The start of a window: a duration is counted back from the engine's clock."""
    if not isinstance(since, timedelta):
        return since
    return database_now(store) - since
