"""The database connection of the engine: the only module that imports psycopg.

A ``Store`` runs *named* queries (``tasker_ctl.engine.store.queries``) with keyword parameters
and returns rows as dicts. Outside a ``transaction()`` block every call commits on its own;
inside one, everything commits or rolls back together (nested blocks are savepoints).
psycopg errors leave this module only as coded ``DatabaseError``s (see ``translate_error``);
``connection_lost`` alone decides which of them mean that the database went away, and
``Store.reconnect`` replaces a lost connection.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any, LiteralString

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from tasker_ctl.db.settings import redacted
from tasker_ctl.engine.store.queries import get_query
from tasker_ctl.errors import (
    ConflictError,
    DatabaseConnectionLostError,
    DatabaseError,
    DatabaseUnavailableError,
    EngineStateError,
    EntityNotFoundError,
    InvalidTransitionError,
    QueryError,
    StaleAttemptError,
    TransactionConflictError,
)

Row = dict[str, Any]

# Wrap dicts and lists passed as JSON parameters in Json(...). It is psycopg's jsonb wrapper:
# our columns and function arguments are jsonb, and PostgreSQL does not convert a json
# argument to jsonb when it resolves a function call.
Json = Jsonb

# custom SQLSTATEs raised by our plpgsql functions (class TK); other TK codes -> EngineStateError
SQLSTATE_ERRORS: dict[str, type[DatabaseError]] = {
    "TK001": InvalidTransitionError,
    "TK002": StaleAttemptError,
    "TK003": EntityNotFoundError,
}
_UNAVAILABLE_CLASSES = ("08", "53", "57P", "58")
# The server went away, or does not take connections right now: class 08 (connection
# exception), admin_shutdown, crash_shutdown, cannot_connect_now (starting up or shutting
# down) and idle_session_timeout. Not 57P04 (the database was dropped: it will not come
# back) nor class 53 (resources: too many connections, disk full), which reconnecting does
# not cure.
_CONNECTION_LOST_STATES = ("08", "57P01", "57P02", "57P03", "57P05")
_QUERY_BUG_HINT = "this is probably a bug in tasker-ctl; rerun with TASKER_DEBUG=1 and report it"


@dataclass(frozen=True)
class Notification:
    """One NOTIFY received on a channel this store listens to."""

    channel: str
    payload: str
    pid: int


class Store:
    """Named queries over one psycopg connection (sync, dict rows).

    The connection must be in autocommit mode: a statement outside ``transaction()`` is then
    a transaction of its own, sent in one round trip, with no separate BEGIN and COMMIT that
    would hold the statement's row locks for two more round trips.
    """

    def __init__(
        self,
        connection: psycopg.Connection[Row],
        *,
        url: str | None = None,
        reopen: Callable[[], psycopg.Connection[Row]] | None = None,
    ) -> None:
        """``reopen`` opens a connection like ``connection`` for ``reconnect`` (default: one
        to ``url`` as ``connect`` opens it)."""
        if not connection.autocommit:
            raise ValueError("a Store needs a connection in autocommit mode")
        self._connection = connection
        self._url = url
        self._reopen = reopen
        self._channels: list[str] = []  # listened to: again after a reconnect

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = redacted(self._url) if self._url else "?"
        return f"<Store {where}{' closed' if self.closed else ''}>"

    @property
    def closed(self) -> bool:
        return self._connection.closed

    @property
    def in_transaction(self) -> bool:
        """True inside ``transaction()`` (or while an implicit statement runs)."""
        return self._connection.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        """Close the connection; an open transaction is lost, never committed."""
        self._connection.close()

    def reconnect(self) -> None:
        """Replace the connection with a new one to the same database, listening on the same
        channels. What the old one had not committed is lost (a lost connection's server
        rolls it back); notifications sent meanwhile are missed. Raises as ``connect``."""
        if self._reopen is None and self._url is None:
            raise RuntimeError("this store does not know its database: it cannot reconnect")
        with suppress(psycopg.Error):
            self._connection.close()
        if self._reopen is not None:
            try:
                connection = self._reopen()
            except psycopg.Error as error:
                raise translate_error(error, url=self._url) from error
        else:
            assert self._url is not None
            connection = _open_connection(self._url)
        self._connection = connection
        if self._channels:
            self._channel_command("LISTEN", tuple(self._channels))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit the block's statements together, or roll all back if it raises.

        After a failed statement the transaction accepts no more statements; to carry on after
        an expected error (a ``ConflictError``, say), run the statement in a nested block,
        which is a savepoint, and catch the error outside it.
        """
        with wrap_errors(url=self._url), self._connection.transaction():
            yield

    def execute(self, name: str, /, **params: Any) -> None:
        """Run the named query for its effect."""
        with wrap_errors(url=self._url):
            self._connection.execute(get_query(name), params)

    def execute_many(self, name: str, rows: Iterable[Mapping[str, Any]], /) -> None:
        """Run the named query once per parameter mapping, in one round of the protocol and
        one transaction."""
        with self._atomic(), self._connection.cursor() as cursor:
            cursor.executemany(get_query(name), rows)

    def fetch_one(self, name: str, /, **params: Any) -> Row | None:
        """The first row of the named query, or None when it returns no row."""
        with wrap_errors(url=self._url):
            return self._connection.execute(get_query(name), params).fetchone()

    def fetch_all(self, name: str, /, **params: Any) -> list[Row]:
        """Every row of the named query."""
        with wrap_errors(url=self._url):
            return self._connection.execute(get_query(name), params).fetchall()

    def fetch_value(self, name: str, /, **params: Any) -> Any:
        """The first column of the first row, or None when the query returns no row."""
        row = self.fetch_one(name, **params)
        return None if row is None else next(iter(row.values()), None)

    def execute_naming(self, name: str, /, **identifiers: str) -> None:
        """Run a named statement about objects named at run time (``CREATE DATABASE``, which
        takes no parameters): each ``{key}`` of the query is filled with the quoted identifier
        ``identifiers[key]``. Outside a transaction, as such statements must be."""
        statement = sql.SQL(get_query(name)).format(
            **{key: sql.Identifier(value) for key, value in identifiers.items()}
        )
        with wrap_errors(url=self._url):
            self._connection.execute(statement)

    def fetch_all_composed(
        self,
        name: str,
        /,
        *,
        table: tuple[str, str],
        columns: Sequence[str] = (),
        keys: Sequence[str] = (),
        values: Mapping[str, Any] | None = None,
    ) -> list[Row]:
        """Every row of a named query over a table known only at run time (a grammar
        ``persist``). The query's ``{table}``, ``{columns}``, ``{keys}``, ``{values}``,
        ``{assignments}``, ``{excluded}`` and ``{conditions}`` are filled with quoted
        identifiers and placeholders; every value is a bound parameter.
        """
        data = dict(values or {})
        slots = {name: sql.Placeholder(f"v{index}") for index, name in enumerate(data)}
        params = {f"v{index}": value for index, value in enumerate(data.values())}
        updated = [column for column in columns if column not in keys]

        def equal(items: Sequence[str], glue: LiteralString) -> sql.Composable:
            return sql.SQL(glue).join(
                sql.SQL("{} = {}").format(sql.Identifier(item), slots[item]) for item in items
            )

        statement = sql.SQL(get_query(name)).format(
            table=sql.Identifier(*table),
            columns=sql.SQL(", ").join(sql.Identifier(column) for column in columns),
            keys=sql.SQL(", ").join(sql.Identifier(key) for key in keys),
            values=sql.SQL(", ").join(slots[column] for column in columns),
            assignments=equal(updated, ", "),
            conditions=equal(keys, " AND "),
            excluded=sql.SQL(", ").join(
                sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(c), sql.Identifier(c))
                for c in updated
            ),
        )
        with wrap_errors(url=self._url):
            return self._connection.execute(statement, params).fetchall()

    def set_local_role(self, role: str | None) -> None:
        """Inside ``transaction()``, run what follows as ``role`` (``SET LOCAL ROLE``), with
        only its privileges; None returns to the session's own role (``RESET ROLE``)."""
        statement: sql.Composable
        if role is None:
            statement = sql.SQL("RESET ROLE")
        else:
            statement = sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role))
        with wrap_errors(url=self._url):
            self._connection.execute(statement)

    def execute_script(self, script: LiteralString) -> None:
        """Run SQL text holding several statements and no parameters (migration files), in
        one transaction."""
        with self._atomic():
            self._connection.execute(script)

    def server_version(self) -> str:
        """The server's version string, e.g. ``18.4``."""
        return str(self.fetch_value("fetch_server_version"))

    def listen(self, *channels: str) -> None:
        """Subscribe to channels; inside a transaction this takes effect when it commits."""
        # remembered first: a reconnect after this failed subscribes again
        self._channels += [channel for channel in channels if channel not in self._channels]
        self._channel_command("LISTEN", channels)

    def unlisten(self, *channels: str) -> None:
        """Unsubscribe from channels (all of them when none is given)."""
        if not channels:
            self._channels.clear()
            with wrap_errors(url=self._url):
                self._connection.execute(sql.SQL("UNLISTEN *"))
            return
        self._channels = [channel for channel in self._channels if channel not in channels]
        self._channel_command("UNLISTEN", channels)

    def notify(self, channel: str, payload: str = "") -> None:
        """Send a notification; inside a transaction it is delivered when that commits."""
        self.execute("notify_channel", channel=channel, payload=payload)

    def wait_for_notifications(self, timeout: float) -> list[Notification]:
        """Wait up to ``timeout`` seconds for notifications; [] when none came.

        Returns as soon as one arrives, with every other one already received. Notifications
        are delivered between transactions, so this must not be called inside one.
        """
        # (a closed connection is in no transaction: psycopg says it is closed, below)
        if not self.closed and self.in_transaction:
            raise RuntimeError("wait_for_notifications() cannot run inside a transaction")
        with wrap_errors(url=self._url):
            received = list(self._connection.notifies(timeout=timeout, stop_after=1))
        return [Notification(item.channel, item.payload, item.pid) for item in received]

    def _channel_command(self, command: LiteralString, channels: tuple[str, ...]) -> None:
        with wrap_errors(url=self._url):
            for channel in channels:
                # channel names are identifiers and cannot be bound as parameters
                statement = sql.SQL(command + " {}").format(sql.Identifier(channel))
                self._connection.execute(statement)

    def _atomic(self) -> AbstractContextManager[Any]:
        """Outside ``transaction()``, one transaction for everything the block sends."""
        if self.in_transaction:
            return wrap_errors(url=self._url)
        return _chain(wrap_errors(url=self._url), self._connection.transaction())


@contextmanager
def _chain(
    outer: AbstractContextManager[Any], inner: AbstractContextManager[Any]
) -> Iterator[None]:
    with outer, inner:
        yield


def connect(
    url: str,
    *,
    application_name: str = "tasker-ctl",
    connect_timeout: int = 10,
    unavailable_hint: str | None = None,
) -> Store:
    """Open a ``Store`` on ``url`` (a ``postgresql://`` URL or a keyword/value string).
    ``unavailable_hint`` is what ``DATABASE_UNAVAILABLE`` advises when the server cannot be
    reached (``DatabaseTarget.unavailable_hint``: it depends on where the URL came from)."""

    def reopen() -> psycopg.Connection[Row]:
        return _open_connection(url, application_name, connect_timeout, unavailable_hint)

    return Store(reopen(), url=url, reopen=reopen)


def _utc_session(url: str) -> str:
    """The session's server options, ``TimeZone=UTC`` last: every time read back, and every
    time the database writes as text (jsonb), is UTC whatever zone the server or the database
    is configured in. The URL's own options, else PGOPTIONS (which the keyword would
    replace), are kept."""
    given = conninfo_to_dict(url).get("options") or os.environ.get("PGOPTIONS", "")
    return f"{given} -c TimeZone=UTC".strip()


def _open_connection(
    url: str,
    application_name: str = "tasker-ctl",
    connect_timeout: int = 10,
    unavailable_hint: str | None = None,
) -> psycopg.Connection[Row]:
    try:
        return psycopg.connect(
            url,
            autocommit=True,
            row_factory=dict_row,
            application_name=application_name,
            connect_timeout=connect_timeout,
            options=_utc_session(url),
        )
    except psycopg.ProgrammingError:
        # libpq quotes pieces of a malformed string, which may include a password
        raise DatabaseUnavailableError(
            f"invalid database URL {redacted(url)}",
            hint="write it as postgresql://USER:PASSWORD@HOST:PORT/DBNAME",
        ) from None
    except psycopg.Error as error:
        raise translate_error(error, url=url, unavailable_hint=unavailable_hint) from error


def connection_lost(error: BaseException) -> bool:
    """Whether ``error`` (a psycopg error, or the ``DatabaseError`` it became) means that the
    database went away or does not take connections right now, so that reconnecting may
    cure it: the one place that decides (``translate_error`` asks it too).

    A psycopg ``OperationalError`` without a SQLSTATE comes from the client side: connection
    refused, the server closed the connection, a broken socket, the connection is closed.
    """
    if isinstance(error, DatabaseError):
        return isinstance(error, DatabaseConnectionLostError)
    if not isinstance(error, psycopg.OperationalError):
        return False
    state = error.sqlstate
    return state is None or state.startswith(_CONNECTION_LOST_STATES)


@contextmanager
def wrap_errors(*, url: str | None = None) -> Iterator[None]:
    """Re-raise psycopg errors as coded ``DatabaseError``s, chained to the original."""
    try:
        yield
    except psycopg.Error as error:
        raise translate_error(error, url=url) from error


def translate_error(
    error: psycopg.Error, *, url: str | None = None, unavailable_hint: str | None = None
) -> DatabaseError:
    """The coded error for a psycopg error, chosen by its SQLSTATE and class."""
    state = error.sqlstate
    diagnostic = error.diag
    # client-side libpq messages span lines ("...failed: refused\n\tIs the server running...")
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    message = diagnostic.message_primary or "; ".join(lines) or error.__class__.__name__
    fields: dict[str, Any] = {
        "sqlstate": state,
        "detail": diagnostic.message_detail,
        "hint": diagnostic.message_hint,
    }
    if state and state.startswith("TK"):
        return SQLSTATE_ERRORS.get(state, EngineStateError)(message, **fields)
    if isinstance(error, pg_errors.UniqueViolation):
        constraint = diagnostic.constraint_name
        return ConflictError(message, constraint=constraint, **fields)
    if state and state.startswith("40"):
        fields["hint"] = fields["hint"] or "another transaction got in the way; retry"
        return TransactionConflictError(message, **fields)
    if isinstance(error, psycopg.OperationalError) and (
        state is None or state.startswith(_UNAVAILABLE_CLASSES)
    ):
        where = f" ({redacted(url)})" if url else ""
        fields["hint"] = (
            fields["hint"]
            or unavailable_hint
            or "check that the database server is running and that its URL is right"
        )
        unavailable = (
            DatabaseConnectionLostError if connection_lost(error) else DatabaseUnavailableError
        )
        return unavailable(f"cannot use the database{where}: {message}", **fields)
    fields["hint"] = fields["hint"] or _QUERY_BUG_HINT
    return QueryError(message, **fields)
