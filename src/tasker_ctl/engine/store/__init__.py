"""The database boundary: the connection, named queries, migrations, the clock, reconnecting.

The only part of tasker-ctl that imports psycopg (``connection``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.engine.store.clock import parse_since, window_start
    from tasker_ctl.engine.store.connection import Store, connect
    from tasker_ctl.engine.store.migrations import (
        Migration,
        MigrationStatus,
        load_migrations,
        migrate,
        migration_status,
        open_store,
    )

_EXPORTS = {
    "Store": "connection",
    "connect": "connection",
    "Migration": "migrations",
    "MigrationStatus": "migrations",
    "load_migrations": "migrations",
    "migrate": "migrations",
    "migration_status": "migrations",
    "open_store": "migrations",
    "parse_since": "clock",
    "window_start": "clock",
}
__all__ = [
    "Migration",
    "MigrationStatus",
    "Store",
    "connect",
    "load_migrations",
    "migrate",
    "migration_status",
    "open_store",
    "parse_since",
    "window_start",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
