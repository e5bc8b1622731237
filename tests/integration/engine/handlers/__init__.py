"""Handlers of the engine tests, and the in-process record of every call they receive.

Each handler calls ``record(context, ...)`` first, so a test sees every attempt that reached
a handler: which step, which attempt, the idempotency key, the dependency results it was
handed (unwrapped as ``get_dependency_result`` does), and the thread it ran on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from tasker_ctl.sdk.types import StepContext


@dataclass(frozen=True)
class Call:
    step: str
    attempt: int
    retry_count: int
    idempotency_key: str
    dependencies: dict[str, Any]
    inputs: dict[str, Any]
    thread: str
    started: float
    step_uuid: str = ""
    task_uuid: str = ""
    config: dict[str, Any] = field(default_factory=dict)


class Recorder:
    """Thread-safe list of calls; tests clear it before they start workers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []

    def add(self, call: Call) -> None:
        with self._lock:
            self._calls.append(call)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def of(self, step: str) -> list[Call]:
        return [call for call in self.calls if call.step == step]


CALLS = Recorder()


def record(context: StepContext) -> Call:
    step = context.event.task_sequence_step["workflow_step"]["name"]
    call = Call(
        step=step,
        attempt=context.retry_count + 1,
        retry_count=context.retry_count,
        idempotency_key=context.idempotency_key,
        dependencies={
            name: context.get_dependency_result(name)
            for name in context.get_dependency_result_keys()
        },
        inputs=dict(context.input_data),
        thread=threading.current_thread().name,
        started=time.monotonic(),
        step_uuid=str(context.step_uuid),
        task_uuid=str(context.task_uuid),
        config=dict(context.step_config),
    )
    CALLS.add(call)
    return call
