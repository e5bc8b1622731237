"""Handlers of the CSV import example (examples/csv_import/csv_import.yaml)."""

from __future__ import annotations

import csv
from itertools import islice
from pathlib import Path
from typing import Any

from tasker_ctl.sdk import StepContext, StepHandlerResult
from tasker_ctl.sdk.batch_processing import Batchable
from tasker_ctl.sdk.errors import PermanentError
from tasker_ctl.sdk.step_handler import StepHandler
from tasker_ctl.sdk.step_handler.functional import step_handler


class AnalyzeCsv(StepHandler, Batchable):
    handler_name = "examples.csv_import.AnalyzeCsv"

    def call(self, context: StepContext) -> StepHandlerResult:
        path = Path(str(context.get_input("csv_path")))
        if not path.is_file():
            raise PermanentError(f"no CSV file at {path}")
        with path.open(newline="", encoding="utf-8") as file:
            rows = sum(1 for _ in csv.DictReader(file))
        if rows == 0:
            return self.no_batches_outcome(reason="the file has no data rows")
        return self.batch_analyzer_success(
            cursor_configs=self.create_cursor_ranges(rows, int(context.get_config("batch_size"))),
            total_items=rows,
            worker_template_name="import_rows",
            batch_metadata={"csv_path": str(path)},
        )


class ImportRows(StepHandler, Batchable):
    handler_name = "examples.csv_import.ImportRows"

    def call(self, context: StepContext) -> StepHandlerResult:
        no_op = self.handle_no_op_worker(context)
        if no_op is not None:
            return no_op
        batch = self.get_batch_worker_inputs(context)
        assert batch is not None
        start, end = int(batch.cursor.start_cursor), int(batch.cursor.end_cursor)
        # resume after the last checkpoint (an earlier dispatch, or an attempt that failed)
        position = int(context.checkpoint_cursor or start)
        progress: dict[str, Any] = context.accumulated_results or {
            "imported": 0,
            "rejected": [],
            "value": 0.0,
        }
        per_checkpoint = int(context.get_config("rows_per_checkpoint"))
        path = Path(str(context.get_input("csv_path")))
        with path.open(newline="", encoding="utf-8") as file:
            rows = islice(csv.DictReader(file), position, end)
            for done, row in enumerate(rows, start=1):
                try:
                    progress["value"] += float(row["price"]) * int(row["stock"])
                    progress["imported"] += 1
                except ValueError:
                    progress["rejected"].append(row["sku"])
                position += 1
                if done == per_checkpoint and position < end:
                    return self.checkpoint_yield(position, position - start, progress)
        return self.batch_worker_success(
            items_processed=end - start,
            items_succeeded=progress["imported"],
            items_failed=len(progress["rejected"]),
            batch_metadata={
                "inventory_value": round(progress["value"], 2),
                "rejected": progress["rejected"],
            },
        )


@step_handler("examples.csv_import.summarize_import")
def summarize_import(context: StepContext) -> dict[str, Any]:
    workers = [
        context.get_dependency_result(name)
        for name in context.get_dependency_result_keys()
        if name.startswith("import_rows_")
    ]
    done = [worker for worker in workers if isinstance(worker, dict)]
    return {
        "imported": sum(worker.get("items_succeeded", 0) for worker in done),
        "rejected": sum(worker.get("items_failed", 0) for worker in done),
        "inventory_value": round(
            sum(worker.get("batch_metadata", {}).get("inventory_value", 0) for worker in done), 2
        ),
        "workers": len(done),
    }
