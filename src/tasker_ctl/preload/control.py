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

from tasker_ctl.preload.place import Place, find_place, folder_for, private_folder, supported
from tasker_ctl.preload.settings import PreloadSettings, preload_settings

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
        pid = lock_holder(os.path.join(folder, name))
        if pid is not None:
            place = Place(folder, name.removesuffix(".lock"))
            found.append(Preloader(place, pid, mine is not None and mine.key == place.key))
    return found


@dataclass(frozen=True)
class PreloadStatus:
    """Preloading here: its settings, whether this platform has it, whether this environment's
    folder is fit for it, and the preloaders running in that folder."""

    folder: str
    supported: bool
    usable: bool
    settings: PreloadSettings
    preloaders: list[Preloader]

    def as_json(self) -> dict[str, object]:
        return {
            "folder": self.folder,
            "enabled": self.settings.enabled and self.supported,
            "usable": self.usable,
            "idle_stop_seconds": self.settings.idle_seconds,
            "idle_stop_source": self.settings.idle_source,
            "preloaders": [preloader.as_json() for preloader in self.preloaders],
        }


def preload_status(environ: Mapping[str, str]) -> PreloadStatus:
    """Preloading as ``environ`` has it (``SettingError`` for a setting it cannot use)."""
    settings = preload_settings(environ)
    folder = folder_for(environ)
    return PreloadStatus(
        folder=folder,
        supported=supported(),
        usable=find_place(environ) is not None,
        settings=settings,
        preloaders=running_preloaders(folder, environ),
    )


def stop_preloaders(folder: str | os.PathLike[str]) -> list[int]:
    """Stop every preloader in ``folder`` (SIGTERM, SIGKILL after ``STOP_SECONDS``); the
    process ids stopped. Commands they are running run on."""
    stopped = []
    for preloader in running_preloaders(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(preloader.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        while lock_taken(preloader.place.lock) and time.monotonic() < deadline:
            time.sleep(0.02)
        if lock_taken(preloader.place.lock):
            with contextlib.suppress(ProcessLookupError):
                os.kill(preloader.pid, signal.SIGKILL)
        stopped.append(preloader.pid)
    return stopped


def lock_holder(lock: str) -> int | None:
    """The process id in ``lock`` while a preloader holds it; ``None`` when nobody does, or
    while the one that took it has not written its id yet."""
    taken, pid = _lock_state(lock)
    return pid if taken else None


def lock_taken(lock: str) -> bool:
    """Whether a preloader holds ``lock`` (it takes it before anything else as it starts)."""
    return _lock_state(lock)[0]


def _lock_state(lock: str) -> tuple[bool, int | None]:
    try:
        descriptor = os.open(lock, os.O_RDONLY)
    except OSError:
        return False, None
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            text = os.read(descriptor, 32).decode("ascii", "replace").strip()
            pid = int(text) if text.isdigit() else 0
            return True, pid if pid > 0 else None
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        return False, None
    finally:
        os.close(descriptor)
