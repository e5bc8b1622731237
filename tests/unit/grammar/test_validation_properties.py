"""Whatever a composition holds, validation and the static explanation return findings and a
trace: they never raise."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.grammar.capabilities import CAPABILITY_NAMES, REGISTRY
from tasker_ctl.grammar.explain import explain_composition
from tasker_ctl.grammar.validation import StepContract, check_compatibility, validate_composition
from tasker_ctl.template.codes import BY_CODE

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)
FRAGMENTS = (
    ".prev",
    ".prev.total",
    ".context.items[]",
    ".deps.load.count",
    ".step.attempt",
    "{a: .prev.a}",
    ".prev as $p | $p.x",
    "[.prev[] | .id]",
    ".prev | length",
    "now",
    "{",
    "if .prev then 1 else 2 end",
    ".prev[.context.k]",
    "..",
    "$__loc__",
    "reduce .prev[] as $x (0; . + $x)",
)
expressions = st.sampled_from(FRAGMENTS) | st.text(max_size=20)
keys = sorted(
    {
        key
        for capability in REGISTRY.values()
        for key in capability.config_schema().get("properties", {})
    }
)
schemas = st.recursive(
    st.sampled_from(
        [
            {},
            {"type": "object"},
            {"type": "string"},
            {"type": ["integer", "null"]},
            {"enum": ["a", 1]},
            {"$ref": "#/$defs/x"},
            {"$ref": "#"},
            True,
            False,
            None,
        ]
    ),
    lambda inner: st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["object", "array", "number", ["object", "null"], 3]),
            "properties": st.dictionaries(st.sampled_from(["a", "total", "x"]), inner, max_size=3),
            "required": st.lists(st.sampled_from(["a", "total", "q"]) | scalars, max_size=3),
            "items": inner,
            "anyOf": st.lists(inner, max_size=3),
            "additionalProperties": st.booleans() | inner,
            "$defs": st.dictionaries(st.just("x"), inner, max_size=1),
            "allOf": st.lists(inner, max_size=2),
        },
    ),
    max_leaves=10,
)
configs = st.dictionaries(
    st.sampled_from(keys) | st.text(max_size=6),
    json_values
    | expressions
    | st.fixed_dictionaries({"expression": expressions})
    | schemas
    | st.sampled_from(["orders", {"ref": "db", "entity": "t"}]),
    max_size=5,
)
dict_schemas = schemas.filter(lambda schema: isinstance(schema, dict))
well_formed = st.one_of(
    st.builds(
        lambda f, o: {"capability": "transform", "config": {"filter": f, "output": o}},
        expressions,
        dict_schemas,
    ),
    st.builds(lambda f: {"capability": "assert", "config": {"filter": f}}, expressions),
    st.builds(
        lambda e, o, c: {
            "capability": "persist",
            "checkpoint": c,
            "config": {"resource": "db", "data": {"expression": e}, "output": o},
        },
        expressions,
        dict_schemas,
        st.booleans(),
    ),
    st.builds(
        lambda s, c: {"capability": "validate", "config": {"schema": s, "coerce": c}},
        dict_schemas,
        st.booleans(),
    ),
)
invocations = (
    well_formed
    | st.fixed_dictionaries(
        {"capability": st.sampled_from(CAPABILITY_NAMES) | st.text(max_size=6) | scalars},
        optional={"config": configs | json_values, "checkpoint": st.booleans() | scalars},
    )
    | json_values
)
specs = (
    st.fixed_dictionaries(
        {"invocations": st.lists(invocations, max_size=6)},
        optional={
            "outcome": st.fixed_dictionaries(
                {"description": st.text(max_size=5) | scalars, "output_schema": schemas}
            )
            | json_values,
            "name": st.text(max_size=5) | scalars,
            "extra": json_values,
        },
    )
    | st.fixed_dictionaries(
        {"pattern": st.sampled_from(["http_request", "notify", "nope"]) | scalars},
        optional={"config": configs | json_values},
    )
    | json_values
)
contracts = st.none() | st.builds(
    StepContract,
    step_name=st.none() | st.text(max_size=5),
    dependency_names=st.none() | st.tuples(st.sampled_from(["load", "a"])),
    dependency_schemas=st.dictionaries(st.sampled_from(["load", "a"]), schemas, max_size=2),
    input_schema=schemas,
    result_schema=schemas,
)


@SETTINGS
@given(spec=specs, step=contracts, strict=st.booleans())
def test_validation_never_raises(spec: Any, step: StepContract | None, strict: bool) -> None:
    report = validate_composition(spec, step=step, policy="strict" if strict else "checkpointed")
    for finding in report.findings:
        assert finding.code in BY_CODE
        assert finding.severity is BY_CODE[finding.code].severity
    report.model_dump_json()


@SETTINGS
@given(spec=specs, step=contracts)
def test_static_explanation_never_raises(spec: Any, step: StepContract | None) -> None:
    trace = explain_composition(spec, step=step)
    trace.model_dump_json()


@SETTINGS
@given(producer=schemas, consumer=schemas, coerce=st.booleans())
def test_compatibility_never_raises(producer: Any, consumer: Any, coerce: bool) -> None:
    for mode in ("full", "certain"):
        for issue in check_compatibility(producer, consumer, mode=mode, coerce=coerce):
            assert issue.code in BY_CODE
