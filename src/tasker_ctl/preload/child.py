"""A command in a preloader's forked child: the process becomes the console script's twin, then
runs the command line as the console script would have.

The twin has the console script's working folder, environment, umask and standard streams
(the very descriptors, so that a terminal is a terminal, a pipe a pipe), its command line, and
signals at their start-up dispositions. It ends as a Python process ends: the exit code of
``SystemExit``, a traceback and 1 for what nothing caught, death by SIGINT for an uncaught
Ctrl-C; non-daemon threads are waited for, ``atexit`` callbacks run, the streams flushed.
When the console script goes away (killed, its terminal closed) the child gets SIGHUP, as a
command in a closed terminal does.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import io
import os
import signal
import socket
import sys
import threading
import time
import traceback
from typing import Any, NoReturn

from tasker_ctl.preload.wire import Request, reply

# the signals the preloader handles itself, and what a new Python process starts with
_START_DISPOSITIONS = (
    (signal.SIGINT, signal.default_int_handler),
    (signal.SIGTERM, signal.SIG_DFL),
    (signal.SIGHUP, signal.SIG_DFL),
    (signal.SIGCHLD, signal.SIG_DFL),
)
# Python's exit code when flushing standard output fails at exit (a closed pipe)
_FLUSH_FAILED = 120


def run_in_child(request: Request, descriptors: list[int], connection: socket.socket) -> NoReturn:
    """Take the request over and run it; never returns. ``descriptors`` are the console
    script's standard input, output and error; ``connection`` the socket to it."""
    code = 1
    try:
        try:
            _become(request, descriptors)
        except OSError as error:
            # nothing ran: the console script runs the command in its own process
            reply(connection, "declined", f"cannot take the request over: {error}")
            os._exit(0)
        reply(connection, "started", os.getpid())
        finished = threading.Event()
        threading.Thread(
            target=_watch_caller, args=(connection, finished), name="preload-caller", daemon=True
        ).start()
        code = _run(request.argv[1:])
        finished.set()
        code = _end(code)
    finally:
        # whatever happened, the console script learns the exit code and this process ends here:
        # never back in the preloader's loop
        reply(connection, "exit", code)
        os._exit(code)


def _become(request: Request, descriptors: list[int]) -> None:
    signal.set_wakeup_fd(-1)
    for number, disposition in _START_DISPOSITIONS:
        signal.signal(number, disposition)
    for ignored in request.ignored:
        with contextlib.suppress(OSError, ValueError):
            signal.signal(ignored, signal.SIG_IGN)
    os.chdir(request.cwd)
    os.environ.clear()
    os.environ.update(request.env)
    time.tzset()  # TZ as the console script has it
    os.umask(request.umask)
    for target, descriptor in enumerate(descriptors):
        os.dup2(descriptor, target)
        os.close(descriptor)
    for target, name in enumerate(("stdin", "stdout", "stderr")):
        _reopen(target, name)
    sys.argv = list(request.argv)


def _reopen(descriptor: int, name: str) -> None:
    """``sys.stdin``/``stdout``/``stderr`` made again on the console script's descriptor, as
    Python makes them at start-up: the encoding and errors of this process's (the locale is
    part of the preloader's key), buffered by line on a terminal (standard error always),
    written through with ``-u``."""
    old = getattr(sys, name)
    writing = descriptor != 0
    unbuffered = bool(getattr(old, "write_through", False))
    binary: Any
    if writing and unbuffered:
        binary = io.FileIO(descriptor, "wb", closefd=False)
    else:
        binary = open(descriptor, "wb" if writing else "rb", closefd=False)  # noqa: SIM115
    stream = io.TextIOWrapper(
        binary,
        encoding=getattr(old, "encoding", None),
        errors=getattr(old, "errors", None),
        newline="\n",
        line_buffering=writing and not unbuffered and (descriptor == 2 or os.isatty(descriptor)),
        write_through=writing and unbuffered,
    )
    setattr(sys, name, stream)
    setattr(sys, f"__{name}__", stream)


def _watch_caller(connection: socket.socket, finished: threading.Event) -> None:
    """SIGHUP to this process when the console script goes away before the command ends."""
    try:
        while connection.recv(4096):
            pass  # the console script says nothing more; its end is what matters
    except OSError:
        pass
    if not finished.is_set():
        os.kill(os.getpid(), signal.SIGHUP)


def _run(arguments: list[str]) -> int:
    from tasker_ctl.cli.app import preload_settings_or_exit, run_command

    gc.set_threshold(10_000, 10, 10)
    try:
        preload_settings_or_exit()
        run_command(arguments)
    except SystemExit as exit_:
        return _exit_code(exit_.code)
    except KeyboardInterrupt:
        traceback.print_exc()
        _die_by(signal.SIGINT)
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


def _exit_code(value: object) -> int:
    """What Python exits with for ``SystemExit(value)``."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value & 0xFF
    print(value, file=sys.stderr)
    return 1


def _end(code: int) -> int:
    """What Python does as it finishes: wait for non-daemon threads, run ``atexit``, flush."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is not None:
        shutdown()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            if stream is sys.stdout and code == 0:
                code = _FLUSH_FAILED
    return code


def _die_by(number: signal.Signals) -> NoReturn:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    signal.signal(number, signal.SIG_DFL)
    os.kill(os.getpid(), number)
    os._exit(128 + number)
