"""The JSON documents of ``tasker-ctl dlq ...``: a shared header (``version``, ``tool``), then
the command's content (``entries``, ``entry``, ``sweep`` or ``stats``), as docs/dlq.md
describes them."""

from __future__ import annotations

import functools
import json
import sys
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pydantic import BaseModel

__all__ = ["JSON_FORMAT_VERSION", "dlq_document", "write_json"]

JSON_FORMAT_VERSION = 1


def dlq_document(**content: Any) -> BaseModel:
    """The JSON document of a dlq command: the shared header, then the command's content
    (``entries``, ``entry``, ``sweep`` or ``stats``)."""
    from tasker_ctl.report.json_output import this_tool

    kind = next(key for key in _document_models() if key in content)
    return _document_models()[kind](version=JSON_FORMAT_VERSION, tool=this_tool(), **content)


@functools.cache
def _document_models() -> dict[str, type[BaseModel]]:
    """The closed models of the documents, keyed by their content field; built on first use
    so that the engine is imported only by commands that need it."""
    from pydantic import create_model

    from tasker_ctl.engine.operator import DlqEntry, DlqEntrySummary, DlqStats, SweepReport
    from tasker_ctl.report.json_output import StrictOutput, ToolOutput

    def document(name: str, **fields: Any) -> type[BaseModel]:
        return create_model(
            name,
            __base__=StrictOutput,
            version=(Literal[1], ...),
            tool=(ToolOutput, ...),
            **fields,
        )

    return {
        "entries": document(
            "DlqListOutput",
            status_filter=(str | None, ...),
            entries=(list[DlqEntrySummary], ...),
        ),
        "entry": document("DlqEntryOutput", entry=(DlqEntry, ...)),
        "sweep": document("SweepOutput", sweep=(SweepReport, ...)),
        "stats": document("DlqStatsOutput", stats=(DlqStats, ...)),
    }


def write_json(document: BaseModel) -> None:
    data = document.model_dump(mode="json")
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    sys.stdout.flush()
