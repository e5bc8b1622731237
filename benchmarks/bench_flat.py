"""Per-step cost of the engine at any scale: chain length, DAG width, history, processes.

Usage: python benchmarks/bench_flat.py [--axes chains,widths,history,processes]
                                       [--chains 100,1000,2000] [--widths 100,1000,5000]
                                       [--history 1000000] [--processes 1,2,4,8,16]
                                       [--width 3000] [--pairs 3] [--database-url URL]

Every axis runs on a fresh database of one server that is already running (the embedded one
unless a URL is given), created and dropped by the script. For each axis the figure at each
size is printed, and the ratio of the largest size to the smallest (goal: within 1.3x):

1. chains: a chain of N no-op steps through ``tasker-ctl run --workers 1``: per step,
   (t(N) - t(1)) / (N - 1), t(1) being the median of three one-step runs of the same round;
   beside it the engine's own per-step median for the same chain (in this process);
2. widths: a 1 + W + 1 wide DAG through ``tasker-ctl run --workers 4``: per step,
   (t(W) - t(1)) / (W + 1), t(1) the one-step run with the same flags;
3. history: a chain of 200 steps (through ``run`` and the engine's median) on an empty
   database, then after the database holds ``--history`` steps of completed tasks: one
   500-step chain run by the engine, cloned with plain SQL (``history_fill.py``; ``--history
   100000`` is quick; 0 skips the axis); the figure is after / before;
4. processes: a 1 + ``--width`` + 1 wide DAG worked by P ``tasker-ctl worker`` processes, in
   steps/s from the root's claim to the last completion (the server's clock: submission and
   start-up left out), beside the raw-SQL ceiling of P processes in the same round; the goal
   is no collapse: the largest P at least 0.8x the best.

The smallest sizes are 100: the net time of 10 steps is lost in the noise of a command of
about 0.8 s. The widest template is 5,000: a template of 10,000 steps passes the reader's
limit of 100,000 nodes (docs/template-format.md, "Limits"), so a wider DAG comes from a batch
step, not a template.

Sizes are alternated (reversed every other round), ``--pairs`` rounds, medians. The machines
here are shared and noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import (
    _queries,
    _raw_process,
    _submit,
    _timed,
    chain_template,
    per_step_overhead,
    wide_template,
)
from bench_run import HANDLERS, _command, own_preloader, run_seconds, warm_up
from history_fill import fill_history, scalar

from tasker_ctl.db.settings import resolve_database_url, with_database
from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.store.migrations import migrate

AXES = ("chains", "widths", "history", "processes")
HISTORY_CHAIN = 200  # the chain measured before and after the fill
TASK_SECONDS = """
SELECT extract(epoch FROM max(t.created_at) FILTER (WHERE t.to_state = 'complete')
                        - min(t.created_at) FILTER (WHERE t.to_state = 'in_progress'))
FROM tasker.workflow_steps s JOIN tasker.workflow_step_transitions t USING (workflow_step_uuid)
WHERE s.task_uuid = %(task)s
"""
TASK_STATE = "SELECT current_state FROM tasker.tasks WHERE task_uuid = %(task)s"
LISTENING = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'tasker-ctl worker'
  AND backend_start >= %(since)s
"""


@contextmanager
def fresh_database(server: str) -> Iterator[str]:
    """A new, migrated database on ``server``, dropped on the way out."""
    name = f"tasker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        url = with_database(server, name)
        with connect(url) as store:
            migrate(store)
        yield url
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            admin.execute(drop.format(sql.Identifier(name)))


@contextmanager
def workspace(templates: dict[str, dict[str, Any]]) -> Iterator[Path]:
    """A folder holding the no-op handlers and ``templates`` (``<name>.yaml``)."""
    folder = Path(tempfile.mkdtemp(prefix="bench_flat_"))
    try:
        (folder / "noop.py").write_text(HANDLERS, encoding="utf-8")
        for name, data in templates.items():
            (folder / f"{name}.yaml").write_text(json.dumps(data), encoding="utf-8")
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def alternated(sizes: list[int], round_: int) -> list[int]:
    return sizes if round_ % 2 == 0 else sizes[::-1]


def flat(large: float, small: float) -> str:
    """``large`` / ``small`` against the goal of 1.3x; a figure at or below zero is a net
    time lost in the noise (of a small size), not a measurement."""
    if large <= 0 or small <= 0:
        return "n/a (a net time at or below zero: lost in the noise)"
    ratio = large / small
    return f"{ratio:.2f}x (goal <= 1.3x: {'met' if ratio <= 1.3 else 'NOT met'})"


def chain_round(folder: Path, url: str, lengths: list[int]) -> dict[int, tuple[float, float]]:
    """(run, engine) ms per step for each chain length, net of this round's one-step run."""
    one = statistics.median(run_seconds(folder, "one.yaml", url, 1) for _ in range(3))
    figures = {}
    for length in lengths:
        engine = statistics.median(per_step_overhead(url, length)) * 1000
        seconds = run_seconds(folder, f"chain{length}.yaml", url, 1)
        figures[length] = ((seconds - one) / max(length - 1, 1) * 1000, engine)
    return figures


def chains_axis(server: str, sizes: list[int], pairs: int) -> None:
    templates = {"one": chain_template(1)} | {f"chain{n}": chain_template(n) for n in sizes}
    runs: dict[int, list[float]] = {n: [] for n in sizes}
    engine: dict[int, list[float]] = {n: [] for n in sizes}
    with fresh_database(server) as url, workspace(templates) as folder:
        warm_up(folder, "one.yaml", url, 1)  # registers the template, starts the preloader
        for round_ in range(pairs):
            for n, (through, inside) in chain_round(folder, url, alternated(sizes, round_)).items():
                runs[n].append(through)
                engine[n].append(inside)
    print("chains: N no-op steps, run --workers 1, per step:")
    run_ms = {n: statistics.median(runs[n]) for n in sizes}
    engine_ms = {n: statistics.median(engine[n]) for n in sizes}
    for n in sizes:
        print(f"  N = {n:6d}: run {run_ms[n]:6.2f} ms   engine {engine_ms[n]:6.2f} ms")
    large, small = max(sizes), min(sizes)
    print(f"  N = {large} / N = {small}: run {flat(run_ms[large], run_ms[small])}")
    print(f"  N = {large} / N = {small}: engine {flat(engine_ms[large], engine_ms[small])}")


def widths_axis(server: str, sizes: list[int], pairs: int) -> None:
    templates = {"one": chain_template(1)} | {f"wide{w}": wide_template(w) for w in sizes}
    runs: dict[int, list[float]] = {w: [] for w in sizes}
    with fresh_database(server) as url, workspace(templates) as folder:
        warm_up(folder, "one.yaml", url, 4)
        for round_ in range(pairs):
            one = statistics.median(run_seconds(folder, "one.yaml", url, 4) for _ in range(3))
            for w in alternated(sizes, round_):
                seconds = run_seconds(folder, f"wide{w}.yaml", url, 4)
                runs[w].append((seconds - one) / (w + 1) * 1000)
    print("widths: 1 + W + 1 wide DAG, run --workers 4, per step:")
    run_ms = {w: statistics.median(runs[w]) for w in sizes}
    for w in sizes:
        print(f"  W = {w:6d}: run {run_ms[w]:6.3f} ms")
    large, small = max(sizes), min(sizes)
    print(f"  W = {large} / W = {small}: run {flat(run_ms[large], run_ms[small])}")


def history_axis(server: str, steps: int, pairs: int) -> None:
    templates = {"one": chain_template(1), f"chain{HISTORY_CHAIN}": chain_template(HISTORY_CHAIN)}
    figures: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    with fresh_database(server) as url, workspace(templates) as folder:
        warm_up(folder, "one.yaml", url, 1)
        for moment in ("before", "after"):
            if moment == "after":
                fill_history(url, steps)
            for _ in range(pairs):
                figures[moment].append(chain_round(folder, url, [HISTORY_CHAIN])[HISTORY_CHAIN])
    print(f"history: a chain of {HISTORY_CHAIN} no-op steps, run --workers 1, per step:")
    medians = {}
    for moment, label in (("before", "empty database"), ("after", f"{steps:,} steps")):
        run_ms = statistics.median(r for r, _ in figures[moment])
        engine_ms = statistics.median(e for _, e in figures[moment])
        medians[moment] = (run_ms, engine_ms)
        print(f"  {label:>18}: run {run_ms:6.2f} ms   engine {engine_ms:6.2f} ms")
    (run_after, engine_after), (run_before, engine_before) = medians["after"], medians["before"]
    print(f"  after / before: run {flat(run_after, run_before)}")
    print(f"                  engine {flat(engine_after, engine_before)}")


@contextmanager
def worker_processes(folder: Path, url: str, count: int) -> Iterator[None]:
    """``count`` ``tasker-ctl worker`` processes, connected when this yields; stopped with
    SIGTERM, as a user stops one, on the way out."""
    command = [*_command(), "worker", "--handlers", "noop.py", "--quiet"]
    command += ["--staleness-interval", "0", "--database-url", url]
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with psycopg.connect(url, autocommit=True) as connection:
            since = scalar(connection, "SELECT now()")
            for index in range(count):
                with (folder / f"worker{index}.err").open("wb") as log:
                    worker = subprocess.Popen(command, cwd=folder, stdout=DEVNULL, stderr=log)
                processes.append(worker)
            deadline = time.monotonic() + 300
            while scalar(connection, LISTENING, {"since": since}) < count:
                for index, process in enumerate(processes):
                    if process.poll() is not None:
                        errors = (folder / f"worker{index}.err").read_text()
                        raise SystemExit(f"tasker-ctl worker exited early:\n{errors}")
                if time.monotonic() > deadline:
                    raise SystemExit(f"{count} tasker-ctl workers did not connect in 300 s")
                time.sleep(0.1)
        time.sleep(0.5)  # each listens right after connecting
        yield
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def workers_throughput(folder: Path, url: str, width: int, count: int) -> float:
    """Steps/s of a 1 + width + 1 wide DAG worked by ``count`` worker processes."""
    with worker_processes(folder, url, count), psycopg.connect(url, autocommit=True) as db:
        task = _submit(url, wide_template(width))
        deadline = time.monotonic() + 1800
        state = None
        while state != "complete":
            if time.monotonic() > deadline:
                raise SystemExit(f"the wide DAG did not complete in 1800 s (state {state})")
            time.sleep(0.05)
            state = scalar(db, TASK_STATE, {"task": task})
        seconds = scalar(db, TASK_SECONDS, {"task": task})
    return (width + 2) / float(seconds)


def processes_axis(server: str, sizes: list[int], width: int, pairs: int) -> None:
    rounds: dict[int, list[tuple[float, float]]] = {p: [] for p in sizes}
    queries = _queries()
    with fresh_database(server) as url, workspace({}) as folder:
        for round_ in range(pairs):
            for p in alternated(sizes, round_):
                with psycopg.connect(url, autocommit=True) as connection:
                    connection.execute(queries["create_raw_queue"])
                    connection.execute(queries["fill_raw_queue"], {"count": width + 2})
                ceiling = (width + 2) / _timed(_raw_process, (url,), p)
                rounds[p].append((workers_throughput(folder, url, width, p), ceiling))
    print(f"processes: 1 + {width} + 1 wide DAG, P tasker-ctl worker processes:")
    steps = {p: statistics.median(s for s, _ in rounds[p]) for p in sizes}
    best = max(steps.values())
    for p in sizes:
        ceiling = statistics.median(c for _, c in rounds[p])
        ratio = statistics.median(s / c for s, c in rounds[p])
        print(
            f"  P = {p:3d}: {steps[p]:7.0f} steps/s   raw SQL ceiling {ceiling:7.0f} steps/s   "
            f"{ratio * 100:5.1f} %   vs best P {steps[p] / best:4.2f}x"
        )
    largest = steps[max(sizes)] / best
    print(
        f"  P = {max(sizes)} / best: {largest:.2f}x "
        f"(goal >= 0.8x, no collapse: {'met' if largest >= 0.8 else 'NOT met'})"
    )


def _sizes(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--axes", default=",".join(AXES))
    parser.add_argument("--chains", default="100,1000,2000")
    parser.add_argument("--widths", default="100,1000,5000")
    parser.add_argument("--history", type=int, default=1_000_000, help="steps; 0 skips")
    parser.add_argument("--processes", default="1,2,4,8,16")
    parser.add_argument("--width", type=int, default=3000, help="the wide DAG of --processes")
    parser.add_argument("--pairs", type=int, default=3, help="rounds (medians)")
    parser.add_argument("--database-url")
    options = parser.parse_args()
    axes = [axis for axis in options.axes.split(",") if axis]
    if unknown := set(axes) - set(AXES):
        parser.error(f"unknown axes: {', '.join(sorted(unknown))} (choose from {AXES})")

    server = resolve_database_url(options.database_url).url
    print(f"medians of {options.pairs} rounds, sizes alternated; compare ratios within one run")
    if "chains" in axes:
        chains_axis(server, _sizes(options.chains), options.pairs)
    if "widths" in axes:
        widths_axis(server, _sizes(options.widths), options.pairs)
    if "history" in axes and options.history > 0:
        history_axis(server, options.history, options.pairs)
    if "processes" in axes:
        processes_axis(server, _sizes(options.processes), options.width, options.pairs)


if __name__ == "__main__":
    with own_preloader():
        main()
