"""Handlers of the handler isolation tests: ones that crash, exit, hang or cannot be sent back.

They run in handler processes (``isolation: process``), so they report what a test must see
through their results, or, for a handler that never returns, through a file named by the
step's ``initialization`` (``pid_file``). The module imports only tasker_ctl, so that it
loads both by module name and as a ``--handlers`` file.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler.functional import step_handler

# set by a module-level statement: a handler process has its own copy of it
LOADED_IN = os.getpid()


def _note_pid(context: StepContext) -> None:
    pid_file = context.get_config("pid_file")
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()), encoding="utf-8")


@step_handler("isolation.where")
def where(context: StepContext) -> dict[str, Any]:
    """Which process ran it, and what it was handed."""
    _note_pid(context)
    return {
        "pid": os.getpid(),
        "loaded_in": LOADED_IN,
        "ancestors": sorted(context.dependency_results),
        "inputs": dict(context.input_data),
        "retry_count": context.retry_count,
        "idempotency_key": context.idempotency_key,
        "handler_name": context.handler_name,
    }


@step_handler("isolation.traced")
def traced(context: StepContext) -> dict[str, Any]:
    """Starts a span of its own, as instrumented handler code does."""
    from opentelemetry import trace

    with trace.get_tracer("isolation-handlers").start_as_current_span("handler work"):
        return {"pid": os.getpid()}


@step_handler("isolation.segfault")
def segfault(context: StepContext) -> dict[str, Any]:
    _note_pid(context)
    ctypes.string_at(0)  # reads address 0: SIGSEGV
    return {}


@step_handler("isolation.exit")
def exit_now(context: StepContext) -> dict[str, Any]:
    _note_pid(context)
    os._exit(int(context.get_config("code") or 3))


@step_handler("isolation.hang")
def hang(context: StepContext) -> dict[str, Any]:
    """Writes its pid, then sleeps far past any timeout (and keeps its process busy)."""
    _note_pid(context)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.05)
    return {}


@step_handler("isolation.spin")
def spin(context: StepContext) -> dict[str, Any]:
    """CPU-bound work: ``rounds`` (initialization) iterations of integer arithmetic."""
    rounds = int(context.get_config("rounds") or 1_000_000)
    total = 0
    for i in range(rounds):
        total = (total + i * i) % 1_000_003
    return {"total": total, "pid": os.getpid()}


@step_handler("isolation.unpicklable")
def unpicklable(context: StepContext) -> StepHandlerResult:
    return StepHandlerResult.success({"ok": True, "lock": threading.Lock()})


class Declines(StepHandler):
    """A class handler whose exception escapes ``call``: the runner classifies it."""

    handler_name = "isolation.permanent"

    def call(self, context: StepContext) -> StepHandlerResult:
        raise PermanentError("the card was declined", error_code="CARD_DECLINED")


@step_handler("isolation.sleepy_async")
async def sleepy_async(context: StepContext) -> dict[str, Any]:
    await asyncio.sleep(0.01)
    return {"pid": os.getpid(), "async": True}


class NotAResult(StepHandler):
    handler_name = "isolation.not_a_result"

    def call(self, context: StepContext) -> Any:
        return {"plain": "dict"}


class Methods(StepHandler):
    """A class handler whose template names a method."""

    handler_name = "isolation.methods"

    def call(self, context: StepContext) -> StepHandlerResult:
        return StepHandlerResult.success({"method": "call"})

    def refund(self, context: StepContext) -> StepHandlerResult:
        return StepHandlerResult.success({"method": "refund", "pid": os.getpid()})
