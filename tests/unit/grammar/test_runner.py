"""The runner: invocations in order, checkpoints reported as they happen, resuming, gates."""

from __future__ import annotations

from typing import Any

from tasker_ctl.grammar.errors import FailureKind, GatePending, InvocationError
from tasker_ctl.grammar.runner import idempotency_key, run_composition
from tests.unit.grammar.test_capabilities import FakeOperations, jq_evaluate

OUTCOME = {"description": "d", "output_schema": {"type": "object"}}


def spec(*invocations: dict[str, Any]) -> dict[str, Any]:
    return {"outcome": OUTCOME, "invocations": list(invocations)}


ADD_ONE = {"capability": "transform", "config": {"filter": "{n: ((.prev.n // .context.n) + 1)}"}}
PERSIST = {
    "capability": "persist",
    "checkpoint": True,
    "config": {"resource": "db", "data": {"expression": ".prev"}},
}
FAIL = {"capability": "assert", "config": {"filter": "false", "error": "stop here"}}
GATE = {"capability": "gate", "config": {"prompt": "go on?"}}


def run(composition: dict[str, Any], **kwargs: Any) -> Any:
    kwargs.setdefault("operations", FakeOperations())
    return run_composition(
        composition,
        context={"n": 1},
        deps={},
        step={"name": "s"},
        evaluate=jq_evaluate,
        key_seed="task:step",
        **kwargs,
    )


def test_each_output_feeds_the_next_and_the_last_is_the_output() -> None:
    done = run(spec(ADD_ONE, ADD_ONE, ADD_ONE))
    assert done.error is None
    assert done.output == {"n": 4}
    assert [(r.index, r.status, r.output) for r in done.records] == [
        (0, "ran", {"n": 2}),
        (1, "ran", {"n": 3}),
        (2, "ran", {"n": 4}),
    ]


def test_a_checkpoint_is_reported_before_a_later_failure_and_a_retry_resumes_after_it() -> None:
    saved: list[dict[str, Any]] = []
    operations = FakeOperations()
    failed = run(spec(ADD_ONE, PERSIST, FAIL), operations=operations, on_checkpoint=saved.append)
    assert isinstance(failed.error, InvocationError)
    assert (failed.failed_index, failed.failed_capability) == (2, "assert")
    assert len(saved) == 1
    assert saved[0]["cursor"] == 1
    assert saved[0]["composition"]["completed_index"] == 1
    assert saved[0]["composition"]["outputs"] == {"0": {"n": 2}, "1": {"n": 2}}

    again = FakeOperations()
    resumed = run(spec(ADD_ONE, PERSIST, ADD_ONE), operations=again, resume=saved[0])
    assert resumed.error is None
    assert resumed.resumed_from == 1
    assert [r.status for r in resumed.records] == ["resumed", "resumed", "ran"]
    assert resumed.output == {"n": 3}
    assert again.calls == []  # the checkpointed persist did not run again


def test_idempotency_keys_are_stable_per_invocation_and_distinct_across_them() -> None:
    first, second = FakeOperations(), FakeOperations()
    run(spec(PERSIST, PERSIST), operations=first)
    run(spec(PERSIST, PERSIST), operations=second)
    keys = [call[1][4] for call in first.calls]
    assert keys == [call[1][4] for call in second.calls]
    assert keys == [idempotency_key("task:step", 0), idempotency_key("task:step", 1)]
    assert keys[0] != keys[1]


def test_a_checkpoint_of_another_composition_is_ignored() -> None:
    stale = {"composition": {"format": 1, "completed_index": 7, "prev": {"n": 99}, "outputs": {}}}
    done = run(spec(ADD_ONE), resume=stale)
    assert done.resumed_from is None
    assert done.output == {"n": 2}


def test_a_gate_without_a_decision_stops_with_the_state_at_the_gate() -> None:
    waiting = run(spec(ADD_ONE, GATE, ADD_ONE))
    assert isinstance(waiting.error, GatePending)
    assert waiting.failed_index == 1
    kept = waiting.gate_checkpoint
    assert kept is not None
    assert kept["composition"]["completed_index"] == 0
    assert kept["composition"]["pending_gate"] == {
        "index": 1,
        "prompt": "go on?",
        "approvers": [],
    }
    decided = {**kept["composition"], "gates": {"1": {"decision": "approved", "by": "a"}}}
    approved = FakeOperations(decisions={1: {"decision": "approved", "by": "a"}})
    done = run(spec(ADD_ONE, GATE, ADD_ONE), operations=approved, resume={"composition": decided})
    assert done.error is None
    assert done.output == {"n": 3}
    assert [r.status for r in done.records] == ["resumed", "ran", "ran"]


def test_limits_fail_the_run_with_a_kind() -> None:
    too_many = run(spec(*([ADD_ONE] * 101)))
    assert isinstance(too_many.error, InvocationError)
    assert too_many.error.kind is FailureKind.CONFIG_VALIDATION
    late = run(spec(ADD_ONE), deadline_seconds=-1)
    assert isinstance(late.error, InvocationError)
    assert late.error.kind is FailureKind.TIMEOUT
    unknown = run(spec({"capability": "teleport", "config": {}}))
    assert isinstance(unknown.error, InvocationError)
    assert "unknown capability 'teleport'" in unknown.error.message
