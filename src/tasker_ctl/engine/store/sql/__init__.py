"""SQL shipped with tasker-ctl: ``migrations/NNNN_*.sql`` and named queries in ``queries/*.sql``.

``tasker_ctl.engine.store.queries`` loads the named queries; ``tasker_ctl.engine.store.migrations``
applies the migrations. SQL is written only in these ``.sql`` files.
"""

from __future__ import annotations
