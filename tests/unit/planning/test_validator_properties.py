"""Properties of check_fragment: it never raises, whatever the value; it never accepts a
fragment whose findings hold an error; and a valid fragment, mutated (a dependency renamed, a
cycle edge added, a required key dropped), is refused."""

from __future__ import annotations

import copy
import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasker_ctl.template.diagnostics import Severity
from tests.unit.planning.fragments_support import call, check, fragment
from tests.unit.planning.seeded_cases import VALID

NAMES = st.sampled_from(["a", "b", "c", "score", "lookup", "intake", "plan", "report", "zz"])
KEYS = st.text(string.ascii_letters + "_", min_size=1, max_size=10)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-10, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=25,
)
REFERENCES = st.one_of(
    st.sampled_from(["${task.context}", "${task.context.order_id}", "${task.context.nope.x}"]),
    st.builds(lambda name, field: f"${{steps.{name}.result.{field}}}", NAMES, KEYS),
)
HANDLERS = st.one_of(
    st.builds(
        lambda name: {"callable": name},
        st.sampled_from(["app.checks.a", "app.Summarise", "evil.x", "app.checks"]),
    ),
    st.builds(
        lambda name, config: {"grammar": name, "config": config},
        st.sampled_from(["http_request", "notify", "nope"]),
        st.dictionaries(KEYS, JSON, max_size=3),
    ),
    st.builds(
        lambda expression: {
            "composition": {
                "outcome": {"description": "d", "output_schema": {"type": "object"}},
                "invocations": [
                    {
                        "capability": "transform",
                        "config": {"filter": expression, "output": {"type": "object"}},
                    }
                ],
            }
        },
        st.sampled_from([".", ".context.order_id", ".deps.a.x", "{", "input"]),
    ),
    JSON,
)
STEPS = st.fixed_dictionaries(
    {"name": NAMES, "handler": HANDLERS},
    optional={
        "dependencies": st.lists(NAMES, max_size=3),
        "inputs": st.dictionaries(KEYS, REFERENCES | JSON, max_size=3),
        "step_type": st.sampled_from(["standard", "deferred_convergence", "decision"]),
        "extra": JSON,
    },
)
FRAGMENTS = st.builds(
    lambda steps, convergence: fragment(
        *steps, **({"convergence": convergence} if convergence else {})
    ),
    st.lists(STEPS | JSON, max_size=8),
    st.none() | NAMES,
)


def _consistent(data: object, **facts: Any) -> None:
    result = check(data, **facts)
    has_error = any(finding.severity is Severity.ERROR for finding in result.findings)
    assert result.accepted == (result.fragment is not None and not has_error)
    assert len(result.findings) <= 51
    assert all(1 <= finding.stage <= 9 for finding in result.findings)
    # no stage gave up on the value with an exception of its own
    assert not any("could not be checked" in finding.message for finding in result.findings)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_value_gives_findings_never_an_exception(value: Any) -> None:
    _consistent(value)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FRAGMENTS, st.none() | st.integers(0, 5), st.none() | JSON)
def test_a_fragment_like_value_is_never_accepted_with_an_error(
    data: dict[str, Any], remaining: int | None, context: Any
) -> None:
    _consistent(data, remaining_steps=remaining, context=context)


MULTI_STEP = [case for case in VALID if case.facts == {} and len(case.data["steps"]) >= 2]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MULTI_STEP), st.data())
def test_a_valid_fragment_with_a_dependency_renamed_is_refused(
    case: Any, data: st.DataObject
) -> None:
    mutated = copy.deepcopy(case.data)
    with_dependencies = [step for step in mutated["steps"] if step.get("dependencies")]
    if not with_dependencies:
        with_dependencies = [mutated["steps"][1]]
        with_dependencies[0]["dependencies"] = [mutated["steps"][0]["name"]]
    step = data.draw(st.sampled_from(with_dependencies))
    step["dependencies"][0] = step["dependencies"][0] + "_renamed"
    assert not check(mutated, case.frame).accepted


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(MULTI_STEP), st.data())
def test_a_valid_fragment_with_a_cycle_edge_is_refused(case: Any, data: st.DataObject) -> None:
    mutated = copy.deepcopy(case.data)
    steps = mutated["steps"]
    index = data.draw(st.integers(0, len(steps) - 1))
    # the step depends on itself, or an ancestor on a descendant
    target = steps[index]
    source = data.draw(st.sampled_from([step["name"] for step in steps]))
    descendants = _descendants(steps, target["name"]) | {target["name"]}
    if source not in descendants:
        source = target["name"]
    target.setdefault("dependencies", [])
    if source not in target["dependencies"]:
        target["dependencies"].append(source)
    result = check(mutated, case.frame)
    assert not result.accepted
    assert "FRAGMENT_CYCLE" in [finding.code for finding in result.findings]


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from(VALID),
    st.sampled_from(["fragment_version", "planning_context", "steps", "name", "handler"]),
)
def test_a_valid_fragment_without_a_required_key_is_refused(case: Any, key: str) -> None:
    mutated = copy.deepcopy(case.data)
    if key in mutated:
        del mutated[key]
    elif mutated["steps"]:
        del mutated["steps"][0][key]
    else:
        mutated["steps"] = [{"name": "a"}]
    assert not check(mutated, case.frame, **case.facts).accepted


def _descendants(steps: list[dict[str, Any]], name: str) -> set[str]:
    found: set[str] = set()
    pending = [name]
    while pending:
        current = pending.pop()
        for step in steps:
            if current in step.get("dependencies", []) and step["name"] not in found:
                found.add(step["name"])
                pending.append(step["name"])
    return found


def test_a_fragment_the_hypothesis_strategies_build_can_be_accepted() -> None:
    # the strategies reach accepted fragments too, not only refusals
    assert check(fragment(call("a"))).accepted
