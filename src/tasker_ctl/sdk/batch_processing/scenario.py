"""``BatchAggregationScenario``: did the analyzer fan out, and what is there to aggregate.

A convergence step after a batchable step sees either the workers' results
(``with_batches``) or only the analyzer's no-batches result (``no_batches``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasker_ctl.sdk.models import unwrap_result

__all__ = ["BatchAggregationScenario"]


@dataclass
class BatchAggregationScenario:
    """What a convergence step after a batchable step has to aggregate.

    ``batchable_result`` is the analyzer's result; ``batch_results`` maps each worker step
    name to its result (empty when no batches were created).
    """

    is_no_batches: bool
    batchable_result: dict[str, Any]
    batch_results: dict[str, dict[str, Any]]
    worker_count: int

    @classmethod
    def detect(
        cls,
        dependency_results: dict[str, Any],
        batchable_step_name: str,
        batch_worker_prefix: str,
    ) -> BatchAggregationScenario:
        """Classify from the step's dependency results (stored envelopes or plain results).

        Raises ``ValueError`` when the batchable step's result is missing, or when it created
        batches but no dependency name starts with ``batch_worker_prefix``.
        """
        batchable = unwrap_result(dependency_results.get(batchable_step_name))
        if batchable is None:
            raise ValueError(f"missing batchable step dependency: {batchable_step_name!r}")
        batchable_result = batchable if isinstance(batchable, dict) else {}
        outcome = batchable_result.get("batch_processing_outcome")
        if isinstance(outcome, dict) and outcome.get("type") == "no_batches":
            # The placeholder worker (``<template>_000``) carries nothing worth aggregating.
            return cls(True, batchable_result, {}, 0)
        batch_results: dict[str, dict[str, Any]] = {}
        for name, entry in dependency_results.items():
            if name.startswith(batch_worker_prefix):
                value = unwrap_result(entry)
                batch_results[name] = value if isinstance(value, dict) else {}
        if not batch_results:
            raise ValueError(
                f"no dependency named {batch_worker_prefix!r}* and batchable step "
                f"{batchable_step_name!r} did not report no_batches: check the template's "
                "batch worker and convergence steps"
            )
        return cls(False, batchable_result, batch_results, len(batch_results))

    def no_batches(self) -> bool:
        """Alias of ``is_no_batches``."""
        return self.is_no_batches
