"""Inside a forked child: the guard against escapes, then the command itself.

The guard is an audit hook (PEP 578). It records, in the case's ``.escapes`` file, every write
outside the case's directory, every network connection or name lookup, every program started
other than the expression evaluator, and every read of a file a hostile input points at
(/etc/passwd); it refuses all but loopback connections with ``PermissionError``. The
evaluator processes are plain subprocesses, outside the hook, sandboxed by the grammar.
"""

from __future__ import annotations

import errno
import faulthandler
import os
import signal
import sys
import traceback
from collections.abc import Callable
from typing import Any

EXIT_CRASH = 3  # what ``tasker-ctl`` exits with on an unexpected exception
SENTINEL_READS = frozenset({"/etc/passwd", "/etc/shadow"})
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
# audit events that change the file system: (event, indexes of the path arguments)
_PATH_EVENTS = {
    "os.remove": (0,),
    "os.rmdir": (0,),
    "os.mkdir": (0,),
    "os.chmod": (0,),
    "os.chown": (0,),
    "os.truncate": (0,),
    "os.utime": (0,),
    "shutil.rmtree": (0,),
    "os.rename": (0, 1),
    "os.link": (1,),
    "os.symlink": (1,),
    "shutil.copyfile": (1,),
    "shutil.move": (0, 1),
}
_PROGRAM_EVENTS = ("os.system", "os.exec", "os.posix_spawn", "os.spawn")


class Guard:
    """An audit hook: records escapes on ``record_fd``, refuses the dangerous ones."""

    def __init__(self, record_fd: int, allowed_roots: tuple[str, ...]) -> None:
        self.record_fd = record_fd
        self.allowed_roots = allowed_roots
        self.busy = False

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if self.busy:
            return
        self.busy = True
        try:
            self._check(event, args)
        finally:
            self.busy = False

    def _check(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            self._open(*args[:3])
        elif event in _PATH_EVENTS:
            dir_fd = args[-1] if event not in ("shutil.copyfile", "shutil.move") else None
            for index in _PATH_EVENTS[event]:
                self._write(event, args[index], dir_fd)
        elif event == "socket.connect":
            address = args[1]
            self._record(f"connect {address!r}")
            host = address[0] if isinstance(address, tuple) else None
            if host not in LOOPBACK_HOSTS:
                self._refuse(f"connect {address!r}")
        elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
            host = args[0].decode() if isinstance(args[0], bytes) else args[0]
            if _is_address(host):
                return  # no lookup: the connection is checked
            self._record(f"resolve {host!r}")
            if host not in LOOPBACK_HOSTS:
                self._refuse(f"resolve {host!r}")
        elif event == "subprocess.Popen":
            argv = [os.fsdecode(part) for part in (args[1] or [])]
            # the evaluator runs as `python [-B] -m tasker_ctl...` (-B: it writes no bytecode)
            module_argv = [part for part in argv[1:] if part != "-B"]
            evaluator = (
                argv[:1] == [sys.executable]
                and module_argv[:1] == ["-m"]
                and len(module_argv) > 1
                and module_argv[1].startswith("tasker_ctl.")
            )
            if not evaluator:
                self._record(f"run {argv[:4]!r}")
        elif event in _PROGRAM_EVENTS:
            self._record(f"{event} {args[0]!r}")
            self._refuse(event)

    def _open(self, path: Any, mode: Any, flags: Any) -> None:
        if isinstance(path, int):
            return
        if isinstance(mode, str):
            writing = any(letter in mode for letter in "wax+")
        else:
            writing = bool((flags or 0) & _WRITE_FLAGS)
        if writing:
            self._write("open", path, None)
        elif _absolute(path) in SENTINEL_READS:
            self._record(f"read {_absolute(path)}")
            self._refuse(f"read {_absolute(path)}")

    def _write(self, event: str, path: Any, dir_fd: Any) -> None:
        if isinstance(path, int) or (dir_fd is not None and not os.path.isabs(os.fspath(path))):
            return  # an open file or a name inside an open directory: checked when opened
        target = _absolute(path)
        if target == os.devnull or any(
            target == root or target.startswith(root + os.sep) for root in self.allowed_roots
        ):
            return
        self._record(f"{event} {target}")
        self._refuse(f"{event} {target}")

    def _record(self, what: str) -> None:
        os.write(self.record_fd, (what.replace("\n", " ")[:300] + "\n").encode("utf-8", "replace"))

    def _refuse(self, what: str) -> None:
        raise PermissionError(errno.EACCES, f"refused by the fuzz harness: {what}")


def _is_address(host: object) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


def _absolute(path: Any) -> str:
    return os.path.realpath(os.fsdecode(os.fspath(path)))


def _cli(argv: tuple[str, ...]) -> int:
    from tasker_ctl.cli import main

    sys.argv = ["tasker-ctl", *argv]
    main()
    return 0


def _context_check(argv: tuple[str, ...]) -> int:
    """What ``tasker-ctl run`` checks before it needs a database: the context as ``--context
    @FILE`` reads it, then against the template's input_schema; errors as the CLI shows them."""
    from tasker_ctl.cli import report_error
    from tasker_ctl.cli.inputs import parse_context
    from tasker_ctl.errors import TaskerError
    from tasker_ctl.sdk.contracts import violations
    from tasker_ctl.template.validator import load_template

    template_path, context_path = argv
    try:
        context = parse_context(f"@{context_path}")
        template = load_template(template_path)
        problems = violations(context, template.input_schema)
    except TaskerError as error:
        report_error(error)
        return int(error.exit_code)
    for problem in problems:
        print(problem)
    return 1 if problems else 0


# what a child can run; tests of the harness add their own
OPS: dict[str, Callable[[tuple[str, ...]], int]] = {"cli": _cli, "context-check": _context_check}


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_command(
    op: str, argv: tuple[str, ...], record_fd: int, allowed_roots: tuple[str, ...]
) -> int:
    """Run one command in this (forked) process; its exit status.

    stdout and stderr are already the case's output file. TASKER_DEBUG=1 is set, so the CLI
    lets an unexpected exception through: it is printed here with its traceback and the
    status is 3, the CLI's own status for it.
    """
    import warnings

    encoding = sys.__stdout__.encoding if sys.__stdout__ else "utf-8"
    errors = sys.__stdout__.errors if sys.__stdout__ else "strict"
    sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own
    sys.stdout = open(1, "w", encoding=encoding, errors=errors, closefd=False)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding=encoding, errors="backslashreplace", closefd=False)  # noqa: SIM115
    # the interpreter's default filters (a test runner's "error" filters must not leak in)
    warnings.resetwarnings()
    for category in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
        warnings.simplefilter("ignore", category)
    faulthandler.enable(file=sys.stderr)
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    sys.dont_write_bytecode = True
    sys.addaudithook(Guard(record_fd, allowed_roots))
    try:
        status = OPS[op](argv)
    except SystemExit as exit_:
        status = _exit_status(exit_.code)
    except BaseException:
        traceback.print_exc()
        status = EXIT_CRASH
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            traceback.print_exc(file=sys.__stderr__)
            status = EXIT_CRASH
    return status
