"""Batch processing helpers (``tasker_core.batch_processing``).

``class Analyzer(StepHandler, Batchable)`` gains the analyzer, worker and aggregator helpers;
see ``tasker_ctl.sdk.batch_processing.batchable``.
"""

from __future__ import annotations

from tasker_ctl.sdk.batch_processing.batchable import (
    Batchable,
    BatchAggregationScenario,
    BatchWorkerConfig,
    create_cursor_ranges,
)

__all__ = [
    "BatchAggregationScenario",
    "BatchWorkerConfig",
    "Batchable",
    "create_cursor_ranges",
]
