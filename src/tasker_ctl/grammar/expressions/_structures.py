"""Token access and jq's composite literals (strings, objects, destructuring patterns).

The base of the expression parser in ``_parser``; expression parsing itself is supplied by
the subclass (:meth:`Structures.pipe`, :meth:`Structures.binary`).
"""

from __future__ import annotations

from tasker_ctl.grammar.errors import ParseError
from tasker_ctl.grammar.expressions import _ast as a
from tasker_ctl.grammar.expressions._lexer import Token


class Structures:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    def pipe(self) -> a.Node:
        raise NotImplementedError

    def binary(self, min_level: int) -> a.Node:
        raise NotImplementedError

    def interpolation(self, tokens: list[Token]) -> a.Node:
        raise NotImplementedError

    def peek(self, offset: int = 0) -> Token | None:
        index = self.index + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def at(self, kind: str, text: str | None = None, offset: int = 0) -> bool:
        index = self.index + offset
        if index >= len(self.tokens):
            return False
        token = self.tokens[index]
        return token.kind == kind and (text is None or token.text == text)

    def at_op(self, text: str) -> bool:
        index = self.index
        if index >= len(self.tokens):
            return False
        token = self.tokens[index]
        return token.text == text and token.kind == "op"

    def take(self) -> Token:
        index = self.index
        if index >= len(self.tokens):
            raise ParseError("unexpected end")
        self.index = index + 1
        return self.tokens[index]

    def expect(self, kind: str, text: str | None = None) -> Token:
        index = self.index
        if index < len(self.tokens):
            token = self.tokens[index]
            if token.kind == kind and (text is None or token.text == text):
                self.index = index + 1
                return token
        raise ParseError(f"expected {text or kind}")

    def string(self, token: Token, format_name: str | None) -> a.StringNode:
        interpolations = [
            self.interpolation(part) for part in token.parts if isinstance(part, list)
        ]
        return a.StringNode(token.text, interpolations, format_name)

    def object(self) -> a.Node:
        entries: list[tuple[str | a.Node, a.Node]] = []
        while not self.at_op("}"):
            entries.append(self.object_entry())
            if self.at_op(","):
                self.take()
                continue
            break
        self.expect("op", "}")
        return a.ObjectNode(entries)

    def object_entry(self) -> tuple[str | a.Node, a.Node]:
        token = self.take()
        key: str | a.Node
        if token.kind == "var":
            if token.text == "__loc__":
                return "__loc__", a.Literal("")
            if not self.at_op(":"):
                return token.text, a.VarRef(token.text)
            key = a.VarRef(token.text)
        elif token.kind in ("ident", "keyword"):
            key = token.text
            if not self.at_op(":"):
                return key, a.Index(a.Identity(), key)
        elif token.kind in ("str", "format"):
            string = token if token.kind == "str" else self.expect("str")
            fmt = token.text if token.kind == "format" else None
            node = self.string(string, fmt)
            key = node.literal if not node.interpolations and fmt is None else node
            if not self.at_op(":"):
                return key, a.Index(a.Identity(), key)
        elif token.kind == "num":
            key = token.text
        elif token.kind == "op" and token.text == "(":
            key = self.pipe()
            self.expect("op", ")")
        else:
            raise ParseError("unexpected object key")
        self.expect("op", ":")
        return key, self.object_value()

    def object_value(self) -> a.Node:
        # jq's object values are pipes of terms without commas
        stages = [self.binary(1)]
        while self.at_op("|"):
            self.take()
            stages.append(self.binary(1))
        node = stages.pop()
        while stages:
            node = a.Pipe(stages.pop(), node)
        return node

    def pattern(self) -> a.Pattern:
        token = self.take()
        if token.kind == "var":
            return a.PVar(token.text)
        if token.kind == "op" and token.text == "[":
            items = [self.pattern()]
            while self.at_op(","):
                self.take()
                items.append(self.pattern())
            self.expect("op", "]")
            return a.PArray(items)
        if token.kind == "op" and token.text == "{":
            entries = [self.pattern_entry()]
            while self.at_op(","):
                self.take()
                entries.append(self.pattern_entry())
            self.expect("op", "}")
            return a.PObject(entries)
        raise ParseError("expected a pattern")

    def pattern_entry(self) -> a.PObjectEntry:
        token = self.take()
        key: str | a.Node
        var: str | None = None
        if token.kind == "var":
            key, var = token.text, token.text
            if not self.at_op(":"):
                return a.PObjectEntry(key, var, None)
        elif token.kind in ("ident", "keyword"):
            key = token.text
        elif token.kind == "str":
            node = self.string(token, None)
            key = node.literal if not node.interpolations else node
        elif token.kind == "op" and token.text == "(":
            key = self.pipe()
            self.expect("op", ")")
        else:
            raise ParseError("expected a pattern key")
        self.expect("op", ":")
        return a.PObjectEntry(key, var, self.pattern())
