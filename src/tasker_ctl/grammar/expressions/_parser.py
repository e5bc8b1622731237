"""A recursive-descent parser for jq following jq's operator precedence.

It accepts a little more than jq (it is not a validator: :func:`check_syntax` is) and raises
:class:`ParseError` on anything it cannot read, including nesting deeper than
:data:`MAX_DEPTH`.
"""

from __future__ import annotations

from tasker_ctl.grammar.errors import ParseError
from tasker_ctl.grammar.expressions import _ast as a
from tasker_ctl.grammar.expressions._lexer import Token, lex
from tasker_ctl.grammar.expressions._structures import Structures

__all__ = ["MAX_DEPTH", "ParseError", "parse", "parse_tokens"]

MAX_DEPTH = 48
_ASSIGN_OPS = frozenset({"=", "|=", "+=", "-=", "*=", "/=", "%=", "//="})
_LEVELS: dict[str, int] = {
    "//": 1,
    **dict.fromkeys(_ASSIGN_OPS, 2),
    "or": 3,
    "and": 4,
    **dict.fromkeys(("==", "!=", "<", "<=", ">", ">="), 5),
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "%": 7,
}


def _binary_level(token: Token | None) -> int:
    if token is None or token.kind not in ("op", "keyword"):
        return 0
    return _LEVELS.get(token.text, 0)


def parse(text: str) -> a.Node:
    lexed = lex(text)
    if lexed.error_at is not None:
        raise ParseError(f"unreadable text at {lexed.error_at}")
    return parse_tokens(lexed.tokens)


def parse_tokens(tokens: list[Token], depth: int = 0) -> a.Node:
    parser = _Parser(tokens)
    parser.depth = depth
    node = parser.pipe()
    if parser.index != len(tokens):
        raise ParseError("unexpected token")
    return node


class _Parser(Structures):
    def interpolation(self, tokens: list[Token]) -> a.Node:
        return parse_tokens(tokens, self.depth)

    # precedence levels, lowest first; loops rather than recursion where jq's grammar allows,
    # so long pipelines do not eat the interpreter's stack

    def pipe(self) -> a.Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise ParseError("nested too deeply")
        try:
            stages: list[a.Node] = []
            while True:
                if self.at("keyword", "def"):
                    stages.append(self.funcdef())
                    break
                stages.append(self.comma())
                if not self.at_op("|"):
                    break
                self.take()
            node = stages.pop()
            while stages:
                node = a.Pipe(stages.pop(), node)
            return node
        finally:
            self.depth -= 1

    def funcdef(self) -> a.Node:
        self.expect("keyword", "def")
        name = self.take()
        if name.kind not in ("ident", "keyword"):
            raise ParseError("expected a function name")
        params: list[str] = []
        if self.at_op("("):
            self.take()
            while True:
                param = self.take()
                if param.kind == "var":
                    params.append("$" + param.text)
                elif param.kind in ("ident", "keyword"):
                    params.append(param.text)
                else:
                    raise ParseError("expected a parameter")
                if self.at_op(";"):
                    self.take()
                    continue
                self.expect("op", ")")
                break
        self.expect("op", ":")
        body = self.pipe()
        self.expect("op", ";")
        return a.FuncDef(name.text, params, body, self.pipe())

    def comma(self) -> a.Node:
        left = self.binary(1)
        while self.at_op(","):
            self.take()
            left = a.Comma(left, self.binary(1))
        return left

    def binary(self, min_level: int) -> a.Node:
        left = self.unary()
        while True:
            token = self.peek()
            level = _binary_level(token)
            if token is None or level < min_level:
                return left
            self.take()
            # // is right-associative, the rest left (jq's non-associative ones included)
            right = self.binary(level if token.text == "//" else level + 1)
            if token.text == "//":
                left = a.Alternative(left, right)
            elif token.text in _ASSIGN_OPS:
                left = a.Assign(token.text, left, right)
            else:
                left = a.BinOp(token.text, left, right)

    def unary(self) -> a.Node:
        negations = 0
        while self.at_op("-"):
            self.take()
            negations += 1
        node = self.postfix()
        for _ in range(negations):
            node = a.Negate(node)
        return node

    def postfix(self, *, allow_binding: bool = True) -> a.Node:
        node = self.primary()
        tokens = self.tokens
        while self.index < len(tokens):
            token = tokens[self.index]
            kind, text = token.kind, token.text
            if kind == "field":
                self.index += 1
                node = a.Index(node, text)
            elif kind == "op" and text == ".":
                if self.at("str", offset=1):
                    self.index += 1
                    node = self.string_index(node, self.take())
                elif self.at("op", "[", offset=1):
                    self.index += 1
                else:
                    return node
            elif kind == "op" and text == "[":
                node = self.bracket_suffix(node)
            elif kind == "op" and text == "?":
                self.index += 1
                node = a.Try(node, None)
            elif allow_binding and kind == "keyword" and text == "as":
                self.index += 1
                patterns = [self.pattern()]
                while self.at_op("?//"):
                    self.index += 1
                    patterns.append(self.pattern())
                self.expect("op", "|")
                return a.Bind(node, patterns, self.pipe())
            else:
                return node
        return node

    def string_index(self, target: a.Node, token: Token) -> a.Node:
        if token.interpolated:
            return a.Index(target, self.string(token, None))
        return a.Index(target, token.text)

    def bracket_suffix(self, target: a.Node) -> a.Node:
        self.expect("op", "[")
        if self.at_op("]"):
            self.take()
            return a.Iterate(target)
        if self.at_op(":"):
            self.take()
            upper = self.pipe()
            self.expect("op", "]")
            return a.Slice(target, None, upper)
        key = self.pipe()
        if self.at_op(":"):
            self.take()
            high = None if self.at_op("]") else self.pipe()
            self.expect("op", "]")
            return a.Slice(target, key, high)
        self.expect("op", "]")
        if isinstance(key, a.StringNode) and not key.interpolations and key.format is None:
            return a.Index(target, key.literal)
        return a.Index(target, key)

    def primary(self) -> a.Node:
        token = self.take()
        kind, text = token.kind, token.text
        if kind == "field":
            return a.Index(a.Identity(), text)
        if kind == "num":
            try:
                number: int | float = int(text) if text.isdigit() else float(text)
            except ValueError:
                number = 0
            return a.Literal(number)
        if kind == "str":
            return self.string(token, None)
        if kind == "format":
            if self.at("str"):
                return self.string(self.take(), text)
            return a.FormatNode(text)
        if kind == "var":
            return a.VarRef(text)
        if kind == "ident":
            return self.call(text)
        if kind == "keyword":
            return self.keyword_term(text)
        if kind == "op":
            return self.op_term(text)
        raise ParseError("unexpected token")

    def op_term(self, text: str) -> a.Node:
        if text == ".":
            if self.at("str"):
                return self.string_index(a.Identity(), self.take())
            return a.Identity()
        if text == "..":
            return a.RecurseAll()
        if text == "(":
            node = self.pipe()
            self.expect("op", ")")
            return node
        if text == "[":
            if self.at_op("]"):
                self.take()
                return a.ArrayNode(None)
            body = self.pipe()
            self.expect("op", "]")
            return a.ArrayNode(body)
        if text == "{":
            return self.object()
        raise ParseError("unexpected operator")

    def call(self, name: str) -> a.Node:
        if name == "break" and self.at("var"):
            self.take()
            return a.Break()
        args: list[a.Node] = []
        if self.at_op("("):
            self.take()
            args.append(self.pipe())
            while self.at_op(";"):
                self.take()
                args.append(self.pipe())
            self.expect("op", ")")
        return a.Call(name, args)

    def keyword_term(self, word: str) -> a.Node:
        if word == "if":
            branches = [(self.pipe(), self.after("then"))]
            while self.at("keyword", "elif"):
                self.take()
                branches.append((self.pipe(), self.after("then")))
            otherwise = self.after("else") if self.at("keyword", "else") else None
            self.expect("keyword", "end")
            return a.If(branches, otherwise)
        if word == "try":
            body = self.unary_term()
            handler = None
            if self.at("keyword", "catch"):
                self.take()
                handler = self.unary_term()
            return a.Try(body, handler)
        if word in ("reduce", "foreach"):
            source = self.postfix(allow_binding=False)
            self.expect("keyword", "as")
            pattern = self.pattern()
            self.expect("op", "(")
            init = self.pipe()
            update = self.after(";", kind="op")
            extract = None
            if word == "foreach" and self.at_op(";"):
                extract = self.after(";", kind="op")
            self.expect("op", ")")
            if word == "reduce":
                return a.Reduce(source, pattern, init, update)
            return a.Foreach(source, pattern, init, update, extract)
        if word == "label":
            self.expect("var")
            self.expect("op", "|")
            return a.Label(self.pipe())
        if word == "def":
            self.index -= 1
            return self.funcdef()
        raise ParseError(f"unexpected {word}")

    def unary_term(self) -> a.Node:
        # try binds tighter than every binary operator: its body is one postfix term
        if self.at_op("-"):
            self.take()
            return a.Negate(self.postfix())
        return self.postfix()

    def after(self, word: str, *, kind: str = "keyword") -> a.Node:
        self.expect(kind, word)
        return self.pipe()
