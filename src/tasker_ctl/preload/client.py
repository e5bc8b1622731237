"""The console script's side: hand a command line to this environment's preloader, or start one.

``hand_over`` connects to the preloader of this user and Python environment, sends the command
line, the working folder, the environment and the umask with the standard streams attached,
forwards the signals this process gets to the child that runs the command, and answers its
exit code. When there is no preloader, or it declines, the command runs in this process and
``start_preloader`` starts one in the background for the next command.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from tasker_ctl.preload.place import Place, find_place
from tasker_ctl.preload.wire import Request

# imports kept to what handing over needs (place.py says why)
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Any, BinaryIO

# forwarded to the child as they come; SIGTSTP (Ctrl-Z) stops the child and this process
# (by name: a platform without one has no preloader, but imports this module all the same)
_FORWARDED_NAMES = ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
_FORWARDED: tuple[int, ...] = tuple(
    getattr(signal, name) for name in (*_FORWARDED_NAMES, "SIGCONT") if hasattr(signal, name)
)
_HANDLED = (*_FORWARDED, *((signal.SIGTSTP,) if hasattr(signal, "SIGTSTP") else ()))
# the preloader's first code: the console script's sys.path before anything is imported (a
# line each: a path with a line break in it never gets a preloader)
_BOOT = (
    "import sys; sys.path[:] = sys.argv[1].split('\\n'); "
    "from tasker_ctl.preload.server import main; main(sys.argv[2:])"
)


class Handover:
    """What became of a command line offered to a preloader: its exit code when one ran it;
    else, in ``start``, where a preloader should be started once it ran here. ``path`` is
    ``sys.path`` as the command started: running it may add to it (a handler's folder)."""

    __slots__ = ("code", "path", "start")

    def __init__(self, code: int | None = None, start: Place | None = None) -> None:
        self.code = code
        self.start = start
        self.path = list(sys.path)


def hand_over(argv: list[str]) -> Handover:
    """Run ``argv`` (``sys.argv``) in this environment's preloader, if it has one that takes
    it; ``Handover.code`` is then the command's exit code."""
    if observed():
        return Handover()
    place = find_place(os.environ, create=True)
    if place is None or not _standard_streams_open():
        return Handover()
    try:
        request = Request(
            argv=list(argv),
            cwd=os.getcwd(),
            env=dict(os.environ),
            umask=_umask(),
            ignored=[n for n in _HANDLED if signal.getsignal(n) == signal.SIG_IGN],
        )
    except OSError:  # the working folder is gone: the command says so itself
        return Handover()
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.connect(str(place.socket))
    except (FileNotFoundError, ConnectionRefusedError):
        connection.close()
        return Handover(start=place)
    except OSError:
        connection.close()
        return Handover()
    with connection, _Forwarding() as forwarding:
        try:
            payload = request.encode()
            sent = socket.send_fds(connection, [payload[:65536]], [0, 1, 2])
            connection.sendall(payload[sent:])
            replies = connection.makefile("rb")
            word, value = _reply(replies)
        except OSError:
            return Handover(start=place)
        if word != "started" or value <= 0:
            # declined, or the preloader went away before anything ran
            return Handover(start=place)
        forwarding.child = value
        word, value = _reply(replies)
        if word == "exit":
            return Handover(code=value)
        if word == "signal" and 0 < value < signal.NSIG:
            _die_by(value)
        print(
            "error[PRELOAD_LOST]: the preloader running this command stopped before it "
            f"ended (process {forwarding.child}); its outcome is unknown\n"
            "  hint: see `tasker-ctl task list`; TASKER_PRELOAD=off runs commands in their "
            "own process",
            file=sys.stderr,
        )
        return Handover(code=3)


def observed() -> bool:
    """Whether this process is watched (a debugger, a profiler, coverage): the command then
    runs here, where what watches it can see it."""
    return sys.gettrace() is not None or sys.getprofile() is not None or "coverage" in sys.modules


def start_preloader(handover: Handover, idle_seconds: float) -> None:
    """Start the preloader ``handover.start`` names in the background, to stop after
    ``idle_seconds`` without a command (0: never), unless one is running or starting; any
    failure only means that the next command runs in its own process too."""
    import subprocess

    from tasker_ctl.detached import start_detached
    from tasker_ctl.preload.control import lock_taken

    place = handover.start
    if place is None or any("\n" in entry for entry in handover.path):
        return
    if lock_taken(place.lock):
        return  # a preloader runs or starts
    try:
        log = os.open(place.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return
    command = [
        sys.executable,
        *subprocess._args_from_interpreter_flags(),  # type: ignore[attr-defined]
        "-c",
        _BOOT,
        "\n".join(handover.path),
        place.folder,
        place.key,
        repr(float(idle_seconds)),
    ]
    try:
        start_detached(command, cwd="/", output=log)
    except (OSError, subprocess.SubprocessError):
        pass
    finally:
        os.close(log)


class _Forwarding:
    """Signals to this process go to the child once its process id is known (those before,
    then); the previous handlers come back at the end."""

    def __init__(self) -> None:
        self._child: int | None = None
        self.pending: list[int] = []
        self.previous: dict[int, Any] = {}

    @property
    def child(self) -> int | None:
        return self._child

    @child.setter
    def child(self, pid: int) -> None:
        self._child = pid
        for number in self.pending:
            self._send(number)
        self.pending.clear()

    def __enter__(self) -> _Forwarding:
        for number in _HANDLED:
            # one this process ignores stays ignored, here and in the child
            if signal.getsignal(number) != signal.SIG_IGN:
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *_: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        # signals that came before any child took the command (which now runs here) are
        # this process's again
        for number in self.pending:
            os.kill(os.getpid(), number)

    def _handle(self, number: int, _frame: FrameType | None) -> None:
        if self.child is None:
            self.pending.append(number)
        else:
            self._send(number)

    def _send(self, number: int) -> None:
        assert self.child is not None
        try:
            if number == signal.SIGTSTP:
                # the child is in the preloader's orphaned process group, where SIGTSTP is
                # discarded: it is stopped outright, and so is this process, as Ctrl-Z does
                os.kill(self.child, signal.SIGSTOP)
                os.kill(os.getpid(), signal.SIGSTOP)
            else:
                os.kill(self.child, number)
        except ProcessLookupError:
            pass


def _reply(replies: BinaryIO) -> tuple[str, int]:
    """The next reply line as (word, number); ("", 0) at the end or for a line not understood
    (a reason's text is not a number: ``declined`` gives 0)."""
    line = replies.readline(4096).decode("utf-8", "replace").strip()
    word, _, value = line.partition(" ")
    try:
        return word, int(value)
    except ValueError:
        return word, 0


def _die_by(number: int) -> None:
    """End as the child ended: killed by the same signal (a shell then sees the same)."""
    import contextlib  # here: this module's import stays light

    sys.stdout.flush()
    # SIGKILL and SIGSTOP have no handler to reset
    with contextlib.suppress(OSError, ValueError):
        signal.signal(number, signal.SIG_DFL)
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), number)
    raise SystemExit(128 + number)


def _standard_streams_open() -> bool:
    try:
        for descriptor in (0, 1, 2):
            os.fstat(descriptor)
    except OSError:
        return False
    return True


def _umask() -> int:
    mask = os.umask(0o077)
    os.umask(mask)
    return mask
