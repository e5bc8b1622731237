"""The preloaders of a folder: which run, and stopping them (``tasker-ctl preload``).

A preloader holds the lock of its place while it runs, and wrote its process id in it; a lock
file nobody holds is what a stopped preloader left.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass

from tasker_ctl.preload.place import Place, find_place, folder_for, private_folder

# how long a preloader may take to stop after SIGTERM before it is killed
STOP_SECONDS = 5.0


@dataclass(frozen=True)
class Preloader:
    """A running preloader: its place, its process id and whether this environment's commands
    go to it."""

    place: Place
    pid: int
    this_environment: bool

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.place.key,
            "pid": self.pid,
            "socket": str(self.place.socket),
            "this_environment": self.this_environment,
        }


def preloader_folder(environ: Mapping[str, str]) -> str:
    """The folder this user's preloaders live in, here (``place.folder_for``)."""
    return folder_for(environ)


def running_preloaders(
    folder: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> list[Preloader]:
    """The preloaders running in ``folder``, by key; ``environ`` tells which one this
    environment's commands go to."""
    folder = os.fspath(folder)
    if not private_folder(folder, create=False):
        return []
    mine = find_place(environ) if environ is not None else None
    found = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".lock"):
            continue
        pid = _holder(os.path.join(folder, name))
        if pid is not None:
            place = Place(folder, name.removesuffix(".lock"))
            found.append(Preloader(place, pid, mine is not None and mine.key == place.key))
    return found


def stop_preloaders(folder: str | os.PathLike[str]) -> list[int]:
    """Stop every preloader in ``folder`` (SIGTERM, SIGKILL after ``STOP_SECONDS``); the
    process ids stopped. Commands they are running run on."""
    stopped = []
    for preloader in running_preloaders(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(preloader.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while _holder(preloader.place.lock) is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        if _holder(preloader.place.lock) is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(preloader.pid, signal.SIGKILL)
        stopped.append(preloader.pid)
    return stopped


def _holder(lock: str) -> int | None:
    """The process id in ``lock`` while a preloader holds it; ``None`` when nobody does."""
    try:
        descriptor = os.open(lock, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.read(descriptor, 32).decode("ascii", "replace").strip()
            return int(text) if text.isdigit() else None
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return None
    finally:
        os.close(descriptor)
