"""Evaluation in pooled evaluator processes, with a preemptive time limit.

jq runs in separate processes so that a runaway expression can be stopped (the process is
killed at the deadline) and cannot exhaust the caller's memory (each process has an
address-space limit). Idle processes are kept for reuse; a thread takes one, uses it for one
evaluation and gives it back. A process that timed out, died or ran out of memory is
discarded, and the next evaluation starts a fresh one.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from typing import Any

from tasker_ctl.grammar.errors import (
    DeadlineExceeded,
    ExpressionError,
    ExpressionErrorKind,
    WorkerStopped,
)
from tasker_ctl.grammar.expressions._diagnostics import (
    EMPTY_MESSAGE,
    compile_error,
    runtime_error,
)
from tasker_ctl.grammar.expressions._lexer import lex
from tasker_ctl.grammar.expressions._model import ExpressionLimits
from tasker_ctl.grammar.expressions._process import WorkerProcess

_MAX_IDLE_PER_LIMIT = 4
_DEFAULT_LIMITS = ExpressionLimits()


class _Pool:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self._generation = 0
        self._idle: dict[int, list[WorkerProcess]] = {}
        self._live: set[WorkerProcess] = set()

    def _check_fork(self) -> None:
        # after fork the inherited processes belong to the parent: forget, do not kill them
        if os.getpid() != self._owner:
            self._owner = os.getpid()
            self._idle = {}
            self._live = set()

    def acquire(self, memory_mb: int) -> WorkerProcess:
        stale: list[WorkerProcess] = []
        try:
            with self._lock:
                self._check_fork()
                idle = self._idle.get(memory_mb, [])
                while idle:
                    worker = idle.pop()
                    if worker.alive():
                        return worker
                    stale.append(worker)
                    self._live.discard(worker)
                generation = self._generation
        finally:
            for worker in stale:
                worker.kill()
        try:
            worker = WorkerProcess(memory_mb)
        except (OSError, DeadlineExceeded, WorkerStopped) as exc:
            detail = str(exc) or type(exc).__name__
            raise ExpressionError(
                ExpressionErrorKind.EVALUATION,
                f"expression evaluator could not start: {detail}",
            ) from exc
        worker.generation = generation
        with self._lock:
            self._live.add(worker)
        return worker

    def release(self, worker: WorkerProcess) -> None:
        with self._lock:
            idle = self._idle.setdefault(worker.memory_mb, [])
            keep = (
                worker.generation == self._generation
                and worker in self._live
                and len(idle) < _MAX_IDLE_PER_LIMIT
                and worker.alive()
            )
            if keep:
                idle.append(worker)
                return
            self._live.discard(worker)
        worker.kill()

    def discard(self, worker: WorkerProcess) -> None:
        with self._lock:
            self._live.discard(worker)
        worker.kill()

    def shutdown(self) -> None:
        with self._lock:
            self._check_fork()
            workers = list(self._live)
            self._live.clear()
            self._idle.clear()
            self._generation += 1
        for worker in workers:
            worker.kill()

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(worker.pid for worker in self._live)


_pool = _Pool()


def shutdown_sandboxes() -> None:
    """Stop every evaluator process; evaluations still running fail. The next evaluation
    starts a fresh process. Registered with :mod:`atexit`."""
    _pool.shutdown()


atexit.register(shutdown_sandboxes)


def worker_pids() -> list[int]:
    """Process ids of the live evaluator processes (idle and busy)."""
    return _pool.pids()


def run(expression: str, value: Any, limits: ExpressionLimits | None, *, first: bool) -> list[Any]:
    limits = limits or _DEFAULT_LIMITS
    if not expression.strip():
        raise ExpressionError(ExpressionErrorKind.SYNTAX, EMPTY_MESSAGE)
    worker = _pool.acquire(limits.memory_mb)
    # starting the process is not the expression's time; serialising its input is
    deadline = time.monotonic() + limits.timeout_ms / 1000
    try:
        payload = _request(expression, value, limits, first=first)
    except ExpressionError:
        _pool.release(worker)
        raise
    released = False
    try:
        try:
            line = worker.exchange(payload, deadline)
        except DeadlineExceeded:
            raise ExpressionError(
                ExpressionErrorKind.TIMEOUT,
                f"the expression did not finish within {limits.timeout_ms} ms",
            ) from None
        except WorkerStopped as exc:
            raise ExpressionError(
                ExpressionErrorKind.EVALUATION, f"expression evaluator stopped: {exc}"
            ) from None
        reply = _parse_reply(line)
        if reply.get("stage") != "memory":
            _pool.release(worker)
            released = True
        return _outcome(reply, expression, limits)
    finally:
        if not released:
            _pool.discard(worker)


def _request(expression: str, value: Any, limits: ExpressionLimits, *, first: bool) -> bytes:
    try:
        value_text = json.dumps(value, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ExpressionError(
            ExpressionErrorKind.EVALUATION, f"the expression's input is not JSON: {exc}"
        ) from None
    header = json.dumps(
        {
            "expression": expression,
            "first": first,
            "max_outputs": limits.max_outputs,
            "max_output_bytes": limits.max_output_bytes,
            "timeout_ms": limits.timeout_ms,
        }
    )
    return header.encode("ascii") + b"\n" + value_text.encode("ascii") + b"\n"


def _parse_reply(line: bytes) -> dict[str, Any]:
    try:
        reply = json.loads(line)
    except ValueError:
        reply = None
    if not isinstance(reply, dict):
        raise ExpressionError(
            ExpressionErrorKind.EVALUATION, "expression evaluator sent an unreadable reply"
        )
    return reply


def _outcome(reply: dict[str, Any], expression: str, limits: ExpressionLimits) -> list[Any]:
    if reply.get("ok"):
        outputs = reply.get("outputs")
        return outputs if isinstance(outputs, list) else []
    stage = reply.get("stage")
    message = str(reply.get("message", ""))
    if stage == "compile":
        if not lex(expression).tokens:
            # only comments: jq points past the sandbox's prelude
            raise ExpressionError(ExpressionErrorKind.SYNTAX, EMPTY_MESSAGE)
        raise compile_error(message)
    if stage == "limit":
        kind = ExpressionErrorKind(str(reply.get("kind")))
        raise ExpressionError(kind, f"the expression produced {message}")
    if stage == "memory":
        raise ExpressionError(
            ExpressionErrorKind.EVALUATION,
            f"the expression ran out of memory (limit {limits.memory_mb} MB)",
        )
    raise runtime_error(message)
