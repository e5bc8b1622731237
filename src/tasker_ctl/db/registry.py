"""A record of the embedded servers tasker-ctl started for this user, so that
``tasker-ctl db stop --all`` can find them wherever they are.

One small JSON file per data directory in ``$XDG_STATE_HOME/tasker-ctl/servers`` (default
``~/.local/state/tasker-ctl/servers``). An entry says only where a server's state folder is;
whether it runs is read from its ``postmaster.pid`` when asked, so an entry whose server
stopped, whose folder was deleted or whose file is damaged is harmless: it is dropped when
next read.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

STATE_ENV = "XDG_STATE_HOME"
_FORMAT = 1


@dataclass(frozen=True)
class RecordedServer:
    """A server tasker-ctl started: its state folder and data directory."""

    home: Path
    data_dir: Path
    entry: Path


def registry_dir() -> Path:
    """Where the entries are (``$XDG_STATE_HOME/tasker-ctl/servers``)."""
    base = os.environ.get(STATE_ENV, "").strip()
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "tasker-ctl" / "servers"


def record(home: Path, data_dir: Path) -> None:
    """Remember a server started in ``home`` (written whole, so a reader never sees half)."""
    folder = registry_dir()
    entry = _entry_path(folder, data_dir)
    content = json.dumps(
        {"format": _FORMAT, "home": str(home), "data_dir": str(data_dir)}, sort_keys=True
    )
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if entry.is_file() and entry.read_text(encoding="utf-8") == content:
            return
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".entry-")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(content)
        os.replace(temporary, entry)
    except OSError:
        # the record serves `db stop --all` only; a server without one still works
        return


def recorded() -> list[RecordedServer]:
    """Every entry that can be read; damaged ones are deleted on the way."""
    folder = registry_dir()
    try:
        entries = sorted(folder.glob("*.json"))
    except OSError:
        return []
    servers = []
    for entry in entries:
        try:
            document = json.loads(entry.read_text(encoding="utf-8"))
            server = RecordedServer(Path(document["home"]), Path(document["data_dir"]), entry=entry)
        except (OSError, ValueError, KeyError, TypeError):
            forget_entry(entry)
            continue
        servers.append(server)
    return servers


def forget(data_dir: Path) -> None:
    """Drop the entry of ``data_dir``'s server, if any."""
    forget_entry(_entry_path(registry_dir(), data_dir))


def forget_entry(entry: Path) -> None:
    with contextlib.suppress(OSError):
        entry.unlink(missing_ok=True)


def _entry_path(folder: Path, data_dir: Path) -> Path:
    digest = hashlib.sha256(str(data_dir).encode("utf-8", "surrogateescape")).hexdigest()
    return folder / f"{digest[:24]}.json"


def stop_recorded_servers() -> list[Path]:
    """Stop every recorded server that still runs (``tasker-ctl db stop --all``) and return
    their data directories; entries of servers that stopped otherwise are dropped."""
    from tasker_ctl.db.embedded import stop_embedded
    from tasker_ctl.db.postmaster import running_postmaster

    stopped = []
    for server in recorded():
        if running_postmaster(server.data_dir) is None:
            forget_entry(server.entry)
            continue
        if stop_embedded(server.home):
            stopped.append(server.data_dir)
        forget_entry(server.entry)
    return stopped
