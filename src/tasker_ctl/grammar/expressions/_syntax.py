"""Compile-time checks: jq syntax and the sandbox's denied builtins, without evaluating."""

from __future__ import annotations

import functools
from collections.abc import Iterator

from tasker_ctl.grammar.errors import ExpressionError, ExpressionErrorKind
from tasker_ctl.grammar.expressions._diagnostics import EMPTY_MESSAGE, compile_error
from tasker_ctl.grammar.expressions._jq import jq
from tasker_ctl.grammar.expressions._lexer import Token, lex, line_column
from tasker_ctl.grammar.expressions._prelude import (
    DENIED_FUNCTIONS,
    DENIED_KEYWORDS,
    DENIED_VARIABLES,
    denial_message,
    sandboxed,
)

_CacheEntry = tuple[ExpressionErrorKind, str, int | None, int | None] | None


def check_syntax(expression: str) -> ExpressionError | None:
    """The first problem jq or the sandbox would report for ``expression`` before running it,
    or None. Never raises for any text."""
    entry = _check(expression)
    if entry is None:
        return None
    kind, message, line, column = entry
    # a fresh error per call: callers may raise it, which mutates its traceback
    return ExpressionError(kind, message, line=line, column=column)


@functools.lru_cache(maxsize=1024)
def _check(expression: str) -> _CacheEntry:
    lexed = lex(expression)
    if not lexed.tokens and lexed.error_at is None:
        return ExpressionErrorKind.SYNTAX, EMPTY_MESSAGE, None, None
    denied = first_denied(expression, lexed.tokens)
    if denied is not None:
        return denied
    try:
        jq.compile(sandboxed(expression))
    except ValueError as exc:
        error = compile_error(str(exc))
        return error.kind, error.message, error.line, error.column
    return None


def first_denied(expression: str, tokens: list[Token]) -> _CacheEntry:
    """FORBIDDEN for the first denied builtin, variable or keyword the code uses."""
    for token in _code_uses(tokens):
        name = token.text
        if token.kind == "ident" and name in DENIED_FUNCTIONS:
            reason = DENIED_FUNCTIONS[name][1]
        elif token.kind == "var" and name in DENIED_VARIABLES:
            reason = DENIED_VARIABLES[name][1]
            name = "$" + name
        elif token.kind == "keyword" and name in DENIED_KEYWORDS:
            reason = DENIED_KEYWORDS[name]
        else:
            continue
        line, column = line_column(expression, token.pos)
        return ExpressionErrorKind.FORBIDDEN, denial_message(name, reason), line, column
    return None


def _code_uses(tokens: list[Token]) -> Iterator[Token]:
    """Tokens that act as code: not object keys, not the name a ``def`` introduces. Walks
    into string interpolations."""
    brackets: list[str] = []
    previous: Token | None = None
    for index, token in enumerate(tokens):
        if token.kind == "str":
            for part in token.parts:
                if isinstance(part, list):
                    yield from _code_uses(part)
        elif token.kind == "op" and token.text in "([{":
            brackets.append(token.text)
        elif token.kind == "op" and token.text in ")]}":
            if brackets:
                brackets.pop()
        elif token.kind in ("ident", "keyword", "var") and not (
            _is_object_key(tokens, index, previous, brackets) or _is_definition(previous)
        ):
            yield token
        previous = token


def _is_object_key(
    tokens: list[Token], index: int, previous: Token | None, brackets: list[str]
) -> bool:
    if not brackets or brackets[-1] != "{" or previous is None:
        return False
    if previous.kind != "op" or previous.text not in ("{", ","):
        return False
    if tokens[index].kind == "var":
        # {$x} and {$x: v} read the variable
        return False
    following = tokens[index + 1] if index + 1 < len(tokens) else None
    return following is not None and following.kind == "op" and following.text in (":", ",", "}")


def _is_definition(previous: Token | None) -> bool:
    return previous is not None and previous.kind == "keyword" and previous.text == "def"
