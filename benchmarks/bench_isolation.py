"""Handler isolation: threads against handler processes, on CPU-bound and on no-op steps.

Usage: python benchmarks/bench_isolation.py [--workers N] [--steps N] [--spin N]
                                            [--noop-steps N] [--rounds N] [--database-url URL]

Workers run as ``tasker-ctl worker --concurrency N [--isolation process]`` runs them: threads
of this process that stay up from task to task, so a handler process is started once, by a
warm-up task, before anything is timed (its start-up is measured on its own). Each
measurement alternates the two modes round by round, and which goes first (the machine's
speed drifts; a ratio from one period is what holds):

- CPU-bound: ``--steps`` independent steps that each run ``--spin`` iterations of integer
  arithmetic, then a join, worked by ``--workers`` workers claiming one step at a time
  (``--claim-batch 1``: after a quick step a worker would claim several slow ones at once and
  run them in turn). Threads share one interpreter lock; processes each have their own.
  Reported: the wall time from submission to completion, how much faster processes are, and
  how many cores the handlers kept busy (their CPU time over the wall time: at most 1 for
  threads; up to ``--workers`` for processes, as far as the machine has idle cores).
- Per attempt: ``--noop-steps`` independent no-op steps and a join, one worker with the
  default claim batches: the time per step between the task's first and last completions.
  The difference between the modes is what a handler process costs per attempt (the
  dispatch pickled, two pipe messages, the result read back).
- The yardstick: the same CPU-bound work in as many plain processes (a started
  multiprocessing pool), without the engine: the cores the machine offers at the moment.
- Start-up: a handler process started and ready (spawn, imports, the handlers loaded),
  without the database: the first attempt's time minus the second's.

The runs use a fresh database on the server (dropped afterwards); --database-url names the
server, else TASKER_DATABASE_URL or the embedded one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tasker_ctl.sdk.step_handler.functional import step_handler
from tasker_ctl.sdk.types import StepContext

HANDLERS = str(Path(__file__).resolve())
NAMESPACE = "bench_isolation"


def spun(rounds: int) -> tuple[int, float]:
    """The CPU-bound work of a step, and the CPU seconds it took."""
    started = time.thread_time()
    total = 0
    for i in range(rounds):
        total = (total + i * i) % 1_000_003
    return total, time.thread_time() - started


@step_handler("bench.spin")
def spin(context: StepContext) -> dict[str, Any]:
    total, cpu = spun(int(context.get_config("spin") or 0))
    return {"total": total, "cpu_seconds": cpu}


@step_handler("bench.noop")
def noop(context: StepContext) -> dict[str, Any]:
    return {}


def wide_template(name: str, steps: int, handler: str, spin_rounds: int = 0) -> dict[str, Any]:
    """``steps`` independent steps and a join."""
    middle = [
        {
            "name": f"work_{i:03d}",
            "handler": {"callable": handler, "initialization": {"spin": spin_rounds}},
        }
        for i in range(steps)
    ]
    return {
        "name": name,
        "namespace_name": NAMESPACE,
        "version": "1.0.0",
        "steps": [
            *middle,
            {
                "name": "join",
                "dependencies": [step["name"] for step in middle],
                "handler": {"callable": "bench.noop"},
            },
        ],
    }


@contextmanager
def workers_running(url: str, count: int, isolation: str, claim_batch: int) -> Iterator[None]:
    """``count`` workers on threads of this process until the block ends."""
    from tasker_ctl.engine.worker.handler_loading import load_handlers
    from tasker_ctl.engine.worker.loop import Worker, WorkerOptions

    registry = load_handlers([HANDLERS])
    stop = threading.Event()
    workers = [
        Worker(
            url,
            registry,
            WorkerOptions(
                namespaces=[NAMESPACE],
                poll_interval=0.2,
                claim_batch=claim_batch,
                isolation=isolation,  # type: ignore[arg-type]
                handlers=(HANDLERS,),
            ),
            stop,
        )
        for _ in range(count)
    ]
    threads = [threading.Thread(target=worker.run, daemon=True) for worker in workers]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def run_task(url: str, template: dict[str, Any]) -> tuple[float, float, float]:
    """Submit a task of ``template`` and wait for it: the seconds from submission to
    completion, the seconds per step between its first and last completions, and how many
    cores its handlers kept busy (their CPU time over that wall time)."""
    import psycopg

    from tasker_ctl.engine.graph.submission import register_template, submit_task
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.template.model import TaskTemplate

    parsed = TaskTemplate.model_validate(template)
    with connect(url) as store:
        with store.transaction():
            named = register_template(store, parsed, "bench")
        started = time.perf_counter()
        with store.transaction():
            task = submit_task(store, parsed, named, {}, identity="always_unique").task_uuid
    with psycopg.connect(url, autocommit=True) as connection:
        while True:
            found = connection.execute(
                "SELECT current_state FROM tasker.tasks WHERE task_uuid = %s", (task,)
            ).fetchone()
            if found is not None and found[0] == "complete":
                break
            if found is not None and found[0] in ("blocked_by_failures", "error"):
                raise SystemExit(f"the benchmark task ended {found[0]}")
            time.sleep(0.005)
        wall = time.perf_counter() - started
        span = connection.execute(
            "SELECT extract(epoch FROM max(created_at) - min(created_at)), count(*)"
            " FROM tasker.workflow_step_transitions WHERE task_uuid = %s"
            " AND to_state = 'complete'",
            (task,),
        ).fetchone()
        cpu = connection.execute(
            "SELECT coalesce(sum((results -> 'result' ->> 'cpu_seconds')::float), 0)"
            " FROM tasker.workflow_steps WHERE task_uuid = %s",
            (task,),
        ).fetchone()
    assert span is not None
    assert cpu is not None
    return wall, float(span[0]) / max(int(span[1]) - 1, 1), float(cpu[0]) / wall


def plain_processes(workers: int, steps: int, rounds: int) -> tuple[float, float]:
    """The yardstick: the same work in ``workers`` plain processes (a started pool), without
    the engine: its wall time and the cores it kept busy, which is what the machine offers
    at the moment."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        pool.map(spun, [0] * workers)  # started before the clock
        started = time.perf_counter()
        results = pool.map(spun, [rounds] * steps, chunksize=1)
        wall = time.perf_counter() - started
    return wall, sum(cpu for _, cpu in results) / wall


def startup_seconds() -> tuple[float, float]:
    """A handler process's start (spawn to ready, handlers loaded) and one no-op attempt."""
    from datetime import UTC, datetime

    from tasker_ctl.engine.worker.claimed_step import ClaimedStep, ClaimedTask, Lease
    from tasker_ctl.engine.worker.dispatch import dispatch_of
    from tasker_ctl.engine.worker.handler_loading import load_handlers
    from tasker_ctl.engine.worker.handler_process import HandlerProcess

    now = datetime.now(UTC)
    step = ClaimedStep(
        step_uuid=uuid.uuid4(),
        task_uuid=uuid.uuid4(),
        named_step_uuid=uuid.uuid4(),
        name="noop",
        template_step_name="noop",
        namespace_name=NAMESPACE,
        attempt=1,
        max_attempts=1,
        retryable=True,
        inputs={},
        idempotency_key="bench",
        task=ClaimedTask(
            name="bench",
            version="1.0.0",
            namespace=NAMESPACE,
            correlation_id=str(uuid.uuid4()),
            parent_correlation_id=None,
            context=None,
            payload={},
        ),
        named_task_uuid=uuid.uuid4(),
        template_revision=1,
        state="in_progress",
        in_process=True,
        lease=Lease("bench", now, now, now),
    )
    definition = json.dumps({"name": "noop", "handler": {"callable": "bench.noop"}})
    process = HandlerProcess(load_handlers([HANDLERS]), [HANDLERS], "process")
    try:
        timings = []
        for _ in range(2):
            dispatch = dispatch_of(step, definition)
            started = time.perf_counter()
            result = process.call("bench.noop", None, dispatch, {})
            timings.append(time.perf_counter() - started)
            assert result.is_success, result
    finally:
        process.close()
    return timings[0] - timings[1], timings[1]


def measure(url: str, options: argparse.Namespace) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {}
    wide = wide_template("bench_cpu", options.steps, "bench.spin", options.spin)
    flat = wide_template("bench_noop", options.noop_steps, "bench.noop")
    # one quick step per worker, each held long enough that every worker takes one
    warm = wide_template("bench_warm", options.workers, "bench.spin", options.spin // 10)
    for round_number in range(options.rounds):
        modes = ("thread", "process") if round_number % 2 == 0 else ("process", "thread")
        for mode in modes:
            with workers_running(url, options.workers, mode, claim_batch=1):
                run_task(url, warm)
                wall, _, cores = run_task(url, wide)
                figures.setdefault(f"cpu {mode}", []).append(wall)
                figures.setdefault(f"cores {mode}", []).append(cores)
            with workers_running(url, 1, mode, claim_batch=16):
                run_task(url, warm)
                figures.setdefault(f"step {mode}", []).append(run_task(url, flat)[1])
        wall, cores = plain_processes(options.workers, options.steps, options.spin)
        figures.setdefault("plain", []).append(wall)
        figures.setdefault("cores plain", []).append(cores)
        start, exchange = startup_seconds()
        figures.setdefault("start", []).append(start)
        figures.setdefault("exchange", []).append(exchange)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--spin", type=int, default=3_000_000)
    parser.add_argument("--noop-steps", type=int, default=300)
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
    try:
        with connect(url) as store:
            migrate(store)
        figures = measure(url, options)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )

    thread, process = figures["cpu thread"], figures["cpu process"]
    speedups = [t / p for t, p in zip(thread, process, strict=True)]
    print(
        f"CPU-bound: {options.steps} steps of {options.spin:,} iterations and a join, "
        f"{options.workers} workers, median of {options.rounds} rounds"
    )
    print(f"  threads:    {statistics.median(thread):7.2f} s   rounds {_listed(thread, 's')}")
    print(f"  processes:  {statistics.median(process):7.2f} s   rounds {_listed(process, 's')}")
    print(f"  processes are {statistics.median(speedups):.2f}x as fast ({_listed(speedups, 'x')})")
    plain = figures["plain"]
    print(f"  plain processes without the engine: {statistics.median(plain):.2f} s")
    labels = {"thread": "threads", "process": "handler processes", "plain": "plain processes"}
    for mode, label in labels.items():
        cores = figures[f"cores {mode}"]
        print(f"  cores kept busy, {label}: {statistics.median(cores):.2f} ({_listed(cores, '')})")
    thread_step, process_step = (
        statistics.median(figures[f"step {mode}"]) * 1000 for mode in ("thread", "process")
    )
    print(f"No-op steps: {options.noop_steps} and a join, one worker, per step")
    print(f"  threads:    {thread_step:7.2f} ms")
    print(f"  processes:  {process_step:7.2f} ms   ({process_step - thread_step:+.2f} ms)")
    start = statistics.median(figures["start"]) * 1000
    exchange = statistics.median(figures["exchange"]) * 1000
    print(f"Handler process start-up: {start:.0f} ms; a no-op exchange: {exchange:.2f} ms")


def _listed(values: list[float], unit: str) -> str:
    return ", ".join(f"{value:.2f}{unit}" for value in values)


if __name__ == "__main__":
    main()
