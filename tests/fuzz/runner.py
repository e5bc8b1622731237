"""Running commands on cases: one forked child per run, measured and judged by the parent.

The parent has imported tasker-ctl already, so a child pays no start-up: it redirects its
output to a file, installs the guard (``child.py``) and calls the command in-process. The
parent waits on the child's pidfd, reads its wall time and peak RSS from ``wait4``, and past
the time limit asks for a Python stack (SIGUSR1, faulthandler) before killing its process
group. A sample of runs is also made the way users make them, ``tasker-ctl ARGV`` in a new
process, to show the fork runner sees the exit codes users see.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import selectors
import signal
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.environment import console_script
from tests.fuzz.cases import Command
from tests.fuzz.child import EXIT_CRASH, run_command

OK_EXIT_CODES = frozenset({0, 1, 2})
TRACEBACK_MARKER = "Traceback (most recent call last)"
_STACK_GRACE_S = 1.0  # between SIGUSR1 (dump the stack) and SIGKILL
_OUTPUT_WINDOW = 4 << 20  # bytes read from each end of a long output


@dataclass(frozen=True)
class Limits:
    """What a run may take. ``seconds`` is judged on the run's CPU time (its own and its
    evaluator processes'): on a shared machine wall time measures the neighbours too, and
    these commands are single-threaded, so on an idle machine both agree. A run is killed
    when its wall time passes ``seconds * wall_factor`` (1: the strict wall-clock limit)."""

    seconds: float = 10.0
    wall_factor: float = 2.0
    memory_mb: int = 500
    # a safety net for the machine, far above the limit judged (the child fails at this cap)
    address_space_mb: int = 4096
    output_mb: int = 256


@dataclass(frozen=True)
class Run:
    """One command on one case's directory; ``mode`` "fork" or "process" (a real tasker-ctl)."""

    case_id: str
    command: Command
    directory: Path
    mode: str = "fork"

    @property
    def stem(self) -> str:
        return f"{self.command.slug}.{self.mode}"

    def deadline(self, started: float, limits: Limits) -> float:
        return started + limits.seconds * limits.wall_factor


@dataclass
class Outcome:
    run: Run
    exit_code: int | None
    signal: int | None
    seconds: float
    cpu_seconds: float
    peak_mb: float
    timed_out: bool
    output: str
    escapes: list[str]
    problems: list[str] = field(default_factory=list)  # failure kinds, most telling first
    signature: str | None = None

    @property
    def failed(self) -> bool:
        return bool(self.problems)


def child_environment(directory: Path, *, debug: bool) -> dict[str, str]:
    """The environment of a run: nothing of the developer's TASKER_*/OTEL_*/PG* settings, and
    temporary files, home and caches inside the case's directory."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TASKER_", "OTEL_", "PG")) and "proxy" not in name.lower()
    }
    scratch = str(directory / "tmp")
    environment.update(
        TMPDIR=scratch,
        HOME=scratch,
        XDG_CACHE_HOME=scratch,
        COLUMNS="100",
        NO_COLOR="1",
        TERM="dumb",
        PYTHONDONTWRITEBYTECODE="1",
        TASKER_PRELOAD="off",
    )
    if debug:
        environment["TASKER_DEBUG"] = "1"
    return environment


def _start(run: Run, limits: Limits, program: str) -> int:
    output = run.directory / f"{run.stem}.out"
    escapes = run.directory / f"{run.stem}.escapes"
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        with contextlib.suppress(OSError):  # the child does it too; whichever is first
            os.setpgid(pid, pid)
        return pid
    status = 99
    try:
        os.setpgid(0, 0)
        die_with_parent()
        out_fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        record_fd = os.open(escapes, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        null_fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null_fd, 0)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.chdir(run.directory)
        _limit(resource.RLIMIT_AS, limits.address_space_mb << 20)
        _limit(resource.RLIMIT_FSIZE, limits.output_mb << 20)
        _limit(resource.RLIMIT_CORE, 0)
        environment = child_environment(run.directory, debug=run.mode == "fork")
        if run.mode == "process":
            os.execve(program, ["tasker-ctl", *run.command.argv], environment)
        os.environ.clear()
        os.environ.update(environment)
        import tempfile

        tempfile.tempdir = None
        roots = (os.path.realpath(run.directory),)
        status = run_command(run.command.op, run.command.argv, record_fd, roots)
    except BaseException:  # the harness's own failure: say so in the output, never return
        with contextlib.suppress(BaseException):
            import traceback

            os.write(2, b"fuzz harness: the child failed to start the command\n")
            os.write(2, traceback.format_exc().encode())
    os._exit(status)


def die_with_parent() -> None:
    """Linux: this process is killed when the process that forked it dies (a stopped
    campaign leaves nothing running)."""
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _limit(which: int, value: int) -> None:
    _, hard = resource.getrlimit(which)
    resource.setrlimit(which, (value if hard == resource.RLIM_INFINITY else min(value, hard), hard))


@dataclass
class _Running:
    run: Run
    started: float
    pidfd: int
    stack_requested: float | None = None
    killed: bool = False


def execute(
    runs: Iterable[Run | None], *, jobs: int, limits: Limits, wake_fd: int | None = None
) -> Iterator[Outcome]:
    """Run ``runs``, ``jobs`` at a time, yielding each outcome as its child ends.

    ``runs`` may yield None: nothing is ready yet, and ``wake_fd`` becomes readable when
    something is (the case builder's pipe). Waiting never blocks the deadlines.
    """
    program = console_script()
    pending = iter(runs)
    running: dict[int, _Running] = {}
    selector = selectors.DefaultSelector()
    exhausted = False
    try:
        while True:
            starved = False
            while not exhausted and len(running) < jobs:
                run = next(pending, _END)
                if run is _END:
                    exhausted = True
                elif run is None:
                    starved = True
                    break
                else:
                    assert isinstance(run, Run)
                    pid = _start(run, limits, program)
                    pidfd = os.pidfd_open(pid)
                    selector.register(pidfd, selectors.EVENT_READ, pid)
                    running[pid] = _Running(run, time.monotonic(), pidfd)
            if exhausted and not running:
                return
            watched = wake_fd if starved else None
            if watched is not None:
                selector.register(watched, selectors.EVENT_READ, None)
            events = selector.select(timeout=_next_wake(running.values(), limits))
            if watched is not None:
                selector.unregister(watched)
            for key, _ in events:
                if key.data is None:
                    continue
                state = running.pop(key.data)
                selector.unregister(state.pidfd)
                os.close(state.pidfd)
                yield _reap(key.data, state, limits)
            _enforce_deadlines(running, limits)
    finally:
        for pid, state in running.items():
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.waitpid(pid, 0)
            os.close(state.pidfd)
        selector.close()


_END = object()


def _next_wake(states: Iterable[_Running], limits: Limits) -> float:
    now = time.monotonic()
    wakes = []
    for state in states:
        if state.stack_requested is None:
            wakes.append(state.run.deadline(state.started, limits))
        elif not state.killed:
            wakes.append(state.stack_requested + _STACK_GRACE_S)
    # without a deadline to watch, look again soon: the case builder may have been waited for
    return max(0.0, min(wakes) - now) if wakes else 0.5


def _enforce_deadlines(running: dict[int, _Running], limits: Limits) -> None:
    now = time.monotonic()
    for pid, state in running.items():
        if state.stack_requested is None and now >= state.run.deadline(state.started, limits):
            state.stack_requested = now
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGUSR1 if state.run.mode == "fork" else signal.SIGKILL)
        elif (
            state.stack_requested is not None
            and not state.killed
            and now >= state.stack_requested + _STACK_GRACE_S
        ):
            state.killed = True
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)


def _reap(pid: int, state: _Running, limits: Limits) -> Outcome:
    _, status, usage = os.wait4(pid, 0)
    seconds = time.monotonic() - state.started
    with contextlib.suppress(OSError):  # evaluator processes the child left behind
        os.killpg(pid, signal.SIGKILL)
    run = state.run
    exit_code = os.waitstatus_to_exitcode(status)
    outcome = Outcome(
        run=run,
        exit_code=exit_code if exit_code >= 0 else None,
        signal=-exit_code if exit_code < 0 else None,
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_mb=usage.ru_maxrss / 1024,
        timed_out=state.stack_requested is not None,
        output=read_output(run.directory / f"{run.stem}.out"),
        escapes=_read_lines(run.directory / f"{run.stem}.escapes"),
    )
    judge(outcome, limits)
    return outcome


def read_output(path: Path) -> str:
    """The output, or its first and last few MiB when it is longer."""
    try:
        with path.open("rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size <= 2 * _OUTPUT_WINDOW:
                data = stream.read()
            else:
                head = stream.read(_OUTPUT_WINDOW)
                stream.seek(size - _OUTPUT_WINDOW)
                data = (
                    head
                    + f"\n[... {size - 2 * _OUTPUT_WINDOW} bytes ...]\n".encode()
                    + stream.read()
                )
    except OSError:
        return ""
    return data.decode("utf-8", "replace")


def _read_lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text("utf-8", "replace").splitlines() if line]
    except OSError:
        return []


def judge(outcome: Outcome, limits: Limits) -> None:
    """Fill in the outcome's problems and the signature that groups it with its kind."""
    problems = []
    if outcome.escapes:
        problems.append("escape")
    if outcome.signal is not None and not outcome.timed_out:
        problems.append("signal")
    if outcome.timed_out or outcome.cpu_seconds > limits.seconds:
        problems.append("timeout")
    if outcome.peak_mb > limits.memory_mb:
        problems.append("memory")
    if TRACEBACK_MARKER in without_coded_traces(outcome.output):
        problems.append("traceback")
    if outcome.exit_code is not None and outcome.exit_code not in OK_EXIT_CODES:
        problems.append(f"exit {outcome.exit_code}")
    outcome.problems = problems
    if problems:
        outcome.signature = signature(outcome)


# With TASKER_DEBUG=1 a coded error prints where it was raised, under a header of its own,
# then its error[CODE] line: a handled error, not a crash (INTERNAL_ERROR is never one of them)
_CODED_TRACE = re.compile(
    r"^debug: where error\[(?!INTERNAL_ERROR)[A-Z0-9_]+\] was raised.*?(?=^error\[)",
    re.MULTILINE | re.DOTALL,
)


def without_coded_traces(output: str) -> str:
    """The output without the traces TASKER_DEBUG=1 prints for coded errors."""
    return _CODED_TRACE.sub("", output)


_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+),? in (?P<function>\S+)')


def innermost_frame(output: str) -> str | None:
    """The innermost frame in tasker_ctl of the last traceback (or faulthandler stack)."""
    output = without_coded_traces(output)
    if TRACEBACK_MARKER in output:
        block = output[output.rindex(TRACEBACK_MARKER) :]
        frames = list(_FRAME.finditer(block))
    else:  # faulthandler lists the most recent call first
        frames = list(reversed(list(_FRAME.finditer(output))))
    ours = [frame for frame in frames if "/tasker_ctl/" in frame["file"]]
    if not ours:
        return None
    frame = ours[-1]
    module = frame["file"].rsplit("/tasker_ctl/", 1)[1]
    return f"tasker_ctl/{module}:{frame['function']}"


def exception_type(output: str) -> str | None:
    """The exception the last traceback ends with."""
    output = without_coded_traces(output)
    if TRACEBACK_MARKER not in output:
        return None
    block = output[output.rindex(TRACEBACK_MARKER) :].splitlines()
    for line in block[1:]:
        if line and not line.startswith((" ", "\t")):
            name = line.split(":", 1)[0].strip()
            return name.rsplit(".", 1)[-1] if re.fullmatch(r"[\w.]+", name) else None
    return None


def signature(outcome: Outcome) -> str:
    """``command | kind | exception at frame``: what groups failures with one cause."""
    kind = outcome.problems[0]
    if kind == "escape":
        what = sorted({line.split(" ", 1)[0] for line in outcome.escapes})
        return f"{outcome.run.command.name} | escape: {', '.join(what)}"
    if kind == "signal" and outcome.signal is not None:
        kind = f"signal {signal.Signals(outcome.signal).name}"
    where = innermost_frame(outcome.output)
    exception = exception_type(outcome.output)
    parts = [outcome.run.command.name, kind]
    if exception or where:
        parts.append(" at ".join(part for part in (exception, where) if part))
    return " | ".join(parts)


__all__ = ["EXIT_CRASH", "Limits", "Outcome", "Run", "execute", "judge", "signature"]
