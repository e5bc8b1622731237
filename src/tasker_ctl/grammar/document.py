"""The vocabulary document: what a person or an LLM needs to write compositions, generated
from the capability and pattern models so it cannot drift from what runs.

Three tiers, each a superset of the one before, so a caller pays only for the detail it needs:

1. an index: every capability's name, category, one-line summary and whether it mutates;
2. contracts: what each capability reads and produces, and its config JSON Schema;
3. the full reference: every config field with its type, default and description, examples
   and the failure kinds a capability can end in.

``tool_schemas()`` gives the same models as tool-call definitions for an LLM, and
``render_markdown()`` the human-readable page (``docs/grammar-reference.md``).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from tasker_ctl.grammar.capabilities import REGISTRY
from tasker_ctl.grammar.capabilities._support import GrammarCapability
from tasker_ctl.grammar.capabilities.base import Capability
from tasker_ctl.grammar.errors import UnknownVocabularyError
from tasker_ctl.grammar.patterns import PATTERNS, Pattern

DOCUMENT_VERSION = 1
TIERS = (1, 2, 3)
MAX_SCHEMA_DEPTH = 12  # how deep type names are spelled out
PATTERN_TOOL_PREFIX = "pattern_"
REGENERATE = "python -m tasker_ctl.grammar.document > docs/grammar-reference.md"

RULES: tuple[str, ...] = (
    "A composition is one workflow step: an ordered list of 1 to 100 capability invocations, "
    "each {capability, config, checkpoint}.",
    "Expressions are jq evaluated over the envelope {context, deps, prev, step}: context is the "
    "task's input, deps the results of the step's dependencies by step name, step the step's "
    "metadata, prev the previous invocation's output.",
    "prev is null on the first invocation; validate, assert and gate then read context instead.",
    "An expression's first output is used; only null and false count as false.",
    "Expressions are pure: no environment variables, no clock (now), no input or output; "
    "times and settings must come from context.",
    "validate_success and result_shape read the operation's result envelope, not the "
    "invocation envelope.",
    "Every invocation of a mutating capability (persist, emit) must set checkpoint: true, so a "
    "retried step never repeats a completed write.",
    "The step's result (the outcome) is the last invocation's output and must match "
    "outcome.output_schema; end with a transform declaring output where no write follows.",
    "Data from outside (acquire, context) should pass a validate before it is written.",
    "Config keys a capability does not declare are errors; expressions are objects "
    '{"expression": "..."} except the filter of transform and assert.',
    "Retries belong to the step, not the composition; a retried step reuses its idempotency keys.",
)


class _Sparse(BaseModel):
    """A document part whose fields left empty (None: what its tier leaves out) are absent
    from its JSON, however it is dumped: ``model_dump`` and ``as_json`` give the same."""

    model_config = ConfigDict(extra="forbid")

    # no return annotation: pydantic would take it for the serialized schema and drop the
    # fields' own from the JSON Schema of the output
    @model_serializer(mode="wrap")
    def _without_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if value is not None}


class FieldDoc(_Sparse):
    """One config field, flattened out of the JSON Schema."""

    path: str = Field(description="Dotted path inside the config; [] marks array items.")
    type: str = Field(description="JSON type(s), with the allowed values of an enumeration.")
    required: bool = Field(description="Whether the field must be present when its parent is.")
    default: str | None = Field(default=None, description="The default as JSON text, if any.")
    description: str = Field(default="", description="What the field means.")


class CapabilityDoc(_Sparse):
    """One capability at the requested tier; fields of higher tiers are None."""

    name: str
    category: str
    summary: str
    mutating: bool
    input_contract: str | None = None
    output_contract: str | None = None
    config_schema: dict[str, Any] | None = None
    fields: list[FieldDoc] | None = None
    examples: list[dict[str, Any]] | None = None
    failure_kinds: list[str] | None = None


class PatternDoc(_Sparse):
    """One named composition at the requested tier; fields of higher tiers are None."""

    name: str
    summary: str
    capabilities: list[str]
    description: str | None = None
    params_schema: dict[str, Any] | None = None
    fields: list[FieldDoc] | None = None
    examples: list[dict[str, Any]] | None = None


class VocabularyDocument(_Sparse):
    """The grammar's vocabulary at one tier."""

    version: int = DOCUMENT_VERSION
    tier: int
    vocabulary_hash: str = Field(
        description="First 16 hex digits of the SHA-256 of every config and parameter schema."
    )
    rules: list[str]
    capabilities: list[CapabilityDoc]
    patterns: list[PatternDoc]

    def as_json(self) -> dict[str, Any]:
        """The document as plain JSON, without the fields the tier leaves out."""
        return self.model_dump(mode="json", exclude_none=True)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def vocabulary_hash() -> str:
    """Identifies the vocabulary: changes whenever any config or parameter schema changes,
    whatever tier or selection a document shows."""
    schemas = {
        "capabilities": {name: cap.config_schema() for name, cap in REGISTRY.items()},
        "patterns": {name: pattern.params_schema() for name, pattern in PATTERNS.items()},
    }
    return hashlib.sha256(canonical_json(schemas).encode("utf-8")).hexdigest()[:16]


def _selection(kind: str, wanted: Sequence[str] | None, known: Sequence[str]) -> list[str]:
    if wanted is None:
        return list(known)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(known), n=1)
        suggestion = f"; did you mean '{close[0]}'?" if close else ""
        raise UnknownVocabularyError(
            f"unknown {kind} '{unknown[0]}'{suggestion}",
            hint=f"known {kind}s: {', '.join(known)}",
        )
    # catalog order, so a selection reads the same however it was asked for
    return [name for name in known if name in set(wanted)]


def vocabulary(
    tier: int = 3,
    capabilities: Sequence[str] | None = None,
    patterns: Sequence[str] | None = None,
) -> VocabularyDocument:
    """The vocabulary at ``tier`` (1 index, 2 contracts and schemas, 3 full reference),
    limited to the named ``capabilities`` and ``patterns`` when given (all when None).

    The two selections are independent: a pattern is a self-contained tool, usable whether or
    not the capabilities it expands into are shown.
    """
    if tier not in TIERS:
        raise ValueError(f"tier must be 1, 2 or 3, not {tier}")
    selected = _selection("capability", capabilities, list(REGISTRY))
    selected_patterns = _selection("pattern", patterns, list(PATTERNS))
    return VocabularyDocument(
        tier=tier,
        vocabulary_hash=vocabulary_hash(),
        rules=list(RULES),
        capabilities=[_capability_doc(REGISTRY[name], tier) for name in selected],
        patterns=[_pattern_doc(PATTERNS[name], tier) for name in selected_patterns],
    )


def _capability_doc(capability: Capability, tier: int) -> CapabilityDoc:
    doc = CapabilityDoc(
        name=capability.name,
        category=str(capability.category),
        summary=capability.summary,
        mutating=capability.mutating,
    )
    if tier >= 2:
        doc.input_contract = capability.input_contract
        doc.output_contract = capability.output_contract
        doc.config_schema = capability.config_schema()
    if tier >= 3:
        doc.fields = field_reference(capability.config_schema())
        doc.examples, doc.failure_kinds = [], []
        if isinstance(capability, GrammarCapability):
            doc.examples = [dict(example) for example in capability.examples]
            doc.failure_kinds = [str(kind) for kind in capability.failure_kinds]
    return doc


def _pattern_doc(pattern: Pattern, tier: int) -> PatternDoc:
    doc = PatternDoc(
        name=pattern.name, summary=pattern.summary, capabilities=list(pattern.capabilities)
    )
    if tier >= 2:
        doc.description = pattern.description
        doc.params_schema = pattern.params_schema()
    if tier >= 3:
        doc.fields = field_reference(pattern.params_schema())
        doc.examples = [dict(example) for example in pattern.examples]
    return doc


def tool_schemas() -> list[dict[str, Any]]:
    """Tool-call definitions for an LLM: one per capability (its config schema) and one per
    pattern (``pattern_<name>``, its parameter schema)."""
    tools = [
        {
            "name": capability.name,
            "description": capability.summary,
            "input_schema": capability.config_model.model_json_schema(),
        }
        for capability in REGISTRY.values()
    ]
    tools.extend(
        {
            "name": f"{PATTERN_TOOL_PREFIX}{pattern.name}",
            "description": pattern.summary,
            "input_schema": pattern.params_model.model_json_schema(),
        }
        for pattern in PATTERNS.values()
    )
    return tools


# -- the field reference, derived by walking a JSON Schema ------------------------------------

Resolved = tuple[dict[str, Any], str | None]  # a schema node and the definition it came from


def _resolve(node: Any, defs: Mapping[str, Any]) -> Resolved:
    """The node with a local ``$ref`` replaced by its target (siblings kept), and the name of
    the definition it came from."""
    if not isinstance(node, dict):
        return {}, None
    ref = node.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
        return node, None
    name = ref.removeprefix("#/$defs/")
    target = defs.get(name)
    merged = dict(target) if isinstance(target, dict) else {}
    merged.update({key: value for key, value in node.items() if key != "$ref"})
    return merged, name


def _branches(node: Any, defs: Mapping[str, Any]) -> list[Resolved]:
    """The shapes a field can take: each alternative of an anyOf/oneOf, else the node itself."""
    resolved, definition = _resolve(node, defs)
    alternatives = resolved.get("anyOf") or resolved.get("oneOf")
    if isinstance(alternatives, list):
        return [_resolve(branch, defs) for branch in alternatives]
    return [(resolved, definition)]


def _type_name(node: Any, defs: Mapping[str, Any], depth: int = 0) -> str:
    resolved, _ = _resolve(node, defs)
    alternatives = resolved.get("anyOf") or resolved.get("oneOf")
    if isinstance(alternatives, list) and depth < MAX_SCHEMA_DEPTH:
        names = [_type_name(branch, defs, depth + 1) for branch in alternatives]
        # a null alternative is how an optional field is spelled; "required" already says it
        names = [name for name in names if name != "null"] or ["null"]
        return " | ".join(dict.fromkeys(names))
    if "enum" in resolved:
        return "string (" + " | ".join(str(value) for value in resolved["enum"]) + ")"
    if "const" in resolved:
        return f"const {canonical_json(resolved['const'])}"
    declared = resolved.get("type")
    if declared == "array" and depth < MAX_SCHEMA_DEPTH:
        items = resolved.get("items")
        if not items:
            return "array"
        item = _type_name(items, defs, depth + 1)
        return f"array of ({item})" if " | " in item else f"array of {item}"
    if isinstance(declared, list):
        return " | ".join(str(t) for t in declared)
    if isinstance(declared, str):
        return declared
    return "any"


def field_reference(schema: dict[str, Any]) -> list[FieldDoc]:
    """Every field of an object schema, depth first, nested fields under dotted paths."""
    defs = schema.get("$defs", {})
    fields: list[FieldDoc] = []
    _walk_object(schema, "", defs if isinstance(defs, dict) else {}, fields, ())
    return fields


def _walk_object(
    node: dict[str, Any],
    prefix: str,
    defs: Mapping[str, Any],
    fields: list[FieldDoc],
    seen: tuple[str, ...],
) -> None:
    properties = node.get("properties")
    if not isinstance(properties, dict):
        return
    required = set(node.get("required", []))
    for name, prop in properties.items():
        path = f"{prefix}{name}"
        fields.append(_field(path, prop, name in required, defs))
        _walk_children(prop, path, defs, fields, seen)


def _walk_children(
    prop: Any,
    path: str,
    defs: Mapping[str, Any],
    fields: list[FieldDoc],
    seen: tuple[str, ...],
) -> None:
    """Descend into the object shapes a field can take: itself (or any alternative), its array
    items and its map values. ``seen`` holds the definitions on the way here, so a recursive
    model is documented once, where it first appears."""
    for branch, definition in _branches(prop, defs):
        if definition is not None and definition in seen:
            continue
        trail = (*seen, definition) if definition is not None else seen
        _walk_object(branch, f"{path}.", defs, fields, trail)
        patterns = branch.get("patternProperties")
        keyed = list(patterns.values()) if isinstance(patterns, dict) else []
        children = [
            (branch.get("items"), "[]."),
            (branch.get("additionalProperties"), ".<name>."),
            *((schema, ".<name>.") for schema in keyed),
        ]
        for child, suffix in children:
            target, target_definition = _resolve(child, defs)
            if target_definition is not None and target_definition in trail:
                continue
            inner = (*trail, target_definition) if target_definition is not None else trail
            _walk_object(target, f"{path}{suffix}", defs, fields, inner)


def _field(path: str, prop: Any, required: bool, defs: Mapping[str, Any]) -> FieldDoc:
    node = prop if isinstance(prop, dict) else {}
    description = node.get("description")
    if not description:
        resolved, _ = _resolve(node, defs)
        description = resolved.get("description", "")
    default = canonical_json(node["default"]) if "default" in node else None
    return FieldDoc(
        path=path,
        type=_type_name(node, defs),
        required=required,
        default=default,
        description=" ".join(str(description).split()),
    )


# -- the markdown page ------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _json_block(value: Any) -> list[str]:
    return ["```json", json.dumps(value, indent=2, ensure_ascii=False), "```", ""]


def _field_table(fields: Sequence[FieldDoc]) -> list[str]:
    lines = [
        "| Field | Type | Required | Default | Description |",
        "|---|---|---|---|---|",
    ]
    for field in fields:
        default = f"`{_cell(field.default)}`" if field.default is not None else ""
        lines.append(
            f"| `{field.path}` | {_cell(field.type)} | {'yes' if field.required else 'no'} "
            f"| {default} | {_cell(field.description)} |"
        )
    return [*lines, ""]


def render_markdown(document: VocabularyDocument) -> str:
    """The document as a Markdown page, one section per tier it contains."""
    lines = [
        "# Grammar reference",
        "",
        f"<!-- Generated from the capability models; regenerate with: {REGENERATE} -->",
        "",
        "The action grammar composes typed capabilities into a step (a `composition:` on a "
        "template step) instead of handler code. This page is generated from the same models "
        "that validate and run compositions; `tool_schemas()` serves them to LLMs.",
        "",
        f"Document version {document.version}, vocabulary hash `{document.vocabulary_hash}`.",
        "",
        "## Composition rules",
        "",
        *(f"- {rule}" for rule in document.rules),
        "",
        "## Tier 1: index",
        "",
        "| Capability | Category | Mutating | Summary |",
        "|---|---|---|---|",
        *(
            f"| `{cap.name}` | {cap.category} | {'yes' if cap.mutating else 'no'} "
            f"| {_cell(cap.summary)} |"
            for cap in document.capabilities
        ),
        "",
    ]
    if document.patterns:
        lines += [
            "| Pattern | Uses | Summary |",
            "|---|---|---|",
            *(
                f"| `{p.name}` | {', '.join(p.capabilities)} | {_cell(p.summary)} |"
                for p in document.patterns
            ),
            "",
        ]
    if document.tier >= 2:
        lines += ["## Tier 2: contracts and config schemas", ""]
        for cap in document.capabilities:
            lines += [
                f"### {cap.name}",
                "",
                f"- Input: {cap.input_contract}",
                f"- Output: {cap.output_contract}",
                "",
                *_json_block(cap.config_schema),
            ]
        for pattern in document.patterns:
            lines += [
                f"### Pattern `{pattern.name}`",
                "",
                pattern.description or "",
                "",
                *_json_block(pattern.params_schema),
            ]
    if document.tier >= 3:
        lines += ["## Tier 3: field reference", ""]
        for cap in document.capabilities:
            lines += [f"### {cap.name}", "", *_field_table(cap.fields or [])]
            for example in cap.examples or []:
                lines += ["Example config:", "", *_json_block(example)]
            kinds = ", ".join(f"`{kind}`" for kind in cap.failure_kinds or [])
            lines += [f"Failure kinds: {kinds}.", ""]
        for pattern in document.patterns:
            lines += [f"### Pattern `{pattern.name}`", "", *_field_table(pattern.fields or [])]
            for example in pattern.examples or []:
                lines += ["Example config:", "", *_json_block(example)]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(render_markdown(vocabulary(3)), end="")
