"""Planning's own costs: validating a 20-step fragment (all nine stages) and materializing it.

Validation: ``check_fragment`` of tests/fixtures/fragments/twenty_steps.yaml against its frame
(tests/fixtures/fragments/frame.yaml), beside the format's parse alone (``parse_fragment``,
stage 1), alternated in one loop. Materialization: writing the fragment's 20 steps and edges
with their provenance and the ledger's commitment in one transaction (``materialize_fill``),
beside writing 20 plain steps and the same edges (``insert_steps`` + ``insert_step_edges``,
what a decision's growth does), alternated, each round on a fresh task of a fresh database of
the embedded server. Medians and 95th percentiles of ``--rounds`` rounds after a warm-up.

Goals: validation <= 50 ms and materialization <= 100 ms at the 95th percentile on 2 cores.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "fragments"


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def _load() -> tuple[Any, Any, dict[str, Any]]:
    from tasker_ctl.planning.frame import FragmentFrame
    from tasker_ctl.template import load_template
    from tasker_ctl.template.source import read_document

    template = load_template(FIXTURES / "frame.yaml")
    fragment = read_document(FIXTURES / "twenty_steps.yaml").data
    frame = FragmentFrame(template=template, planning_step="plan")
    return template, frame, fragment


def validation(rounds: int) -> tuple[list[float], list[float]]:
    from tasker_ctl.planning import parse_fragment
    from tasker_ctl.planning.validator import check_fragment

    _, frame, fragment = _load()
    check = check_fragment(fragment, frame)
    assert check.accepted, check.findings
    assert check.step_count == 20
    for _ in range(5):  # warm-up: imports, compiled schemas, jq processes
        check_fragment(fragment, frame)
    parse_times, check_times = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        parse_fragment(fragment)
        parse_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        check_fragment(fragment, frame)
        check_times.append(time.perf_counter() - started)
    return parse_times, check_times


def materialization(url: str, rounds: int) -> tuple[list[float], list[float]]:
    from tasker_ctl.engine.graph.fragments import materialize_fill
    from tasker_ctl.engine.graph.growth import StepOrigin
    from tasker_ctl.engine.graph.submission import insert_steps, register_template, submit_task
    from tasker_ctl.engine.rules.decisions import NewStep
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.planning import parse_fragment
    from tasker_ctl.planning.plan import plan_fill

    template, _, data = _load()
    fragment = parse_fragment(data)
    fill = plan_fill(fragment, fragment_id="bench", planning_step="plan", convergence="report")
    plain = [NewStep(step.definition, step.name, {}, "decision_point") for step in fill.steps]
    context = {"order_id": "o-1", "customer": {"id": "c-1"}}
    plain_times, fill_times = [], []
    with connect(url) as store:
        with store.transaction():
            named = register_template(store, template, "bench")

        def origin() -> StepOrigin:
            with store.transaction():
                task = submit_task(store, template, named, context, identity="always_unique")
            steps = {
                r["name"]: r
                for r in store.fetch_all("fetch_steps_for_operator", task_uuid=task.task_uuid)
            }
            return StepOrigin.of_row(steps["plan"])

        def write_plain(at: StepOrigin) -> None:
            with store.transaction():
                uuids = insert_steps(
                    store, at.namespace_name, plain, at.task_uuid, origin_step_uuid=at.step_uuid
                )
                uuids["plan"] = at.step_uuid
                edges = [e for e in fill.edges if e.parent in uuids and e.child in uuids]
                store.execute(
                    "insert_step_edges",
                    from_step_uuids=[uuids[e.parent] for e in edges],
                    to_step_uuids=[uuids[e.child] for e in edges],
                    names=["provides"] * len(edges),
                )

        def write_fill(at: StepOrigin) -> None:
            with store.transaction():
                materialize_fill(store, at, fill)

        for _ in range(3):  # warm-up
            write_plain(origin())
            write_fill(origin())
        for _ in range(rounds):
            at = origin()
            started = time.perf_counter()
            write_plain(at)
            plain_times.append(time.perf_counter() - started)
            at = origin()
            started = time.perf_counter()
            write_fill(at)
            fill_times.append(time.perf_counter() - started)
    return plain_times, fill_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--database-url")
    options = parser.parse_args()

    import psycopg
    import psycopg.sql

    from tasker_ctl.db.settings import resolve_database_url, with_database
    from tasker_ctl.engine.store.connection import connect
    from tasker_ctl.engine.store.migrations import migrate

    parse_times, check_times = validation(options.rounds)
    server = resolve_database_url(options.database_url).url
    name = f"tasker_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    url = with_database(server, name)
    try:
        with connect(url) as store:
            migrate(store)
        plain_times, fill_times = materialization(url, options.rounds)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(
                psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    psycopg.sql.Identifier(name)
                )
            )

    def line(label: str, values: list[float]) -> str:
        median, p95 = statistics.median(values) * 1000, _p95(values) * 1000
        return f"  {label:<34} median {median:7.2f} ms   p95 {p95:7.2f} ms"

    check_p95, fill_p95 = _p95(check_times) * 1000, _p95(fill_times) * 1000
    print(f"validating a 20-step fragment, {options.rounds} rounds:")
    print(line("parse alone (stage 1)", parse_times))
    print(line("all nine stages", check_times))
    ratio = statistics.median(check_times) / statistics.median(parse_times)
    print(
        f"  ratio to the parse: {ratio:.1f}x; goal p95 <= 50 ms: "
        f"{'met' if check_p95 <= 50 else 'NOT met'}"
    )
    print(f"materializing it, {options.rounds} rounds (fresh task each):")
    print(line("20 plain steps + edges", plain_times))
    print(line("the fill with provenance + ledger", fill_times))
    ratio = statistics.median(fill_times) / statistics.median(plain_times)
    print(
        f"  ratio to plain steps: {ratio:.1f}x; goal p95 <= 100 ms: "
        f"{'met' if fill_p95 <= 100 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
