"""Named points where a crash test may kill the worker: with ``TASKER_FAILPOINT=<name>`` in
its environment, a worker process that reaches the point sends itself SIGKILL there, so a test
can show what a death at exactly that point leaves behind (docs/planning.md, "Crash safety").
Unset, a point costs one dictionary lookup."""

from __future__ import annotations

import os
import signal

VARIABLE = "TASKER_FAILPOINT"

POINTS = (
    "planning.before_call",  # the attempt and its reservation are written; no call made
    "planning.after_answer",  # the answer and its verdict are written; nothing materialized
    "planning.materializing",  # the fill is written in the completion's open transaction
)


def failpoint(name: str) -> None:
    """Die here (SIGKILL, no cleanup) when ``TASKER_FAILPOINT`` names this point."""
    if os.environ.get(VARIABLE) == name:
        os.kill(os.getpid(), signal.SIGKILL)
