"""What a model may send on purpose or by mistake, each refused with the right code: a cycle,
hallucinated callables, patterns and capabilities, frame step names, edges into the frame or
past its convergence, too many steps for the bounds or the budget, references to fields no
schema declares, jq reading undeclared fields, two mutations, persist and acquire beyond what
the template allows, a 1 MB answer and a deeply nested one."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tasker_ctl.bounded_json import loads
from tasker_ctl.errors import JsonInputError
from tasker_ctl.planning.findings import MAX_FINDINGS
from tasker_ctl.trust import TrustPolicy
from tests.unit.planning.fragments_support import (
    ROW_SCHEMA,
    call,
    check,
    composition,
    fragment,
    pattern,
    scorer,
    transform,
)
from tests.unit.planning.seeded_cases import persist


def codes(data: object, frame: str = "frame", **facts: Any) -> set[str]:
    result = check(data, frame, **facts)
    assert not result.accepted
    return {finding.code for finding in result.findings}


def test_a_cycle_is_named() -> None:
    result = check(
        fragment(
            call("a", "app.checks.a", "c"),
            call("b", "app.checks.b", "a"),
            call("c", "app.checks.c", "b"),
        )
    )
    cycle = [finding for finding in result.findings if finding.code == "FRAGMENT_CYCLE"]
    assert [finding.message for finding in cycle] == [
        "steps depend on each other in a circle: a -> c -> b -> a"
    ]
    assert result.depth is None


def test_a_hallucinated_callable_gets_a_did_you_mean() -> None:
    result = check(fragment(call("a", "app.chekcs.disk")))
    (finding,) = result.findings
    assert finding.code == "FRAGMENT_CALLABLE_NOT_ALLOWED"
    assert finding.path == "$.steps[0].handler.callable"
    assert finding.hint == "did you mean 'app.checks.disk'?"


def test_a_hallucinated_callable_among_registered_ones() -> None:
    result = check(
        fragment(call("a", "app.checks.fetch_logz")),
        callables=frozenset({"app.checks.fetch_logs"}),
    )
    (finding,) = result.findings
    assert finding.code == "FRAGMENT_CALLABLE_NOT_REGISTERED"
    assert "'app.checks.fetch_logz'" in finding.message
    assert finding.hint == "did you mean 'app.checks.fetch_logs'?"


def test_hallucinated_patterns_and_capabilities() -> None:
    assert "FRAGMENT_PATTERN_UNKNOWN" in codes(fragment(pattern("p", "send_email", {})))
    step = composition(
        "x", [{"capability": "shell", "config": {"cmd": "rm -rf /"}}], {"type": "object"}
    )
    assert "FRAGMENT_CAPABILITY_UNKNOWN" in codes(fragment(step))


def test_names_of_frame_steps_and_edges_into_the_frame_or_past_its_convergence() -> None:
    found = codes(
        fragment(
            call("intake"), call("a", "app.checks.a", "side"), call("b", "app.checks.b", "report")
        )
    )
    assert {
        "FRAGMENT_STEP_NAME_TAKEN",
        "FRAGMENT_EDGE_INTO_FRAME",
        "FRAGMENT_EDGE_PAST_CONVERGENCE",
    } <= found


def test_over_the_bounds_and_over_the_budget() -> None:
    steps = [call(f"s{i}", "desk.lookup") for i in range(8)]
    result = check(fragment(*steps), "tight", remaining_steps=5)
    messages = {finding.code: finding.message for finding in result.findings}
    assert messages["FRAGMENT_BUDGET_EXCEEDED"] == "8 steps, but the budget leaves 5"
    assert "FRAGMENT_TOO_MANY_STEPS" in messages


def test_references_to_fields_no_schema_declares() -> None:
    found = codes(
        fragment(call("a", x="${steps.intake.result.secret}", y="${task.context.password}"))
    )
    assert found == {"FRAGMENT_REFERENCE_UNKNOWN_FIELD"}


def test_jq_reading_undeclared_fields() -> None:
    step = scorer("s", expression="{level: .context.admin_token, score: 1}")
    assert codes(fragment(step)) == {"FRAGMENT_DATA_UNDECLARED"}


def test_two_mutations_break_the_strict_policy() -> None:
    step = composition(
        "x",
        [
            transform("{order_id: .context.order_id}", ROW_SCHEMA),
            persist(),
            persist(entity="audit"),
        ],
        ROW_SCHEMA,
    )
    assert "FRAGMENT_MUTATION_POLICY" in codes(fragment(step))


def test_persist_and_acquire_beyond_the_template() -> None:
    write = composition(
        "w",
        [transform("{order_id: .context.order_id}", ROW_SCHEMA), persist(ref="tasker_db")],
        ROW_SCHEMA,
    )
    assert "FRAGMENT_PERSIST_NOT_ALLOWED" in codes(fragment(write))
    trusted = TrustPolicy(persist_tables=("app.orders",))
    audit = composition(
        "w",
        [transform("{order_id: .context.order_id}", ROW_SCHEMA), persist(entity="audit")],
        ROW_SCHEMA,
    )
    assert "FRAGMENT_PERSIST_NOT_ALLOWED" in codes(fragment(audit), trust=trusted)
    read = pattern("r", "http_request", {"resource": "metadata", "entity": "latest/meta-data"})
    assert "FRAGMENT_ACQUIRE_NOT_ALLOWED" in codes(fragment(read))


def test_a_one_megabyte_answer_is_refused_quickly() -> None:
    answer = json.dumps(fragment({**call("a"), "reasoning": "x" * 1_000_000}))
    assert len(answer) > 1_000_000
    started = time.perf_counter()
    result = check(loads(answer))
    assert time.perf_counter() - started < 5
    assert {finding.code for finding in result.errors} == {"FRAGMENT_TOO_LARGE"}


def test_a_megabyte_of_steps_is_refused_without_parsing_them_all() -> None:
    steps = [{"name": f"s{i}", "handler": {"callable": "evil.x"}, "junk": i} for i in range(9_000)]
    answer = json.dumps(fragment(*steps))
    assert len(answer) > 500_000
    started = time.perf_counter()
    result = check(loads(answer))
    assert time.perf_counter() - started < 10
    assert "FRAGMENT_TOO_LARGE" in {finding.code for finding in result.errors}
    assert result.step_count == 9_000


def test_a_hundred_bad_steps_stop_at_the_cap_of_findings() -> None:
    steps = [{**call(f"s{i}", "evil.x"), "reasoning": "r" * 7_000} for i in range(100)]
    result = check(loads(json.dumps(fragment(*steps))))
    assert len(result.findings) == MAX_FINDINGS + 1
    assert result.findings[-1].code == "FRAGMENT_TOO_LARGE"
    assert result.findings[-1].message.endswith("further problems are not listed")


def test_a_deeply_nested_answer_is_refused_by_the_decoder() -> None:
    text = '{"fragment_version": "1.0", "steps": [' + "[" * 5_000 + "]" * 5_000 + "]}"
    with pytest.raises(JsonInputError) as refused:
        loads(text)
    assert refused.value.code == "INPUT_TOO_DEEP"


def test_nesting_the_decoder_allows_is_a_finding() -> None:
    nested: Any = "deep"
    for _ in range(50):
        nested = {"a": nested}
    data = loads(
        json.dumps(fragment(pattern("p", "notify", {"event_name": "a.b", "payload": nested})))
    )
    assert "FRAGMENT_CONFIG_INVALID" in codes(data)
    deep_input = loads(json.dumps(fragment({**call("a"), "inputs": nested})))
    assert "FRAGMENT_REFERENCE_INVALID" in codes(deep_input)


def test_one_answer_names_every_problem_even_when_the_format_is_broken() -> None:
    data = fragment(call("a", "app.chekcs.disk"), call("b", "app.checks.b", "b"), {"name": "c"})
    data["planning_context"] = {"goal": "g"}
    result = check(data)
    found = {(finding.stage, finding.code) for finding in result.findings}
    assert {
        (1, "FRAGMENT_SCHEMA_INVALID"),
        (2, "FRAGMENT_CALLABLE_NOT_ALLOWED"),
        (5, "FRAGMENT_CYCLE"),
    } <= found
    assert result.fragment is None
    assert result.step_count == 3
