"""Building cases in a process of their own, a few ahead of the runs.

The runner's parent forks every child, and a child's peak RSS counts what it inherited: the
parent must stay as small as it was after importing tasker-ctl. Mutating and writing a
5,000-step template leaves a Python process tens of MB larger for good, so that work happens
here, in a forked builder that writes each case's files and sends its header down a pipe.
The pipe is a page long: the builder stays a few cases ahead and no more.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import resource
import select
import signal
import traceback
from pathlib import Path
from typing import Any

from tests.fuzz.cases import Case, build_case
from tests.fuzz.runner import die_with_parent
from tests.fuzz.seeds import load_seeds

# the builder's own cap: a mutation that would grow past it fails with MemoryError and the
# case falls back to byte-level mutations, instead of the machine running out of memory
BUILDER_ADDRESS_SPACE = 4 << 30


class BuilderFailed(RuntimeError):
    """The case builder stopped on an error of the harness itself."""


class CaseSource:
    """Cases built by a forked process. ``seeds`` holds the seed counts; ``poll()`` returns
    the next case or None when none is ready (then wait for ``fd`` to be readable), until
    ``finished``. The parent never blocks on the builder: it has deadlines to enforce."""

    def __init__(self, case_ids: list[tuple[str, int]], seed: int, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        read_fd, write_fd = os.pipe()
        with contextlib.suppress(OSError, AttributeError):
            fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, 4096)
        self.pid = os.fork()
        if self.pid == 0:
            os.close(read_fd)
            os._exit(_build(case_ids, seed, root, write_fd))
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.fd = read_fd
        self.buffer = b""
        self.finished = False
        message = None
        while message is None and not self.finished:
            select.select([self.fd], [], [], 1.0)
            message = self._message()
        if message is None:
            raise BuilderFailed("the case builder ended before sending the seeds")
        self.seeds: dict[str, int] = message["seeds"]

    def poll(self) -> Case | None:
        header = self._message()
        return None if header is None else Case.from_header(header)

    def _message(self) -> dict[str, Any] | None:
        while b"\n" not in self.buffer and not self.finished:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return None
            if not chunk:
                self._ended()
                break
            self.buffer += chunk
        if b"\n" not in self.buffer:
            return None
        line, _, self.buffer = self.buffer.partition(b"\n")
        message: dict[str, Any] = json.loads(line)
        if "error" in message:
            self.close()
            raise BuilderFailed(message["error"])
        return message

    def _ended(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        self.pid = 0
        self.finished = True
        os.close(self.fd)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit {code}"
            raise BuilderFailed(f"the case builder died ({how})")

    def close(self) -> None:
        if self.pid:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(self.pid, 0)
            self.pid = 0
        if not self.finished:
            self.finished = True
            with contextlib.suppress(OSError):
                os.close(self.fd)


def _send(fd: int, message: dict[str, Any]) -> None:
    data = (json.dumps(message) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]


def _build(case_ids: list[tuple[str, int]], seed: int, root: Path, fd: int) -> int:
    die_with_parent()
    try:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        cap = BUILDER_ADDRESS_SPACE if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_AS, (min(cap, BUILDER_ADDRESS_SPACE), hard))
        seeds = load_seeds()
        _send(fd, {"seeds": seeds.counts()})
        for kind, number in case_ids:
            case = build_case(seeds, seed, kind, number)
            case.write(root / case.case_id)
            _send(fd, case.header())
    except BrokenPipeError:
        return 0
    except BaseException:
        with contextlib.suppress(OSError):
            _send(fd, {"error": traceback.format_exc()})
        return 1
    return 0
