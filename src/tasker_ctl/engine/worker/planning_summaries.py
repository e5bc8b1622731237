"""How each input of a planning prompt is given (``planning.context``): whole, summarized by
its shape, summarized by the model, or as a reference to what stays in the database. A model's
summary is a model call of its own (purpose ``summarize``): reserved in the budget, recorded as
an attempt, fenced by the claim like every call. A summary that the budget or the model cannot
give becomes a reference, and says so: nothing is dropped silently."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tasker_ctl.engine.errors import PlanningFailure
from tasker_ctl.engine.store.connection import Store
from tasker_ctl.engine.worker.attempt import Attempt
from tasker_ctl.engine.worker.planning_calls import (
    close_failed,
    close_summary,
    open_call,
    seconds_since,
)
from tasker_ctl.engine.worker.planning_inputs import phase_of
from tasker_ctl.engine.worker.planning_spans import PlannerSpans
from tasker_ctl.errors import TaskerError
from tasker_ctl.template.model import PlanningBlock

if TYPE_CHECKING:
    from tasker_ctl.planning.planner import Planner


def give_context(
    store: Store,
    attempt: Attempt,
    block: PlanningBlock,
    planner: Planner,
    values: Mapping[str, Any],
    schemas: Mapping[str, Any],
    spans: PlannerSpans,
) -> list[Any]:
    """The prompt's inputs as ``build_prompt`` takes them, the model's summaries made."""
    from tasker_ctl.planning.context_plan import (
        as_reference,
        context_policy,
        plan_context,
        summarization_request,
        summarized,
    )
    from tasker_ctl.planning.errors import PlannerCallFailed

    policy = context_policy(block)
    inputs = plan_context(values, schemas, policy)
    for index, item in enumerate(inputs):
        if item.strategy != "summarize":
            continue
        value = values[item.name]
        request = summarization_request(
            item, value, policy, max_output_tokens=block.max_output_tokens
        )
        try:
            call = open_call(
                store,
                attempt,
                block,
                planner,
                None,
                request,
                [],
                phase_of(attempt.step),
                purpose="summarize",
            )
        except PlanningFailure as failure:  # the budget cannot cover it
            inputs[index] = as_reference(item, value, failure.message)
            continue
        spans.start(attempt, planner, call)
        started = time.perf_counter()
        try:
            answer = planner.propose(call.request)
        except (PlannerCallFailed, TaskerError) as error:
            wall = seconds_since(started, time.perf_counter())
            billed = isinstance(error, PlannerCallFailed) and error.retryable
            close_failed(store, attempt, call, error, wall, billed=billed)
            spans.end(None, None, error_type=getattr(error, "code", "error"))
            inputs[index] = as_reference(item, value, f"no summary: {error}")
            continue
        wall = seconds_since(started, time.perf_counter())
        spans.end(answer, None)
        close_summary(store, attempt, call, answer, wall)
        inputs[index] = summarized(item, answer.text, policy)
    return inputs
