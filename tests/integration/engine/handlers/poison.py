"""Poison pills: handlers whose outcome cannot be stored, or that abort the thread they run on.

Every handler records its call first (``record``), so a test sees which steps ran how often.
"""

from __future__ import annotations

import datetime
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import step_handler
from tests.integration.engine.handlers import record

# The marker a test's trigger refuses to store (a database-side refusal of one row).
REFUSED = "refuse_me"


@step_handler("poison.ok")
def ok(context: StepContext) -> dict[str, Any]:
    call = record(context)
    return {"step": call.step}


@step_handler("poison.datetime")
def returns_datetime(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"items": [{"when": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}]}


@step_handler("poison.system_exit")
def system_exit(context: StepContext) -> dict[str, Any]:
    record(context)
    raise SystemExit(0)


@step_handler("poison.refused_result")
def refused_result(context: StepContext) -> dict[str, Any]:
    record(context)
    return {REFUSED: True}


@step_handler("poison.refused_failure")
def refused_failure(context: StepContext) -> dict[str, Any]:
    record(context)
    raise PermanentError(f"this failure carries {REFUSED}")


@step_handler("poison.refused_checkpoint")
def refused_checkpoint(context: StepContext) -> StepHandlerResult:
    record(context)
    return StepHandlerResult.success(
        {"cursor": REFUSED, "items_processed": 1}, metadata={"checkpoint_yield": True}
    )
