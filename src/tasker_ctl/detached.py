"""Starting a process that outlives its caller and is nobody's child (depends on nothing of
ours; every layer may use it): the embedded server's idle-stop watcher, a command preloader."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

_DETACHED: list[subprocess.Popen[bytes]] = []  # Windows: kept, so nobody waits for them


def start_detached(command: list[str], *, cwd: str, output: int | None = None) -> None:
    """Start ``command`` in ``cwd``, in a session of its own, its standard input and output on
    nothing, or its output and errors on the descriptor ``output``. No descriptor of the caller
    is inherited: a caller read through a pipe would otherwise not end before it. On POSIX a
    shell starts it in the background and ends at once, so that it is nobody's child (no zombie
    left in a long-lived caller, no process object to wait for)."""
    target = subprocess.DEVNULL if output is None else output
    quiet: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": target,
        "stderr": target,
        "close_fds": True,
        "cwd": cwd,
    }
    if sys.platform == "win32":
        flags = getattr(subprocess, "DETACHED_PROCESS", 0) | getattr(
            subprocess, "CREATE_NEW_PROCESS_GROUP", 0
        )
        _DETACHED.append(subprocess.Popen(command, creationflags=flags, **quiet))
        return
    subprocess.run(
        ["/bin/sh", "-c", '"$@" &', "sh", *command],
        start_new_session=True,
        check=False,
        timeout=30,
        **quiet,
    )
