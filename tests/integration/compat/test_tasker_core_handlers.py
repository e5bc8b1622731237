"""Tasker Core's own Python handler modules run unchanged on tasker-ctl's orchestrator.

The handler modules belong to Tasker Core (``crates/tasker-py/tests/handlers`` in its
repository), not to this project: point ``TASKER_CORE_PY_HANDLERS`` at that directory to run
these tests, e.g. ``TASKER_CORE_PY_HANDLERS=~/src/tasker-core/crates/tasker-py/tests/handlers``.
The expected values are those of Tasker Core's end-to-end tests (tests/e2e/python).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tasker_ctl.engine.running import run_template
from tests.conftest import CORPUS_ROOT

# Read at import: the suite's autouse fixture clears TASKER_* variables before each test.
HANDLERS = os.environ.get("TASKER_CORE_PY_HANDLERS")
TEMPLATES = CORPUS_ROOT / "tests" / "fixtures" / "task_templates" / "python"

pytestmark = [
    pytest.mark.skipif(
        not HANDLERS,
        reason="set TASKER_CORE_PY_HANDLERS to Tasker Core's crates/tasker-py/tests/handlers",
    ),
    pytest.mark.skipif(not TEMPLATES.is_dir(), reason=f"shared corpus not found at {TEMPLATES}"),
]

# template -> (context, final task status, {step name prefix: (state, attempts, result value)})
CASES: dict[str, tuple[dict[str, Any], str, dict[str, tuple[str, int, Any]]]] = {
    "linear_workflow_handler_py.yaml": (
        {"even_number": 6},
        "complete",
        {
            "linear_step_1": ("complete", 1, 36),
            "linear_step_2": ("complete", 1, 46),
            "linear_step_3": ("complete", 1, 138),
            "linear_step_4": ("complete", 1, 69),
        },
    ),
    "diamond_workflow_handler_py.yaml": (
        {"even_number": 6},
        "complete",
        {
            "diamond_start": ("complete", 1, 36),
            "diamond_branch_b": ("complete", 1, 61),
            "diamond_branch_c": ("complete", 1, 72),
            "diamond_end": ("complete", 1, 66.5),
        },
    ),
    "success_only_py.yaml": (
        {"message": "Hello from Python E2E test"},
        "complete",
        {"success_step": ("complete", 1, None)},
    ),
    "permanent_error_only_py.yaml": (
        {"error_message": "Permanent failure from Python"},
        "blocked_by_failures",
        {"permanent_error_step": ("error", 1, None)},
    ),
    "retryable_error_only_py.yaml": (
        {"error_message": "Temporary failure from Python - will retry"},
        "blocked_by_failures",
        {"retryable_error_step": ("error", 3, None)},
    ),
}
STYLES = {"class": "", "decorator": "_dsl"}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("template", sorted(CASES))
def test_tasker_core_handlers(template: str, style: str, database_url: str) -> None:
    context, status, expected = CASES[template]
    file = TEMPLATES / template.replace("_py.yaml", f"{STYLES[style]}_py.yaml")
    assert file.is_file(), file
    report = run_template(
        file,
        context=context,
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == status, report
    assert len(report.steps) == len(expected)
    for step in report.steps:
        prefix = next(name for name in expected if step.name.startswith(name))
        state, attempts, value = expected[prefix]
        assert (step.name, step.state, step.attempts) == (step.name, state, attempts)
        if value is not None:
            assert step.result is not None
            assert step.result["result"] == value


# amount -> the steps that exist (a decision point creates the branches it routes to)
APPROVAL_ROUTES = {
    500: ("auto_approve",),
    2500: ("manager_approval",),
    10000: ("manager_approval", "finance_review"),
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("amount", sorted(APPROVAL_ROUTES))
def test_tasker_core_conditional_approval(amount: int, style: str, database_url: str) -> None:
    file = TEMPLATES / f"conditional_approval_handler{STYLES[style]}_py.yaml"
    report = run_template(
        file,
        context={"amount": amount, "requester": "e2e", "purpose": "routing test"},
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == "complete", report
    branches = APPROVAL_ROUTES[amount]
    expected = ("validate_request", "routing_decision", *branches, "finalize_approval")
    names = [step.name for step in report.steps]
    assert sorted(names) == sorted(f"{name}{STYLES[style]}_py" for name in expected)
    assert all((step.state, step.attempts) == ("complete", 1) for step in report.steps)
    decision = next(step for step in report.steps if step.name.startswith("routing_decision"))
    assert decision.result is not None
    outcome = decision.result["decision_point_outcome"]
    assert outcome["type"] == "create_steps"
    assert sorted(outcome["step_names"]) == sorted(f"{b}{STYLES[style]}_py" for b in branches)


def _write_products(path: Path, rows: int) -> Path:
    """A product CSV in the columns of Tasker Core's fixture (its handlers read price and
    stock), with data of our own."""
    header = "id,title,description,category,price,discountPercentage,rating,stock,brand,sku,weight"
    lines = [header] + [
        f'{i},"Item {i}","Product number {i}","tools",{1 + i % 50}.25,5.0,4.1,{i % 30},'
        f'"Acme","SKU-{i:05d}",{1 + i % 9}'
        for i in range(1, rows + 1)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("style", sorted(STYLES))
def test_tasker_core_csv_batch_processing(style: str, database_url: str, tmp_path: Path) -> None:
    """1,000 rows in batches of 200: five workers, all rows processed and aggregated."""
    csv_file = _write_products(tmp_path / "products.csv", 1000)
    report = run_template(
        TEMPLATES / f"batch_processing{STYLES[style]}_py.yaml",
        context={"csv_file_path": str(csv_file), "analysis_mode": "inventory"},
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == "complete", report
    suffix = STYLES[style]
    workers = [step for step in report.steps if step.name.startswith("process_csv_batch_")]
    assert len(workers) == 5
    assert all((step.state, step.attempts) == ("complete", 1) for step in report.steps)
    aggregate = next(s for s in report.steps if s.name == f"aggregate_csv_results{suffix}_py")
    assert aggregate.result is not None
    result = aggregate.result
    assert result["total_processed"] == 1000
    assert result["worker_count"] == 5
    assert result["total_inventory_value"] > 0


@pytest.mark.parametrize("style", sorted(STYLES))
def test_tasker_core_csv_batch_processing_empty_file(
    style: str, database_url: str, tmp_path: Path
) -> None:
    """No data rows. The DSL template's analyzer names its worker template: one no-op
    placeholder worker, and the aggregation runs. The class template's does not: no worker
    (Tasker Core cannot create the placeholder either), and the task ends after the
    analysis."""
    csv_file = _write_products(tmp_path / "products_empty.csv", 0)
    report = run_template(
        TEMPLATES / f"batch_processing{STYLES[style]}_py.yaml",
        context={"csv_file_path": str(csv_file)},
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == "complete", report
    suffix = STYLES[style]
    names = sorted(step.name for step in report.steps)
    if style == "decorator":
        assert names == sorted(
            [
                f"analyze_csv{suffix}_py",
                "process_csv_batch_dsl_py_000",
                "aggregate_csv_results_dsl_py",
            ]
        )
    else:
        assert names == [f"analyze_csv{suffix}_py"]
    assert all((step.state, step.attempts) == ("complete", 1) for step in report.steps)


# (total, per checkpoint, fail after, permanent) -> (task status, worker attempts,
# total processed or None, checkpoints used or None)
CHECKPOINT_CASES = {
    "happy_path": ((100, 25, None, False), ("complete", 1, 100, None)),
    "transient_failure_resumes": ((100, 20, 50, False), ("complete", 2, 100, None)),
    "permanent_failure": ((100, 25, 30, True), ("blocked_by_failures", 1, None, None)),
    "frequent_checkpoints": ((50, 5, None, False), ("complete", 1, 50, None)),
    "zero_items": ((0, 10, None, False), ("complete", 1, 0, 0)),
    "single_batch": ((10, 20, None, False), ("complete", 1, 10, 0)),
}


@pytest.mark.parametrize("style", sorted(STYLES))
@pytest.mark.parametrize("case", sorted(CHECKPOINT_CASES))
def test_tasker_core_checkpoint_yield(case: str, style: str, database_url: str) -> None:
    (total, per_checkpoint, fail_after, permanent), expected = CHECKPOINT_CASES[case]
    status, attempts, processed, checkpoints = expected
    context: dict[str, Any] = {"total_items": total, "items_per_checkpoint": per_checkpoint}
    if fail_after is not None:
        context["fail_after_items"] = fail_after
    if permanent:
        context["permanent_failure"] = True
    name = "checkpoint_yield_test" + ("_dsl" if style == "decorator" else "")
    report = run_template(
        TEMPLATES / f"{name}.yaml",
        context=context,
        handlers=[str(Path(str(HANDLERS)))],
        database_url=database_url,
        timeout=60,
    )
    assert report.status == status, report
    worker = next(step for step in report.steps if step.name.startswith("checkpoint_yield_batch"))
    assert worker.attempts == attempts
    if processed is None:
        assert worker.state == "error"
        # the aggregation exists (created with the worker) but never runs
        assert [(s.state, s.attempts) for s in report.steps if s.name.startswith("aggregate")] == [
            ("pending", 0)
        ]
        return
    assert all(step.state == "complete" for step in report.steps)
    aggregate = next(step for step in report.steps if step.name.startswith("aggregate_results"))
    assert aggregate.result is not None
    assert aggregate.result["total_processed"] == processed
    assert aggregate.result["test_passed"] is True
    if checkpoints is not None:
        # absent in the no-batches aggregation, read as 0 by Tasker Core's test
        assert aggregate.result.get("checkpoints_used", 0) == checkpoints
