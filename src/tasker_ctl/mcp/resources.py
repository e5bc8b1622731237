"""The server's resources: the project's templates, the grammar's vocabulary, and the whole
output schema of each tool (the tool list carries abridged ones).

Templates are found when the server starts (the files ``tasker-ctl validate`` would take in the
project root, at most ``MOST_TEMPLATES``, each read when asked, up to ``LARGEST_TEMPLATE``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from tasker_ctl.mcp.schemas import full_output_schema
from tasker_ctl.mcp.spec import ToolSpec

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["MOST_TEMPLATES", "add_resources", "project_templates"]

MOST_TEMPLATES = 200
LARGEST_TEMPLATE = 1024 * 1024
# a project with more YAML files than this is not searched further (the server starts at once)
_MOST_FILES_LOOKED_AT = 5000
_SKIPPED = {".git", ".tasker", ".venv", "venv", "node_modules", "__pycache__", "site-packages"}


def project_templates(root: Path) -> list[Path]:
    """The YAML files under ``root`` that look like TaskTemplates (a top-level ``steps:``)."""
    found: list[Path] = []
    for visited, path in enumerate(sorted(root.rglob("*.y*ml"))):
        if len(found) >= MOST_TEMPLATES or visited >= _MOST_FILES_LOOKED_AT:
            break
        if _SKIPPED & set(path.relative_to(root).parts) or path.suffix not in (".yaml", ".yml"):
            continue
        try:
            if path.is_symlink() or not path.is_file() or path.stat().st_size > LARGEST_TEMPLATE:
                continue
            head = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if "\nsteps:" in f"\n{head}" and "\nname:" in f"\n{head}":
            found.append(path)
    return found


def add_resources(server: MCPServer, root: Path, specs: tuple[ToolSpec, ...]) -> None:
    from mcp.server.mcpserver.resources import FunctionResource

    base = root.resolve()
    for path in project_templates(base):
        relative = path.relative_to(base).as_posix()

        def read(path: Path = path) -> str:
            return path.read_text(encoding="utf-8", errors="replace")[:LARGEST_TEMPLATE]

        server.add_resource(
            FunctionResource(
                uri=f"tasker://templates/{relative}",
                name=relative,
                description="a TaskTemplate of the project",
                mime_type="application/yaml",
                fn=read,
            )
        )

    def vocabulary() -> str:
        from tasker_ctl.grammar.document import render_markdown
        from tasker_ctl.grammar.document import vocabulary as build

        return render_markdown(build(tier=2, capabilities=None))

    server.add_resource(
        FunctionResource(
            uri="tasker://vocabulary",
            name="vocabulary",
            description="the action grammar's capabilities and patterns (tier 2)",
            mime_type="text/markdown",
            fn=vocabulary,
        )
    )
    for spec in specs:

        def schema(spec: ToolSpec = spec) -> str:
            return json.dumps(full_output_schema(spec), separators=(",", ":"))

        server.add_resource(
            FunctionResource(
                uri=f"tasker://schemas/{spec.name}",
                name=f"schema of {spec.name}",
                description=f"the whole output schema of {spec.name}",
                mime_type="application/schema+json",
                fn=schema,
            )
        )
