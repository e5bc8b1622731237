"""``tasker-ctl stats`` and single-task inspection over a large database on the embedded
PostgreSQL.

Usage: python benchmarks/bench_inspect.py [--tasks N] [--rounds N] [--explain]
                                          [--database-url URL] [--keep]

Builds a database of N tasks (default 10,000, about 20 steps each: 200,000 steps) with
set-based SQL (sql/inspect_dataset.sql): five templates registered with their
configurations (a linear order flow, an approval whose decision creates its branches, a
batch import whose 40 workers are spawned at run time, a grammar-composed flow, a planner
whose planned steps carry planning provenance), mixed step states and attempts, one to four
transitions per step, edges, run-time steps with origin_step_uuid, DLQ entries, a budget
ledger and planner calls; plus one batch task of 1,000 steps. Tasks are spread over the
last 7 days.

Then it times, as medians of --rounds runs after a warm-up:
- ``collect_stats`` over every task, and over the last 24 hours (goal < 1 s);
- ``inspect_task`` of a task of 20 steps and of the task of 1,000 steps (goal < 200 ms).

--explain prints EXPLAIN (ANALYZE, BUFFERS) of each stats query over every task.
Each run uses a fresh database on the server (dropped afterwards unless --keep).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

SQL = Path(__file__).resolve().parent / "sql" / "inspect_dataset.sql"
TEMPLATES = ("orders", "approval", "import", "compose", "planner")
BULK = "bulk"


def _queries() -> dict[str, str]:
    blocks: dict[str, str] = {}
    name = None
    for line in SQL.read_text().splitlines():
        if line.startswith("-- name: "):
            name = line.removeprefix("-- name: ").strip()
            blocks[name] = ""
        elif name and not line.startswith("--"):
            # comments too go through psycopg's placeholder parsing, which rejects a lone %
            blocks[name] += line + "\n"
    return blocks


def _row(template: str, ordinal: int, name: str, **fields: Any) -> dict[str, Any]:
    return {
        "template": template,
        "ordinal": ordinal,
        "name": name,
        "template_step_name": fields.get("template_step_name", name),
        "step_type": fields.get("step_type", "standard"),
        "created_by": fields.get("created_by", "template"),
        "handler_type": fields.get("handler_type", "application"),
        "composition_source": fields.get("composition_source"),
        "origin": fields.get("origin"),
        "planning_phase": fields.get("planning_phase"),
        "parents": fields.get("parents", []),
    }


def plan() -> list[dict[str, Any]]:
    """Every step of a task of each template, in order, with its provenance."""
    rows = []
    orders = [f"order_{n:02d}" for n in range(12)]
    for n, name in enumerate(orders):  # 12 steps, all from the template
        rows.append(_row("orders", n, name, parents=orders[n - 1 : n] if n else []))

    branches = [f"approve_{n:02d}" for n in range(10)]  # 4 static + 12 from the decision
    approval = [
        _row("approval", 0, "validate"),
        _row("approval", 1, "decide", step_type="decision", parents=["validate"]),
        _row("approval", 2, "audit", parents=["validate"]),
        _row("approval", 3, "archive", parents=["audit"]),
        *(
            _row(
                "approval",
                4 + n,
                name,
                created_by="decision_point",
                origin="decide",
                parents=["decide"],
            )
            for n, name in enumerate(branches)
        ),
        _row(
            "approval",
            14,
            "finalize",
            step_type="deferred_convergence",
            created_by="decision_point",
            origin="decide",
            parents=branches,
        ),
        _row(
            "approval",
            15,
            "notify",
            created_by="decision_point",
            origin="decide",
            parents=["finalize"],
        ),
    ]
    rows += approval

    rows += _batch("import", 40)  # 1 static + 40 workers + convergence, spawned

    composed = [f"compose_{n:02d}" for n in range(10)]  # half of them grammar steps
    for n, name in enumerate(composed):
        grammar = n % 2 == 1
        rows.append(
            _row(
                "compose",
                n,
                name,
                parents=composed[n - 1 : n] if n else [],
                handler_type="grammar" if grammar else "application",
                composition_source="enrich_and_validate" if grammar else None,
            )
        )

    planned = [f"planned_{n:02d}" for n in range(16)]  # 4 static + 16 planned
    rows += [
        _row("planner", 0, "intake"),
        _row("planner", 1, "plan", parents=["intake"]),
        *(
            _row(
                "planner",
                2 + n,
                name,
                created_by="planning_step",
                origin="plan",
                planning_phase=1 + n // 8,
                parents=["plan"] if n < 8 else [planned[n - 8]],
                handler_type="grammar" if n % 2 else "application",
                composition_source="dynamic" if n % 2 else None,
            )
            for n, name in enumerate(planned)
        ),
        _row("planner", 18, "converge", step_type="deferred_convergence", parents=planned[8:]),
        _row("planner", 19, "report", parents=["converge"]),
    ]
    rows += _batch(BULK, 998)  # one task of 1,000 steps
    return rows


def _batch(template: str, workers: int) -> list[dict[str, Any]]:
    names = [f"{template}_proc_{n:04d}" for n in range(1, workers + 1)]
    return [
        _row(template, 0, f"{template}_analyze", step_type="batchable"),
        *(
            _row(
                template,
                n,
                name,
                template_step_name="proc",
                step_type="batch_worker",
                created_by="batch_spawn",
                origin=f"{template}_analyze",
                parents=[f"{template}_analyze"],
            )
            for n, name in enumerate(names, start=1)
        ),
        _row(
            template,
            workers + 1,
            f"{template}_aggregate",
            step_type="deferred_convergence",
            created_by="batch_spawn",
            origin=f"{template}_analyze",
            parents=names,
        ),
    ]


def configuration(template: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The registered template: one step per template step (batch workers share 'proc')."""
    steps: dict[str, dict[str, Any]] = {}
    for row in rows:
        if row["template"] != template or row["template_step_name"] in steps:
            continue
        name = row["template_step_name"]
        steps[name] = {
            "name": name,
            "type": row["step_type"],
            "handler": {"callable": f"bench.{template}.{name}", "initialization": {}},
            "dependencies": row["parents"][:1],
        }
    return {
        "name": template,
        "namespace_name": "bench",
        "version": "1.0.0",
        "steps": list(steps.values()),
    }


def build(url: str, tasks: int) -> dict[str, uuid.UUID]:
    """Fill the database; the tasks to inspect: one of ~20 steps and the 1,000-step one."""
    import psycopg
    from psycopg.types.json import Jsonb

    queries = _queries()
    rows = plan()
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        # the rules trigger and foreign-key triggers are the engine's guards, not the data's
        connection.execute("SET session_replication_role = replica")
        connection.execute(queries["create_plan"])
        with connection.cursor() as cursor:
            cursor.executemany(queries["add_plan_row"], rows)
        connection.execute(queries["create_templates"])
        namespace = connection.execute(queries["add_namespace"]).fetchone()
        assert namespace is not None
        for idx, template in enumerate((*TEMPLATES, BULK)):
            connection.execute(
                queries["add_template"],
                {
                    "namespace": namespace[0],
                    "template": template,
                    "idx": idx,
                    "configuration": Jsonb(configuration(template, rows)),
                },
            )
        connection.execute(queries["add_named_steps"], {})
        connection.execute(
            queries["add_tasks"], {"template": None, "templates": len(TEMPLATES), "count": tasks}
        )
        connection.execute(
            queries["add_tasks"],
            {"template": len(TEMPLATES), "templates": len(TEMPLATES), "count": 1},
        )
        for step in (
            "add_steps",
            "add_edges",
            "add_step_transitions",
            "add_task_transitions",
            "add_dlq_entries",
            "resolve_dlq_entries",
            "add_ledger",
            "add_planning_attempts",
        ):
            connection.execute(queries[step], {})
        connection.execute("ANALYZE")
        counts = connection.execute(
            "SELECT (SELECT count(*) FROM tasker.tasks), (SELECT count(*) FROM"
            " tasker.workflow_steps), (SELECT count(*) FROM tasker.workflow_step_transitions),"
            " (SELECT count(*) FROM tasker.workflow_step_edges), (SELECT count(*) FROM"
            " tasker.tasks_dlq), (SELECT count(*) FROM tasker.task_budget_entries),"
            " (SELECT count(*) FROM tasker.planning_attempts)"
        ).fetchone()
        picked = connection.execute(
            "SELECT (SELECT t.task_uuid FROM tasker.tasks t JOIN tasker.named_tasks n"
            "  USING (named_task_uuid) WHERE n.name = 'planner' AND t.current_state = 'complete'"
            "  LIMIT 1),"
            " (SELECT t.task_uuid FROM tasker.tasks t JOIN tasker.named_tasks n"
            "  USING (named_task_uuid) WHERE n.name = %s)",
            (BULK,),
        ).fetchone()
    assert counts is not None
    assert picked is not None
    print(
        f"built in {time.perf_counter() - started:.1f} s: {counts[0]:,} tasks, {counts[1]:,} "
        f"steps, {counts[2]:,} step transitions, {counts[3]:,} edges, {counts[4]:,} DLQ "
        f"entries, {counts[5]:,} ledger rows, {counts[6]:,} planner calls"
    )
    return {"20 steps": picked[0], "1,000 steps": picked[1]}


def timed(action: Callable[[], Any], rounds: int) -> tuple[float, float, float]:
    """Median, min and max in milliseconds of ``rounds`` runs after one warm-up."""
    action()
    runs = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs), min(runs), max(runs)


def explain(url: str) -> None:
    import psycopg

    from tasker_ctl.engine.rules.budget import RESOURCES
    from tasker_ctl.engine.store.queries import get_query

    params: dict[str, Any] = {"since": None, "namespace": None, "resources": list(RESOURCES)}
    thresholds = {"cost_usd": 0.2, "steps": 20.0, "phases": 1.5, "planning_depth": 1.5}
    names = (
        "fetch_stats_tasks",
        "fetch_stats_steps",
        "fetch_stats_dlq",
        "fetch_stats_budgets",
        "fetch_stats_planning",
        "fetch_stats_baselines",
        "fetch_stats_outliers",
    )
    with psycopg.connect(url, autocommit=True) as connection:
        for name in names:
            extra = {**thresholds, "listed": 10} if name == "fetch_stats_outliers" else {}
            rows = connection.execute(
                "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + get_query(name), {**params, **extra}
            ).fetchone()
            assert rows is not None
            top = (rows[0] if isinstance(rows[0], list) else json.loads(rows[0]))[0]
            print(f"{name}: {top['Execution Time']:.1f} ms")
            print("  " + json.dumps(top["Plan"]["Node Type"]))
            text = connection.execute(
                "EXPLAIN (ANALYZE, BUFFERS) " + get_query(name), {**params, **extra}
            ).fetchall()
            for (line,) in text:
                print("    " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the database; print its URL")
    parser.add_argument("--database-url")
    options = parser.parse_args()

    import psycopg
    import psycopg.sql

    from tasker_ctl.db.settings import resolve_database_url, with_database
    from tasker_ctl.engine.stats.collect import collect_stats
    from tasker_ctl.engine.store.clock import window_start
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.store.migrations import migrate
    from tasker_ctl.engine.views.inspection import inspect_task

    server = resolve_database_url(options.database_url).url
    name = f"tasker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = with_database(server, name)
    try:
        with connect(url) as store:
            migrate(store)
        targets = build(url, options.tasks)
        with connect(url) as store:
            day = window_start(store, timedelta(hours=24))
            report = collect_stats(store)
            recent = collect_stats(store, since=day)
            results = {
                f"collect_stats, every task ({report.tasks.total:,} tasks, "
                f"{report.steps.total:,} steps)": (
                    timed(lambda: collect_stats(store), options.rounds),
                    1000,
                ),
                f"collect_stats, last 24 hours ({recent.tasks.total:,} tasks, "
                f"{recent.steps.total:,} steps)": (
                    timed(lambda: collect_stats(store, since=day), options.rounds),
                    1000,
                ),
            }
            for size, task in targets.items():
                results[f"inspect_task, a task of {size}"] = (
                    timed(lambda task=task: inspect_task(store, task), options.rounds),
                    200,
                )
        if options.explain:
            explain(url)
    finally:
        if options.keep:
            print(f"kept: {url}")
        else:
            with psycopg.connect(server, autocommit=True) as admin:
                admin.execute(
                    psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        psycopg.sql.Identifier(name)
                    )
                )
    print(f"medians of {options.rounds} runs after a warm-up (min - max):")
    for what, ((median, low, high), goal) in results.items():
        verdict = "met" if median < goal else "NOT met"
        print(f"  {what}: {median:7.1f} ms  ({low:.1f} - {high:.1f})  goal < {goal} ms: {verdict}")
    print(f"alerts raised over every task: {', '.join(a.code for a in report.alerts) or 'none'}")


if __name__ == "__main__":
    main()
