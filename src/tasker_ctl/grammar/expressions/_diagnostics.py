"""Turn jq's compile and run-time messages into :class:`ExpressionError` for the author.

jq reports compile errors against the sandboxed program (prelude + the author's text); the
line numbers are shifted back by the prelude's length so they point into the author's text.
"""

from __future__ import annotations

import re

from tasker_ctl.grammar.errors import ExpressionError, ExpressionErrorKind
from tasker_ctl.grammar.expressions._prelude import (
    DENIED_KEYWORDS,
    PRELUDE_LINES,
    RUNTIME_DENIALS,
    denial_message,
)

_LOCATED = re.compile(
    r"^jq: error: (?P<message>.*?) at <top-level>, "
    r"line (?P<line>\d+)(?:, column (?P<column>\d+))?:?$"
)
_UNLOCATED = re.compile(r"^jq: error: (?P<message>.*)$")
_SUMMARY = re.compile(r"^jq: \d+ compile errors?$")
_UNEXPECTED_KEYWORD = re.compile(r"unexpected (?P<keyword>import|include|module)\b")

EMPTY_MESSAGE = "the expression is empty"

# a run-time error value can be arbitrarily large; the author needs its beginning
MAX_MESSAGE_CHARS = 2000


def truncate(message: str) -> str:
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    return message[:MAX_MESSAGE_CHARS] + f"... ({len(message) - MAX_MESSAGE_CHARS} more characters)"


def compile_error(raw: str) -> ExpressionError:
    """The error for jq's compile-time message ``raw`` about a sandboxed program."""
    parts: list[str] = []
    first: tuple[int | None, int | None] | None = None
    keyword: str | None = None
    snippet_allowed = False
    for text in raw.splitlines():
        if _SUMMARY.match(text):
            continue
        located = _LOCATED.match(text)
        if located:
            line: int | None = int(located["line"]) - PRELUDE_LINES
            column = int(located["column"]) if located["column"] else None
            if line is not None and line < 1:
                line, column = None, None
            snippet_allowed = line is not None
            if first is None:
                first = (line, column)
                found = _UNEXPECTED_KEYWORD.search(located["message"])
                keyword = found["keyword"] if found else None
            where = f" at line {line}" if line is not None else ""
            where += f", column {column}" if line is not None and column is not None else ""
            parts.append(f"{located['message']}{where}")
            continue
        unlocated = _UNLOCATED.match(text)
        if unlocated:
            snippet_allowed = False
            if unlocated["message"].strip():
                parts.append(unlocated["message"].strip())
            continue
        # the source line and caret jq prints under a located error; meaningless when the
        # error points into the prelude
        if snippet_allowed and text.strip():
            parts.append(text)
    line, column = first if first is not None else (None, None)
    if keyword is not None:
        return ExpressionError(
            ExpressionErrorKind.FORBIDDEN,
            denial_message(keyword, DENIED_KEYWORDS[keyword]),
            line=line,
            column=column,
        )
    message = "\n".join(parts) if parts else raw.strip() or "invalid jq expression"
    if message.startswith("Top-level program not given"):
        message = EMPTY_MESSAGE
    return ExpressionError(ExpressionErrorKind.SYNTAX, truncate(message), line=line, column=column)


def runtime_error(raw: str) -> ExpressionError:
    """The error for a message jq raised while evaluating (``error(...)`` included)."""
    if raw in RUNTIME_DENIALS:
        return ExpressionError(ExpressionErrorKind.FORBIDDEN, raw)
    return ExpressionError(ExpressionErrorKind.EVALUATION, truncate(raw or "jq error"))
