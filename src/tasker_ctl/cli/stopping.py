"""Stopping a command that runs steps (``run``, ``worker``) on SIGINT and SIGTERM."""

from __future__ import annotations

import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

# the exit code of a command stopped by a signal before it finished (128 + SIGINT)
EXIT_INTERRUPTED = 130
_STOPPING_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class GracefulStop:
    """SIGINT/SIGTERM: the first sets ``stop`` (running steps finish), a second quits at once.

    ``stop`` is set as the signal arrives, not when the main thread next runs Python: that
    may be a tenth of a second later (it waits in the database driver, which looks at
    signals between intervals), time enough for a worker thread to finish a step and start
    the next one. The signal's wakeup byte (``signal.set_wakeup_fd``), written by the
    interpreter's C-level handler on whichever thread takes the signal, wakes a watcher
    thread that sets ``stop``; the Python-level handler still says so and counts signals.

    Only the main thread may install signal handlers; elsewhere (tests calling the command
    in a thread) this does nothing and the default behaviour stays.
    """

    def __init__(self, on_first: Callable[[], None] | None = None) -> None:
        self.stop = threading.Event()
        self.signalled: int | None = None
        self._on_first = on_first
        self._handled = False
        self._previous: dict[int, Any] = {}
        self._previous_wakeup: int | None = None
        self._wakeup: tuple[socket.socket, socket.socket] | None = None
        self._watcher: threading.Thread | None = None

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for number in _STOPPING_SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
            self._watch_wakeups()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._previous_wakeup is not None:
            signal.set_wakeup_fd(self._previous_wakeup)
            self._previous_wakeup = None
        if self._wakeup is not None:
            reader, writer = self._wakeup
            writer.close()  # the watcher reads the end of the stream and returns
            if self._watcher is not None:
                self._watcher.join(timeout=5)
            reader.close()
            self._wakeup = self._watcher = None
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _watch_wakeups(self) -> None:
        reader, writer = socket.socketpair()
        writer.setblocking(False)  # the interpreter drops bytes rather than block on it
        try:
            self._previous_wakeup = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):  # a wakeup descriptor this platform will not take
            reader.close()
            writer.close()
            return
        self._wakeup = (reader, writer)
        self._watcher = threading.Thread(
            target=self._watch, args=(reader,), name="tasker-stop-signals", daemon=True
        )
        self._watcher.start()

    def _watch(self, reader: socket.socket) -> None:
        while True:
            try:
                received = reader.recv(64)
            except OSError:
                return
            if not received:
                return
            for number in received:
                if number in _STOPPING_SIGNALS:
                    if self.signalled is None:
                        self.signalled = number
                    self.stop.set()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self._handled:
            raise KeyboardInterrupt
        self._handled = True
        self.signalled = number
        self.stop.set()
        if self._on_first is not None:
            self._on_first()
