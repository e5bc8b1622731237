"""The JSON documents of the commands, one function each, shared by the CLI and the MCP server.

Each function takes the command's inputs as plain values, does the work through the library
(engine, template, grammar, planning, codegen) and returns the document's Pydantic model. The
command's ``--json`` path writes that model (``tasker_ctl.report.json_output.write_document``);
the MCP tool of the same name returns it (``tasker_ctl.mcp``). So a tool's answer and the
command's document cannot drift apart. Modules: one per area of commands.
"""
