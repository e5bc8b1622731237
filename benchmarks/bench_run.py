"""``tasker-ctl run`` measured from outside, as a user runs it, beside the engine from inside.

Usage: python benchmarks/bench_run.py [--chains 200,400,1000,2000] [--width 3000] [--workers 4]
                                      [--pairs 3] [--processes P] [--database-url URL]
                                      [--command CMD] [--dbos-python PYTHON]

Every figure comes from the command in a subprocess (``tasker-ctl run ... --json``) against a
fresh database of a server that is already running (the embedded one unless a URL is given),
in a folder with a state folder (``.tasker``), where ``run`` keeps the templates it validated:
the warm-up run of each template checks it, the measured runs read it back, as reruns do.
The commands go to a preloader of the benchmark's own (docs/preloading.md; the first warm-up
run starts it, in a runtime folder of the benchmark's, stopped at the end), as a user's do:

1. a one-step template, the whole command (start-up, validation, connecting, the run, the
   exit): the fixed cost of a run (the median of three runs in each pair), handed to the
   preloader and in its own process (``TASKER_PRELOAD=off``), beside the floor of its
   dependencies: this Python importing Typer, Pydantic and psycopg, running one query on the
   database and exiting (``FLOOR``, the median of three runs in each pair);
2. a chain of N no-op steps, ``--workers 1``: per step, (the command's time - the one-step
   command's time) / (N - 1), beside the engine's own per-step median for the same chain
   (``bench_engine.per_step_overhead``, in this process) and a raw-SQL claim + complete on one
   connection; for each N of ``--chains``, so that flatness with chain length shows;
3. a 1 + W + 1 wide DAG with ``--workers`` threads (in ``--processes`` worker processes), in
   steps per second over the whole command, beside the raw-SQL ceiling
   (``bench_engine.throughput``'s queue with ``--workers`` processes);
4. with ``--dbos-python``, DBOS's per-step median of 4-step workflows of no-op steps on the
   same server (``dbos_steps.py``, in a Python that has DBOS: it is no dependency of ours),
   the yardstick of the chain goal.

The command and its yardstick alternate, ``--pairs`` times; medians are printed. The machines
here are shared and noisy: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import json
import os
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_engine import (
    _queries,
    _raw_process,
    _timed,
    chain_template,
    per_step_overhead,
    raw_step_latency,
    wide_template,
)

HANDLERS = """\
from tasker_ctl.sdk.step_handler.functional import step_handler


@step_handler("bench.noop")
def noop():
    return {}
"""


COMMAND: list[str] = []

# what any command of ours pays before its own code: the interpreter, its three main
# dependencies and one query on a new connection
FLOOR = """
import sys
import psycopg, pydantic, typer
from pydantic import BaseModel
with psycopg.connect(sys.argv[1]) as connection:
    connection.execute("SELECT 1").fetchone()
"""


def _command() -> list[str]:
    """The command measured: the console script installed beside this Python (not a shim a
    version manager puts first on PATH, which adds its own start-up), else the module."""
    if COMMAND:
        return COMMAND
    script = Path(sys.executable).parent / "tasker-ctl"
    if script.is_file():
        return [str(script)]
    executable = shutil.which("tasker-ctl")
    return [executable] if executable else [sys.executable, "-m", "tasker_ctl"]


# the runtime folder of the benchmark's own preloader (a short path: a socket's has 108 bytes)
RUNTIME: list[str] = []


def _environment(preload: bool = True) -> dict[str, str]:
    """The command's environment: this one, with bytecode caching on as on a user's machine
    (a sandbox's PYTHONDONTWRITEBYTECODE would make every run compile every module again), and
    the benchmark's own preloader, or none (``preload=False``: the command in its own
    process)."""
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    environment.pop("TASKER_PRELOAD", None)
    if RUNTIME:
        environment["XDG_RUNTIME_DIR"] = RUNTIME[0]
    if not preload:
        environment["TASKER_PRELOAD"] = "off"
    return environment


@contextmanager
def own_preloader() -> Iterator[None]:
    """The commands measured inside go to a preloader of the benchmark's own (in a runtime
    folder of its own), stopped at the end."""
    from tasker_ctl.preload.control import stop_preloaders

    RUNTIME.append(tempfile.mkdtemp(prefix="tp"))
    try:
        yield
    finally:
        stop_preloaders(Path(RUNTIME[0]) / "tasker-ctl")
        shutil.rmtree(RUNTIME.pop(), ignore_errors=True)


def warm_up(folder: Path, template: str, url: str, workers: int) -> None:
    """Run ``template`` once (registered, validated and kept) and wait for the preloader."""
    run_seconds(folder, template, url, workers)
    wait_for_preloader()


def wait_for_preloader() -> None:
    """Until the preloader the first run started listens (the measured runs go to it)."""
    from tasker_ctl.preload.control import running_preloaders

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = running_preloaders(Path(RUNTIME[0]) / "tasker-ctl")
        if found and os.path.exists(found[0].place.socket):
            return
        time.sleep(0.05)
    raise SystemExit(
        "no preloader listens: is preloading possible here (tasker-ctl preload status)?"
    )


def run_seconds(
    folder: Path,
    template: str,
    url: str,
    workers: int,
    processes: int = 1,
    *,
    preload: bool = True,
) -> float:
    """The wall time of one ``tasker-ctl run`` of ``template`` (a new task each time), handed
    to the benchmark's preloader, or in its own process (``preload=False``)."""
    start = time.perf_counter()
    completed = subprocess.run(
        [
            *_command(),
            "run",
            template,
            "--handlers",
            "noop.py",
            "--new",
            "--json",
            "--workers",
            str(workers),
            *(["--processes", str(processes)] if processes > 1 else []),
            "--database-url",
            url,
        ],
        cwd=folder,
        env=_environment(preload),
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if completed.returncode != 0:
        raise SystemExit(f"tasker-ctl run {template} failed:\n{completed.stderr}")
    return elapsed


def floor_seconds(url: str) -> float:
    """The wall time of ``FLOOR`` in a new process of this Python."""
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", FLOOR, url], env=_environment(), capture_output=True, check=True
    )
    return time.perf_counter() - start


def dbos_step_ms(python: str, server: str) -> float:
    """DBOS's per-step median on ``server`` (``dbos_steps.py`` under ``python``)."""
    script = Path(__file__).resolve().parent / "dbos_steps.py"
    completed = subprocess.run(
        [python, str(script), server], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"dbos_steps.py failed:\n{completed.stderr}")
    return float(json.loads(completed.stdout.splitlines()[-1])["per_step_ms_p50"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", default="200,400,1000,2000")
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--processes", type=int, default=1, help="run --processes for the wide DAG")
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--dbos-python",
        help="a Python with DBOS installed: its per-step time (dbos_steps.py) alternates with "
        "the chains, the yardstick of the chain goal",
    )
    parser.add_argument(
        "--command",
        help="the command measured, split on spaces (default: tasker-ctl); e.g. "
        "'env PYTHONPATH=OLD/src python -m tasker_ctl' for another version",
    )
    options = parser.parse_args()
    if options.command:
        COMMAND.extend(options.command.split())
    chains = [int(part) for part in options.chains.split(",")]

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
    folder = Path(tempfile.mkdtemp(prefix="bench_run_"))
    # a project's state folder, as the embedded server's makes one: run keeps the templates it
    # validated there, so the measured runs (after the warm-up) read them as a user's reruns do
    (folder / ".tasker").mkdir()
    (folder / "noop.py").write_text(HANDLERS, encoding="utf-8")
    (folder / "one.yaml").write_text(json.dumps(chain_template(1)), encoding="utf-8")
    for length in chains:
        (folder / f"chain{length}.yaml").write_text(
            json.dumps(chain_template(length)), encoding="utf-8"
        )
    (folder / "wide.yaml").write_text(json.dumps(wide_template(options.width)), encoding="utf-8")
    one: list[float] = []
    one_cold: list[float] = []
    floor: list[float] = []
    through: dict[int, list[float]] = {length: [] for length in chains}
    inside: dict[int, list[float]] = {length: [] for length in chains}
    raw_ms: list[float] = []
    dbos_ms: list[float] = []
    wide: list[tuple[float, float]] = []
    try:
        with connect(url) as store:
            migrate(store)
        # each template once: registered, validated and kept, before anything is measured
        for template in ["one.yaml", *(f"chain{length}.yaml" for length in chains), "wide.yaml"]:
            run_seconds(folder, template, url, options.workers)
        wait_for_preloader()
        for _ in range(options.pairs):
            raw_ms.append(statistics.median(raw_step_latency(url, 300)) * 1000)
            # the fixed cost each chain's figure is net of: the median of three runs
            one.append(statistics.median(run_seconds(folder, "one.yaml", url, 1) for _ in "abc"))
            one_cold.append(
                statistics.median(
                    run_seconds(folder, "one.yaml", url, 1, preload=False) for _ in "abc"
                )
            )
            floor.append(statistics.median(floor_seconds(url) for _ in "abc"))
            if options.dbos_python:
                dbos_ms.append(dbos_step_ms(options.dbos_python, server))
            for length in chains:
                inside[length].append(statistics.median(per_step_overhead(url, length)) * 1000)
                seconds = run_seconds(folder, f"chain{length}.yaml", url, 1)
                through[length].append((seconds - one[-1]) / max(length - 1, 1) * 1000)
            queries = _queries()
            with psycopg.connect(url, autocommit=True) as connection:
                connection.execute(queries["create_raw_queue"])
                connection.execute(queries["fill_raw_queue"], {"count": options.width + 2})
            ceiling = (options.width + 2) / _timed(_raw_process, (url,), options.workers)
            steps = (options.width + 2) / run_seconds(
                folder, "wide.yaml", url, options.workers, options.processes
            )
            wide.append((steps, ceiling))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
    print(
        f"medians of {options.pairs} alternated pairs; raw SQL claim + complete: "
        f"{statistics.median(raw_ms):.2f} ms (this machine's speed)"
    )
    print(
        f"one-step template, the whole command: {statistics.median(one):.3f} s handed to the "
        f"preloader (goal <= 0.35 s), {statistics.median(one_cold):.3f} s in its own process "
        f"(TASKER_PRELOAD=off); the floor of its dependencies in a process of their own "
        f"(Python, Typer, Pydantic, psycopg, one query): {statistics.median(floor):.3f} s"
    )
    print("chain of N no-op steps, --workers 1, per step:")
    smallest = chains[0]
    for length in chains:
        command = statistics.median(through[length])
        engine = statistics.median(inside[length])
        flat = command / statistics.median(through[smallest])
        print(
            f"  N = {length:5d}: run {command:6.2f} ms   engine {engine:6.2f} ms   "
            f"run / engine {command / engine:4.1f}x   vs N = {smallest}: {flat:4.2f}x"
        )
    if dbos_ms:
        dbos = statistics.median(dbos_ms)
        against = ", ".join(
            f"N = {length}: {statistics.median(through[length]) / dbos:.2f}x" for length in chains
        )
        print(
            f"DBOS, 4-step workflows of no-op steps, per step (p50): {dbos:.2f} ms; run per "
            f"step against it: {against} (goal <= 0.5x)"
        )
    steps = statistics.median(s for s, _ in wide)
    ceiling = statistics.median(c for _, c in wide)
    ratio = statistics.median(s / c for s, c in wide)
    shape = f"--workers {options.workers}"
    if options.processes > 1:
        shape += f" --processes {options.processes}"
    print(
        f"wide DAG 1 + {options.width} + 1, run {shape}: {steps:.0f} steps/s over the whole "
        f"command; raw SQL ceiling ({options.workers} processes) {ceiling:.0f} steps/s; "
        f"ratio {ratio * 100:.1f} % (goal >= 50 %)"
    )


if __name__ == "__main__":
    with own_preloader():
        main()
