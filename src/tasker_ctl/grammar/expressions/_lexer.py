"""A lexer for jq, total on any input: it never raises and always terminates.

Used by the static sandbox check (which builtins does the code name?) and by path
extraction. String interpolations ``\\(...)`` are lexed as code: their tokens hang off the
string token, in :attr:`Token.parts`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KEYWORDS = frozenset(
    {
        "def",
        "as",
        "reduce",
        "foreach",
        "if",
        "then",
        "elif",
        "else",
        "end",
        "try",
        "catch",
        "label",
        "and",
        "or",
        "import",
        "include",
        "module",
        "__loc__",
    }
)

_IDENT = r"(?:[A-Za-z_][A-Za-z0-9_]*::)*[A-Za-z_][A-Za-z0-9_]*"
_TOKEN = re.compile(
    rf"""
    (?P<ws>\s+)
    |(?P<num>(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
    |(?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
    |(?P<var>\$(?:__loc__|{_IDENT}))
    |(?P<format>@[A-Za-z0-9_]+)
    |(?P<ident>{_IDENT})
    |(?P<op>\?//|\|=|\+=|-=|\*=|/=|%=|//=|==|!=|<=|>=|//|\.\.|[.\[\]{{}}()|,:;=<>+\-*/%?])
    """,
    re.VERBOSE,
)
# deeper string interpolation than any real expression, and bounded recursion
_MAX_INTERPOLATION_DEPTH = 16
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", "\\": "\\", '"': '"'}


@dataclass(eq=False, slots=True)
class Token:
    """``kind`` is one of num, field, var, format, ident, keyword, op, str.

    ``text`` is the source text except for: field (the name, without the dot), var (the name,
    without ``$``) and str (the decoded text of the literal parts joined).
    """

    kind: str
    text: str
    pos: int
    # str only: decoded literal pieces and, between them, the tokens of each interpolation
    parts: list[str | list[Token]] = field(default_factory=list)

    @property
    def interpolated(self) -> bool:
        return any(isinstance(part, list) for part in self.parts)


@dataclass(slots=True)
class Lexed:
    tokens: list[Token]
    # position of the first character the lexer could not make sense of, if any
    error_at: int | None = None


def lex(text: str) -> Lexed:
    tokens: list[Token] = []
    _, error_at = _lex_into(text, 0, tokens, in_interpolation=False)
    return Lexed(tokens, error_at)


def _lex_into(
    text: str, pos: int, out: list[Token], *, in_interpolation: bool, nesting: int = 0
) -> tuple[int, int | None]:
    """Append tokens of ``text[pos:]`` to ``out``. Inside an interpolation, stop after the
    ``)`` that closes it. Returns (position reached, position of a lexing error or None)."""
    depth = 0
    length = len(text)
    while pos < length:
        char = text[pos]
        if char == "#":
            pos = _skip_comment(text, pos)
            continue
        if char == '"':
            token, pos, error_at = _lex_string(text, pos, nesting)
            out.append(token)
            if error_at is not None:
                return pos, error_at
            continue
        match = _TOKEN.match(text, pos)
        if match is None:
            return pos, pos
        kind = match.lastgroup or "op"
        value = match.group()
        start, pos = pos, match.end()
        if kind == "ws":
            continue
        if kind == "field" or kind == "var":
            value = value[1:]
        elif kind == "ident" and value in KEYWORDS:
            kind = "keyword"
        elif kind == "op" and in_interpolation:
            if value == "(":
                depth += 1
            elif value == ")":
                if depth == 0:
                    return pos, None
                depth -= 1
        out.append(Token(kind, value, start))
    return pos, pos if in_interpolation else None


def _skip_comment(text: str, pos: int) -> int:
    # jq >= 1.7.1: an odd number of backslashes before the newline continues the comment
    while True:
        newline = text.find("\n", pos)
        if newline < 0:
            return len(text)
        backslashes = 0
        cursor = newline - 1
        if cursor >= 0 and text[cursor] == "\r":
            cursor -= 1
        while cursor >= pos and text[cursor] == "\\":
            backslashes += 1
            cursor -= 1
        if backslashes % 2 == 0:
            return newline + 1
        pos = newline + 1


def _lex_string(text: str, start: int, nesting: int) -> tuple[Token, int, int | None]:
    parts: list[str | list[Token]] = []
    literal: list[str] = []
    pos = start + 1
    length = len(text)
    while pos < length:
        char = text[pos]
        if char == '"':
            parts.append("".join(literal))
            return _string_token(parts, start), pos + 1, None
        if char != "\\":
            literal.append(char)
            pos += 1
            continue
        escape = text[pos + 1] if pos + 1 < length else ""
        if escape == "(":
            if nesting >= _MAX_INTERPOLATION_DEPTH:
                return _string_token(parts, start), pos, pos
            parts.append("".join(literal))
            literal = []
            inner: list[Token] = []
            pos, error_at = _lex_into(
                text, pos + 2, inner, in_interpolation=True, nesting=nesting + 1
            )
            parts.append(inner)
            if error_at is not None:
                return _string_token(parts, start), pos, error_at
        elif escape == "u":
            digits = text[pos + 2 : pos + 6]
            try:
                literal.append(chr(int(digits, 16)))
            except ValueError:
                return _string_token(parts, start), pos, pos
            pos += 6
        elif escape in _ESCAPES:
            literal.append(_ESCAPES[escape])
            pos += 2
        else:
            return _string_token(parts, start), pos, pos
    parts.append("".join(literal))
    return _string_token(parts, start), pos, pos


def _string_token(parts: list[str | list[Token]], start: int) -> Token:
    text = "".join(part for part in parts if isinstance(part, str))
    return Token("str", text, start, parts)


def line_column(text: str, pos: int) -> tuple[int, int]:
    """1-based line and column of ``pos`` in ``text``."""
    line = text.count("\n", 0, pos) + 1
    return line, pos - (text.rfind("\n", 0, pos) + 1) + 1
