"""Property: what the models accept, the JSON Schema accepts too, and it round-trips."""

from __future__ import annotations

import json
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tasker_ctl.planning import Fragment, fragment_json_schema, parse_fragment

NAMES = st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_-]{0,12}\Z")
SEGMENTS = st.lists(st.text(string.ascii_letters + string.digits + "_-", min_size=1, max_size=6))
TEXT = st.text(min_size=1, max_size=30)
COUNTS = st.integers(min_value=0, max_value=1_000)
JSON_LEAVES = st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8)
CONFIG = st.dictionaries(st.text(max_size=8), JSON_LEAVES, max_size=3)

REFERENCES = st.one_of(
    SEGMENTS.map(lambda path: "${" + ".".join(["task.context", *path]) + "}"),
    st.tuples(NAMES, SEGMENTS).map(
        lambda pair: "${" + ".".join(["steps", pair[0], "result", *pair[1]]) + "}"
    ),
)
HANDLERS = st.one_of(
    st.builds(lambda name, config: {"grammar": name, "config": config}, TEXT, CONFIG),
    st.builds(lambda name: {"callable": name}, TEXT),
    st.builds(
        lambda name, config: {"composition": {"pattern": name, "config": config}}, TEXT, CONFIG
    ),
    st.builds(
        lambda capability: {
            "composition": {
                "outcome": {"description": "d", "output_schema": {"type": "object"}},
                "invocations": [{"capability": capability, "checkpoint": True}],
            }
        },
        TEXT,
    ),
)


@st.composite
def fragments(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(NAMES, min_size=1, max_size=5, unique=True))
    steps = []
    for name in names:
        step: dict[str, Any] = {"name": name, "handler": draw(HANDLERS)}
        if draw(st.booleans()):
            step["dependencies"] = draw(st.lists(NAMES, unique=True, max_size=3))
        if draw(st.booleans()):
            step["inputs"] = draw(st.dictionaries(NAMES, REFERENCES, max_size=3))
        if draw(st.booleans()):
            step["step_type"] = draw(st.sampled_from(["standard", "deferred_convergence"]))
        if draw(st.booleans()):
            step["reasoning"] = draw(TEXT)
        steps.append(step)
    data: dict[str, Any] = {
        "fragment_version": "1.0",
        "planning_context": {
            "goal": draw(TEXT),
            "reasoning": draw(TEXT),
            "estimated_steps": draw(COUNTS),
            "estimated_depth": draw(COUNTS),
        },
        "steps": steps,
    }
    if draw(st.booleans()):
        data["convergence"] = draw(st.sampled_from(names))
    if draw(st.booleans()):
        data["resource_bounds"] = {"max_downstream_steps": draw(COUNTS)}
    return data


def _handler_names(fragment: Fragment, key: str) -> list[str]:
    return [getattr(step.handler, key) for step in fragment.steps if hasattr(step.handler, key)]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(fragments())
def test_accepted_fragments_validate_against_the_schema_and_round_trip(
    data: dict[str, Any],
) -> None:
    fragment = parse_fragment(data)
    assert isinstance(fragment, Fragment), fragment
    schema = fragment_json_schema(
        _handler_names(fragment, "callable"), _handler_names(fragment, "grammar"), True
    )
    dumped = json.loads(fragment.model_dump_json())
    Draft202012Validator(schema).validate(dumped)
    assert Fragment.model_validate_json(json.dumps(dumped)) == fragment
