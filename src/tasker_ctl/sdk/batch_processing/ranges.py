"""Cursor ranges: how a batchable step's items are split among batch workers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tasker_ctl.sdk.types import CursorConfig

__all__ = [
    "BatchWorkerConfig",
    "create_cursor_ranges",
    "divide_among_workers",
    "format_batch_id",
]


def format_batch_id(index: int) -> str:
    """The id of the ``index``-th batch (0-based): 1-based, zero-padded to three digits."""
    return f"{index + 1:03d}"


def create_cursor_ranges(
    total_items: int, batch_size: int, step_size: int = 1, max_batches: int | None = None
) -> list[CursorConfig]:
    """Split ``[0, total_items)`` into consecutive half-open ranges of ``batch_size`` items.

    When that would give more than ``max_batches`` ranges, the batch size grows to
    ``ceil(total_items / max_batches)``. No items, no ranges; ``batch_size`` must be positive.
    """
    if total_items <= 0:
        return []
    if batch_size <= 0:
        raise ValueError(f"batch_size must be > 0, got {batch_size}")
    if max_batches is not None and max_batches > 0 and -(-total_items // batch_size) > max_batches:
        batch_size = -(-total_items // max_batches)
    return [
        CursorConfig(
            start_cursor=start,
            end_cursor=min(start + batch_size, total_items),
            step_size=step_size,
        )
        for start in range(0, total_items, batch_size)
    ]


@dataclass(frozen=True)
class BatchWorkerConfig:
    """One of ``total_workers`` slices ``[cursor_start, cursor_end)`` of the items."""

    batch_id: str
    cursor_start: int
    cursor_end: int
    row_count: int
    worker_index: int
    total_workers: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "cursor_start": self.cursor_start,
            "cursor_end": self.cursor_end,
            "row_count": self.row_count,
            "worker_index": self.worker_index,
            "total_workers": self.total_workers,
        }


def divide_among_workers(total_items: int, worker_count: int) -> list[BatchWorkerConfig]:
    """Slices of ``ceil(total_items / worker_count)`` items (fewer if some would be empty)."""
    if worker_count <= 0:
        raise ValueError(f"worker_count must be > 0, got {worker_count}")
    if total_items <= 0:
        return []
    per_worker = -(-total_items // worker_count)
    return [
        BatchWorkerConfig(
            batch_id=format_batch_id(index),
            cursor_start=start,
            cursor_end=min(start + per_worker, total_items),
            row_count=min(start + per_worker, total_items) - start,
            worker_index=index,
            total_workers=worker_count,
        )
        for index, start in enumerate(range(0, total_items, per_worker))
    ]
