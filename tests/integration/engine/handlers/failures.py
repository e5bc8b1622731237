"""Handlers that fail on purpose: retryable, permanent, slow, or with a bad result.

How often a flaky handler fails comes from its step's ``initialization`` (``fail_times``), so
one handler serves several templates; ``retry_count`` tells which attempt is running.
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.errors import PermanentError, RetryableError
from tasker_ctl.sdk.step_handler.functional import step_handler
from tests.integration.engine.handlers import CALLS, record

# Set at the end of a test so that handlers abandoned by a timeout stop sleeping.
RELEASE = threading.Event()
# Opened by a test to let ``ok.gated`` handlers finish.
GATE = threading.Event()


@step_handler("fail.flaky")
def flaky(context: StepContext) -> dict[str, Any]:
    call = record(context)
    if context.retry_count < context.get_config("fail_times"):
        raise RetryableError(f"attempt {call.attempt} failed", context={"attempt": call.attempt})
    return {"attempt": call.attempt, "idempotency_key": context.idempotency_key}


@step_handler("fail.retry_after")
def retry_after(context: StepContext) -> dict[str, Any]:
    record(context)
    if context.retry_count == 0:
        raise RetryableError("come back later", retry_after=context.get_config("seconds"))
    return {"ok": True}


@step_handler("fail.permanent")
def permanent(context: StepContext) -> dict[str, Any]:
    record(context)
    RELEASE.wait(context.get_config("delay") or 0)
    raise PermanentError("cannot ever work", error_code="BROKEN_FOR_GOOD")


@step_handler("fail.permanent_after")
def permanent_after(context: StepContext) -> dict[str, Any]:
    """Fails for good once the step named ``after`` has started (so that it is in flight)."""
    record(context)
    deadline = time.monotonic() + 10
    while not CALLS.of(context.get_config("after")) and time.monotonic() < deadline:
        time.sleep(0.005)
    raise PermanentError("failed while a sibling runs")


@step_handler("ok.gated")
def gated(context: StepContext) -> dict[str, Any]:
    record(context)
    GATE.wait(10)
    return {"gated": True}


class PermanentClassHandler(StepHandler):
    """Raises PermanentError out of ``call``: Tasker Core retries this (a defect); we do not."""

    handler_name = "fail.permanent_class"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        raise PermanentError("class handler gives up")


class RetryableClassHandler(StepHandler):
    handler_name = "fail.retryable_class"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        raise RetryableError("class handler wants another go")


class ReturnedFailureHandler(StepHandler):
    handler_name = "fail.returned"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        return self.failure("declined", error_type="business_rule", retryable=False)


@step_handler("fail.sleepy")
def sleepy(context: StepContext) -> dict[str, Any]:
    record(context)
    RELEASE.wait(context.get_config("seconds"))
    return {"slept": True}


@step_handler("fail.raises_timeout")
def raises_timeout(context: StepContext) -> dict[str, Any]:
    """Raises the builtin TimeoutError itself, well before its step's timeout."""
    record(context)
    raise TimeoutError("upstream timed out")


@step_handler("fail.bad_result")
def bad_result(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"total": "not a number", "items": [{"sku": "a", "quantity": -1}]}


@step_handler("ok.noop")
def noop(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"step": context.event.task_sequence_step["workflow_step"]["name"]}


@step_handler("ok.slow")
def slow(context: StepContext) -> dict[str, Any]:
    record(context)
    RELEASE.wait(context.get_config("seconds"))
    return {"slow": True}


@step_handler("ok.jitter")
def jitter(context: StepContext) -> dict[str, Any]:
    """Sleeps a few milliseconds so that workers interleave; records when it ended too."""
    call = record(context)
    RELEASE.wait(random.uniform(0, context.get_config("max_ms") or 5) / 1000)
    ENDED[(call.step, call.attempt)] = time.monotonic()
    return {"step": call.step}


# (step, attempt) -> when the handler returned
ENDED: dict[tuple[str, int], float] = {}
