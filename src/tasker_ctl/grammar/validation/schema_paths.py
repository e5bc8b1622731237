"""Whether a path an expression reads can exist in a value described by a JSON Schema.

A path is a sequence of segments: a property name, or ``None`` for "any element" (``[]``).
jq yields null for a missing property, so a wrong path is no run-time error: it only shows
in the schema, which is why the checks here are static.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from tasker_ctl.grammar.validation.schemas import (
    branches,
    flatten_all_of,
    is_closed,
    is_trivial,
    properties,
    resolve,
    types_of,
)

ProblemKind = Literal["unknown_field", "undeclared_field", "type_mismatch"]
_RANK: dict[str, int] = {"undeclared_field": 0, "unknown_field": 1, "type_mismatch": 1}
_MAX_BRANCH_HOPS = 64
# alternatives multiply; past this many schema visits a path counts as possible
_MAX_VISITS = 2000


@dataclass(frozen=True)
class PathProblem:
    """Why a path cannot (or may not) exist. ``depth`` is the index of the failing segment."""

    kind: ProblemKind
    depth: int
    segment: str | None
    candidates: tuple[str, ...] = ()
    types: tuple[str, ...] = ()


def check_path(
    schema: Any, segments: tuple[str | None, ...], *, root: Any = None
) -> PathProblem | None:
    """None when the path may exist in a value of ``schema`` (or the schema cannot tell)."""
    return _walk(schema, segments, 0, schema if root is None else root, 0, [_MAX_VISITS])


def _walk(
    schema: Any,
    segments: tuple[str | None, ...],
    depth: int,
    root: Any,
    hops: int,
    budget: list[int],
) -> PathProblem | None:
    budget[0] -= 1
    if depth >= len(segments) or hops > _MAX_BRANCH_HOPS or budget[0] < 0:
        return None
    schema = flatten_all_of(resolve(schema, root), root)
    if not isinstance(schema, dict) or is_trivial(schema):
        return None
    options = branches(schema)
    if options is not None:
        results = [_walk(option, segments, depth, root, hops + 1, budget) for option in options]
        if any(result is None for result in results):
            return None
        return _least([result for result in results if result is not None])
    segment = segments[depth]
    types = types_of(schema)
    if segment is None or (segment.isdigit() and _may_be(types, "array", schema)):
        return _element(schema, segments, depth, root, hops, types, budget)
    if types is not None and "object" not in types:
        if types <= {"null"}:
            return None  # a field of null is null
        return PathProblem("type_mismatch", depth, segment, types=tuple(sorted(types)))
    declared = properties(schema)
    if segment in declared:
        return _walk(declared[segment], segments, depth + 1, root, hops, budget)
    patterns = schema.get("patternProperties")
    if isinstance(patterns, dict):
        for pattern, sub in patterns.items():
            try:
                matched = re.search(str(pattern), segment) is not None
            except re.error:
                matched = False
            if matched:
                return _walk(sub, segments, depth + 1, root, hops, budget)
    if is_closed(schema):
        return PathProblem("unknown_field", depth, segment, tuple(declared))
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict) and not is_trivial(extra):
        return _walk(extra, segments, depth + 1, root, hops, budget)
    if declared:
        return PathProblem("undeclared_field", depth, segment, tuple(declared))
    return None


def _element(
    schema: dict[str, Any],
    segments: tuple[str | None, ...],
    depth: int,
    root: Any,
    hops: int,
    types: frozenset[str] | None,
    budget: list[int],
) -> PathProblem | None:
    segment = segments[depth]
    if types is not None and "array" not in types:
        if "object" in types or (segment is not None and types <= {"null"}):
            return None  # iterating an object yields its values; null[0] is null
        return PathProblem("type_mismatch", depth, segment, types=tuple(sorted(types)))
    prefix = schema.get("prefixItems")
    if segment is not None and isinstance(prefix, list) and int(segment) < len(prefix):
        return _walk(prefix[int(segment)], segments, depth + 1, root, hops, budget)
    items = schema.get("items")
    if isinstance(items, dict):
        return _walk(items, segments, depth + 1, root, hops, budget)
    return None


def _may_be(types: frozenset[str] | None, kind: str, schema: dict[str, Any]) -> bool:
    return kind in types if types is not None else "items" in schema


def _least(problems: list[PathProblem]) -> PathProblem:
    """The mildest problem over alternatives, with the candidates of all alike."""
    best = min(problems, key=lambda problem: (_RANK[problem.kind], -problem.depth))
    names: dict[str, None] = {}
    for problem in problems:
        if problem.kind == best.kind and problem.depth == best.depth:
            names.update(dict.fromkeys(problem.candidates))
    return PathProblem(best.kind, best.depth, best.segment, tuple(names), best.types)
