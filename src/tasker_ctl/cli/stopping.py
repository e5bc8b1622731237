"""Stopping a command that runs steps (``run``, ``worker``) on SIGINT and SIGTERM."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

# the exit code of a command stopped by a signal before it finished (128 + SIGINT)
EXIT_INTERRUPTED = 130


class GracefulStop:
    """SIGINT/SIGTERM: the first sets ``stop`` (running steps finish), a second quits at once.

    Only the main thread may install signal handlers; elsewhere (tests calling the command
    in a thread) this does nothing and the default behaviour stays.
    """

    def __init__(self, on_first: Callable[[], None] | None = None) -> None:
        self.stop = threading.Event()
        self.signalled: int | None = None
        self._on_first = on_first
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.signalled is not None:
            raise KeyboardInterrupt
        self.signalled = number
        self.stop.set()
        if self._on_first is not None:
            self._on_first()
