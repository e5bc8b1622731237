"""The orchestrator on PostgreSQL: store, migrations, state machines, claiming, workers.

Kept import-light: importing ``tasker_ctl.engine`` loads nothing; psycopg is imported only by
``tasker_ctl.engine.store.connection``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tasker_ctl.engine.running import run_template

__all__ = ["run_template"]


def __getattr__(name: str) -> Any:
    # Lazily, so that importing the package stays cheap for commands that do not run tasks.
    if name == "run_template":
        from tasker_ctl.engine.running import run_template

        return run_template
    raise AttributeError(f"module 'tasker_ctl.engine' has no attribute {name!r}")
