"""Where the database is: the embedded PostgreSQL server and connection settings.

Nothing here imports psycopg; connections are opened by ``tasker_ctl.engine.store.connection``.
"""

from __future__ import annotations
