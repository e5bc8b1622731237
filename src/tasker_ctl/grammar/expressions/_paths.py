"""Which envelope paths a jq expression reads: :func:`referenced_paths`.

The expression is parsed and evaluated abstractly (see ``_analyzer``): ``.`` starts as the
envelope ``{context, deps, prev, step}`` and is followed through pipes, variables
(``.prev as $p | $p.total`` reads ``.prev.total``), array and object construction,
``select``/``map``/``first``/``..._by`` and the other builtins, conditionals, ``reduce`` and
``foreach``, and user-defined functions (inlined a few levels deep). A path is reported when
a value found there is consumed: compared, computed with, passed to a builtin that looks at
all of it, or returned. Only paths starting at one of the four roots are reported.

It is an approximation, erring towards reporting more:

* Over: both branches of ``if``/``//``/``try`` count; a value consumed whole is reported
  whole even when only part of it matters (``.prev.items | length`` reports
  ``.prev.items``); consuming the envelope itself (``.``, ``tojson``, ``..``) reports every
  root with ``exact=False``; an array or object the expression built that is consumed
  reports everything put into it.
* Cut (``exact=False``): a computed key or index (``.prev[$k]``), a value passed to an
  unknown function or to one that walks it (``getpath``, ``paths``, ``walk``, ``..``), a
  recursive function beyond two levels, a path longer than 24 keys, more than 32 possible
  values at one point. The path is reported up to where it was cut.
* Segments: ``None`` stands for any array element, and also for any value of an object
  iterated with ``.[]``; destructuring ``. as [$a] | ...`` gives ``$a`` the element path.
* Under: arguments of unknown functions are analysed with an unknown ``.``, so a bare
  ``.context.x`` inside them is not reported (the function's own input is, cut).
* Text that does not parse, or an expression whose analysis exceeds a fixed step budget,
  falls back to a lexical scan for root paths (all reported with ``exact=False``).
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

from tasker_ctl.grammar.expressions._abstract import ROOTS
from tasker_ctl.grammar.expressions._analyzer import Analyzer
from tasker_ctl.grammar.expressions._lexer import Token, lex
from tasker_ctl.grammar.expressions._parser import parse_tokens

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_SortKey = tuple[str, tuple[tuple[int, str], ...], bool]


@dataclass(frozen=True, order=True)
class PathRef:
    """An envelope path an expression reads."""

    root: str = field(compare=False)
    # object keys; None is any array element ([] or [n])
    segments: tuple[str | None, ...] = field(compare=False)
    # False when the path continues dynamically and was cut here
    exact: bool = field(default=True, compare=False)
    # segments mix None and str, which do not compare: order and equality go through this
    _key: _SortKey = field(init=False, repr=False)

    def __post_init__(self) -> None:
        segments = tuple((0, "") if s is None else (1, s) for s in self.segments)
        object.__setattr__(self, "_key", (self.root, segments, self.exact))

    @property
    def text(self) -> str:
        """jq notation, e.g. ``.prev.matched[].reference`` or ``.context["a key"]``."""
        parts = ["." + self.root]
        for segment in self.segments:
            if segment is None:
                parts.append("[]")
            elif _IDENTIFIER.match(segment):
                parts.append("." + segment)
            else:
                parts.append("[" + json.dumps(segment, ensure_ascii=False) + "]")
        return "".join(parts)


def referenced_paths(expression: str) -> list[PathRef]:
    """The envelope paths ``expression`` reads, sorted and without duplicates. Never raises;
    see the module documentation for what is approximated."""
    try:
        return list(_referenced(expression))
    except Exception:  # a guarantee to callers: analysis problems never surface
        return []


@functools.lru_cache(maxsize=1024)
def _referenced(expression: str) -> tuple[PathRef, ...]:
    lexed = lex(expression)
    reads: dict[tuple[str, tuple[str | None, ...]], bool]
    try:
        if lexed.error_at is not None:
            raise ValueError("unreadable")
        analyzer = Analyzer()
        analyzer.run(parse_tokens(lexed.tokens))
        reads = analyzer.reads.paths
    except Exception:  # parse errors, the step budget, the interpreter's recursion limit
        reads = _lexical_reads(lexed.tokens)
    return tuple(
        sorted(PathRef(root, segments, exact) for (root, segments), exact in reads.items())
    )


_TERM_ENDS = frozenset({"ident", "field", "var", "num", "str", "format"})


def _lexical_reads(tokens: list[Token]) -> dict[tuple[str, tuple[str | None, ...]], bool]:
    """Root paths written out in ``tokens``, where a term starts: ``.prev.a[].b``."""
    reads: dict[tuple[str, tuple[str | None, ...]], bool] = {}
    stack = [tokens]
    while stack:
        current = stack.pop()
        for index, token in enumerate(current):
            if token.kind == "str":
                stack.extend(part for part in token.parts if isinstance(part, list))
            if token.kind != "field" or token.text not in ROOTS:
                continue
            previous = current[index - 1] if index else None
            continues = previous is not None and (
                previous.kind in _TERM_ENDS or previous.text in (")", "]", "}", "?")
            )
            if not continues:
                reads[(token.text, _lexical_segments(current, index + 1))] = False
    return reads


def _lexical_segments(tokens: list[Token], index: int) -> tuple[str | None, ...]:
    segments: list[str | None] = []

    def at(offset: int, kind: str, text: str | None = None) -> bool:
        position = index + offset
        if position >= len(tokens):
            return False
        token = tokens[position]
        return token.kind == kind and (text is None or token.text == text)

    while index < len(tokens) and len(segments) < 24:
        token = tokens[index]
        if token.kind == "field":
            segments.append(token.text)
            index += 1
        elif at(0, "op", "?"):
            index += 1
        elif at(0, "op", ".") and at(1, "str") and not tokens[index + 1].interpolated:
            segments.append(tokens[index + 1].text)
            index += 2
        elif at(0, "op", ".") and at(1, "op", "["):
            index += 1
        elif at(0, "op", "[") and at(1, "op", "]"):
            segments.append(None)
            index += 2
        elif at(0, "op", "[") and at(1, "num") and at(2, "op", "]"):
            segments.append(None)
            index += 3
        elif at(0, "op", "[") and at(1, "str") and at(2, "op", "]"):
            segments.append(tokens[index + 1].text)
            index += 3
        else:
            break
    return tuple(segments)
