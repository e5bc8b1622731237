"""Producer/consumer schema compatibility by structural subtyping.

A producer schema fits a consumer schema when every value the producer may give is accepted
by the consumer. In particular every *producer* type must be accepted by some consumer type
(integer fits number; a nullable producer does not fit a non-null consumer), a field the
consumer requires must be required by the producer, enums must nest, and a closed consumer
must not meet fields it does not declare. Unsupported keywords are not guessed at: what
cannot be decided gives no finding.

Two modes: ``full`` reports everything that *may* go wrong; ``certain`` only what *must* go
wrong whenever the value is present (used before a ``validate``, whose job is to catch the rest).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from tasker_ctl.grammar.validation.schemas import (
    admits,
    allowed_values,
    branches,
    describe_types,
    flatten_all_of,
    is_closed,
    is_trivial,
    properties,
    required,
    resolve,
    same_json,
    types_of,
)

MAX_DEPTH = 32
# alternatives on both sides multiply: beyond this many comparisons the rest goes unchecked
MAX_COMPARISONS = 4000
Mode = Literal["full", "certain"]
SchemaPath = tuple[str | int, ...]
_ERROR_CODES = frozenset(
    {
        "MISSING_PRODUCER_SCHEMA",
        "MISSING_REQUIRED_FIELD",
        "TYPE_MISMATCH",
        "ENUM_MISMATCH",
        "EXTRA_FIELD_REJECTED",
    }
)
# what ``validate`` with ``coerce: true`` converts before checking
_COERCIBLE = {
    "string": frozenset({"number", "integer", "boolean"}),
    "number": frozenset({"string"}),
    "integer": frozenset({"string"}),
    "boolean": frozenset({"string"}),
}


@dataclass(frozen=True)
class CompatIssue:
    """One incompatibility. ``field`` is the data path (``customer.id``, ``items[]``; empty
    for the value itself); ``consumer_path`` locates it inside the consumer schema."""

    code: str
    message: str
    field: str = ""
    consumer_path: SchemaPath = ()

    @property
    def is_error(self) -> bool:
        return self.code in _ERROR_CODES


def check_compatibility(
    producer: Any, consumer: Any, *, mode: Mode = "full", coerce: bool = False
) -> list[CompatIssue]:
    """Every way a value of ``producer`` may fail ``consumer``. A trivial consumer accepts
    anything; a trivial producer against a non-trivial consumer is MISSING_PRODUCER_SCHEMA."""
    comparer = _Comparer(producer, consumer, mode, coerce)
    comparer.compare(producer, consumer, "", (), 0, 0)
    return comparer.issues


@dataclass
class _Budget:
    left: int = MAX_COMPARISONS
    spent: bool = False


@dataclass
class _Comparer:
    producer_root: Any
    consumer_root: Any
    mode: Mode
    coerce: bool
    budget: _Budget = field(default_factory=_Budget)
    issues: list[CompatIssue] = field(default_factory=list)
    too_deep: bool = False

    def add(self, code: str, message: str, where: str, path: SchemaPath) -> None:
        issue = CompatIssue(code, message, where, path)
        if issue not in self.issues:
            self.issues.append(issue)

    def compare(
        self, producer: Any, consumer: Any, where: str, path: SchemaPath, depth: int, hops: int
    ) -> None:
        consumer = flatten_all_of(resolve(consumer, self.consumer_root), self.consumer_root)
        producer = flatten_all_of(resolve(producer, self.producer_root), self.producer_root)
        if is_trivial(consumer) or not isinstance(consumer, dict):
            return
        self.budget.left -= 1
        if self.budget.left < 0:
            if not self.budget.spent and self.mode == "full":
                self.budget.spent = True
                self.add(
                    "SCHEMA_DEPTH_EXCEEDED",
                    f"the schemas take more than {MAX_COMPARISONS} comparisons (deep nesting "
                    "or many alternatives); the rest is not checked",
                    where,
                    (),
                )
            return
        if depth > MAX_DEPTH or hops > MAX_DEPTH:
            if not self.too_deep and self.mode == "full":
                self.too_deep = True
                shown = where if len(where) <= 80 else "…" + where[-79:]
                self.add(
                    "SCHEMA_DEPTH_EXCEEDED",
                    f"schemas nest deeper than {MAX_DEPTH} levels (at {_label(shown)}); "
                    "deeper levels are not checked",
                    shown,
                    (),
                )
            return
        if is_trivial(producer) or not isinstance(producer, dict):
            if depth == 0 and hops == 0 and self.mode == "full":
                self.add(
                    "MISSING_PRODUCER_SCHEMA",
                    "the producer declares no schema, so the consumer's cannot be checked",
                    where,
                    path,
                )
            return
        produced = branches(producer)
        if produced is not None:
            for option in produced:
                self.compare(option, consumer, where, path, depth, hops + 1)
            return
        accepted = branches(consumer)
        if accepted is not None:
            self._alternatives(producer, accepted, where, path, depth, hops)
            return
        if self._types(producer, consumer, where, path):
            return
        self._values(producer, consumer, where, path)
        self._objects(producer, consumer, where, path, depth, hops)
        self._arrays(producer, consumer, where, path, depth, hops)

    def _alternatives(
        self,
        producer: dict[str, Any],
        options: list[Any],
        where: str,
        path: SchemaPath,
        depth: int,
        hops: int,
    ) -> None:
        for option in options:
            trial = _Comparer(
                self.producer_root, self.consumer_root, self.mode, self.coerce, self.budget
            )
            trial.compare(producer, option, where, path, depth, hops + 1)
            if not any(issue.is_error for issue in trial.issues):
                for issue in trial.issues:
                    self.add(issue.code, issue.message, issue.field, issue.consumer_path)
                return
        self.add(
            "TYPE_MISMATCH",
            f"{_label(where)} as produced matches none of the consumer's {len(options)} "
            "alternatives (anyOf/oneOf)",
            where,
            path,
        )

    def _types(
        self, producer: dict[str, Any], consumer: dict[str, Any], where: str, path: SchemaPath
    ) -> bool:
        """Report type conflicts; True when nothing of the producer's types fits at all."""
        produced, accepted = types_of(producer), types_of(consumer)
        if produced is None or accepted is None:
            return False
        rejected = sorted(t for t in produced if not self._fits(accepted, t))
        if not rejected:
            return False
        every = len(rejected) == len(produced)
        if self.mode == "certain" and not every:
            return False
        if rejected == ["null"]:
            message = (
                f"{_label(where)} may be null in the producer, but the consumer accepts only "
                f"{describe_types(accepted)}"
            )
        else:
            message = (
                f"{_label(where)} is {describe_types(produced)} in the producer, but the "
                f"consumer accepts {describe_types(accepted)}"
            )
        self.add("TYPE_MISMATCH", message, where, (*path, "type") if "type" in consumer else path)
        return every

    def _fits(self, accepted: frozenset[str], produced: str) -> bool:
        if admits(accepted, produced):
            return True
        return self.coerce and bool(_COERCIBLE.get(produced, frozenset()) & accepted)

    def _values(
        self, producer: dict[str, Any], consumer: dict[str, Any], where: str, path: SchemaPath
    ) -> None:
        accepted = allowed_values(consumer)
        if accepted is None:
            return
        keyword = "const" if "const" in consumer else "enum"
        produced = allowed_values(producer)
        if produced is None:
            types = types_of(producer)
            if self.mode == "full" and not (types is not None and types <= {"null"}):
                if types == frozenset({"boolean"}) and all(
                    any(same_json(flag, value) for value in accepted) for flag in (True, False)
                ):
                    return
                self.add(
                    "ENUM_NOT_CONSTRAINED",
                    f"the consumer accepts only {_values(accepted)} for {_label(where)}, but "
                    "the producer does not restrict its values",
                    where,
                    (*path, keyword),
                )
            return
        outside = [v for v in produced if not any(same_json(v, ok) for ok in accepted)]
        if not outside or (self.mode == "certain" and len(outside) < len(produced)):
            return
        self.add(
            "ENUM_MISMATCH",
            f"{_label(where)} may be {_values(outside)} in the producer, outside the "
            f"consumer's {_values(accepted)}",
            where,
            (*path, keyword),
        )

    def _objects(
        self,
        producer: dict[str, Any],
        consumer: dict[str, Any],
        where: str,
        path: SchemaPath,
        depth: int,
        hops: int,
    ) -> None:
        if not (_may_be(producer, "object") and _may_be(consumer, "object")):
            return
        offered, promised = properties(producer), set(required(producer))
        wanted = properties(consumer)
        for position, name in enumerate(required(consumer)):
            at = (*path, "required", position)
            if name not in offered:
                if self.mode == "full" or is_closed(producer):
                    self.add(
                        "MISSING_REQUIRED_FIELD",
                        f"the consumer requires {_label(_join(where, name))}, which the "
                        "producer does not declare",
                        _join(where, name),
                        at,
                    )
            elif name not in promised and self.mode == "full":
                self.add(
                    "FIELD_NOT_GUARANTEED",
                    f"the consumer requires {_label(_join(where, name))}, which the producer "
                    "declares but does not require",
                    _join(where, name),
                    at,
                )
        for name, schema in wanted.items():
            if name in offered:
                self.compare(
                    offered[name],
                    schema,
                    _join(where, name),
                    (*path, "properties", name),
                    depth + 1,
                    hops,
                )
        extra = consumer.get("additionalProperties")
        for name, schema in offered.items():
            if name in wanted or _matches_pattern(consumer, name):
                continue
            if extra is False:
                if self.mode == "full" or name in promised:
                    self.add(
                        "EXTRA_FIELD_REJECTED",
                        f"the producer declares {_label(_join(where, name))}, which the "
                        "consumer refuses (additionalProperties: false)",
                        _join(where, name),
                        (*path, "additionalProperties"),
                    )
            elif isinstance(extra, dict):
                self.compare(
                    schema,
                    extra,
                    _join(where, name),
                    (*path, "additionalProperties"),
                    depth + 1,
                    hops,
                )

    def _arrays(
        self,
        producer: dict[str, Any],
        consumer: dict[str, Any],
        where: str,
        path: SchemaPath,
        depth: int,
        hops: int,
    ) -> None:
        if not (_may_be(producer, "array") and _may_be(consumer, "array")):
            return
        produced, accepted = producer.get("items"), consumer.get("items")
        if isinstance(produced, dict) and isinstance(accepted, dict):
            self.compare(produced, accepted, f"{where}[]", (*path, "items"), depth + 1, hops)


def _may_be(schema: dict[str, Any], kind: str) -> bool:
    types = types_of(schema)
    if types is not None:
        return kind in types
    markers = ("properties", "required", "additionalProperties") if kind == "object" else ("items",)
    return any(marker in schema for marker in markers)


def _matches_pattern(schema: dict[str, Any], name: str) -> bool:
    patterns = schema.get("patternProperties")
    if not isinstance(patterns, dict):
        return False
    for pattern in patterns:
        try:
            if re.search(str(pattern), name):
                return True
        except re.error:
            continue
    return False


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _label(where: str) -> str:
    return f"'{where}'" if where else "the value"


def _values(values: list[Any]) -> str:
    shown = ", ".join(json.dumps(value, default=str) for value in values[:10])
    more = f", … ({len(values)} in all)" if len(values) > 10 else ""
    return f"[{shown}{more}]"


__all__ = ["MAX_DEPTH", "CompatIssue", "Mode", "check_compatibility", "is_trivial"]
