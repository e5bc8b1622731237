"""Bundling a template's schemas into one ``$defs`` document with rewritten ``$ref``s."""

from __future__ import annotations

from typing import Any

import pytest

from tasker_ctl.codegen import CodegenError
from tasker_ctl.codegen.bundle import bundle_template

from .helpers import make_template

ADDRESS = {"type": "object", "properties": {"city": {"type": "string"}}}


def _bundle(input_schema: Any = None, **results: Any) -> dict[str, Any]:
    steps = [{"name": step, "result_schema": schema} for step, schema in results.items()]
    steps = steps or [{"name": "only"}]
    return bundle_template(make_template(steps, input_schema=input_schema)).definitions


def test_root_names_and_purposes() -> None:
    template = make_template(
        [
            {"name": "fetch-data", "result_schema": {"type": "object"}},
            {"name": "no_contract"},
        ],
        input_schema={"type": "object"},
        name="order-intake",
    )
    bundle = bundle_template(template)
    assert bundle.input_model == "OrderIntakeInput"
    assert bundle.result_models == {"fetch-data": "FetchDataResult"}
    assert list(bundle.definitions) == ["OrderIntakeInput", "FetchDataResult"]
    assert bundle.sources["FetchDataResult"] == {"type": "object"}
    assert not bundle.empty
    assert bundle.document() == {"$defs": bundle.definitions}


def test_a_template_without_schemas_is_empty() -> None:
    bundle = bundle_template(make_template([{"name": "only"}]))
    assert bundle.empty
    assert bundle.definitions == {}


def test_steps_whose_names_give_the_same_model_are_numbered() -> None:
    template = make_template(
        [
            {"name": "fetch-data", "result_schema": {"type": "object"}},
            {"name": "fetch_data", "result_schema": {"type": "array"}},
        ]
    )
    bundle = bundle_template(template)
    assert bundle.result_models == {
        "fetch-data": "FetchDataResult",
        "fetch_data": "FetchDataResult2",
    }
    assert bundle.definitions["FetchDataResult2"] == {"type": "array"}


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("#", "#/$defs/OrderFlowInput"),
        ("#/", "#/$defs/OrderFlowInput"),
        ("#/$defs/Address", "#/$defs/Address"),
        ("#/definitions/Address", "#/$defs/Address"),
        ("#/$defs/Address/properties/city", "#/$defs/Address/properties/city"),
        ("#/properties/a", "#/$defs/OrderFlowInput/properties/a"),
    ],
)
def test_local_refs_are_rewritten_into_the_bundle(ref: str, expected: str) -> None:
    key = "definitions" if "definitions" in ref else "$defs"
    schema = {"type": "object", key: {"Address": ADDRESS}, "properties": {"a": {"$ref": ref}}}
    definitions = _bundle(input_schema=schema)
    assert definitions["OrderFlowInput"]["properties"]["a"] == {"$ref": expected}
    assert definitions["Address"] == ADDRESS
    assert key not in definitions["OrderFlowInput"]


def test_refs_inside_hoisted_definitions_are_rewritten() -> None:
    schema = {
        "$defs": {
            "Order": {"type": "object", "properties": {"ship_to": {"$ref": "#/$defs/Address"}}},
            "Address": {"type": "object", "properties": {"next": {"$ref": "#"}}},
        },
        "$ref": "#/$defs/Order",
    }
    definitions = _bundle(step=schema)
    assert definitions["StepResult"] == {"$ref": "#/$defs/Order"}
    assert definitions["Order"]["properties"]["ship_to"] == {"$ref": "#/$defs/Address"}
    assert definitions["Address"]["properties"]["next"] == {"$ref": "#/$defs/StepResult"}


def test_refs_in_nested_arrays_and_combinators_are_rewritten() -> None:
    schema = {
        "$defs": {"Item": {"type": "string"}},
        "type": "array",
        "items": {"anyOf": [{"$ref": "#/$defs/Item"}, {"allOf": [{"$ref": "#/$defs/Item"}]}]},
    }
    rewritten = _bundle(step=schema)["StepResult"]["items"]["anyOf"]
    assert rewritten == [{"$ref": "#/$defs/Item"}, {"allOf": [{"$ref": "#/$defs/Item"}]}]


def test_data_keywords_are_never_rewritten() -> None:
    data = {"$ref": "#/not/a/reference"}
    schema = {
        "type": "object",
        "default": data,
        "examples": [data],
        "enum": [data],
        "const": data,
    }
    definitions = _bundle(step=schema)
    for key in ("default", "const"):
        assert definitions["StepResult"][key] == data
    assert definitions["StepResult"]["examples"] == [data]
    assert definitions["StepResult"]["enum"] == [data]


def test_schema_identifiers_are_dropped() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://example.com/order",
        "type": "object",
    }
    assert _bundle(step=schema)["StepResult"] == {"type": "object"}


def test_colliding_definition_names_are_prefixed_with_their_owner() -> None:
    first = {"$defs": {"address": ADDRESS}, "properties": {"a": {"$ref": "#/$defs/address"}}}
    second = {
        "definitions": {"Address": {"type": "string"}},
        "items": {"$ref": "#/definitions/Address"},
    }
    definitions = _bundle(input_schema=first, ship=second)
    assert definitions["OrderFlowInputAddress"] == ADDRESS
    assert definitions["ShipResultAddress"] == {"type": "string"}
    assert "Address" not in definitions
    assert definitions["OrderFlowInput"]["properties"]["a"] == {
        "$ref": "#/$defs/OrderFlowInputAddress"
    }
    assert definitions["ShipResult"]["items"] == {"$ref": "#/$defs/ShipResultAddress"}


def test_unique_definition_names_are_kept_in_pascal_case() -> None:
    first = {"$defs": {"postal_address": ADDRESS}, "$ref": "#/$defs/postal_address"}
    second = {"$defs": {"Money": {"type": "number"}}, "$ref": "#/$defs/Money"}
    definitions = _bundle(input_schema=first, price=second)
    assert definitions["PostalAddress"] == ADDRESS
    assert definitions["Money"] == {"type": "number"}
    assert definitions["OrderFlowInput"] == {"$ref": "#/$defs/PostalAddress"}


def test_a_definition_named_like_a_root_model_is_prefixed() -> None:
    schema = {"$defs": {"PriceResult": {"type": "number"}}, "$ref": "#/$defs/PriceResult"}
    definitions = _bundle(price=schema)
    assert definitions["PriceResult"] == {"$ref": "#/$defs/PriceResultPriceResult"}
    assert definitions["PriceResultPriceResult"] == {"type": "number"}


@pytest.mark.parametrize(
    "ref",
    [
        "other.json#/$defs/Address",
        "https://example.com/schemas/address.json",
        "address.json",
    ],
)
def test_external_refs_are_unsupported(ref: str) -> None:
    with pytest.raises(CodegenError) as raised:
        _bundle(ship={"type": "object", "properties": {"to": {"$ref": ref}}})
    assert raised.value.code == "UNSUPPORTED_REF"
    assert "result_schema of step 'ship'" in raised.value.message
    assert ref in raised.value.message


@pytest.mark.parametrize("ref", ["#/$defs/Missing", "#/definitions/Missing/properties/x"])
def test_unknown_local_definitions_are_unresolved(ref: str) -> None:
    with pytest.raises(CodegenError) as raised:
        _bundle(input_schema={"$defs": {"Known": ADDRESS}, "items": {"$ref": ref}})
    assert raised.value.code == "UNRESOLVED_REF"
    assert "input_schema" in raised.value.message
    assert "Missing" in str(raised.value.hint)


def test_the_template_model_is_not_modified() -> None:
    schema = {"$defs": {"Address": ADDRESS}, "properties": {"a": {"$ref": "#/$defs/Address"}}}
    template = make_template([{"name": "only"}], input_schema=schema)
    bundle_template(template)
    assert template.input_schema == schema
