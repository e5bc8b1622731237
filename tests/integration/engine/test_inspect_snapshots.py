"""Snapshots of the rich rendering of ``inspect task`` (and the reports) at a fixed width,
for a linear, a decision and a batch task run by real workers.

The database's clock is frozen (``tasker.fake_now`` for every connection), so times and
durations are fixed; UUIDs and trace ids are replaced by placeholders in order of first
appearance. ``pytest --update-golden`` rewrites the files after an intended change.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from rich.console import Console, RenderableType

from tasker_ctl.engine.store.connection import connect
from tasker_ctl.engine.views.budget import task_budget
from tasker_ctl.engine.views.inspection import inspect_step, inspect_task
from tasker_ctl.report.budget_view import budget_view, provenance_view
from tasker_ctl.report.inspect_view import overview, step_detail
from tasker_ctl.report.task_graph import build_task_graph, render_mermaid
from tasker_ctl.sdk.registry import HandlerRegistry
from tests.conftest import FIXTURES
from tests.integration.engine.conftest import Engine, make_template, step
from tests.integration.engine.handlers import Recorder
from tests.integration.engine.test_batches import batch_template
from tests.integration.engine.test_decisions import APPROVAL

GOLDEN = FIXTURES / "snapshots" / "inspect"
FROZEN = "2026-03-04T05:06:07.123+00:00"
WIDTH = 100
LINEAR = make_template(
    [
        step("fetch", "ok.noop"),
        step("enrich", "ok.noop", "fetch"),
        step("store", "ok.noop", "enrich"),
    ],
    name="linear",
)


@pytest.fixture
def frozen_engine(
    database_url: str, registry: HandlerRegistry, calls: Recorder
) -> Iterator[Engine]:
    """An engine whose every connection, workers' included, reads the frozen clock."""
    name = psycopg.conninfo.conninfo_to_dict(database_url)["dbname"]
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE \"{name}\" SET tasker.fake_now = '{FROZEN}'")
    with connect(database_url) as store:
        opened = Engine(database_url, store, registry)
        yield opened
        opened.close()


def _text(renderable: RenderableType) -> str:
    buffer = io.StringIO()
    console = Console(
        file=buffer, width=WIDTH, color_system=None, highlight=False, emoji=False, soft_wrap=False
    )
    console.print(renderable)
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _normalized(text: str) -> str:
    names: dict[str, str] = {}

    def name(match: re.Match[str], kind: str) -> str:
        return names.setdefault(match.group(0), f"<{kind}-{len(names) + 1}>")

    text = re.sub(
        r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        lambda m: name(m, "uuid"),
        text,
    )
    text = re.sub(r"\b[0-9a-f]{32}\b", lambda m: name(m, "hex"), text)
    # handlers stamp their envelopes (JSON strings) with the worker's wall clock, not the
    # database's; the views' own times read the frozen clock and stay
    return re.sub(r'"\d{4}-\d\d-\d\dT\d\d:\d\d:[\d.]+Z"', '"<wall-clock>"', text)


def _run(engine: Engine, template: Any, context: Any) -> Any:
    task = engine.submit(template, context)
    assert engine.run(task.task_uuid) == "complete"
    return task.task_uuid


Check = Callable[[Path, str], None]


def test_linear_task(frozen_engine: Engine, golden: Check) -> None:
    task_uuid = _run(frozen_engine, LINEAR, {})
    task = inspect_task(frozen_engine.store, task_uuid)
    golden(GOLDEN / "linear_overview.txt", _normalized(_text(overview(task))))
    detail = inspect_step(frozen_engine.store, task_uuid, "enrich")
    golden(GOLDEN / "linear_step.txt", _normalized(_text(step_detail(detail))))
    golden(GOLDEN / "linear_graph.mmd", _normalized(render_mermaid(build_task_graph(task))))


def test_decision_task(frozen_engine: Engine, golden: Check) -> None:
    task_uuid = _run(frozen_engine, APPROVAL, {"route": ["manager_review", "finance_review"]})
    task = inspect_task(frozen_engine.store, task_uuid)
    golden(GOLDEN / "decision_overview.txt", _normalized(_text(overview(task))))
    golden(GOLDEN / "decision_provenance.txt", _normalized(_text(provenance_view(task))))
    golden(GOLDEN / "decision_graph.mmd", _normalized(render_mermaid(build_task_graph(task))))


def test_batch_task(frozen_engine: Engine, golden: Check) -> None:
    task_uuid = _run(frozen_engine, batch_template(), {"items": 150, "batch_size": 10})
    task = inspect_task(frozen_engine.store, task_uuid)
    golden(GOLDEN / "batch_overview.txt", _normalized(_text(overview(task))))
    golden(GOLDEN / "batch_overview_ascii.txt", _normalized(_text(overview(task, ascii_only=True))))
    unfolded = _text(overview(task, fold=False))  # --all
    assert all(f"proc_{n:03d}" in unfolded for n in range(1, 16))
    assert "proc workers" not in unfolded
    golden(
        GOLDEN / "batch_budget.txt",
        _normalized(_text(budget_view(task_budget(frozen_engine.store, task_uuid)))),
    )
