"""The preloader: load the commands' modules once, then fork a warm child for every command.

Started by the console script (``client.start_preloader``) as ``python -c`` with the console
script's ``sys.path``, flags and environment, detached in a session of its own. It takes the
lock of its place (a second one started at the same moment exits), imports the modules of
``PRELOADED_COMMANDS`` (imports only: nothing it computes could go stale in a child), freezes
them out of the collector, notes every loaded module's file, and listens. For each connection
of the same user (checked with ``SO_PEERCRED``) it reads the request, declines it when a
module's file changed (then stops, so that the next command starts a new preloader), and forks
a child (``child.run_in_child``). It reaps its children and tells the console script of one
that died by a signal. It stops after ``idle`` seconds without a command and with no child
running, or on SIGTERM; the children it forked run on.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import importlib
import os
import select
import signal
import site
import socket
import struct
import sys
import time

from tasker_ctl.preload.errors import WireError
from tasker_ctl.preload.place import Place
from tasker_ctl.preload.wire import receive_request, reply

# what the children of PRELOADED_COMMANDS import first: the app, the commands, the engine's run
# and the reports, the SDK every handler module imports, the validator of a new template
PRELOADED_MODULES = (
    "tasker_ctl.cli.app",
    "tasker_ctl.cli.run",
    "tasker_ctl.cli.validate",
    "tasker_ctl.cli.inspect",
    "tasker_ctl.cli.task",
    "tasker_ctl.engine.running",
    "tasker_ctl.engine.views",
    "tasker_ctl.report.run_json",
    "tasker_ctl.report.run_outcome",
    "tasker_ctl.report.run_view",
    "tasker_ctl.sdk.step_handler.functional",
    "tasker_ctl.template.validated_cache",
    "tasker_ctl.template.validator",
)
# Typer's coercion of parameters (newer Typers), imported as a command line is parsed; a
# Typer without it imports nothing there
_OPTIONAL_MODULES = ("typer._adapters",)
# a client must send its request promptly: one that stalls cannot hold the preloader up
_REQUEST_SECONDS = 5.0
_PEER_CREDENTIALS = struct.Struct("3i")  # pid, uid, gid


def main(arguments: list[str]) -> None:
    """``arguments``: the place's folder and key, and the idle seconds."""
    folder, key, idle = arguments
    place = Place(folder, key)
    lock = _take_lock(place)
    if lock is None:
        return  # another preloader has this place
    _preload()
    stamps = _module_stamps()
    listener, inode = _listen(place)
    try:
        _serve(listener, stamps, float(idle), lock)
    finally:
        _unlink_if_ours(place.socket, inode)
        listener.close()
        os.close(lock)


def _take_lock(place: Place) -> int | None:
    descriptor = os.open(place.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(descriptor)
        return None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode())
    return descriptor


def _preload() -> None:
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    for name in _OPTIONAL_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    gc.collect()
    # forked children share these pages until written: a collection would write them all
    gc.freeze()


def _module_stamps() -> dict[str, tuple[int, int]]:
    """Every loaded module's file, and the site-packages folders (a package installed or
    removed there changes them: what was read of the installed distributions at import, such
    as Pydantic's plugins, may then be stale). Not every folder of ``sys.path``: with
    ``python -m`` the working folder is one, and it changes all the time."""
    paths = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    sites = [*site.getsitepackages(), site.getusersitepackages()]
    stamps = {}
    for path in [*paths, *sites]:
        if isinstance(path, str) and path:
            with contextlib.suppress(OSError):
                status = os.stat(path)
                stamps[path] = (status.st_mtime_ns, status.st_size)
    return stamps


def _changed(stamps: dict[str, tuple[int, int]]) -> str | None:
    """The first loaded module whose file changed since it was loaded, if any."""
    for path, stamp in stamps.items():
        try:
            status = os.stat(path)
        except OSError:
            return path
        if (status.st_mtime_ns, status.st_size) != stamp:
            return path
    return None


def _listen(place: Place) -> tuple[socket.socket, int]:
    # the lock is ours, so a socket file left there belongs to a preloader that is gone
    with contextlib.suppress(FileNotFoundError):
        os.unlink(place.socket)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(place.socket))
    os.chmod(place.socket, 0o600)
    listener.listen(64)
    return listener, os.stat(place.socket).st_ino


def _serve(
    listener: socket.socket, stamps: dict[str, tuple[int, int]], idle: float, lock: int
) -> None:
    children: dict[int, socket.socket] = {}
    stopping: list[bool] = []
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_read, False)
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    # handlers, so that the wake-up descriptor hears of them and select returns
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
    signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    last = time.monotonic()
    while not stopping:
        # waiting for a command, with none running; idle 0: for as long as it takes
        waiting = not children and idle > 0
        timeout = max(0.0, last + idle - time.monotonic()) if waiting else None
        if timeout == 0.0:
            return
        try:
            ready, _, _ = select.select([listener.fileno(), wake_read], [], [], timeout)
        except InterruptedError:
            ready = []
        if wake_read in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(wake_read, 512)
        if _reap(children):
            last = time.monotonic()  # idle from the end of the last command, not its start
        if listener.fileno() in ready:
            last = time.monotonic()
            if not _accept(listener, stamps, children, (wake_read, wake_write, lock)):
                return


def _accept(
    listener: socket.socket,
    stamps: dict[str, tuple[int, int]],
    children: dict[int, socket.socket],
    own: tuple[int, ...],
) -> bool:
    """Serve one connection; ``False`` when this preloader must stop (its code changed).
    ``own``: the descriptors a child must not keep (the wake-up pipe; the lock, which a child
    still holding it would pass off as this preloader once it stopped)."""
    try:
        connection, _ = listener.accept()
    except OSError:
        return True
    descriptors: list[int] = []
    try:
        if not _same_user(connection):
            return True
        connection.settimeout(_REQUEST_SECONDS)
        request, descriptors = receive_request(connection)
        connection.settimeout(None)
        changed = _changed(stamps)
        if changed is not None:
            reply(connection, "declined", f"changed on disk: {changed}")
            return False
        if len(descriptors) != 3:
            reply(connection, "declined", "the standard streams did not come with the request")
            return True
        pid = os.fork()
        if pid == 0:
            from tasker_ctl.preload.child import run_in_child

            listener.close()
            for descriptor in own:
                os.close(descriptor)
            for other in children.values():
                other.close()
            run_in_child(request, descriptors, connection)
        children[pid] = connection
        connection = None  # type: ignore[assignment]  # kept to report how the child ended
        return True
    except (OSError, WireError) as error:
        _log(f"request refused: {error}")
        return True
    finally:
        for descriptor in descriptors:
            with contextlib.suppress(OSError):
                os.close(descriptor)
        if connection is not None:
            connection.close()


def _same_user(connection: socket.socket) -> bool:
    credentials = connection.getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, _PEER_CREDENTIALS.size
    )
    _pid, uid, _gid = _PEER_CREDENTIALS.unpack(credentials)
    return bool(uid == os.getuid())


def _reap(children: dict[int, socket.socket]) -> int:
    """Reap the children that ended; how many."""
    reaped = 0
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        connection = children.pop(pid, None)
        if connection is None:
            continue
        reaped += 1
        # a child that ended normally has said its exit code itself; this is for the others
        if os.WIFSIGNALED(status):
            reply(connection, "signal", os.WTERMSIG(status))
        else:
            reply(connection, "exit", os.waitstatus_to_exitcode(status))
        connection.close()
    return reaped


def _unlink_if_ours(path: str, inode: int) -> None:
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            os.unlink(path)


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {message}", file=sys.stderr, flush=True)
