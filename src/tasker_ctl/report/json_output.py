"""What every JSON document tasker-ctl writes shares: closed models and the ``tool`` block."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from tasker_ctl import __version__

TOOL_NAME = "tasker-ctl"


class StrictOutput(BaseModel):
    """Base of the output models: an unknown key is a bug, not something to drop."""

    model_config = ConfigDict(extra="forbid")


class ToolOutput(StrictOutput):
    name: str = Field(description="always 'tasker-ctl'")
    version: str = Field(description="the tasker-ctl version that wrote the document")


def this_tool() -> ToolOutput:
    return ToolOutput(name=TOOL_NAME, version=__version__)


def document_text(document: BaseModel) -> str:
    """A command's JSON document as ``--json`` writes it: indented, ending with a newline.
    The MCP tool of the same command answers ``document.model_dump(mode="json")``: one model,
    two transports."""
    import json

    return json.dumps(document.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def write_document(document: BaseModel) -> None:
    """Write ``document_text(document)`` to standard output."""
    import sys

    sys.stdout.write(document_text(document))
    sys.stdout.flush()
