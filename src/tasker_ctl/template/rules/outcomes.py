"""A decision or batchable step's ``result_schema`` must be able to hold its outcome.

Orchestration reads a decision step's ``decision_point_outcome`` and a batchable step's
``batch_processing_outcome`` from its result, and tasker-ctl checks every result against the
step's ``result_schema``. A schema that rejects every result carrying the outcome (a closed
object that does not declare it, say) makes every successful run fail with
``RESULT_SCHEMA_VIOLATION``. The check reports only what is certain: a contradiction it can
point at (a ``type``, a ``false`` schema, ``additionalProperties: false``, an ``enum`` of the
outcome's ``type``, ...), following local ``$ref``s and ``allOf`` / ``anyOf`` / ``oneOf``; a
schema it cannot see through is given the benefit of the doubt.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tasker_ctl.template.context import RuleContext
from tasker_ctl.template.issue import Issue
from tasker_ctl.template.rules import rule
from tasker_ctl.template.source import JsonPath, format_path


@dataclass(frozen=True)
class Outcome:
    """The key a step type's result carries its outcome under, and the outcome's types."""

    step_type: str
    key: str
    kinds: tuple[str, str]


OUTCOMES = (
    Outcome("decision", "decision_point_outcome", ("create_steps", "no_branches")),
    Outcome("batchable", "batch_processing_outcome", ("create_batches", "no_batches")),
)

_BEFORE_2019 = re.compile(r"draft-0[3-7]")
# schemas visited for one step at most: $refs in diamonds could otherwise multiply the work
_VISIT_BUDGET = 5000


@dataclass(frozen=True)
class Exclusion:
    """Why a schema can hold no outcome: the keyword at fault (a path in the template)."""

    path: JsonPath
    reason: str


ValueCheck = Callable[[Any, JsonPath], Exclusion | None]


@rule("RESULT_SCHEMA_EXCLUDES_OUTCOME")
def result_schema_holds_outcome(context: RuleContext) -> Iterator[Issue]:
    kinds = {outcome.step_type: outcome for outcome in OUTCOMES}
    for step in context.steps:
        outcome = kinds.get(step.type)
        schema = step.data.get("result_schema")
        if outcome is None or "result_schema" not in step.data or schema is None:
            continue
        base = (*step.path, "result_schema")
        found = _SchemaReader(schema, base).excludes_outcome(outcome)
        if found is None:
            continue
        yield Issue(
            "RESULT_SCHEMA_EXCLUDES_OUTCOME",
            f"result_schema of {outcome.step_type} step '{step.label}' can never hold its "
            f"{outcome.key}: {found.reason}; every successful run would fail with "
            "RESULT_SCHEMA_VIOLATION",
            found.path,
            f"declare it, e.g. properties: {{{outcome.key}: {{type: object}}}}; its type is "
            f"'{outcome.kinds[0]}' or '{outcome.kinds[1]}'",
            step=step.name,
        )


class _SchemaReader:
    """One result schema, read for contradictions; ``base`` is where it sits in the template."""

    def __init__(self, root: Any, base: JsonPath) -> None:
        self.root = root
        self.base = base
        self.visits = 0
        self._validator: Any = None
        declared = root.get("$schema") if isinstance(root, dict) else None
        self.ref_alone = isinstance(declared, str) and _BEFORE_2019.search(declared) is not None

    def where(self, path: JsonPath) -> str:
        """``path`` as the user reads it: ``result_schema.properties.x``."""
        inner = path[len(self.base) :] if path[: len(self.base)] == self.base else path
        return "result_schema" + format_path(inner)[1:]

    def excludes_outcome(self, outcome: Outcome) -> Exclusion | None:
        def outcome_value(schema: Any, path: JsonPath) -> Exclusion | None:
            return self.excludes_key(schema, path, "type", self._allows_one_of(outcome.kinds))

        return self.excludes_key(self.root, self.base, outcome.key, outcome_value, ())

    def excludes_key(
        self,
        schema: Any,
        path: JsonPath,
        key: str,
        value: ValueCheck,
        refs: tuple[str, ...] = (),
    ) -> Exclusion | None:
        """An exclusion when ``schema`` rejects every object holding ``key`` with a value
        ``value`` accepts; None when it may accept one (or the reader cannot tell)."""
        self.visits += 1
        if self.visits > _VISIT_BUDGET:
            return None
        if schema is False:
            return Exclusion(path, f"{self.where(path)} is false, which accepts nothing")
        if not isinstance(schema, dict):
            return None
        checks: Sequence[Callable[[], Exclusion | None]] = (
            lambda: self._type(schema, path),
            lambda: self._values(schema, path, key),
            lambda: self._property(schema, path, key, value),
            lambda: self._names(schema, path, key),
            lambda: self._reference(schema, key, value, refs),
            lambda: self._all_of(schema, path, key, value, refs),
            lambda: self._any_of(schema, path, key, value, refs),
        )
        if self.ref_alone and isinstance(schema.get("$ref"), str):
            checks = checks[4:5]  # before 2019-09, a $ref's siblings are ignored
        for check in checks:
            found = check()
            if found is not None:
                return found
        return None

    def _type(self, schema: dict[str, Any], path: JsonPath) -> Exclusion | None:
        declared = schema.get("type")
        types = [declared] if isinstance(declared, str) else declared
        if isinstance(types, list) and types and "object" not in types:
            shown = ", ".join(str(item) for item in types)
            return Exclusion((*path, "type"), f"{self.where(path)} is of type {shown}, not object")
        return None

    def _values(self, schema: dict[str, Any], path: JsonPath, key: str) -> Exclusion | None:
        where = self.where(path)
        if "const" in schema and not _holds(schema["const"], key):
            return Exclusion((*path, "const"), f"{where}.const is not an object with '{key}'")
        listed = schema.get("enum")
        if isinstance(listed, list) and not any(_holds(item, key) for item in listed):
            return Exclusion((*path, "enum"), f"no value of {where}.enum is an object with '{key}'")
        limit = schema.get("maxProperties")
        if limit == 0 and not isinstance(limit, bool):
            return Exclusion((*path, "maxProperties"), f"{where}.maxProperties is 0")
        return None

    def _property(
        self, schema: dict[str, Any], path: JsonPath, key: str, value: ValueCheck
    ) -> Exclusion | None:
        properties = schema.get("properties")
        if isinstance(properties, dict) and key in properties:
            return value(properties[key], (*path, "properties", key))
        patterns = schema.get("patternProperties")
        matched = False
        if isinstance(patterns, dict):
            for pattern, subschema in patterns.items():
                if _may_match(pattern, key):
                    matched = True
                    found = value(subschema, (*path, "patternProperties", pattern))
                    if found is not None:
                        return found
        if matched or "additionalProperties" not in schema:
            return None
        extra = schema["additionalProperties"]
        if extra is False:
            return Exclusion(
                (*path, "additionalProperties"),
                f"{self.where(path)}.additionalProperties is false and '{key}' is not among "
                "its properties",
            )
        return value(extra, (*path, "additionalProperties"))

    def _names(self, schema: dict[str, Any], path: JsonPath, key: str) -> Exclusion | None:
        names = schema.get("propertyNames")
        if names is None or names is True:
            return None
        if names is False or not self._accepts(names, key):
            return Exclusion(
                (*path, "propertyNames"), f"{self.where(path)}.propertyNames rejects '{key}'"
            )
        return None

    def _reference(
        self,
        schema: dict[str, Any],
        key: str,
        value: ValueCheck,
        refs: tuple[str, ...],
    ) -> Exclusion | None:
        ref = schema.get("$ref")
        if not isinstance(ref, str) or ref in refs:
            return None
        target = _local_target(self.root, ref)
        if target is None:
            return None
        pointed, parts = target
        return self.excludes_key(pointed, (*self.base, *parts), key, value, (*refs, ref))

    def _all_of(
        self,
        schema: dict[str, Any],
        path: JsonPath,
        key: str,
        value: ValueCheck,
        refs: tuple[str, ...],
    ) -> Exclusion | None:
        members = schema.get("allOf")
        for index, member in enumerate(members if isinstance(members, list) else []):
            found = self.excludes_key(member, (*path, "allOf", index), key, value, refs)
            if found is not None:
                return found
        return None

    def _any_of(
        self,
        schema: dict[str, Any],
        path: JsonPath,
        key: str,
        value: ValueCheck,
        refs: tuple[str, ...],
    ) -> Exclusion | None:
        for keyword in ("anyOf", "oneOf"):
            members = schema.get(keyword)
            if not isinstance(members, list) or not members:
                continue
            found = [
                self.excludes_key(member, (*path, keyword, index), key, value, refs)
                for index, member in enumerate(members)
            ]
            if all(item is not None for item in found):
                return Exclusion(
                    (*path, keyword), f"no member of {self.where(path)}.{keyword} allows '{key}'"
                )
        return None

    def _allows_one_of(self, kinds: tuple[str, ...]) -> ValueCheck:
        """The check of an outcome's ``type``: its schema must accept one of ``kinds``."""

        def check(schema: Any, path: JsonPath) -> Exclusion | None:
            if schema is True or not isinstance(schema, dict | bool):
                return None
            if schema is False or not any(self._accepts(schema, kind) for kind in kinds):
                shown = " nor ".join(f"'{kind}'" for kind in kinds)
                return Exclusion(path, f"{self.where(path)} allows neither {shown}")
            return None

        return check

    def _accepts(self, schema: Any, instance: str) -> bool:
        """Whether ``schema`` (a part of the root) accepts ``instance``; True when unsure."""
        try:
            if self._validator is None:
                from tasker_ctl.schema_refs import build_validator

                self._validator = build_validator(self.root)
            return bool(self._validator.evolve(schema=schema).is_valid(instance))
        except Exception:  # a schema the validator cannot use is reported by other rules
            return True


def _holds(value: Any, key: str) -> bool:
    return isinstance(value, dict) and key in value


def _may_match(pattern: Any, key: str) -> bool:
    """Whether a ``patternProperties`` pattern may match ``key`` (True when unreadable: JSON
    Schema patterns are ECMA-262, read here as Python's close relative)."""
    if not isinstance(pattern, str):
        return True
    try:
        return re.search(pattern, key) is not None
    except re.error:
        return True


def _local_target(root: Any, ref: str) -> tuple[Any, tuple[str | int, ...]] | None:
    """What a ``#``-relative ``$ref`` points at in ``root`` and its path there, or None."""
    if ref == "#":
        return root, ()
    if not ref.startswith("#/"):
        return None
    node: Any = root
    parts: list[str | int] = []
    for raw in ref[2:].split("/"):
        part = unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
            parts.append(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
            parts.append(int(part))
        else:
            return None
    return node, tuple(parts)
