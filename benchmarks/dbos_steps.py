"""DBOS's per-step time, the yardstick ``bench_run.py`` prints beside a chain through ``run``.

Usage (with DBOS installed, e.g. in a virtual environment of its own):
    python benchmarks/dbos_steps.py DATABASE_URL [--workflows 200]

Runs 4-step workflows of no-op steps on DBOS with its system database on the given
PostgreSQL server (a database of its own, created and dropped here), one after another after a
warm-up, and prints one JSON line: the median time per step of a workflow (its wall time / 4),
in milliseconds, and the p90.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid

STEPS = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--workflows", type=int, default=200)
    options = parser.parse_args()

    import psycopg
    import psycopg.sql
    from dbos import DBOS, DBOSConfig

    name = f"dbos_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(options.database_url, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    base, _, query = options.database_url.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")

    @DBOS.step()
    def noop() -> dict[str, object]:
        return {}

    @DBOS.workflow()
    def four_steps() -> None:
        for _ in range(STEPS):
            noop()

    config: DBOSConfig = {"name": "tasker-bench", "system_database_url": url}
    DBOS(config=config)
    DBOS.launch()
    try:
        for _ in range(20):  # warm-up
            four_steps()
        per_step = []
        for _ in range(options.workflows):
            start = time.perf_counter()
            four_steps()
            per_step.append((time.perf_counter() - start) / STEPS * 1000)
    finally:
        DBOS.destroy()
        with psycopg.connect(options.database_url, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )
    print(
        json.dumps(
            {
                "per_step_ms_p50": statistics.median(per_step),
                "per_step_ms_p90": statistics.quantiles(per_step, n=10)[-1],
            }
        )
    )


if __name__ == "__main__":
    main()
