"""The orchestrator on PostgreSQL: running templates, serving workers.

The engine's face. ``cli`` and ``report`` import only this package and the public
sub-packages ``store``, ``views``, ``operator`` and ``stats`` (and the module ``errors``);
``rules``, ``graph`` and ``worker`` are the engine's own (``tests/unit/test_engine_faces.py``
keeps it so). Every face is lazy: importing one loads nothing until a name is read, and
psycopg is imported only by ``tasker_ctl.engine.store.connection``.

Sub-packages, lowest first (each imports only those listed before it):

    store     the database boundary: connection, named queries, migrations, clock, reconnect
    rules     pure rules: states, retry delays, decisions, batches, budget accounting
    graph     creating and growing a task's graph: submission, growth, the budget ledger
    views     read models: task reports, inspection, lineage, budgets, listings, events
    operator  repairs, gates, staleness sweeps, the dead-letter queue
    stats     the dashboard figures and their alerts
    worker    claiming, running and recording attempts; heartbeats; handler processes
    running   (a module) run a template to a resting state; serve workers
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasker_ctl.lazy_exports import lazy_exports

if TYPE_CHECKING:
    from tasker_ctl.engine.graph.submission_preview import SubmissionPreview, preview_submission
    from tasker_ctl.engine.running import (
        StepFinished,
        WorkerStart,
        run_template,
        serve,
        show_task,
        submit_template,
    )

_EXPORTS = {
    "SubmissionPreview": "graph.submission_preview",
    "preview_submission": "graph.submission_preview",
    "StepFinished": "running",
    "WorkerStart": "running",
    "run_template": "running",
    "serve": "running",
    "show_task": "running",
    "submit_template": "running",
}
__all__ = [
    "StepFinished",
    "SubmissionPreview",
    "WorkerStart",
    "preview_submission",
    "run_template",
    "serve",
    "show_task",
    "submit_template",
]
__getattr__ = lazy_exports(__name__, _EXPORTS)
