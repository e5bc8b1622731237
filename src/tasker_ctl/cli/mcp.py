"""``tasker-ctl mcp serve``: the toolchain as an MCP server for LLM clients (docs/mcp.md)."""

from __future__ import annotations

import ipaddress
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tasker_ctl.errors import UsageError


class Transport(StrEnum):
    STDIO = "stdio"
    HTTP = "http"


def register(app: typer.Typer) -> None:
    mcp_app = typer.Typer(help="Serve the toolchain to MCP clients.", no_args_is_help=True)
    app.add_typer(mcp_app, name="mcp")

    @mcp_app.command(
        epilog="Exit codes: 0 the client closed the session (stdio) or the server was stopped "
        "(http); 2 bad usage (an unknown --tools tier: TOOLS_INVALID) or the [mcp] extra is "
        "missing (MCP_EXTRA_MISSING). docs/mcp.md lists the tools and the safety model.",
    )
    def serve(
        transport: Annotated[
            Transport,
            typer.Option(
                "--transport",
                "-t",
                case_sensitive=False,
                help="stdio: the client starts this command and talks over its standard input "
                "and output; http: streamable HTTP at http://HOST:PORT/mcp.",
            ),
        ] = Transport.STDIO,
        host: Annotated[
            str,
            typer.Option("--host", help="With http: the address to listen on (loopback)."),
        ] = "127.0.0.1",
        port: Annotated[
            int, typer.Option("--port", min=1, max=65535, help="With http: the port.")
        ] = 8765,
        allow_write: Annotated[
            bool,
            typer.Option(
                "--allow-write",
                help="Expose the write tools (submit, cancel, retry, resolve, complete, "
                "approve, reject, DLQ resolve); each still needs a preview and a confirm.",
            ),
        ] = False,
        offline: Annotated[
            bool,
            typer.Option("--offline", help="Only the tools that need no database (tier1)."),
        ] = False,
        tools: Annotated[
            str | None,
            typer.Option(
                "--tools",
                metavar="TIERS",
                help="The tiers to expose, comma-separated: tier1 (offline), tier2 (read a "
                "database), tier3 (write: also needs --allow-write). Default: all.",
                show_default=False,
            ),
        ] = None,
        project: Annotated[
            Path | None,
            typer.Option(
                "--project",
                metavar="DIR",
                help="The project whose files tools may read (default: the current folder); "
                "a path outside it is refused.",
                show_default=False,
                file_okay=False,
            ),
        ] = None,
        database_url: Annotated[
            str | None,
            typer.Option(
                "--database-url",
                metavar="URL",
                help="PostgreSQL URL for the database tools; default: $TASKER_DATABASE_URL, "
                "the project configuration's database_url, else the embedded server.",
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Serve the tools to an MCP client: read-only unless --allow-write."""
        from tasker_ctl.mcp.catalog import parse_tiers
        from tasker_ctl.mcp.server import ServeOptions, build_server

        root = (project or Path.cwd()).resolve()
        if not root.is_dir():
            raise UsageError(f"--project {root} is not a folder")
        options = ServeOptions(
            project_root=root,
            database_url=database_url,
            tiers=parse_tiers(tools),
            offline=offline,
            allow_write=allow_write,
            host=host,
            port=port,
        )
        server, _caller = build_server(options)
        if transport is Transport.STDIO:
            server.run("stdio")
            return
        if not _loopback(host):
            sys.stderr.write(
                f"warning: listening on {host}, not loopback: anyone who reaches it may call "
                "the tools\n"
            )
        sys.stderr.write(f"tasker-ctl MCP server at http://{host}:{port}/mcp\n")
        server.run("streamable-http", host=host, port=port)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
