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
