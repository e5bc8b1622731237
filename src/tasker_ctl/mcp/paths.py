"""Paths a client names, kept inside the project the server was started for.

A client is untrusted: it may name ``../../etc/passwd`` or a symbolic link out of the project.
Every path goes through ``project_path``, which resolves it (links included) and refuses what
lands outside the project root.
"""

from __future__ import annotations

from pathlib import Path

from tasker_ctl.mcp.errors import PathOutsideProjectError

__all__ = ["project_path"]

_LONGEST_PATH = 4096


def project_path(root: Path, name: str) -> Path:
    """``name`` (relative to ``root``, or absolute inside it) resolved; refused outside."""
    if not name or len(name) > _LONGEST_PATH or "\x00" in name:
        raise PathOutsideProjectError(
            "the path is empty, too long or holds a NUL character",
            hint="name a file of the project, relative to its root",
        )
    base = root.resolve()
    candidate = Path(name)
    resolved = (candidate if candidate.is_absolute() else base / candidate).resolve()
    if resolved != base and base not in resolved.parents:
        raise PathOutsideProjectError(
            f"{name!r} is outside the project ({base})",
            hint="name a file of the project, relative to its root",
        )
    return resolved
