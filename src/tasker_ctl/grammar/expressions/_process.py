"""One evaluator process and the JSON-lines exchange with it, under a deadline."""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

from tasker_ctl.grammar.errors import DeadlineExceeded, WorkerStopped
from tasker_ctl.grammar.expressions._worker import EXIT_OUT_OF_MEMORY

WORKER_MODULE = "tasker_ctl.grammar.expressions._worker"
_STARTUP_TIMEOUT_S = 30.0
_CHUNK = 1 << 16


def _worker_environment() -> dict[str, str]:
    # nothing of the caller's environment reaches the evaluator; only where to find the code
    package_root = Path(__file__).resolve().parents[3]
    paths = [str(package_root)]
    paths += [p for p in sys.path if p and os.path.isabs(p) and os.path.isdir(p)]
    environment = {
        "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths)),
        # the installed package may be read-only or shared: the evaluator leaves no .pyc in it
        "PYTHONDONTWRITEBYTECODE": "1",
        # strftime/strptime consult these; fixed so results do not depend on the host
        "TZ": "UTC",
        "LC_ALL": "C.UTF-8",
    }
    if sys.platform == "win32" and "SYSTEMROOT" in os.environ:
        environment["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return environment


class WorkerProcess:
    def __init__(self, memory_mb: int) -> None:
        self.memory_mb = memory_mb
        self.generation = 0
        self.process = subprocess.Popen(
            [sys.executable, "-B", "-m", WORKER_MODULE, str(memory_mb)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=_worker_environment(),
            bufsize=0,
            close_fds=True,
        )
        stdin, stdout = self.process.stdin, self.process.stdout
        if stdin is None or stdout is None:  # pragma: no cover - PIPE always gives both
            raise OSError("no pipes to the evaluator process")
        self._stdin = stdin.fileno()
        self._stdout = stdout.fileno()
        os.set_blocking(self._stdin, False)
        self._buffer = bytearray()
        try:
            self.read_line(time.monotonic() + _STARTUP_TIMEOUT_S)
        except (DeadlineExceeded, WorkerStopped):
            self.kill()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def exchange(self, payload: bytes, deadline: float) -> bytes:
        """Send ``payload`` and return the reply line (without its newline)."""
        self._write_all(payload, deadline)
        return self.read_line(deadline)

    def _write_all(self, payload: bytes, deadline: float) -> None:
        view = memoryview(payload)
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdin, selectors.EVENT_WRITE)
            while view:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded
                if not selector.select(remaining):
                    continue
                try:
                    written = os.write(self._stdin, view[:_CHUNK])
                except BlockingIOError:
                    continue
                except (BrokenPipeError, ConnectionResetError, OSError):
                    raise WorkerStopped(self._describe_exit()) from None
                view = view[written:]

    def read_line(self, deadline: float) -> bytes:
        with selectors.DefaultSelector() as selector:
            selector.register(self._stdout, selectors.EVENT_READ)
            while (newline := self._buffer.find(b"\n")) < 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DeadlineExceeded
                if not selector.select(remaining):
                    continue
                try:
                    chunk = os.read(self._stdout, _CHUNK)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise WorkerStopped(self._describe_exit())
                self._buffer += chunk
        line = bytes(self._buffer[:newline])
        del self._buffer[: newline + 1]
        return line

    def _describe_exit(self) -> str:
        try:
            code = self.process.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.kill()
            return "it closed its pipes"
        if code == EXIT_OUT_OF_MEMORY:
            return f"the input does not fit in the memory limit of {self.memory_mb} MB"
        if code >= 0:
            return f"it exited with status {code}"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        if name == "SIGABRT":
            return (
                f"it aborted ({name}), most likely because the expression needed more than "
                f"the memory limit of {self.memory_mb} MB"
            )
        if name == "SIGXCPU":
            return f"it used up its CPU time ({name})"
        if name in ("SIGSEGV", "SIGBUS"):
            return f"it crashed ({name}), possibly on a value nested too deeply"
        return f"it was killed ({name})"

    def kill(self) -> None:
        """Stop the process and reap it; safe to call more than once."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5.0)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
