"""A caller that goes through the MCP server as a client does: the SDK's client, in process,
on the server ``tasker-ctl mcp serve`` builds. It answers as ``Caller.invoke`` does, so a test
written against the call path can run through the whole server instead."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mcp import Client
from mcp_types import Implementation

from tasker_ctl.mcp.calls import Answer
from tasker_ctl.mcp.server import ServeOptions, build_server
from tasker_ctl.mcp.spec import ToolSpec


class SdkCaller:
    """``invoke(spec, arguments)`` as a tools/call from a client named ``client``: the server
    records its writes as made by ``mcp:<client>``. Tokens live as long as this caller."""

    def __init__(
        self,
        root: Path,
        database_url: str | None,
        *,
        client: str,
        allow_write: bool = True,
        mode: str = "legacy",
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.server, self.caller = build_server(
            ServeOptions(
                project_root=root,
                database_url=database_url,
                allow_write=allow_write,
                clock=clock,
            )
        )
        self.client = client
        self.mode = mode

    def invoke(self, spec: ToolSpec, arguments: Mapping[str, Any] | None) -> Answer:
        async def call() -> Answer:
            async with Client(
                self.server,
                mode=self.mode,
                client_info=Implementation(name=self.client, version="1"),
            ) as client:
                result = await client.call_tool(spec.name, dict(arguments or {}))
                return Answer(dict(result.structured_content or {}), is_error=result.is_error)

        return asyncio.run(call())
