"""Orchestration overhead and throughput of the engine on the embedded PostgreSQL.

Usage: python benchmarks/bench_engine.py [--chain N] [--width N] [--workers N] [--rounds N]
                                         [--claim-batch N] [--database-url URL]

1. Per-step overhead: a linear chain of no-op steps run by one worker in this process; the
   figure is the median time of one claim -> execute -> complete cycle. Goal: <= 1.5 ms. As a
   yardstick of the machine's speed, the same median for a raw-SQL claim and completion (two
   transactions of one UPDATE each) on one connection is printed beside it.
2. Throughput: a wide DAG (one root, N children, one join) run by several worker processes,
   against a raw-SQL ceiling measured on the same server in the same script: the same number of
   processes claiming rows of a plain table with FOR UPDATE SKIP LOCKED in one transaction and
   completing them in a second. Each round runs the two back to back; the figure is the median
   ratio of the rounds. Goal: at least 50 % of the ceiling. Workers claim up to
   ``--claim-batch`` steps at once (the default, 16, as ``tasker-ctl worker``); 1 measures
   one claim per step.

Each run uses a fresh database on the server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

SQL = Path(__file__).resolve().parent / "sql" / "raw_queue.sql"


def _queries() -> dict[str, str]:
    blocks: dict[str, str] = {}
    name = None
    for line in SQL.read_text().splitlines():
        if line.startswith("-- name: "):
            name = line.removeprefix("-- name: ").strip()
            blocks[name] = ""
        elif name:
            blocks[name] += line + "\n"
    return blocks


def _template(steps: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return {"name": name, "namespace_name": "bench", "version": "1.0.0", "steps": steps}


def chain_template(length: int) -> dict[str, Any]:
    steps = [
        {
            "name": f"s{i:04d}",
            "handler": {"callable": "bench.noop"},
            **({"dependencies": [f"s{i - 1:04d}"]} if i else {}),
        }
        for i in range(length)
    ]
    return _template(steps, "chain")


def wide_template(width: int) -> dict[str, Any]:
    children = [
        {"name": f"c{i:04d}", "handler": {"callable": "bench.noop"}, "dependencies": ["root"]}
        for i in range(width)
    ]
    return _template(
        [
            {"name": "root", "handler": {"callable": "bench.noop"}},
            *children,
            {
                "name": "join",
                "handler": {"callable": "bench.noop"},
                "dependencies": [c["name"] for c in children],
            },
        ],
        "wide",
    )


def _registry() -> Any:
    from tasker_ctl.sdk.registry import HandlerRegistry
    from tasker_ctl.sdk.step_handler.functional import step_handler

    @step_handler("bench.noop")
    def noop() -> dict[str, Any]:
        return {}

    registry = HandlerRegistry()
    registry.register("bench.noop", noop)
    return registry


def _submit(url: str, template_data: dict[str, Any]) -> uuid.UUID:
    from tasker_ctl.engine.graph.submission import register_template, submit_task
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.template.model import TaskTemplate

    template = TaskTemplate.model_validate(template_data)
    with connect(url) as store, store.transaction():
        named = register_template(store, template, "bench")
        return submit_task(store, template, named, {}, identity="always_unique").task_uuid


def per_step_overhead(url: str, length: int) -> list[float]:
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.worker.loop import Worker, WorkerOptions

    task = _submit(url, chain_template(length))
    worker = Worker(url, _registry(), WorkerOptions(task_uuid=task))
    timings = []
    with connect(url) as store:
        while True:
            start = time.perf_counter()
            if not worker.run_once(store):
                break
            timings.append(time.perf_counter() - start)
    return timings


def _engine_process(url: str, task: str, claim_batch: int, ready: Any, go: Any) -> None:
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.worker.loop import Worker, WorkerOptions

    options = WorkerOptions(task_uuid=uuid.UUID(task), claim_batch=claim_batch)
    worker = Worker(url, _registry(), options)
    with connect(url) as store:
        ready.release()
        go.wait()
        # nothing claimable is not the end: the join waits for the last child; a process
        # stops when the task is complete, as a raw-SQL process stops at an empty queue
        while True:
            if worker.run_once(store):
                continue
            found = store.fetch_one("fetch_task", task_uuid=task)
            if found is None or found["current_state"] == "complete":
                return
            time.sleep(0.002)


def _raw_process(url: str, ready: Any, go: Any) -> None:
    import psycopg

    queries = _queries()
    with psycopg.connect(url) as connection:
        ready.release()
        go.wait()
        while _raw_cycle(connection, queries):
            pass


def _raw_cycle(connection: Any, queries: dict[str, str]) -> bool:
    """Claim one row of the raw queue (one transaction) and complete it (a second); False
    when the queue is empty."""
    with connection.transaction():
        row = connection.execute(queries["claim_raw"], {"worker": "w"}).fetchone()
    if row is None:
        return False
    with connection.transaction():
        connection.execute(queries["complete_raw"], {"id": row[0]})
    return True


def raw_step_latency(url: str, count: int) -> list[float]:
    """The machine's yardstick for the chain: one claim and one completion of the raw-SQL
    queue, two transactions, on one connection of this process."""
    import psycopg

    queries = _queries()
    timings = []
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(queries["create_raw_queue"])
        connection.execute(queries["fill_raw_queue"], {"count": count})
        while True:
            start = time.perf_counter()
            if not _raw_cycle(connection, queries):
                break
            timings.append(time.perf_counter() - start)
    return timings


def _timed(target: Any, args_for: Any, workers: int) -> float:
    context = multiprocessing.get_context("spawn")
    ready, go = context.Semaphore(0), context.Event()
    processes = [
        context.Process(target=target, args=(*args_for, ready, go)) for _ in range(workers)
    ]
    for process in processes:
        process.start()
    for _ in processes:
        ready.acquire()
    start = time.perf_counter()
    go.set()
    for process in processes:
        process.join()
    return time.perf_counter() - start


def throughput(
    url: str, width: int, workers: int, rounds: int, claim_batch: int
) -> list[tuple[float, float]]:
    """(engine, raw) steps per second for each round; the two runs of a round are
    back to back, so that the machine's drifting speed affects both alike."""
    import psycopg

    queries = _queries()
    figures = []
    for _ in range(rounds):
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute(queries["create_raw_queue"])
            connection.execute(queries["fill_raw_queue"], {"count": width + 2})
        raw = (width + 2) / _timed(_raw_process, (url,), workers)
        task = _submit(url, wide_template(width))
        engine = (width + 2) / _timed(_engine_process, (url, str(task), claim_batch), workers)
        figures.append((engine, raw))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", type=int, default=300)
    parser.add_argument("--width", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3, help="wide-DAG rounds (median)")
    parser.add_argument("--claim-batch", type=int, default=16, help="most steps claimed at once")
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
    try:
        with connect(url) as store:
            migrate(store)
        raw_ms = statistics.median(raw_step_latency(url, options.chain)) * 1000
        timings = per_step_overhead(url, options.chain)
        median_ms = statistics.median(timings) * 1000
        rounds = throughput(
            url, options.width, options.workers, options.rounds, options.claim_batch
        )
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
    p90_ms = statistics.quantiles(timings, n=10)[-1] * 1000
    print(f"linear chain of {options.chain} no-op steps, 1 worker:")
    print(
        f"  per step (median):   {median_ms:6.2f} ms   p90 {p90_ms:.2f} ms"
        f"   (goal <= 1.5 ms: {'met' if median_ms <= 1.5 else 'NOT met'})"
    )
    print(
        f"  raw SQL claim + complete, 1 connection: {raw_ms:.2f} ms"
        f"   (engine / raw: {median_ms / raw_ms:.1f}x; this machine's speed)"
    )
    engine = statistics.median(e for e, _ in rounds)
    raw = statistics.median(r for _, r in rounds)
    ratio = statistics.median(e / r for e, r in rounds)
    print(
        f"wide DAG (1 + {options.width} + 1 steps), {options.workers} worker processes"
        f" (claim batch {options.claim_batch}), median of {len(rounds)} rounds:"
    )
    print(f"  engine:              {engine:8.0f} steps/s")
    print(f"  raw SQL ceiling:     {raw:8.0f} steps/s")
    print(
        f"  ratio:               {ratio * 100:6.1f} %   (goal >= 50 %: "
        f"{'met' if ratio >= 0.5 else 'NOT met'}; rounds: "
        + ", ".join(f"{e / r * 100:.0f} %" for e, r in rounds)
        + ")"
    )


if __name__ == "__main__":
    main()
