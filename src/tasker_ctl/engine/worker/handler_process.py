"""Handlers in their own process: a crash fails only the attempt, a timeout kills the handler.

Each ``Worker`` owns at most one handler process (``handler_child``), started with
multiprocessing's "spawn" context the first time an attempt needs it, and used for one
attempt at a time over a pipe. A process that crashes, segfaults or exits is reaped and
replaced by the next attempt; its attempt fails with ``handler_process_died`` and the real
cause (``signal 11 (SIGSEGV)``, ``exit code 3``). A handler still running at its step's
``timeout_seconds`` is killed with its process (SIGKILL), not abandoned. The process exits
when the worker closes it, and by itself when the worker process is gone.

Which attempts run here: every one of a worker with ``isolation="process"``, and those of
steps with ``isolation: process``; compositions always run in the worker.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import multiprocessing.util
import pickle
import signal
import threading
import time
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Literal

from tasker_ctl.engine.errors import HandlerDeadlineExceeded
from tasker_ctl.engine.worker.dispatch import Dispatch
from tasker_ctl.engine.worker.handler_child import ChildSetup, HandlerRequest, serve
from tasker_ctl.engine.worker.stored_outcome import NAME_LIMIT, stored_text
from tasker_ctl.errors import UsageError
from tasker_ctl.sdk.registry import HandlerRegistry
from tasker_ctl.sdk.types import StepHandlerResult
from tasker_ctl.template.model import StepDefinition

# the worker's logger: what happens to its handler process is the worker's news
logger = logging.getLogger("tasker_ctl.engine.worker")

Isolation = Literal["thread", "process"]
ISOLATION_MODES: tuple[Isolation, ...] = ("thread", "process")

# the longest a new handler process may take to import the handlers and say it is ready
STARTUP_SECONDS = 60.0
# how long a closed handler process may take to exit before it is killed
CLOSE_SECONDS = 5.0
# the largest reply read back from a handler process; a larger result is refused
MAX_REPLY_BYTES = 256 * 1024 * 1024


class HandlerProcess:
    """A worker's handler process: started on first use, replaced after a crash or timeout.

    Used from the worker's thread only. ``isolation`` is the worker's default mode.
    """

    def __init__(
        self,
        registry: HandlerRegistry,
        handlers: Iterable[str] = (),
        isolation: Isolation = "thread",
        *,
        name: str = "tasker-handlers",
    ) -> None:
        if isolation not in ISOLATION_MODES:
            raise UsageError(
                f"isolation must be 'thread' or 'process', not {isolation!r}",
                hint="'thread' runs handlers in the worker; 'process' in a process of their own",
            )
        self.registry = registry
        self.handlers = tuple(handlers)
        self.isolation = isolation
        self.name = name
        self._child: _Child | None = None

    def wanted_by(self, definition: StepDefinition) -> bool:
        """Whether an attempt of this step runs here (a composition never does)."""
        if definition.composition is not None:
            return False
        return self.isolation == "process" or definition.isolation == "process"

    @property
    def pid(self) -> int | None:
        """The running handler process's id, if one runs."""
        return None if self._child is None else self._child.pid

    def call(
        self,
        handler: str,
        method: str | None,
        dispatch: Dispatch,
        dependency_results: dict[str, Any],
        *,
        timeout: float | None = None,
        trace: dict[str, str] | None = None,
    ) -> StepHandlerResult:
        """Run one attempt's handler in the process and return its result (a failure saying
        why when the process died or the result could not come back); raises
        ``HandlerDeadlineExceeded`` when it ran past ``timeout`` seconds."""
        request = HandlerRequest(handler, method, dispatch, dependency_results, trace or {})
        try:
            payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # the dispatch is plain data; this is a defect, said plainly
            return _failure(
                f"the attempt of step '{_step_name(dispatch)}' cannot be sent to the handler "
                f"process: {type(error).__name__}: {error}",
                "invalid_dispatch",
                retryable=False,
            )
        child = self._child
        if child is not None and not child.alive():  # it died between attempts
            cause = child.reaped()[0]
            logger.warning(
                "handler process %s ended while idle (%s); starting another", child.pid, cause
            )
            child = self._child = None
        if child is None:
            try:
                child = self._child = _Child.start(self._setup(), self.name)
            except _StartFailed as failure:
                return _failure(
                    f"handler_process_start_failed: {failure}",
                    "handler_process_start_failed",
                    retryable=True,
                )
        try:
            child.connection.send_bytes(payload)
            reply = child.receive(None if timeout is None else time.monotonic() + timeout)
        except OSError:
            return self._died(child, dispatch, handler)
        except BaseException:  # interrupted mid-attempt: the process's reply would be stale
            self._discard(child)
            raise
        if reply is _TIMED_OUT:
            self._discard(child)
            raise HandlerDeadlineExceeded
        if reply is _DEAD:
            return self._died(child, dispatch, handler)
        if reply is _TOO_LARGE:
            self._discard(child)
            return _failure(
                f"the result of step '{_step_name(dispatch)}' is larger than the "
                f"{MAX_REPLY_BYTES:,} bytes a handler process may send back",
                "invalid_result",
                retryable=False,
            )
        return _result_of(reply, dispatch)

    def close(self) -> None:
        """Stop the handler process (it ends when its pipe closes; killed if it lingers)."""
        child, self._child = self._child, None
        if child is not None:
            child.stop()

    def _setup(self) -> ChildSetup:
        return ChildSetup.of(self.handlers, self.registry)

    def _discard(self, child: _Child) -> None:
        child.kill()
        if self._child is child:
            self._child = None

    def _died(self, child: _Child, dispatch: Dispatch, handler: str) -> StepHandlerResult:
        pid = child.pid
        cause, exit_code, signal_name = child.reaped()
        if self._child is child:
            self._child = None
        metadata: dict[str, Any] = {"pid": pid, "exit_code": exit_code, "signal": signal_name}
        return _failure(
            f"handler_process_died: {cause} while step '{_step_name(dispatch)}' ran handler "
            f"'{handler}' (process {pid})",
            "handler_process_died",
            retryable=True,
            metadata=metadata,
        )


def describe_exit(exit_code: int | None) -> tuple[str, str | None]:
    """How a process ended, for people (``signal 11 (SIGSEGV)``, ``exit code 3``), and the
    signal's name when a signal ended it."""
    if exit_code is None:
        return "it closed its pipe", None
    if exit_code >= 0:
        return f"exit code {exit_code}", None
    try:
        name = signal.Signals(-exit_code).name
    except ValueError:
        return f"signal {-exit_code}", None
    return f"signal {-exit_code} ({name})", name


def _step_name(dispatch: Dispatch) -> str:
    step = dispatch.task_sequence_step.get("workflow_step") or {}
    return str(step.get("name", "?"))


def _failure(
    message: str, error_type: str, *, retryable: bool, metadata: dict[str, Any] | None = None
) -> StepHandlerResult:
    return StepHandlerResult.failure(
        message, error_type=error_type, retryable=retryable, metadata=metadata
    )


def _result_of(reply: Any, dispatch: Dispatch) -> StepHandlerResult:
    name = _step_name(dispatch)
    try:
        kind, body = pickle.loads(reply)
        if kind == "result":
            return StepHandlerResult(**body)
    except Exception as error:  # a class the worker cannot import, a mutated result...
        return _failure(
            f"the result of step '{name}' cannot be read back from the handler process: "
            f"{type(error).__name__}: {error}",
            "invalid_result",
            retryable=False,
        )
    if kind == "not_a_result":  # worded as the executor words it for a thread
        return _failure(
            f"handler returned {stored_text(body, NAME_LIMIT)}, not a StepHandlerResult",
            "invalid_result",
            retryable=False,
        )
    return _failure(
        f"the result of step '{name}' cannot be sent from the handler process: {body}",
        "invalid_result",
        retryable=False,
    )


# receive() outcomes other than a reply's bytes
_TIMED_OUT, _DEAD, _TOO_LARGE = object(), object(), object()


# Beside its use, not in engine.errors: raised and caught inside this module only, where it
# becomes the handler_process_start_failed failure.
class _StartFailed(Exception):
    """A handler process could not be started or could not load the handlers."""


@dataclass(eq=False)
class _Child:
    process: BaseProcess
    connection: Connection
    pid: int | None = None
    released: bool = False

    @classmethod
    def start(cls, setup: ChildSetup, name: str) -> _Child:
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe(duplex=True)
        process = context.Process(target=serve, args=(theirs, setup), name=name, daemon=False)
        try:
            process.start()
        except Exception as error:  # no memory, no processes left, an unpicklable setup...
            ours.close()
            raise _StartFailed(f"{type(error).__name__}: {error}") from None
        finally:
            theirs.close()  # the child's end lives in the child: its death is our EOF
        child = cls(process, ours, process.pid)
        _LIVE.add(child)
        reply = child.receive(time.monotonic() + STARTUP_SECONDS)
        if not isinstance(reply, bytes):
            cause = "it did not start in time" if reply is _TIMED_OUT else child.reaped()[0]
            child.kill()
            raise _StartFailed(f"the handler process did not start: {cause}")
        try:
            kind, body = pickle.loads(reply)
        except Exception as error:
            kind, body = "broken", f"an unreadable first message ({error})"
        if kind != "ready":
            child.stop()
            raise _StartFailed(f"the handler process cannot load the handlers: {body}")
        return child

    def receive(self, deadline: float | None) -> Any:
        """The next reply's bytes, or _TIMED_OUT, _DEAD or _TOO_LARGE."""
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return _TIMED_OUT
            ready = wait([self.connection, self.process.sentinel], remaining)
            if self.connection in ready:
                try:
                    return self.connection.recv_bytes(MAX_REPLY_BYTES)
                except EOFError:
                    return _DEAD
                except OSError:  # "bad message length": more than we read
                    return _TOO_LARGE if self.process.is_alive() else _DEAD
            if ready:  # only the sentinel: the process ended without a reply
                return _DEAD

    def reaped(self) -> tuple[str, int | None, str | None]:
        """How the (ended) process ended: a description, its exit code and signal name."""
        self.process.join(CLOSE_SECONDS)
        exit_code = self.process.exitcode
        if exit_code is None:  # it closed its pipe but runs on: end it
            self.kill()
        cause, signal_name = describe_exit(exit_code)
        self._release()
        return cause, exit_code, signal_name

    def alive(self) -> bool:
        return not self.released and self.process.is_alive()

    def kill(self) -> None:
        if self.released:
            return
        if self.process.exitcode is None:
            self.process.kill()
        self.process.join()
        self._release()

    def stop(self) -> None:
        if self.released:
            return
        self.connection.close()  # end of file: the process returns from its loop
        self.process.join(CLOSE_SECONDS)
        self.kill()

    def _release(self) -> None:
        """Once the process has ended: close our end of the pipe and the process's handles
        (it is reaped already: no zombie is left)."""
        self.released = True
        self.connection.close()
        _LIVE.discard(self)
        with suppress(ValueError):
            self.process.close()


class _LiveChildren:
    """Every running handler process of this interpreter, killed when it exits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._children: list[_Child] = []

    def add(self, child: _Child) -> None:
        with self._lock:
            self._children.append(child)

    def discard(self, child: _Child) -> None:
        with self._lock:
            if child in self._children:
                self._children.remove(child)

    def kill_all(self) -> None:
        # at interpreter exit worker threads may still be inside an attempt; their handler
        # processes are killed rather than joined (multiprocessing would wait for them)
        with self._lock:
            children, self._children = self._children, []
        for child in children:
            with suppress(ValueError):  # closed by its worker meanwhile
                if child.process.exitcode is None:
                    child.process.kill()
                    child.process.join(CLOSE_SECONDS)


_LIVE = _LiveChildren()
# registered after multiprocessing.util's exit hook (imported above), which joins child
# processes: exit hooks run last first, so ours kills them before it waits
atexit.register(_LIVE.kill_all)
