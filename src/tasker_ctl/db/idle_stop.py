"""Idle stop: an embedded server tasker-ctl started stops by itself once nobody uses it.

The period comes from ``TASKER_IDLE_STOP``, else the project configuration's ``idle_stop``,
else 30 minutes; ``0`` (or ``off``) keeps servers running until ``tasker-ctl db stop``. When a
command starts (or first reuses) a server, it launches a small detached watcher, this module
run as ``python -m tasker_ctl.db.idle_stop HOME SECONDS``. The watcher holds a lock in the
state folder (one watcher per server), asks the server every few seconds how many clients are
connected, and stops it once it has had none, and no command has asked for it, for the whole
period. It ends when the server stops or is replaced, whoever stopped it. What it saw is in
``<home>/idle-stop.json``; what it did, in ``<home>/idle-stop.log``.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tasker_ctl.db.home import DATA_DIR_NAME
from tasker_ctl.db.postmaster import running_postmaster
from tasker_ctl.detached import start_detached
from tasker_ctl.errors import SettingError
from tasker_ctl.project_config import DURATION_HELP, find_project_config, parse_duration

IDLE_STOP_ENV = "TASKER_IDLE_STOP"
DEFAULT_IDLE_STOP_SECONDS = 30 * 60.0
LOCK_FILE = "idle-stop.lock"
STATE_FILE = "idle-stop.json"
LOG_FILE = "idle-stop.log"
_MIN_POLL_SECONDS = 0.1
_MAX_POLL_SECONDS = 5.0
_MODULE = "tasker_ctl.db.idle_stop"


@dataclass(frozen=True)
class IdleStopSetting:
    """The idle period in seconds (0: never) and where it came from."""

    seconds: float
    source: str


def idle_stop_setting() -> IdleStopSetting:
    """``TASKER_IDLE_STOP``, else the project configuration, else 30 minutes."""
    text = os.environ.get(IDLE_STOP_ENV, "").strip()
    if text:
        try:
            return IdleStopSetting(parse_duration(text), IDLE_STOP_ENV)
        except ValueError as error:
            raise SettingError(
                f"{IDLE_STOP_ENV}={text!r}: {error}", hint=f"set it to {DURATION_HELP}"
            ) from None
    config = find_project_config()
    if config.settings.idle_stop is not None:
        return IdleStopSetting(config.settings.idle_stop, config.describe())
    return IdleStopSetting(DEFAULT_IDLE_STOP_SECONDS, "default")


def describe_seconds(seconds: float) -> str:
    """``30m``, ``90s``, ``2h``; ``off`` for 0."""
    if seconds <= 0:
        return "off"
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def ensure_watcher(home: Path, idle_seconds: float) -> None:
    """Launch the watcher of ``home``'s server unless one holds the lock already."""
    if _watcher_running(home):
        return
    command = [sys.executable, "-m", _MODULE, str(home), repr(float(idle_seconds))]
    start_detached(command, cwd=str(home))


def watch(home: Path, idle_seconds: float) -> int:
    """The watcher's loop (see the module's docstring). Returns its exit status."""
    with _held_lock(home / LOCK_FILE) as held:
        if not held:
            return 0  # another watcher has this server
        return _watch_locked(home, idle_seconds)


def _watch_locked(home: Path, idle_seconds: float) -> int:
    from tasker_ctl.db import embedded

    pgdata = home / DATA_DIR_NAME
    first = running_postmaster(pgdata)
    if first is None:
        return 0
    period = describe_seconds(idle_seconds)
    _log(home, f"watching the server (pid {first.pid}); it stops after {period} without clients")
    poll = min(max(idle_seconds / 10, _MIN_POLL_SECONDS), _MAX_POLL_SECONDS)
    last_active = time.time()
    checks = 0
    while True:
        current = running_postmaster(pgdata)
        if current is None or current.pid != first.pid:
            _log(home, f"the server (pid {first.pid}) stopped; nothing left to watch")
            return 0
        clients = embedded.client_connections(pgdata)
        now = time.time()
        if clients is None or clients > 0:
            last_active = now  # a server that cannot say how busy it is counts as busy
        checks += 1
        quiet_since = max(last_active, embedded.last_used(home))
        _write_state(home, first.pid, checks, clients, now - quiet_since)
        if now - quiet_since >= idle_seconds:
            if embedded.stop_if_idle(home, idle_seconds):
                _log(home, f"stopped the server (pid {first.pid}): no client for {period}")
                return 0
            last_active = time.time()
        time.sleep(poll)


def _watcher_running(home: Path) -> bool:
    path = home / LOCK_FILE
    if not path.exists():
        return False
    with _held_lock(path) as held:
        return not held


@contextmanager
def _held_lock(path: Path) -> Iterator[bool]:
    """Whether this process got the exclusive lock on ``path`` (without waiting); held until
    the block ends. The operating system releases it when the holder dies, so it never goes
    stale."""
    with path.open("a", encoding="utf-8") as handle:
        try:
            if sys.platform == "win32":
                import msvcrt

                msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True  # closing the file releases the lock


def _write_state(home: Path, pid: int, checks: int, clients: int | None, quiet: float) -> None:
    document = {"server_pid": pid, "checks": checks, "clients": clients, "quiet_seconds": quiet}
    temporary = home / f".{STATE_FILE}.{os.getpid()}"
    with contextlib.suppress(OSError):
        temporary.write_text(json.dumps(document), encoding="utf-8")
        os.replace(temporary, home / STATE_FILE)


def _log(home: Path, line: str) -> None:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with contextlib.suppress(OSError), (home / LOG_FILE).open("a", encoding="utf-8") as log:
        log.write(f"{stamp} {line}\n")


def main(arguments: list[str]) -> int:
    home, seconds = Path(arguments[0]), float(arguments[1])
    if seconds <= 0:
        return 0
    try:
        return watch(home, seconds)
    except Exception as error:  # nobody reads a detached process's output: its log says why
        _log(home, f"stopped watching: {error.__class__.__name__}: {error}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
