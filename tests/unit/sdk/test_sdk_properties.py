"""Properties of the SDK's pure helpers, checked with hypothesis."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tasker_ctl.sdk import StepContext, StepHandler, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.batch_processing.ranges import divide_among_workers
from tasker_ctl.sdk.step_handler._injection import wrap_result
from tasker_ctl.sdk.step_handler.functional import Decision, decision_handler
from tasker_ctl.sdk.testing import make_context, run_handler


class Handler(StepHandler, Batchable):
    def call(self, context: StepContext) -> StepHandlerResult:
        return self.success()


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12)
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(names, children, max_size=4),
    max_leaves=12,
)
json_objects = st.dictionaries(names, json_values, max_size=6)


@given(json_objects)
def test_dict_results_pass_unchanged(value: dict[str, Any]) -> None:
    result = wrap_result(value)
    assert result.is_success
    assert result.result == value


@given(json_objects)
def test_dependency_results_round_trip_through_the_envelope(value: dict[str, Any]) -> None:
    context = make_context(dependency_results={"upstream": value})
    assert context.get_dependency_result("upstream") == value
    assert context.dependency_results["upstream"]["result"] == value


@given(st.lists(names, min_size=1, max_size=5), st.dictionaries(names, json_scalars, max_size=3))
def test_route_stores_step_names_and_routing_context(
    steps: list[str], routing: dict[str, Any]
) -> None:
    routing.pop("result", None)

    @decision_handler("prop")
    def handler() -> Decision:
        return Decision.route(steps, **routing)

    result = run_handler(handler, make_context())
    expected: dict[str, Any] = {
        "decision_point_outcome": {"type": "create_steps", "step_names": steps}
    }
    if routing:
        expected["routing_context"] = routing
    assert result.result == expected


@given(st.integers(min_value=0, max_value=3000), st.integers(min_value=1, max_value=40))
def test_worker_division_covers_items_with_at_most_worker_count(total: int, workers: int) -> None:
    configs = divide_among_workers(total, workers)
    assert len(configs) <= workers
    assert sum(config.row_count for config in configs) == total
    starts = [config.cursor_start for config in configs]
    ends = [config.cursor_end for config in configs]
    assert starts == ([0, *ends[:-1]] if configs else [])


@given(st.integers(min_value=1, max_value=2000), st.integers(min_value=1, max_value=300))
def test_analyzer_batches_are_numbered_and_sized(total: int, batch_size: int) -> None:
    handler = Handler()
    result = handler.batch_analyzer_success(
        cursor_configs=handler.create_cursor_ranges(total, batch_size), total_items=total
    )
    assert result.result is not None
    outcome = result.result["batch_processing_outcome"]
    configs = outcome["cursor_configs"]
    assert outcome["worker_count"] == result.result["worker_count"] == len(configs)
    assert [c["batch_id"] for c in configs] == [f"{i:03d}" for i in range(1, len(configs) + 1)]
    assert all(c["batch_size"] == c["end_cursor"] - c["start_cursor"] for c in configs)
    assert sum(c["batch_size"] for c in configs) == total
