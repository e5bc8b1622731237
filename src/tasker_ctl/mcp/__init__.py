"""The MCP server: the toolchain's commands as tools for LLM clients and agents (docs/mcp.md).

``spec`` says what a tool is; ``catalog`` gathers the tools of every area (``tools_*``), each
returning the document its CLI command prints with ``--json`` (``tasker_ctl.documents``);
``calls`` runs one call (arguments, the write rule, preview and confirm, errors, size);
``server`` serves them with the ``mcp`` SDK, which only it imports (the ``[mcp]`` extra).
"""
