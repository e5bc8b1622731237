"""Handlers of the operator tests: steps that stay broken until a test repairs their cause.

``BROKEN`` holds the names of the steps whose handler fails for good: a test puts a step in
it, lets the task block, takes it out (the cause is fixed) and then repairs the step.
"""

from __future__ import annotations

import threading
from typing import Any

from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext
from tests.integration.engine.handlers import record

BROKEN: set[str] = set()
_LOCK = threading.Lock()


def break_step(name: str) -> None:
    with _LOCK:
        BROKEN.add(name)


def fix_step(name: str) -> None:
    with _LOCK:
        BROKEN.discard(name)


@step_handler("repair.until_fixed")
def until_fixed(context: StepContext) -> dict[str, Any]:
    """Fails for good while its step is broken; then returns what it saw of its parents,
    and the step's ``initialization.returns`` (values its result_schema asks for)."""
    call = record(context)
    with _LOCK:
        broken = call.step in BROKEN
    if broken:
        raise PermanentError(f"step {call.step} is broken", error_code="BROKEN")
    extra = context.get_config("returns") or {}
    return {"step": call.step, "attempt": call.attempt, "seen": sorted(call.dependencies), **extra}
