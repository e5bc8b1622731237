"""The orchestrator on PostgreSQL: store, migrations, state machines, claiming, workers.

Kept import-light: importing ``tasker_ctl.engine`` loads nothing; psycopg is imported only by
``tasker_ctl.engine.store``.
"""

from __future__ import annotations
