"""The handler of the database restart test. It runs in ``tasker-ctl worker`` and ``tasker-ctl
run`` processes (``--handlers`` names this file), and appends one line per call to the file
named by ``RESTART_CALLS`` (``step attempt pid``), so that the test can count how often each
step really ran, whatever the database says."""

from __future__ import annotations

import os
import time
from typing import Any

from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext

CALLS_ENV = "RESTART_CALLS"


@step_handler("restart.work")
def work(context: StepContext) -> dict[str, Any]:
    name = context.event.task_sequence_step["workflow_step"]["name"]
    # retry_count: the attempts before this one
    line = f"{name} {context.retry_count + 1} {os.getpid()}\n"
    # one write of a short line to a file opened for appending: lines never interleave
    with open(os.environ[CALLS_ENV], "a", encoding="utf-8") as calls:
        calls.write(line)
    time.sleep(float(context.get_config("seconds") or 0))
    return {"step": name}
