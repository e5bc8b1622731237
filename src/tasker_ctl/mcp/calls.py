"""One tool call, transport aside: arguments checked, the write rule, preview and confirm, the
shared function run, errors coded, the answer kept under the size cap.

``Caller.invoke`` is what the server runs for every ``tools/call``; tests call it directly to
compare a tool's answer with its command's ``--json`` document. It never raises: every failure
is an ``Answer`` with ``is_error`` and a document ``{"error": {"code", "message", "hint",
"problems"}}`` carrying the CLI's code, message and hint.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import ValidationError

from tasker_ctl.errors import TaskerError
from tasker_ctl.mcp.confirmation import Signer
from tasker_ctl.mcp.errors import ToolArgumentsError, WriteNotAllowedError
from tasker_ctl.mcp.sizing import MAX_DOCUMENT_BYTES, cut_to_fit, page_of, size_of
from tasker_ctl.mcp.spec import ToolContext, ToolSpec, ToolTier

__all__ = ["Answer", "Caller", "error_document"]

logger = logging.getLogger(__name__)

# arguments the server reads itself and the tool never sees
CURSOR_ARGUMENT = "cursor"
_CONFIRMATION_ARGUMENTS = ("confirm", "token")
_MOST_PROBLEMS = 20


@dataclass(frozen=True)
class Answer:
    document: dict[str, Any]
    is_error: bool = False


def error_document(error: TaskerError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.hint:
        body["hint"] = error.hint
    problems = getattr(error, "problems", None)
    if problems:
        body["problems"] = problems
    return {"error": body}


@dataclass
class Caller:
    """Runs calls for one server: its context, its signer (tokens and cursors) and clock."""

    context: ToolContext
    clock: Callable[[], float] = time.time
    limit: int = MAX_DOCUMENT_BYTES
    signer: Signer = field(init=False)

    def __post_init__(self) -> None:
        self.signer = Signer(clock=self.clock)

    def invoke(
        self, spec: ToolSpec, arguments: Mapping[str, Any] | None, actor: str | None = None
    ) -> Answer:
        try:
            return self._invoke(spec, dict(arguments or {}), actor)
        except TaskerError as error:
            return Answer(error_document(error), is_error=True)
        except Exception:  # a bug of ours: logged whole on the server, coded for the client
            logger.exception("tool %s failed", spec.name)
            return Answer(
                {
                    "error": {
                        "code": "INTERNAL_ERROR",
                        "message": f"{spec.name} failed inside tasker-ctl",
                        "hint": "the server's log has the traceback; please report it",
                    }
                },
                is_error=True,
            )

    def _invoke(self, spec: ToolSpec, raw: dict[str, Any], actor: str | None) -> Answer:
        context = self.context
        if actor is not None:
            context = replace(context, actor=actor)
        cursor = raw.pop(CURSOR_ARGUMENT, None) if spec.pages else None
        arguments = parse_arguments(spec, raw)
        if spec.tier is ToolTier.WRITE:
            return self._write(spec, arguments, raw, context)
        document = spec.run(arguments, context).model_dump(mode="json")
        return Answer(self._fit(spec, document, raw, cursor))

    def _write(
        self, spec: ToolSpec, arguments: Any, raw: dict[str, Any], context: ToolContext
    ) -> Answer:
        if not context.allow_write:
            raise WriteNotAllowedError(
                f"{spec.name} changes the database; this server is read-only",
                hint="start the server with 'tasker-ctl mcp serve --allow-write'",
            )
        assert spec.preview is not None
        assert spec.state_of is not None
        bound = {key: value for key, value in raw.items() if key not in _CONFIRMATION_ARGUMENTS}
        state = spec.state_of(arguments, context)
        if not arguments.confirm:
            preview = spec.preview(arguments, context).model_dump(mode="json")
            token, lifetime = self.signer.issue(spec.name, bound, state)
            return Answer(
                {
                    "status": "preview",
                    "preview": preview,
                    "token": token,
                    "expires_in_seconds": lifetime,
                    "instruction": "show the user what would change; to make the change call "
                    f"{spec.name} again with the same arguments, confirm: true and this token",
                }
            )
        self.signer.redeem(arguments.token, spec.name, bound, state)
        document = spec.run(arguments, context).model_dump(mode="json")
        return Answer(self._fit(spec, document, raw, None))

    def _fit(
        self, spec: ToolSpec, document: dict[str, Any], raw: dict[str, Any], cursor: Any
    ) -> dict[str, Any]:
        offset = 0
        if cursor is not None:
            offset = self.signer.offset(str(cursor), spec.name, raw)
        if spec.pages and (cursor is not None or size_of(document) > self.limit):
            page, following = page_of(document, spec.pages, offset, self.limit - 512)
            total = len(document.get(spec.pages) or [])
            page["page"] = {
                "field": spec.pages,
                "offset": offset,
                "returned": len(page.get(spec.pages) or []),
                "total": total,
                "next_cursor": None
                if following is None
                else self.signer.cursor(spec.name, raw, following),
            }
            document = page
        if size_of(document) > self.limit:
            document, cuts = cut_to_fit(document, self.limit - 1024)
            document["cut"] = {
                "paths": cuts,
                "hint": f"the whole document: {spec.cli}",
            }
        return document


def parse_arguments(spec: ToolSpec, raw: Mapping[str, Any]) -> Any:
    """``raw`` as the tool's arguments model, or every problem at once, each with its path."""
    try:
        return spec.arguments.model_validate(dict(raw))
    except ValidationError as error:
        problems = [
            {
                "path": "/".join(str(part) for part in problem["loc"]) or "(arguments)",
                "problem": problem["msg"],
            }
            for problem in error.errors(include_url=False, include_input=False)
        ]
        raise ToolArgumentsError(
            f"{spec.name}: {len(problems)} argument problem(s)",
            problems=problems[:_MOST_PROBLEMS],
            hint="the tool's inputSchema lists each argument; unknown ones are refused",
        ) from None
