"""A 10,000-item batch end to end on the embedded PostgreSQL.

Usage: python benchmarks/bench_batch.py [--items N] [--batch-size N] [--workers N]
                                        [--parallelism N ...] [--rounds N] [--database-url URL]

A batchable step splits N items (default 10,000) into batches (default 100 items: 100
workers); each worker adds up its items; a deferred convergence step totals the workers.
Worker processes (default 4) run the task from submission to completion; the figures are
the median wall time of the rounds, steps and items per second, and how long the batchable
step's completion took (it creates the workers, their edges and the convergence step in its
transaction). As a yardstick of the machine, the same items are added up by calling the
worker handler in this process without the engine, in the same script. Each --parallelism
(the worker template's batch_config.parallelism) is run in turn.

Each run uses a fresh database on the server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
import uuid
from typing import Any


def batch_template(items: int, batch_size: int, parallelism: int) -> dict[str, Any]:
    return {
        "name": "bench_batch",
        "namespace_name": "bench",
        "version": "1.0.0",
        "steps": [
            {
                "name": "split",
                "type": "batchable",
                "handler": {
                    "callable": "bench.split",
                    "initialization": {"items": items, "batch_size": batch_size},
                },
            },
            {
                "name": "chunk",
                "type": "batch_worker",
                "dependencies": ["split"],
                "handler": {"callable": "bench.chunk"},
                "batch_config": {
                    "batch_size": batch_size,
                    "parallelism": parallelism,
                    "cursor_field": "id",
                    "worker_template": "chunk",
                    "failure_strategy": "fail_fast",
                },
            },
            {
                "name": "total",
                "type": "deferred_convergence",
                "dependencies": ["chunk"],
                "handler": {"callable": "bench.total"},
            },
        ],
    }


def add_up(start: int, end: int) -> int:
    """A worker's work on its items: a little arithmetic per item."""
    return sum(item * item % 97 for item in range(start, end))


def _registry() -> Any:
    from tasker_ctl.sdk.batch_processing import Batchable
    from tasker_ctl.sdk.registry import HandlerRegistry
    from tasker_ctl.sdk.step_handler import StepHandler
    from tasker_ctl.sdk.types import StepContext, StepHandlerResult

    class Split(StepHandler, Batchable):
        handler_name = "bench.split"

        def call(self, context: StepContext) -> StepHandlerResult:
            items, size = context.get_config("items"), context.get_config("batch_size")
            return self.batch_analyzer_success(
                cursor_configs=self.create_cursor_ranges(items, size),
                total_items=items,
                worker_template_name="chunk",
            )

    class Chunk(StepHandler, Batchable):
        handler_name = "bench.chunk"

        def call(self, context: StepContext) -> StepHandlerResult:
            inputs = self.get_batch_worker_inputs(context)
            assert inputs is not None
            start, end = int(inputs.cursor.start_cursor), int(inputs.cursor.end_cursor)
            return self.batch_worker_success(
                items_processed=end - start, batch_metadata={"sum": add_up(start, end)}
            )

    class Total(StepHandler):
        handler_name = "bench.total"

        def call(self, context: StepContext) -> StepHandlerResult:
            results = [
                context.get_dependency_result(name)
                for name in context.get_dependency_result_keys()
                if name.startswith("chunk_")
            ]
            return StepHandlerResult.success(
                {
                    "workers": len(results),
                    "items": sum(r["items_processed"] for r in results),
                    "sum": sum(r["batch_metadata"]["sum"] for r in results),
                }
            )

    registry = HandlerRegistry()
    for handler in (Split, Chunk, Total):
        registry.register(handler.handler_name, handler)
    return registry


def _submit(url: str, template_data: dict[str, Any]) -> uuid.UUID:
    from tasker_ctl.engine.graph.submission import register_template, submit_task
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.template.model import TaskTemplate

    template = TaskTemplate.model_validate(template_data)
    with connect(url) as store, store.transaction():
        named = register_template(store, template, "bench")
        return submit_task(store, template, named, {}, identity="always_unique").task_uuid


def _worker_process(url: str, task: str, ready: Any, go: Any) -> None:
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.worker.loop import Worker, WorkerOptions

    worker = Worker(url, _registry(), WorkerOptions(task_uuid=uuid.UUID(task)))
    with connect(url) as store:
        ready.release()
        go.wait()
        while True:
            if worker.run_once(store):
                continue
            found = store.fetch_one("fetch_task", task_uuid=task)
            if found is None or found["current_state"] in ("complete", "blocked_by_failures"):
                return
            time.sleep(0.002)


def run_batch(url: str, template: dict[str, Any], workers: int) -> dict[str, float]:
    """One task from submission to completion with ``workers`` processes."""
    import psycopg

    context = multiprocessing.get_context("spawn")
    ready, go = context.Semaphore(0), context.Event()
    task = _submit(url, template)
    processes = [
        context.Process(target=_worker_process, args=(url, str(task), ready, go))
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    wall = time.perf_counter() - start
    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT t.current_state, count(s.*),"
            " (SELECT results -> 'result' ->> 'items' FROM tasker.workflow_steps"
            "   WHERE task_uuid = t.task_uuid AND name = 'total')"
            " FROM tasker.tasks t JOIN tasker.workflow_steps s USING (task_uuid)"
            " WHERE t.task_uuid = %s GROUP BY t.task_uuid",
            (task,),
        ).fetchone()
        timing = connection.execute(
            "SELECT extract(epoch FROM max(tr.created_at) FILTER (WHERE tr.to_state = 'complete')"
            " - max(tr.created_at) FILTER (WHERE tr.to_state = 'in_progress'))"
            " FROM tasker.workflow_step_transitions tr JOIN tasker.workflow_steps s"
            " USING (workflow_step_uuid) WHERE s.task_uuid = %s AND s.name = 'split'",
            (task,),
        ).fetchone()
    assert found is not None
    assert timing is not None
    state, steps, total = found
    (growth,) = timing
    if state != "complete":
        raise SystemExit(f"the benchmark task ended {state}")
    return {"wall": wall, "steps": float(steps), "items": float(total), "growth": float(growth)}


def inline_seconds(items: int, batch_size: int) -> float:
    """The yardstick: the workers' handler called in this process, without the engine."""
    registry = _registry()
    handler = registry.resolve("bench.chunk")
    assert handler is not None
    start = time.perf_counter()
    for begin in range(0, items, batch_size):
        add_up(begin, min(begin + batch_size, items))
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--parallelism", type=int, nargs="+", default=[100, 10])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url")
    options = parser.parse_args()

    import psycopg
    import psycopg.sql

    from tasker_ctl.db.settings import resolve_database_url, with_database
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.store.migrations import migrate

    server = resolve_database_url(options.database_url).url
    name = f"tasker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = with_database(server, name)
    results: dict[int, list[dict[str, float]]] = {}
    try:
        with connect(url) as store:
            migrate(store)
        for _ in range(options.rounds):
            for parallelism in options.parallelism:
                template = batch_template(options.items, options.batch_size, parallelism)
                results.setdefault(parallelism, []).append(
                    run_batch(url, template, options.workers)
                )
        inline = statistics.median(
            inline_seconds(options.items, options.batch_size) for _ in range(options.rounds)
        )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
    workers = -(-options.items // options.batch_size)
    print(
        f"batch of {options.items} items, {workers} workers of {options.batch_size},"
        f" {options.workers} worker processes, median of {options.rounds} rounds:"
    )
    for parallelism, runs in results.items():
        wall = statistics.median(run["wall"] for run in runs)
        steps = runs[0]["steps"]
        growth = statistics.median(run["growth"] for run in runs) * 1000
        assert all(run["items"] == options.items for run in runs)
        print(f"  parallelism {parallelism}:")
        print(f"    wall time:           {wall:8.2f} s   ({int(steps)} steps)")
        print(f"    steps per second:    {steps / wall:8.0f}")
        print(f"    items per second:    {options.items / wall:8.0f}")
        print(f"    batchable step's completion (creates the workers): {growth:.0f} ms")
    print(f"  the same items added up in this process, no engine: {inline * 1000:.1f} ms")


if __name__ == "__main__":
    main()
