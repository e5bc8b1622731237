"""The vocabulary document, the LLM tool schemas and the generated reference page."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES, REGISTRY
from tasker_ctl.grammar.document import (
    REGENERATE,
    VocabularyDocument,
    field_reference,
    render_markdown,
    tool_schemas,
    vocabulary,
    vocabulary_hash,
)
from tasker_ctl.grammar.errors import FailureKind, UnknownVocabularyError
from tasker_ctl.grammar.patterns import PATTERNS, expand_pattern
from tests.conftest import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "grammar-reference.md"


def test_tool_schemas_are_the_model_schemas() -> None:
    tools = {tool["name"]: tool for tool in tool_schemas()}
    assert list(tools) == [*CAPABILITY_NAMES, *(f"pattern_{name}" for name in PATTERNS)]
    for name, capability in REGISTRY.items():
        assert tools[name]["input_schema"] == capability.config_model.model_json_schema()
        assert tools[name]["description"] == capability.summary
    for name, pattern in PATTERNS.items():
        tool = tools[f"pattern_{name}"]
        assert tool["input_schema"] == pattern.params_model.model_json_schema()
        assert tool["description"] == pattern.summary
    for tool in tools.values():
        assert set(tool) == {"name", "description", "input_schema"}
        assert re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", tool["name"])
        json.dumps(tool)


def test_the_reference_page_is_up_to_date() -> None:
    assert DOC.is_file(), f"{DOC} is missing; generate it with: {REGENERATE}"
    assert DOC.read_text(encoding="utf-8") == render_markdown(vocabulary(3)), (
        f"docs/grammar-reference.md is out of date with the capability models; regenerate it "
        f"with: {REGENERATE}"
    )


@pytest.mark.slow
def test_the_module_prints_the_page() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "tasker_ctl.grammar.document"],
        capture_output=True,
        text=True,
        check=True,
        cwd=PROJECT_ROOT,
    )
    assert completed.stdout == render_markdown(vocabulary(3))


def test_tier_one_is_an_index() -> None:
    document = vocabulary(1)
    data = document.as_json()
    assert data["version"] == 1
    assert data["tier"] == 1
    assert [cap["name"] for cap in data["capabilities"]] == list(CAPABILITY_NAMES)
    for cap in data["capabilities"]:
        assert set(cap) == {"name", "category", "summary", "mutating"}
    assert [p["name"] for p in data["patterns"]] == list(PATTERNS)
    for pattern in data["patterns"]:
        assert set(pattern) == {"name", "summary", "capabilities"}
    assert any("checkpoint: true" in rule for rule in data["rules"])
    assert any("prev is null on the first invocation" in rule for rule in data["rules"])
    assert len(json.dumps(data)) < 6000


def test_tier_two_adds_contracts_and_schemas() -> None:
    data = vocabulary(2).as_json()
    for cap in data["capabilities"]:
        assert set(cap) == {
            "name",
            "category",
            "summary",
            "mutating",
            "input_contract",
            "output_contract",
            "config_schema",
        }
        assert cap["config_schema"] == REGISTRY[cap["name"]].config_schema()
    for pattern in data["patterns"]:
        assert pattern["params_schema"] == PATTERNS[pattern["name"]].params_schema()


def test_tier_three_adds_fields_examples_and_failure_kinds() -> None:
    document = vocabulary(3)
    by_name = {cap.name: cap for cap in document.capabilities}
    for cap in document.capabilities:
        assert cap.fields
        assert cap.examples
        assert cap.failure_kinds
        assert set(cap.failure_kinds) <= {str(kind) for kind in FailureKind}
        for field in cap.fields:
            assert field.description, f"{cap.name}.{field.path}"
    persist_fields = {field.path: field for field in by_name["persist"].fields or []}
    assert persist_fields["mode"].type == "string (insert | update | upsert | delete)"
    assert persist_fields["mode"].default == '"insert"'
    assert persist_fields["mode"].required is False
    assert persist_fields["data"].required is True
    assert persist_fields["data.expression"].type == "string"
    assert persist_fields["identity.primary_key"].type == "array of string"
    assert persist_fields["constraints.idempotency_key.expression"].required is True
    acquire_paths = [field.path for field in by_name["acquire"].fields or []]
    for path in (
        "resource",
        "resource.ref",
        "resource.entity",
        "select.include.<name>.foreign_key",
        "filter.<name>.in",
        "constraints.retry.max_attempts",
        "validate_success.expression",
    ):
        assert path in acquire_paths
    assert by_name["acquire"].fields[0].type == "string | object"  # type: ignore[index]
    assert "conditions[].expression" in [field.path for field in by_name["assert"].fields or []]
    for pattern in document.patterns:
        assert pattern.fields
        assert pattern.examples


@pytest.mark.parametrize("name", CAPABILITY_NAMES)
def test_every_capability_example_parses(name: str) -> None:
    capability = REGISTRY[name]
    (cap,) = vocabulary(3, [name]).capabilities
    for example in cap.examples or []:
        capability.parse(example)


def test_every_pattern_example_expands() -> None:
    for pattern in vocabulary(3).patterns:
        for example in pattern.examples or []:
            expand_pattern(pattern.name, example)


def test_selections_keep_catalog_order_and_are_independent() -> None:
    document = vocabulary(1, ["emit", "transform"])
    assert [cap.name for cap in document.capabilities] == ["transform", "emit"]
    assert [pattern.name for pattern in document.patterns] == list(PATTERNS)
    document = vocabulary(3, [], ["notify", "http_request"])
    assert document.capabilities == []
    assert [pattern.name for pattern in document.patterns] == ["http_request", "notify"]
    assert vocabulary(1, None, []).patterns == []


def test_unknown_names_are_refused_with_a_suggestion() -> None:
    with pytest.raises(
        UnknownVocabularyError, match="unknown capability 'persits'; did you mean 'persist'"
    ):
        vocabulary(1, ["persits"])
    with pytest.raises(
        UnknownVocabularyError, match="unknown pattern 'notfy'; did you mean 'notify'"
    ):
        vocabulary(1, None, ["notfy"])


def test_tiers_are_one_to_three() -> None:
    for tier in (0, 4):
        with pytest.raises(ValueError, match="tier"):
            vocabulary(tier)


def test_the_hash_identifies_the_vocabulary_not_the_view() -> None:
    digest = vocabulary_hash()
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert vocabulary(1).vocabulary_hash == digest
    assert vocabulary(3, ["gate"]).vocabulary_hash == digest


def test_the_document_round_trips_as_json() -> None:
    document = vocabulary(3)
    again = VocabularyDocument.model_validate_json(document.model_dump_json())
    assert again == document


def test_field_reference_survives_recursive_definitions() -> None:
    schema = {
        "type": "object",
        "properties": {"node": {"$ref": "#/$defs/Node"}},
        "required": ["node"],
        "$defs": {
            "Node": {
                "type": "object",
                "description": "A tree node.",
                "properties": {
                    "value": {"type": "integer", "default": 0},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
                },
            }
        },
    }
    fields = field_reference(schema)
    assert [(f.path, f.type, f.required, f.default) for f in fields] == [
        ("node", "object", True, None),
        ("node.value", "integer", False, "0"),
        ("node.children", "array of object", False, None),
    ]
    assert fields[0].description == "A tree node."


def test_markdown_follows_the_tiers() -> None:
    index = render_markdown(vocabulary(1))
    assert "## Tier 1: index" in index
    assert "## Tier 2" not in index
    full = render_markdown(vocabulary(3))
    for heading in ("## Composition rules", "## Tier 2: contracts", "## Tier 3: field reference"):
        assert heading in full
    assert "| `constraints.on_conflict` | string (reject \\| update \\| skip)" in full
    assert full.endswith("```\n")
