"""The MCP server: the chosen tools, the project's templates and the vocabulary as resources,
and instructions, served by the ``mcp`` SDK's ``MCPServer`` over stdio or streamable HTTP.

The only module that imports the SDK (the ``[mcp]`` extra). Each tool is registered with the
input schema of its arguments model and an output schema from its document model (abridged
when big, the whole one a resource away), and runs through ``Caller.invoke`` on a worker
thread, so the SDK never sees an exception of ours: an error is a ``CallToolResult`` with
``isError`` and the coded error document.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasker_ctl import __version__
from tasker_ctl.mcp.calls import CURSOR_ARGUMENT, Caller
from tasker_ctl.mcp.catalog import select_tools
from tasker_ctl.mcp.errors import McpExtraMissing
from tasker_ctl.mcp.schemas import input_schema, output_schema
from tasker_ctl.mcp.spec import ToolContext, ToolSpec, ToolTier

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["INSTRUCTIONS", "ServeOptions", "build_server", "require_sdk"]

SERVER_NAME = "tasker-ctl"
INSTRUCTIONS = """\
tasker-ctl: Tasker-style workflow templates, their typed results, and tasks on PostgreSQL.
Order of work. New workflow: template_generate (a structured spec of steps and typed \
outputs) -> template_validate -> fix each finding -> handler_generate. Existing template: \
template_inspect, schema_inspect, schema_compare, schema_diff. Grammar steps: grammar_list, \
capability_search, capability_inspect, composition_validate, composition_explain. A task in \
trouble: task_explain -> step_diagnose -> the repair it names.
Writes (only when the server allows them) take two calls: call without confirm for a preview \
and a token, show the user what would change, then call again with the same arguments, \
confirm: true and the token. Every write needs a reason and is recorded with who made it.
Errors are structured: error.code, error.message, error.hint, error.problems. Lists come in \
pages: pass page.next_cursor back as cursor. A document too big is cut: its cut block says \
what was cut and which command prints it whole."""


@dataclass(frozen=True)
class ServeOptions:
    project_root: Path
    database_url: str | None = None
    tiers: frozenset[ToolTier] = frozenset(ToolTier)
    offline: bool = False
    allow_write: bool = False
    clock: Callable[[], float] | None = None
    host: str = "127.0.0.1"
    port: int = 8765
    extra_tools: tuple[ToolSpec, ...] = field(default=())


def require_sdk() -> None:
    """The ``mcp`` SDK, or the coded error that names the install."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError:
        raise McpExtraMissing(
            "the MCP server needs the mcp package",
            hint="pip install 'tasker-ctl[mcp]'",
        ) from None


def build_server(options: ServeOptions) -> tuple[MCPServer, Caller]:
    """The server, and the caller its tools run through (tests read its signer and clock)."""
    require_sdk()
    from mcp.server.mcpserver import MCPServer

    context = ToolContext(
        project_root=options.project_root,
        database_url=options.database_url,
        allow_write=options.allow_write,
    )
    caller = Caller(context) if options.clock is None else Caller(context, clock=options.clock)
    specs = select_tools(options.tiers, offline=options.offline, allow_write=options.allow_write)
    specs = (*specs, *options.extra_tools)
    server: MCPServer = MCPServer(
        name=SERVER_NAME,
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=[_sdk_tool(spec, caller) for spec in specs],
        warn_on_duplicate_resources=False,
        log_level="WARNING",
    )
    from tasker_ctl.mcp.resources import add_resources

    add_resources(server, options.project_root, specs)
    return server, caller


def _sdk_tool(spec: ToolSpec, caller: Caller) -> Any:
    import anyio.to_thread
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.tools.base import Tool
    from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
    from mcp_types import CallToolResult, TextContent, ToolAnnotations
    from pydantic import ConfigDict

    class RawArguments(ArgModelBase):
        """Passes the client's arguments through whole: ``Caller.invoke`` checks them against
        the tool's own model, so every problem comes back coded."""

        model_config = ConfigDict(extra="allow", arbitrary_types_allowed=True)

        def model_dump_one_level(self) -> dict[str, Any]:
            return {"arguments": dict(self.model_extra or {})}

    async def call(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        actor = f"mcp:{_client_name(ctx)}"
        answer = await anyio.to_thread.run_sync(caller.invoke, spec, arguments, actor)
        text = json.dumps(answer.document, ensure_ascii=False, separators=(",", ":"))
        return CallToolResult(
            content=[TextContent(type="text", text=text)],
            structured_content=answer.document,
            is_error=answer.is_error,
        )

    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.description,
        parameters=input_schema(spec, cursor=CURSOR_ARGUMENT),
        fn_metadata=FuncMetadata(arg_model=RawArguments, output_schema=output_schema(spec)),
        is_async=True,
        context_kwarg="ctx",
        annotations=ToolAnnotations(
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
    )


def _client_name(ctx: Any) -> str:
    """The name the client gave in its handshake (or request envelope), else 'unknown-client'."""
    try:
        info = ctx.request_context.session.client_params.client_info
        name = str(info.name).strip()
    except AttributeError:
        return "unknown-client"
    cleaned = "".join(ch for ch in name if ch.isprintable())[:64]
    return cleaned or "unknown-client"
