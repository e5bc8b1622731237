"""What an MCP tool is: its arguments and document models, its tier, its hints, and the one
function it shares with a CLI command.

A tool never builds a document of its own: ``run`` calls the same function the command's
``--json`` path calls (``tasker_ctl.documents``) and returns that function's Pydantic model, so
the tool's answer and the command's document are one thing. Nothing here imports the ``mcp``
SDK: the tool modules, their tests and the CLI parity checks load without the extra.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "ToolArguments",
    "ToolContext",
    "ToolSpec",
    "ToolTier",
    "WriteArguments",
]


class ToolTier(StrEnum):
    """The three tiers ``--tools`` chooses from."""

    OFFLINE = "tier1"  # files and knowledge only: no database
    READ = "tier2"  # reads a database, changes nothing
    WRITE = "tier3"  # changes a database: only with --allow-write, always preview then confirm


class ToolArguments(BaseModel):
    """Base of every tool's arguments: an unknown argument is an error, never dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class WriteArguments(ToolArguments):
    """Base of the write tools' arguments: a reason (recorded with the change, as an
    operator's ``--reason``), and the confirmation the server checks before anything changes.
    The server strips ``confirm`` and ``token`` before ``run`` sees the arguments."""

    reason: str = Field(min_length=1, max_length=2000, description="why; recorded with the change")
    confirm: bool = Field(
        default=False, description="false: preview only; true (with token): make the change"
    )
    token: str | None = Field(
        default=None, max_length=512, description="the token the preview returned"
    )


@dataclass(frozen=True)
class ToolContext:
    """What a call may use, set when the server starts (never by the client).

    ``project_root`` bounds every path a client names: a file outside it is refused
    (``PATH_OUTSIDE_PROJECT``). ``actor`` is who a write is recorded as: ``mcp:<client name>``.
    """

    project_root: Path
    database_url: str | None = None
    actor: str = "mcp:unknown-client"
    allow_write: bool = False

    def path(self, name: str) -> Path:
        """``name`` resolved inside the project; see ``tasker_ctl.mcp.paths``."""
        from tasker_ctl.mcp.paths import project_path

        return project_path(self.project_root, name)

    def file(self, name: str) -> tuple[Path, str]:
        """``name`` resolved inside the project, and as the command shows it when run from
        the project's root (relative to it): what a document names the file by."""
        path = self.path(name)
        root = self.project_root.resolve()
        return path, path.relative_to(root).as_posix() if path != root else "."


@dataclass(frozen=True)
class ToolSpec:
    """One tool. ``run(arguments, context)`` returns the document model the CLI command
    writes with ``--json`` for the same input (``cli`` shows that command, for docs and the
    parity tests); ``preview`` (write tools only) says what would change without changing it.
    ``pages``: the top-level list a long answer is split on, with a cursor."""

    name: str
    title: str
    description: str
    tier: ToolTier
    arguments: type[ToolArguments]
    output: type[BaseModel]
    run: Callable[[Any, ToolContext], BaseModel]
    cli: str
    read_only: bool = True
    destructive: bool = False
    idempotent: bool = True
    open_world: bool = False
    pages: str | None = None
    preview: Callable[[Any, ToolContext], BaseModel] | None = None
    state_of: Callable[[Any, ToolContext], str] | None = None
    tags: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if (self.tier is ToolTier.WRITE) != (self.preview is not None):
            raise ValueError(f"{self.name}: write tools, and only they, have a preview")
        if self.tier is ToolTier.WRITE and not issubclass(self.arguments, WriteArguments):
            raise ValueError(f"{self.name}: a write tool's arguments derive WriteArguments")
