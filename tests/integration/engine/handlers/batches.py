"""Batch handlers, configured by the task context.

``batch.analyze`` splits ``items`` (context) into batches of ``batch_size`` (context, else
10) for the worker template named in its initialization's ``worker``; 0 items is
no_batches. ``batch.work`` sums its cursor range after sleeping ``sleep`` seconds (context),
failing permanently for the batch ids listed in ``fail`` and retryably on the first attempt
for those in ``flaky``. ``batch.checkpointed`` yields a checkpoint every ``per_checkpoint``
items and fails once, retryably, after ``fail_after`` items on its first attempt.
``batch.aggregate`` adds up what the workers it was handed report. ``batch.malformed``
returns the outcome given in the context's ``outcome``.
"""

from __future__ import annotations

import time
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.errors import PermanentError, RetryableError
from tasker_ctl.sdk.step_handler import StepHandler
from tasker_ctl.sdk.step_handler.functional import step_handler
from tests.integration.engine.handlers import record


class Analyze(StepHandler, Batchable):
    handler_name = "batch.analyze"

    def call(self, context: StepContext) -> StepHandlerResult:
        record(context)
        items = int(context.get_input_or("items", 0))
        if items == 0:
            return self.no_batches_outcome(reason="empty")
        size = int(context.get_input_or("batch_size", 10))
        return self.batch_analyzer_success(
            cursor_configs=self.create_cursor_ranges(items, size),
            total_items=items,
            worker_template_name=str(context.get_config("worker")),
        )


class Work(StepHandler, Batchable):
    handler_name = "batch.work"

    def call(self, context: StepContext) -> StepHandlerResult:
        call = record(context)
        no_op = self.handle_no_op_worker(context)
        if no_op is not None:
            return no_op
        inputs = self.get_batch_worker_inputs(context)
        assert inputs is not None
        time.sleep(float(context.get_input_or("sleep", 0)))
        batch_id = inputs.cursor.batch_id
        if batch_id in (context.get_input_or("fail", []) or []):
            raise PermanentError(f"batch {batch_id} is broken")
        if batch_id in (context.get_input_or("flaky", []) or []) and call.attempt == 1:
            raise RetryableError(f"batch {batch_id} hiccuped")
        start, end = int(inputs.cursor.start_cursor), int(inputs.cursor.end_cursor)
        return self.batch_worker_success(
            items_processed=end - start,
            items_succeeded=end - start,
            batch_metadata={"sum": sum(range(start, end))},
        )


class Checkpointed(StepHandler, Batchable):
    handler_name = "batch.checkpointed"

    def call(self, context: StepContext) -> StepHandlerResult:
        call = record(context)
        inputs = self.get_batch_worker_inputs(context)
        assert inputs is not None
        per_checkpoint = int(context.get_input_or("per_checkpoint", 5))
        fail_after = context.get_input("fail_after")
        cursor = context.checkpoint_cursor
        position = int(cursor) if cursor is not None else int(inputs.cursor.start_cursor)
        done = context.checkpoint_items_processed
        total = (context.accumulated_results or {}).get("sum", 0)
        end = int(inputs.cursor.end_cursor)
        chunk = 0
        while position < end:
            if fail_after is not None and done >= int(fail_after) and call.attempt == 1:
                raise RetryableError(f"lost the connection after {done} items")
            total += position
            position += 1
            done += 1
            chunk += 1
            if chunk >= per_checkpoint and position < end:
                return self.checkpoint_yield(position, done, {"sum": total})
        return self.batch_worker_success(
            items_processed=done, items_succeeded=done, batch_metadata={"sum": total}
        )


@step_handler("batch.aggregate")
def aggregate(context: StepContext) -> dict[str, Any]:
    call = record(context)
    workers = {
        name: result
        for name, result in call.dependencies.items()
        if isinstance(result, dict) and "items_processed" in result
    }
    return {
        "workers": sorted(workers),
        "items": sum(result["items_processed"] for result in workers.values()),
        "sum": sum(result.get("batch_metadata", {}).get("sum", 0) for result in workers.values()),
        "handed": sorted(call.dependencies),
    }


@step_handler("batch.malformed")
def malformed(context: StepContext) -> dict[str, Any]:
    record(context)
    return {"batch_processing_outcome": context.get_input("outcome")}
