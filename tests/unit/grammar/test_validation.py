"""Composition validation: every code it emits, Tasker Core's order, the reference workflows,
data contracts, schema compatibility and the mutation policies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tasker_ctl.grammar.validation import (
    CompositionReport,
    StepContract,
    check_compatibility,
    validate_composition,
)
from tasker_ctl.template.codes import BY_CODE
from tasker_ctl.template.diagnostics import Severity
from tests.conftest import CORPUS_ROOT

WORKFLOWS = CORPUS_ROOT / "crates" / "tasker-grammar" / "tests" / "fixtures" / "workflows"
OBJECT = {"type": "object"}
TOTAL = {"type": "object", "properties": {"total": {"type": "number"}}}
ID_REQUIRED = {"type": "object", "required": ["id"], "properties": {"id": {"type": "string"}}}


def transform(expression: str = ".context", output: Any = OBJECT) -> dict[str, Any]:
    config: dict[str, Any] = {"filter": expression}
    if output is not None:
        config["output"] = output
    return {"capability": "transform", "config": config}


def persist(checkpoint: bool = True, **extra: Any) -> dict[str, Any]:
    config = {"resource": "orders", "data": {"expression": ".context"}, **extra}
    return {"capability": "persist", "checkpoint": checkpoint, "config": config}


def emit(**extra: Any) -> dict[str, Any]:
    config = {"event_name": "order.done", "payload": {"expression": ".prev"}, **extra}
    return {"capability": "emit", "checkpoint": True, "config": config}


def assertion(expression: str = ".prev != null") -> dict[str, Any]:
    return {"capability": "assert", "config": {"filter": expression}}


def composition(*invocations: Any, schema: Any = OBJECT, **extra: Any) -> dict[str, Any]:
    return {
        "outcome": {"description": "done", "output_schema": schema},
        "invocations": list(invocations),
        **extra,
    }


LOADER = StepContract(
    step_name="price",
    dependency_names=("load",),
    dependency_schemas={"load": {"type": "object", "properties": {"count": {"type": "integer"}}}},
    input_schema={"type": "object", "properties": {"order_id": {"type": "string"}}},
)
RECURSIVE = {
    "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
    "$ref": "#/$defs/node",
}

# code, spec, path of the finding, keyword arguments of validate_composition
CASES: list[tuple[str, Any, tuple[str | int, ...], dict[str, Any]]] = [
    ("COMPOSITION_PARSE_ERROR", ["not", "a", "mapping"], (), {}),
    (
        "COMPOSITION_PARSE_ERROR",
        composition({"capability": "transform", "filter": ".", "config": {}}),
        ("invocations", 0, "filter"),
        {},
    ),
    ("COMPOSITION_PARSE_ERROR", {"invocations": [transform()]}, ("outcome",), {}),
    ("EMPTY_COMPOSITION", composition(), ("invocations",), {}),
    ("TOO_MANY_INVOCATIONS", composition(*[transform()] * 101), ("invocations",), {}),
    ("FIELD_TOO_LONG", composition(transform(), name="n" * 257), ("name",), {}),
    (
        "FIELD_TOO_LONG",
        {
            "outcome": {"description": "d" * 4097, "output_schema": OBJECT},
            "invocations": [transform()],
        },
        ("outcome", "description"),
        {},
    ),
    (
        "FIELD_TOO_LONG",
        composition({"capability": "x" * 129, "config": {}}),
        ("invocations", 0, "capability"),
        {},
    ),
    (
        "MISSING_CAPABILITY",
        composition({"capability": "transfrom", "config": {}}),
        ("invocations", 0, "capability"),
        {},
    ),
    (
        "CONFIG_SCHEMA_VIOLATION",
        composition({"capability": "transform", "config": {"filtr": ".", "output": OBJECT}}),
        ("invocations", 0, "config", "filtr"),
        {},
    ),
    (
        "MISSING_OUTPUT_SCHEMA",
        composition(transform(output=None)),
        ("invocations", 0, "config"),
        {},
    ),
    (
        "INVALID_EXPRESSION",
        composition(transform("{a: .context")),
        ("invocations", 0, "config", "filter"),
        {},
    ),
    (
        "CHECKPOINT_REQUIRED",
        composition(persist(checkpoint=False)),
        ("invocations", 0, "checkpoint"),
        {},
    ),
    (
        "MULTIPLE_MUTATIONS",
        composition(persist(output=OBJECT), emit(output=OBJECT)),
        ("invocations", 1),
        {"policy": "strict"},
    ),
    (
        "INVOCATION_AFTER_MUTATION",
        composition(persist(), transform(".prev")),
        ("invocations", 1),
        {"policy": "strict"},
    ),
    ("EMIT_NOT_LAST", composition(emit(), transform(".prev")), ("invocations", 0), {}),
    (
        "ASSERT_AFTER_MUTATION",
        composition(persist(output=OBJECT), assertion()),
        ("invocations", 1),
        {},
    ),
    (
        "PREV_ON_FIRST_INVOCATION",
        composition(transform(".prev")),
        ("invocations", 0, "config", "filter"),
        {},
    ),
    (
        "UNKNOWN_DEPENDENCY",
        composition(transform("{n: .deps.lod.count}")),
        ("invocations", 0, "config", "filter"),
        {"step": LOADER},
    ),
    (
        "UNKNOWN_FIELD",
        composition(transform("{n: .step.atempt}")),
        ("invocations", 0, "config", "filter"),
        {},
    ),
    (
        "UNDECLARED_FIELD",
        composition(transform("{total: 1}", TOTAL), transform("{t: .prev.totl}")),
        ("invocations", 1, "config", "filter"),
        {},
    ),
    (
        "PATH_TYPE_MISMATCH",
        composition(transform("{total: 1}", TOTAL), transform("{t: .prev.total.amount}")),
        ("invocations", 1, "config", "filter"),
        {},
    ),
    (
        "SUSPECT_PATH",
        composition(transform("{n: .step.atempt[.context.k]}")),
        ("invocations", 0, "config", "filter"),
        {},
    ),
    (
        "MISSING_PRODUCER_SCHEMA",
        composition(transform(output={"description": "anything"}), schema=ID_REQUIRED),
        ("outcome", "output_schema"),
        {},
    ),
    (
        "MISSING_REQUIRED_FIELD",
        composition(transform(output=TOTAL), schema=ID_REQUIRED),
        ("outcome", "output_schema", "required", 0),
        {},
    ),
    (
        "FIELD_NOT_GUARANTEED",
        composition(transform(output={**ID_REQUIRED, "required": []}), schema=ID_REQUIRED),
        ("outcome", "output_schema", "required", 0),
        {},
    ),
    (
        "TYPE_MISMATCH",
        composition(
            transform(
                output={
                    "type": "object",
                    "required": ["id"],
                    "properties": {"id": {"type": ["string", "null"]}},
                }
            ),
            schema=ID_REQUIRED,
        ),
        ("outcome", "output_schema", "properties", "id", "type"),
        {},
    ),
    (
        "ENUM_MISMATCH",
        composition(
            transform(output={"type": "string", "enum": ["new", "done", "lost"]}),
            schema={"type": "string", "enum": ["new", "done"]},
        ),
        ("outcome", "output_schema", "enum"),
        {},
    ),
    (
        "ENUM_NOT_CONSTRAINED",
        composition(transform(output={"type": "string"}), schema={"const": "done"}),
        ("outcome", "output_schema", "const"),
        {},
    ),
    (
        "EXTRA_FIELD_REJECTED",
        composition(
            transform(output={"type": "object", "properties": {"id": {}, "debug": {}}}),
            schema={"type": "object", "properties": {"id": {}}, "additionalProperties": False},
        ),
        ("outcome", "output_schema", "additionalProperties"),
        {},
    ),
    (
        "SCHEMA_DEPTH_EXCEEDED",
        composition(transform(output=RECURSIVE), schema=RECURSIVE),
        ("outcome", "output_schema"),
        {},
    ),
    ("UNVERIFIABLE_OUTCOME", composition(persist()), ("invocations", 0), {}),
    (
        "COMPOSITION_RESULT_SCHEMA_MISMATCH",
        composition(transform(output=TOTAL), schema=TOTAL),
        ("outcome", "output_schema"),
        {
            "step": StepContract(
                result_schema={"type": "object", "properties": {"total": {"type": "integer"}}}
            )
        },
    ),
    ("PATTERN_INVALID", {"pattern": "htp_request", "config": {}}, ("pattern",), {}),
    (
        "PATTERN_INVALID",
        {"pattern": "http_request", "config": {"resource": "api"}},
        ("config", "entity"),
        {},
    ),
]


@pytest.mark.parametrize(
    ("code", "spec", "path", "options"),
    CASES,
    ids=[f"{case[0]}-{index}" for index, case in enumerate(CASES)],
)
def test_each_code_is_reported_where_it_applies(
    code: str, spec: Any, path: tuple[str | int, ...], options: dict[str, Any]
) -> None:
    report = validate_composition(spec, **options)
    matches = [finding for finding in report.findings if finding.code == code]
    assert matches, f"no {code} in {[(f.code, f.path, f.message) for f in report.findings]}"
    assert path in [finding.path for finding in matches]
    assert all(finding.severity is BY_CODE[code].severity for finding in matches)
    assert all(finding.message for finding in matches)


def test_every_composition_code_of_the_catalogue_has_a_case() -> None:
    emitted = {case[0] for case in CASES}
    composition_codes = {
        info.code
        for info in BY_CODE.values()
        if info.group == "Composition"
        and info.code
        not in {"COMPOSITION_CALLABLE_CONVENTION", "MISSING_MOCK_OUTPUT", "RULE_PLUGIN_FAILED"}
    }
    assert composition_codes <= emitted


def test_checks_run_in_tasker_cores_order() -> None:
    spec = composition(
        {"capability": "transfrom", "config": {}},
        {"capability": "transform", "config": {"filter": "{a: .prev", "bogus": 1}},
        persist(checkpoint=False),
        transform("{t: .prev.x}", output=None),
        emit(),
        transform("{t: .step.atempt}"),
        name="n" * 300,
        schema=ID_REQUIRED,
    )
    codes = validate_composition(spec, policy="strict").codes
    assert codes == [
        "FIELD_TOO_LONG",
        "MISSING_CAPABILITY",
        "CONFIG_SCHEMA_VIOLATION",
        "MISSING_OUTPUT_SCHEMA",
        "MISSING_OUTPUT_SCHEMA",
        "INVALID_EXPRESSION",
        "CHECKPOINT_REQUIRED",
        "MULTIPLE_MUTATIONS",
        "INVOCATION_AFTER_MUTATION",
        "EMIT_NOT_LAST",
        "UNKNOWN_FIELD",
        "MISSING_REQUIRED_FIELD",
    ]


def test_empty_and_oversized_compositions_stop_at_once() -> None:
    empty = composition(name="n" * 300)
    assert validate_composition(empty).codes == ["EMPTY_COMPOSITION"]
    many = composition(*[{"capability": "nope"}] * 101, name="n" * 300)
    assert validate_composition(many).codes == ["TOO_MANY_INVOCATIONS"]


# -- the reference workflows ----------------------------------------------------------------------

EXPECTED_WARNINGS = {
    # the last invocation (persist, emit) declares no output; and the transforms' output
    # schemas leave out fields that later invocations read
    "payment_reconciliation": [
        ("UNDECLARED_FIELD", ("invocations", 5, "config", "data", "expression")),
        ("UNVERIFIABLE_OUTCOME", ("invocations", 5)),
    ],
    "ecommerce_order_processing": [
        ("UNDECLARED_FIELD", ("invocations", 2, "config", "filter")),
        ("UNDECLARED_FIELD", ("invocations", 3, "config", "filter")),
        ("UNVERIFIABLE_OUTCOME", ("invocations", 5)),
    ],
    "customer_onboarding": [
        ("UNDECLARED_FIELD", ("invocations", 3, "config", "filter")),
        ("UNVERIFIABLE_OUTCOME", ("invocations", 5)),
    ],
}


def workflow(name: str) -> dict[str, Any]:
    path = WORKFLOWS / f"{name}.yaml"
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("name", sorted(EXPECTED_WARNINGS))
def test_reference_workflows_have_no_errors_and_the_expected_warnings(name: str) -> None:
    report = validate_composition(workflow(name))
    assert report.is_valid
    assert [(f.code, f.path) for f in report.findings] == EXPECTED_WARNINGS[name]
    warnings = len(EXPECTED_WARNINGS[name])
    assert report.summary == f"Composition is valid with {warnings} warning(s)"


def test_reference_workflow_findings_name_the_undeclared_fields() -> None:
    report = validate_composition(workflow("payment_reconciliation"))
    [undeclared] = [f for f in report.findings if f.code == "UNDECLARED_FIELD"]
    assert "'discrepancies', 'unmatched_external'" in undeclared.message
    assert "invocation[3] (transform)" in undeclared.message  # through the assert at [4]


def test_reference_workflows_stay_valid_under_the_strict_policy_only_without_two_mutations() -> (
    None
):
    assert validate_composition(workflow("payment_reconciliation"), policy="strict").is_valid
    strict = validate_composition(workflow("customer_onboarding"), policy="strict")
    assert strict.codes.count("MULTIPLE_MUTATIONS") == 1


# -- data contracts --------------------------------------------------------------------------------


def findings_of(report: CompositionReport, code: str) -> list[Any]:
    return [finding for finding in report.findings if finding.code == code]


def test_prev_typo_is_caught_with_a_suggestion() -> None:
    spec = composition(transform("{total: 1}", TOTAL), transform("{t: .prev.totl}"))
    [finding] = findings_of(validate_composition(spec), "UNDECLARED_FIELD")
    assert finding.hint == "did you mean 'total'?"
    assert ".prev.totl" in finding.message
    assert finding.invocation_index == 1


def test_prev_through_pass_through_invocations_keeps_the_earlier_schema() -> None:
    spec = composition(
        transform("{total: 1}", TOTAL), assertion(".prev.total > 0"), transform("{t: .prev.totl}")
    )
    [finding] = findings_of(validate_composition(spec), "UNDECLARED_FIELD")
    assert "the output of invocation[0] (transform)" in finding.message


def test_unknown_prev_is_not_checked() -> None:
    spec = composition(persist(), transform("{t: .prev.anything.at.all}"))
    assert validate_composition(spec).is_valid
    assert not findings_of(validate_composition(spec), "UNDECLARED_FIELD")


def test_closed_schema_gives_an_error_and_an_open_one_a_warning() -> None:
    closed = {**TOTAL, "additionalProperties": False}
    spec = composition(transform("{total: 1}", closed), transform("{t: .prev.totl}"))
    [finding] = findings_of(validate_composition(spec), "UNKNOWN_FIELD")
    assert finding.severity is Severity.ERROR
    assert finding.hint == "did you mean 'total'?"


def test_unknown_dependency_suggests_a_dependency() -> None:
    spec = composition(transform("{n: .deps.lod.count}"))
    [finding] = findings_of(validate_composition(spec, step=LOADER), "UNKNOWN_DEPENDENCY")
    assert finding.hint == "did you mean 'load'?"
    assert "step 'price'" in finding.message
    # without a contract dependencies are unknown, so nothing is reported
    assert not findings_of(validate_composition(spec), "UNKNOWN_DEPENDENCY")


def test_deps_unknown_without_any_dependency() -> None:
    spec = composition(transform("{n: .deps.unknown}"))
    contract = StepContract(step_name="a", dependency_names=())
    [finding] = findings_of(validate_composition(spec, step=contract), "UNKNOWN_DEPENDENCY")
    assert finding.hint is not None
    assert "no dependencies" in finding.hint


def test_dependency_path_is_checked_against_its_result_schema() -> None:
    spec = composition(transform("{n: .deps.load.cont}"))
    [finding] = findings_of(validate_composition(spec, step=LOADER), "UNDECLARED_FIELD")
    assert finding.hint == "did you mean 'count'?"
    assert "result_schema of step 'load'" in finding.message
    fine = composition(transform("{n: .deps.load.count}"))
    assert validate_composition(fine, step=LOADER).findings == []


def test_context_is_checked_against_the_input_schema() -> None:
    spec = composition(transform("{n: .context.order_idd}"))
    [finding] = findings_of(validate_composition(spec, step=LOADER), "UNDECLARED_FIELD")
    assert finding.hint == "did you mean 'order_id'?"
    assert "input_schema" in finding.message
    typed = composition(transform("{n: .context.order_id.value}"))
    assert findings_of(validate_composition(typed, step=LOADER), "PATH_TYPE_MISMATCH")


@pytest.mark.parametrize(
    ("schema", "expression", "code"),
    [
        # local references, both spellings
        (
            {"$defs": {"t": TOTAL}, "$ref": "#/$defs/t"},
            "{t: .prev.totl}",
            "UNDECLARED_FIELD",
        ),
        (
            {
                "definitions": {"t": {**TOTAL, "additionalProperties": False}},
                "$ref": "#/definitions/t",
            },
            "{t: .prev.totl}",
            "UNKNOWN_FIELD",
        ),
        # a path valid in one alternative is valid
        (
            {"anyOf": [TOTAL, {"type": "object", "properties": {"count": {}}}]},
            "{t: .prev.count}",
            None,
        ),
        (
            {
                "anyOf": [
                    {**TOTAL, "additionalProperties": False},
                    {"type": "object", "properties": {"count": {}}, "additionalProperties": False},
                ]
            },
            "{t: .prev.cuont}",
            "UNKNOWN_FIELD",
        ),
        # array elements
        (
            {"type": "object", "properties": {"items": {"type": "array", "items": TOTAL}}},
            "[.prev.items[].totl]",
            "UNDECLARED_FIELD",
        ),
        (
            {"type": "object", "properties": {"items": {"type": "array", "items": TOTAL}}},
            "[.prev.items[0].total]",
            None,
        ),
        (
            {"type": "object", "properties": {"name": {"type": "string"}}},
            "[.prev.name[]]",
            "PATH_TYPE_MISMATCH",
        ),
        # nullable objects may be walked into
        (
            {
                "type": "object",
                "properties": {"m": {"type": ["object", "null"], "properties": {"a": {}}}},
            },
            "{t: .prev.m.a}",
            None,
        ),
        (
            {
                "type": "object",
                "properties": {"m": {"type": "object", "nullable": True, "properties": {"a": {}}}},
            },
            "{t: .prev.m.b}",
            "UNDECLARED_FIELD",
        ),
    ],
)
def test_paths_through_refs_alternatives_arrays_and_nulls(
    schema: dict[str, Any], expression: str, code: str | None
) -> None:
    spec = composition(transform("{total: 1}", schema), transform(expression))
    codes = [c for c in validate_composition(spec).codes if c != "UNVERIFIABLE_OUTCOME"]
    assert codes == ([code] if code else [])


def test_inexact_paths_are_at_most_warnings() -> None:
    spec = composition(
        transform("{total: 1}", {**TOTAL, "additionalProperties": False}),
        transform(".prev.totl[.context.k]"),
    )
    report = validate_composition(spec)
    assert report.is_valid
    assert report.codes == ["SUSPECT_PATH"]


def test_result_targeted_expressions_are_not_envelope_paths() -> None:
    spec = composition(
        transform("{total: 1}", TOTAL),
        persist(validate_success={"expression": ".affected_rows > 0"}, output=OBJECT),
    )
    assert validate_composition(spec).findings == []


def test_validate_is_held_to_what_reaches_it() -> None:
    produced = {"type": "object", "properties": {"a": {"type": "string"}}}
    check = {"type": "object", "properties": {"a": {"type": "integer"}}}
    spec = composition(
        transform('{a: "1"}', produced), {"capability": "validate", "config": {"schema": check}}
    )
    [finding] = validate_composition(spec).findings
    assert finding.code == "TYPE_MISMATCH"
    assert finding.path == ("invocations", 1, "config", "schema", "properties", "a", "type")
    coerced = composition(
        transform('{a: "1"}', produced),
        {"capability": "validate", "config": {"schema": check, "coerce": True}},
    )
    assert validate_composition(coerced).findings == []


def test_validate_only_reports_certain_conflicts() -> None:
    maybe_null = {"type": "object", "properties": {"a": {"type": ["string", "null"]}}}
    check = {"type": "object", "required": ["a"], "properties": {"a": {"type": "string"}}}
    spec = composition(
        transform("{a: null}", maybe_null), {"capability": "validate", "config": {"schema": check}}
    )
    assert validate_composition(spec).findings == []


def test_the_step_result_schema_is_checked_against_the_outcome() -> None:
    spec = composition(transform(output=TOTAL), schema=TOTAL)
    contract = StepContract(result_schema={**TOTAL, "required": ["total"]})
    [finding] = validate_composition(spec, step=contract).findings
    assert finding.code == "FIELD_NOT_GUARANTEED"
    assert "result_schema" in finding.message


# -- schema compatibility --------------------------------------------------------------------------


def codes_of(producer: Any, consumer: Any, **options: Any) -> list[str]:
    return [issue.code for issue in check_compatibility(producer, consumer, **options)]


@pytest.mark.parametrize(
    ("producer", "consumer", "codes"),
    [
        # Tasker Core lets null leak into a non-null consumer
        ({"type": ["string", "null"]}, {"type": "string"}, ["TYPE_MISMATCH"]),
        # ... and refuses an integer where a string or an integer is accepted
        ({"type": "integer"}, {"type": ["string", "integer"]}, []),
        ({"type": "integer"}, {"type": "number"}, []),
        ({"type": "number"}, {"type": "integer"}, ["TYPE_MISMATCH"]),
        ({"type": "string", "nullable": True}, {"type": "string"}, ["TYPE_MISMATCH"]),
        ({"const": 3}, {"type": "number"}, []),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b", "c"]}, []),
        ({"enum": ["a", "z"]}, {"enum": ["a", "b"]}, ["ENUM_MISMATCH"]),
        ({"type": "boolean"}, {"enum": [True, False]}, []),
        ({"type": "string"}, {"enum": ["a"]}, ["ENUM_NOT_CONSTRAINED"]),
        ({"const": 1}, {"const": True}, ["TYPE_MISMATCH"]),
        # required fields
        (
            {"type": "object", "properties": {"a": {}}},
            {"required": ["a"]},
            ["FIELD_NOT_GUARANTEED"],
        ),
        (
            {"type": "object", "properties": {"b": {}}},
            {"required": ["a"]},
            ["MISSING_REQUIRED_FIELD"],
        ),
        ({"type": "object", "required": ["a"], "properties": {"a": {}}}, {"required": ["a"]}, []),
        # closed consumers
        (
            {"properties": {"a": {}, "b": {}}},
            {"properties": {"a": {}}, "additionalProperties": False},
            ["EXTRA_FIELD_REJECTED"],
        ),
        (
            {"properties": {"a": {}, "b": {"type": "string"}}},
            {"properties": {"a": {}}, "additionalProperties": {"type": "integer"}},
            ["TYPE_MISMATCH"],
        ),
        # references on both sides
        (
            {"$defs": {"n": {"type": "integer"}}, "properties": {"a": {"$ref": "#/$defs/n"}}},
            {
                "definitions": {"s": {"type": "string"}},
                "properties": {"a": {"$ref": "#/definitions/s"}},
            },
            ["TYPE_MISMATCH"],
        ),
        # alternatives: every producer branch must fit, some consumer branch must accept
        (
            {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            {"type": "number"},
            ["TYPE_MISMATCH"],
        ),
        ({"type": "integer"}, {"oneOf": [{"type": "string"}, {"type": "number"}]}, []),
        (
            {"type": "boolean"},
            {"anyOf": [{"type": "string"}, {"type": "number"}]},
            ["TYPE_MISMATCH"],
        ),
        # arrays
        (
            {"type": "array", "items": {"type": "string"}},
            {"type": "array", "items": {"type": "string"}},
            [],
        ),
        (
            {"type": "array", "items": {"type": "number"}},
            {"type": "array", "items": {"type": "integer"}},
            ["TYPE_MISMATCH"],
        ),
        # trivial sides
        (None, {"type": "object"}, ["MISSING_PRODUCER_SCHEMA"]),
        ({}, {"type": "object"}, ["MISSING_PRODUCER_SCHEMA"]),
        ({"type": "object"}, {}, []),
        ({"type": "object"}, None, []),
    ],
)
def test_schema_compatibility(producer: Any, consumer: Any, codes: list[str]) -> None:
    assert codes_of(producer, consumer) == codes


def test_nested_field_paths_are_reported() -> None:
    producer = {"properties": {"a": {"properties": {"b": {"type": "string"}}}}}
    consumer = {"properties": {"a": {"properties": {"b": {"type": "integer"}}}}}
    [issue] = check_compatibility(producer, consumer)
    assert issue.field == "a.b"
    assert issue.consumer_path == ("properties", "a", "properties", "b", "type")
    assert issue.is_error


def test_depth_is_limited() -> None:
    issues = check_compatibility(RECURSIVE, RECURSIVE)
    assert [issue.code for issue in issues] == ["SCHEMA_DEPTH_EXCEEDED"]
    assert not issues[0].is_error


def test_certain_mode_reports_only_what_must_fail() -> None:
    assert codes_of({"type": ["string", "null"]}, {"type": "string"}, mode="certain") == []
    assert codes_of({"type": "boolean"}, {"type": "string"}, mode="certain") == ["TYPE_MISMATCH"]
    assert codes_of({"properties": {}}, {"required": ["a"]}, mode="certain") == []
    closed = {"properties": {}, "additionalProperties": False}
    assert codes_of(closed, {"required": ["a"]}, mode="certain") == ["MISSING_REQUIRED_FIELD"]
    assert codes_of({"type": "string"}, {"type": "integer"}, mode="certain", coerce=True) == []


# -- mutation policy -------------------------------------------------------------------------------


def test_checkpointed_policy_allows_several_checkpointed_mutations() -> None:
    spec = composition(persist(output=OBJECT), emit(output=OBJECT))
    assert validate_composition(spec).findings == []


def test_strict_policy_allows_one_mutation_with_nothing_fallible_after_it() -> None:
    fine = composition(
        transform(".context"), persist(output=OBJECT), transform(".prev", output=None)
    )
    report = validate_composition(fine, policy="strict")
    assert "MULTIPLE_MUTATIONS" not in report.codes
    assert "INVOCATION_AFTER_MUTATION" not in report.codes
    spec = composition(
        persist(), assertion(), {"capability": "validate", "config": {"schema": OBJECT}}
    )
    report = validate_composition(spec, policy="strict")
    assert findings_of(report, "INVOCATION_AFTER_MUTATION")[0].path == ("invocations", 1)
    assert len(findings_of(report, "INVOCATION_AFTER_MUTATION")) == 2
    # the error replaces the category warning
    assert not findings_of(report, "ASSERT_AFTER_MUTATION")


def test_unknown_policy_falls_back_to_checkpointed() -> None:
    spec = composition(persist(output=OBJECT), emit(output=OBJECT))
    assert validate_composition(spec, policy="lenient").findings == []  # type: ignore[arg-type]


def test_emit_followed_by_emits_only_is_fine() -> None:
    spec = composition(emit(output=OBJECT), emit(output=OBJECT))
    assert "EMIT_NOT_LAST" not in validate_composition(spec).codes


# -- shapes and patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        None,
        42,
        "composition",
        {"invocations": "x"},
        {"outcome": [], "invocations": [None, 3, {"capability": 5}, {"checkpoint": "yes"}]},
        {
            "outcome": {"description": 1},
            "invocations": [{"capability": "transform", "config": "."}],
        },
        {"pattern": 5},
        {"pattern": "notify", "invocations": []},
    ],
)
def test_malformed_specs_give_findings(spec: Any) -> None:
    report = validate_composition(spec)
    assert not report.is_valid
    assert all(finding.code in BY_CODE for finding in report.findings)


def test_flat_string_expressions_get_a_hint() -> None:
    spec = composition(transform(), {**persist(), "config": {"resource": "r", "data": ".prev"}})
    [finding] = findings_of(validate_composition(spec), "CONFIG_SCHEMA_VIOLATION")
    assert finding.path == ("invocations", 1, "config", "data")
    assert finding.hint == "write '{expression: \".prev\"}'"


def test_misplaced_config_keys_are_pointed_under_config() -> None:
    spec = composition({"capability": "transform", "filter": ".", "config": {"filter": "."}})
    [finding] = findings_of(validate_composition(spec), "COMPOSITION_PARSE_ERROR")
    assert finding.hint == "'filter' belongs under 'config'"


def test_forbidden_builtins_say_why() -> None:
    [finding] = findings_of(
        validate_composition(composition(transform("now"))), "INVALID_EXPRESSION"
    )
    assert "deterministic" in finding.message


def test_assert_conditions_are_checked() -> None:
    named = {
        "capability": "assert",
        "config": {"conditions": [{"name": "x", "expression": ".a |"}]},
    }
    [finding] = findings_of(
        validate_composition(composition(transform(), named)), "INVALID_EXPRESSION"
    )
    assert finding.path == ("invocations", 1, "config", "conditions", 0, "expression")


def test_expressions_of_unparsable_configs_are_still_checked() -> None:
    spec = composition(
        {"capability": "persist", "checkpoint": True, "config": {"data": {"expression": "{"}}}
    )
    assert {"CONFIG_SCHEMA_VIOLATION", "INVALID_EXPRESSION"} <= set(
        validate_composition(spec).codes
    )


def test_a_pattern_is_validated_through_its_expansion() -> None:
    spec = {
        "pattern": "transform_and_persist",
        "config": {"filter": ".context", "output": OBJECT, "resource": "orders"},
    }
    report = validate_composition(spec)
    assert report.is_valid
    strict = validate_composition(spec, policy="strict")
    assert all(finding.path == ("pattern",) for finding in strict.findings)
    assert all("pattern 'transform_and_persist'" in finding.message for finding in strict.findings)


def test_unknown_pattern_suggests_the_closest() -> None:
    [finding] = validate_composition({"pattern": "htp_request"}).findings
    assert finding.hint == "did you mean 'http_request'?"


def test_summary_sentences() -> None:
    assert validate_composition(composition(transform())).summary == "Composition is valid"
    assert validate_composition(composition(persist())).summary == (
        "Composition is valid with 1 warning(s)"
    )
    broken = validate_composition(composition(persist(checkpoint=False)))
    assert broken.summary == "Composition has 1 error(s) and 1 warning(s)"
    assert not broken.is_valid
    dumped = broken.model_dump(mode="json")
    assert dumped["is_valid"] is False
    assert dumped["findings"][0]["code"] == "CHECKPOINT_REQUIRED"
    assert "at_key" not in dumped["findings"][0]


def test_workflow_files_exist_for_the_corpus() -> None:
    if not WORKFLOWS.is_dir():
        pytest.skip("corpus not available")
    assert {path.stem for path in Path(WORKFLOWS).glob("*.yaml")} >= set(EXPECTED_WARNINGS)


def test_a_template_composition_model_is_accepted() -> None:
    from tasker_ctl.template.model import CompositionSpec

    model = CompositionSpec.model_validate(composition(transform(".prev")))
    assert validate_composition(model).codes == ["PREV_ON_FIRST_INVOCATION"]
