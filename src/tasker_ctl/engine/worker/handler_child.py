"""The handler process: runs a worker's handlers, one attempt at a time, for its parent.

Started by ``handler_process.HandlerProcess`` with multiprocessing's "spawn" context (a fresh
interpreter: nothing of the worker's threads, locks or database connections comes along). It
loads the handlers the worker loaded, says it is ready, then answers each request on its pipe
with the handler's result as plain data. It exits when the pipe reaches end of file (the
worker closed it, or died) and, while a handler runs, as soon as the worker process is gone.

Messages are pickled tuples, child to parent: ``("ready", pid)``, ``("broken", why)`` when the
handlers cannot be loaded, then per request ``("result", fields)``, ``("not_a_result",
type name)`` or ``("unsendable", why)``. Nothing here touches the database.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.machinery
import inspect
import logging
import os
import pickle
import signal
import sys
import threading
from collections.abc import Awaitable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from types import ModuleType
from typing import Any

from tasker_ctl.engine.worker.dispatch import Dispatch, entry_point, step_context
from tasker_ctl.engine.worker.stored_outcome import aborted, failure_for
from tasker_ctl.sdk.registry import HandlerRegistry, as_handler_class
from tasker_ctl.sdk.step_handler.base import StepHandler
from tasker_ctl.sdk.types import StepHandlerResult

logger = logging.getLogger(__name__)

# the exit status of a handler process whose worker process went away mid-attempt
EXIT_ORPHANED = 70


@dataclass(frozen=True)
class RegisteredHandler:
    """One entry of the worker's registry: its key and where its class is defined."""

    key: str
    module: str
    file: str | None
    qualname: str


@dataclass(frozen=True)
class ChildSetup:
    """What a handler process loads: the ``--handlers`` locations (imported as the worker
    imported them), then the worker's registry entries (so that handlers registered by hand,
    under any key, resolve the same way)."""

    handlers: tuple[str, ...] = ()
    registered: tuple[RegisteredHandler, ...] = ()

    @classmethod
    def of(cls, handlers: tuple[str, ...], registry: HandlerRegistry) -> ChildSetup:
        return cls(handlers, registered_handlers(registry))


@dataclass(frozen=True)
class HandlerRequest:
    """One attempt for the handler process to run."""

    handler: str  # the step's handler.callable
    method: str | None
    dispatch: Dispatch
    dependency_results: dict[str, Any]  # every completed ancestor's result, in full
    trace: dict[str, str] = field(default_factory=dict)  # the attempt span's trace context


def handler_locations(specs: Iterable[str | ModuleType]) -> tuple[str, ...]:
    """``--handlers`` entries as a handler process can load them: strings as they are,
    modules by their importable name (by file when they were loaded from a path)."""
    found: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            found.append(spec)
        elif _importable(spec.__name__):
            found.append(spec.__name__)
        elif isinstance(getattr(spec, "__file__", None), str):
            found.append(spec.__file__)  # type: ignore[arg-type]
        # else: a module of the main script; its handlers arrive as registry entries
    return tuple(found)


def registered_handlers(registry: HandlerRegistry) -> tuple[RegisteredHandler, ...]:
    """The registry's entries, as a handler process can register them again."""
    entries = []
    for key in registry.list_handlers():
        cls = registry.get_handler_class(key)
        if cls is None:
            continue
        module = sys.modules.get(cls.__module__)
        file = getattr(module, "__file__", None)
        entries.append(
            RegisteredHandler(
                key, cls.__module__, file if isinstance(file, str) else None, cls.__qualname__
            )
        )
    return tuple(entries)


def _importable(name: str) -> bool:
    """Whether a fresh interpreter finds ``name`` on ``sys.path`` (a module loaded from a
    file under a name of its own is not)."""
    if name == "__main__":
        return False
    top = name.partition(".")[0]
    if top in sys.builtin_module_names:
        return True
    try:
        return importlib.machinery.PathFinder.find_spec(top, sys.path) is not None
    except (ImportError, ValueError):
        return False


def serve(connection: Connection, setup: ChildSetup) -> None:
    """The handler process's main function (the multiprocessing target)."""
    _ignore_stop_signals()
    _exit_with_parent()
    try:
        registry = load_registry(setup)
        _start_telemetry()
    except BaseException as error:  # an import runs arbitrary code; say what went wrong
        _send(connection, ("broken", _broken(error)))
        return
    _send(connection, ("ready", os.getpid()))
    while True:
        try:
            data = connection.recv_bytes()
        except (EOFError, OSError):  # the worker closed the pipe, or died
            return
        request = pickle.loads(data)
        connection.send_bytes(_encoded(run_request(registry, request)))


def _broken(error: BaseException) -> str:
    """Why the handlers did not load, with the hint that names the file and line at fault;
    with TASKER_DEBUG set the traceback goes to this process's standard error (the worker's)."""
    if os.environ.get("TASKER_DEBUG"):
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    hint = getattr(error, "hint", None)
    return f"{type(error).__name__}: {error}" + (f" ({hint})" if hint else "")


def load_registry(setup: ChildSetup) -> HandlerRegistry:
    from tasker_ctl.engine.worker.handler_loading import load_handlers

    registry = load_handlers(setup.handlers)
    for entry in setup.registered:
        cls = _handler_class(entry)
        if cls is None:
            if registry.is_registered(entry.key):
                continue  # the --handlers locations registered it already
            logger.warning(
                "handler %r (%s.%s) cannot be loaded in the handler process",
                entry.key,
                entry.module,
                entry.qualname,
            )
            continue
        registry.register(entry.key, cls)
        module = sys.modules.get(entry.module)
        if module is not None:  # dotted callables may name what it holds, as in the worker
            registry.add_handler_module(module)
    return registry


def run_request(registry: HandlerRegistry, request: HandlerRequest) -> tuple[str, Any]:
    """The reply to ``request``: the handler's result as plain fields, or why there is none."""
    try:
        handler = registry.resolve(request.handler)
        if handler is None:
            value: Any = StepHandlerResult.failure(
                registry.not_found_message(request.handler),
                error_type="handler_not_found",
                retryable=False,
            )
        else:
            value = _call(handler, request)
    except Exception as error:  # the handler's own failure, classified as in a thread
        value = failure_for(error)
    except BaseException as error:  # SystemExit and the like: the attempt's end, not ours
        value = aborted(error)
    if not isinstance(value, StepHandlerResult):
        return ("not_a_result", type(value).__name__)
    return ("result", result_fields(value))


def result_fields(result: StepHandlerResult) -> dict[str, Any]:
    return {
        "is_success": result.is_success,
        "result": result.result,
        "error_message": result.error_message,
        "error_type": result.error_type,
        "error_code": result.error_code,
        "retryable": result.retryable,
        "metadata": result.metadata,
    }


def _call(handler: StepHandler, request: HandlerRequest) -> Any:
    from tasker_ctl.telemetry.propagation import attached_trace

    context = step_context(request.dispatch, handler.name, request.dependency_results)
    call = entry_point(handler, request.method)
    with attached_trace(request.trace):  # spans the handler starts join the attempt's trace
        value = call(context)
        if inspect.isawaitable(value):
            value = asyncio.run(_awaited(value))
    return value


async def _awaited(value: Awaitable[Any]) -> Any:
    return await value


def _encoded(reply: tuple[str, Any]) -> bytes:
    """The reply pickled. Metadata members that cannot be pickled are left out and named in
    ``metadata["not_sent"]`` (the outcome still says what happened); a result that cannot
    be pickled is reported as such."""
    try:
        return _pickled(reply)
    except Exception as error:  # an object that cannot be pickled
        problem = f"{type(error).__name__}: {error}"
    kind, body = reply
    if kind == "result" and isinstance(body.get("metadata"), dict):
        metadata, left_out = {}, {}
        for key, value in body["metadata"].items():
            try:
                _pickled(value)
            except Exception as error:
                left_out[str(key)] = f"{type(error).__name__}: {error}"
            else:
                metadata[key] = value
        if left_out:
            try:
                return _pickled((kind, {**body, "metadata": {**metadata, "not_sent": left_out}}))
            except Exception as error:
                problem = f"{type(error).__name__}: {error}"
    return _pickled(("unsendable", problem))


def _pickled(value: Any) -> bytes:
    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


def _send(connection: Connection, message: tuple[str, Any]) -> None:
    with suppress(OSError):  # the worker is gone: nobody to tell
        connection.send_bytes(pickle.dumps(message))


def _handler_class(entry: RegisteredHandler) -> type[StepHandler] | None:
    module = sys.modules.get(entry.module)
    if module is None:
        try:
            module = importlib.import_module(entry.module)
        except Exception:
            if entry.file is None:
                return None
            from tasker_ctl.engine.worker.handler_loading import load_handlers

            # a file loaded by path gets the same module name here as in the worker
            try:
                load_handlers([entry.file], HandlerRegistry())
            except Exception:
                return None
            module = sys.modules.get(entry.module)
    value: Any = module
    for part in entry.qualname.split("."):
        value = getattr(value, part, None)
    return as_handler_class(value)


def _ignore_stop_signals() -> None:
    # Ctrl-C reaches the whole process group, and a supervisor may signal every process of
    # the service: the worker decides when its handler process stops (it lets the running
    # attempt finish on a graceful stop), never the signal.
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)


def _exit_with_parent() -> None:
    """Exit at once when the worker process is gone, even in the middle of a handler."""
    import multiprocessing

    parent = multiprocessing.parent_process()
    if parent is None:
        return
    sentinel = parent.sentinel

    def watch() -> None:
        wait([sentinel])  # ready when the worker process has exited
        os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="tasker-parent-watch", daemon=True).start()


def _start_telemetry() -> None:
    # the OTEL_* variables the worker read: spans a handler starts are exported from here
    from tasker_ctl.telemetry import current_telemetry

    try:
        current_telemetry()
    except Exception as error:  # the worker reported a bad configuration already
        logger.warning("telemetry is off in the handler process: %s", error)
